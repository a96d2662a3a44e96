# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Measure the stack in the Docker lab, each figure beside a baseline from the same run.

Run it with ``make bench``. It builds a fresh lab (the first run of site.yml is
one of the figures), breaks things on purpose while the client host sends
requests, and writes:

  bench/results/results.json   every figure, with the probe and wrk figures behind it
  bench/results/failover.png   one VIP failover, requests per 100 ms
  BENCHMARKS.md                the table, written from results.json

Baselines are applied to the same containers and removed again: keepalived with
VRRPv2 and a 1 s advert interval (through the keepalived role's variables), and
Debian's packaged haproxy.cfg with a plain round-robin backend, started as a
second HAProxy on port 8443 beside ours. When the lab was not running before,
it is removed at the end; when it was, it is left running and converged.

``--only SECTION ...`` re-measures some sections on the running lab and keeps
the other figures of the last run; ``--report`` only writes BENCHMARKS.md and
the plot again from results.json.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INVENTORY = ROOT / "inventories" / "lab"
RESULTS = ROOT / "bench" / "results"
BASELINE_PORT = 8443
BASELINE_DIR = "/run/alx-bench"
BASELINE_UNIT = "alx-bench-baseline-haproxy"
# Requests per second the probe sends while something breaks (one every 20 ms).
PROBE_RATE = 50.0
SECTIONS = ("site", "heartbeat", "throughput", "webfail", "change", "failover")


# --- running things -----------------------------------------------------------------------------

def run(cmd: list[str], check: bool = True, timeout: float | None = None, env: dict | None = None,
        quiet: bool = True) -> subprocess.CompletedProcess:
    """Run a command from the project's root; its output is captured when ``quiet``."""
    done = subprocess.run(cmd, cwd=ROOT, text=True, timeout=timeout, check=False,
                          env=dict(os.environ, **(env or {})),
                          capture_output=quiet)
    if check and done.returncode != 0:
        tail = ((done.stdout or "") + (done.stderr or ""))[-3000:]
        raise RuntimeError("%s failed (%d):\n%s" % (shlex.join(cmd), done.returncode, tail))
    return done


def dexec(container: str, command: str, check: bool = True, timeout: float | None = 600) -> str:
    """A shell command inside a lab container; its standard output."""
    return run(["docker", "exec", container, "sh", "-c", command], check=check, timeout=timeout).stdout


def log(message: str) -> None:
    print("[%s] %s" % (time.strftime("%H:%M:%S"), message), flush=True)


def wait_for(check, timeout: float, what: str, interval: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result = check()
        except (RuntimeError, subprocess.SubprocessError):
            result = None
        if result:
            return result
        time.sleep(interval)
    raise RuntimeError("%s not reached within %s s" % (what, timeout))


def playbook(path: str, *extra: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return run(["ansible-playbook", "-i", str(INVENTORY), path, *extra], env=env, timeout=3600)


def changed_per_host(output: str) -> dict[str, int]:
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\S+)\s+: ok=\d+\s+changed=(\d+)", output, re.M)}


# --- the lab ----------------------------------------------------------------------------------

class Lab:
    """Hosts, groups and addresses of inventories/lab, and the containers behind them."""

    def __init__(self) -> None:
        self.inventory = json.loads(run(["ansible-inventory", "-i", str(INVENTORY), "--list"]).stdout)
        self.hostvars = self.inventory["_meta"]["hostvars"]

    def group(self, name: str) -> list[str]:
        return sorted(self.inventory.get(name, {}).get("hosts", []))

    @property
    def hosts(self) -> list[str]:
        return sorted(self.hostvars)

    @property
    def client(self) -> str:
        return self.group("clients")[0]

    @property
    def vips(self) -> list[str]:
        lb = self.group("loadbalancers")[0]
        return [v["address"].split("/")[0] for v in self.hostvars[lb]["keepalived_vips"]]

    def running(self) -> bool:
        done = run(["docker", "inspect", "-f", "{{.State.Running}}", *self.hosts], check=False)
        return done.returncode == 0 and set(done.stdout.split()) == {"true"}

    @staticmethod
    def address(container: str) -> str:
        return run(["docker", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}",
                    container]).stdout.split()[0]

    def holder(self, vip: str) -> str | None:
        """The balancer that holds ``vip`` now."""
        for lb in self.group("loadbalancers"):
            if " %s/" % vip in dexec(lb, "ip -o -4 addr show", check=False):
                return lb
        return None

    def serves(self, url: str) -> bool:
        """Whether ``url`` answers 200 to the client (certificate not checked)."""
        return dexec(self.client, "curl -fsSk -m 2 -o /dev/null -w '%%{http_code}' %s" % url) == "200"

    def settle(self, vip: str, holder: str) -> None:
        """Wait until ``holder`` holds ``vip`` again and it serves through it."""
        wait_for(lambda: self.holder(vip) == holder, 120, "%s back on %s" % (vip, holder))
        wait_for(lambda: self.serves("https://%s/" % vip), 60, "%s serving" % vip)
        time.sleep(3)


# --- load and probing -------------------------------------------------------------------------

def probe(lab: Lab, url: str, rate: float, duration: float, action=None, at: float = 3.0,
          bucket: float = 1.0, timeout: float = 2.0, stop_after_action: bool = False,
          extra: tuple[str, ...] = ()) -> dict:
    """Run alx-probe on the client; ``action`` runs ``at`` seconds after it started.

    With ``stop_after_action`` the probe is stopped two seconds after the action
    returns. The report gains ``action_at``: when the action began, in the
    probe's own seconds.
    """
    cmd = ["docker", "exec", lab.client, "alx-probe", url, "--insecure", "--rate", str(rate),
           "--duration", str(duration), "--bucket", str(bucket), "--timeout", str(timeout), *extra]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    acted = None
    try:
        if action is not None:
            time.sleep(at)
            acted = time.time()
            action()
            if stop_after_action:
                time.sleep(2)
                dexec(lab.client, "pkill -INT -f '^python3 /usr/local/bin/alx-probe' || true")
        out, err = proc.communicate(timeout=duration + 120)
    finally:
        if proc.poll() is None:
            proc.kill()
    if proc.returncode != 0:
        raise RuntimeError("alx-probe failed: %s" % err[-2000:])
    report = json.loads(out)
    if acted is not None:
        report["action_at"] = round(acted - report["started_at"], 3)
    return report


def brief(report: dict) -> dict:
    """The figures of a probe report, without its timeline."""
    keys = ("total", "ok", "failed", "rate", "duration", "longest_gap", "longest_outage", "failure_span", "action_at",
            "latency_p50_ms", "latency_max_ms")
    return {k: report.get(k) for k in keys} | {"failures": report.get("failures", [])[:10]}


UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def parse_wrk(text: str) -> dict:
    """Requests per second, latency percentiles (ms) and errors from `wrk --latency` output."""
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    if not rps:
        raise RuntimeError("no Requests/sec in wrk output:\n%s" % text)
    result = {"rps": float(rps.group(1))}
    for pct, value, unit in re.findall(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s)\s*$", text, re.M):
        result["p%s_ms" % pct] = round(float(value) * UNITS[unit], 3)
    total = re.search(r"(\d+) requests in", text)
    result["requests"] = int(total.group(1)) if total else None
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    result["non_2xx"] = int(non2xx.group(1)) if non2xx else 0
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    result["socket_errors"] = sum(int(n) for n in sockets.groups()) if sockets else 0
    return result


def wrk(lab: Lab, url: str, seconds: int, connections: int, runs: int) -> dict:
    """Median of ``runs`` wrk runs (by requests per second), after a short warm-up."""
    base = "wrk -t2 -c%d --latency --timeout 5s" % connections
    dexec(lab.client, "%s -d2s %s >/dev/null" % (base, shlex.quote(url)))
    samples = [parse_wrk(dexec(lab.client, "%s -d%ds %s" % (base, seconds, shlex.quote(url))))
               for _run in range(runs)]
    middle = sorted(samples, key=lambda s: s["rps"])[len(samples) // 2]
    return middle | {"samples_rps": [s["rps"] for s in samples], "url": url}


# --- baselines --------------------------------------------------------------------------------

def baseline_haproxy_start(lab: Lab) -> None:
    """Debian's packaged haproxy.cfg plus a TLS frontend and a plain round-robin
    backend, as a second HAProxy on BASELINE_PORT on every balancer."""
    baseline_haproxy_stop(lab)
    servers = "".join("    server %s %s:80 check\n" % (web, lab.address(web)) for web in lab.group("webservers"))
    extra = ("\nfrontend bench_baseline\n    bind :%d ssl crt /etc/haproxy/certs/site.pem\n"
             "    default_backend bench_baseline_web\n\nbackend bench_baseline_web\n    balance roundrobin\n%s"
             % (BASELINE_PORT, servers))
    for lb in lab.group("loadbalancers"):
        dexec(lb, "mkdir -p {d} && cd {d} && rm -f haproxy_*.deb && "
                  "apt-get download -q haproxy=$(dpkg-query -W -f='${{Version}}' haproxy) >/dev/null && "
                  "dpkg-deb --fsys-tarfile haproxy_*.deb | tar -xO ./etc/haproxy/haproxy.cfg > debian.cfg"
                  .format(d=BASELINE_DIR))
        # The packaged file's runtime socket would clash with ours; nothing else is changed.
        dexec(lb, "cd %s && sed 's#/run/haproxy/admin.sock#%s/admin.sock#' debian.cfg > baseline.cfg && "
                  "printf %%s %s >> baseline.cfg && haproxy -c -q -f baseline.cfg"
                  % (BASELINE_DIR, BASELINE_DIR, shlex.quote(extra)))
        # Started the way Debian's haproxy.service starts HAProxy, /dev/log in
        # the chroot included, so that it logs every request as ours does.
        dexec(lb, "systemd-run --unit %s --property BindReadOnlyPaths=/dev/log:/var/lib/haproxy/dev/log "
                  "--property Type=notify /usr/sbin/haproxy -Ws -f %s/baseline.cfg" % (BASELINE_UNIT, BASELINE_DIR))
    wait_for(lambda: lab.serves("https://%s:%d/" % (lab.vips[0], BASELINE_PORT)), 30, "baseline HAProxy serving")


def baseline_haproxy_stop(lab: Lab) -> None:
    for lb in lab.group("loadbalancers"):
        dexec(lb, "systemctl stop %s; systemctl reset-failed %s; rm -rf %s"
              % (BASELINE_UNIT, BASELINE_UNIT, BASELINE_DIR), check=False)


def apply_loadbalancers(lab: Lab, *extra: str) -> None:
    """Apply the load-balancer tier with these extra variables (none: the defaults),
    and wait until the first VIP serves again."""
    playbook("playbooks/site.yml", "--tags", "loadbalancers", *extra)
    lab.settle(lab.vips[0], lab.group("loadbalancers")[0])


# --- sections ---------------------------------------------------------------------------------

def section_site(lab: Lab, args) -> dict:
    """A fresh lab, then site.yml twice: wall time and changed tasks."""
    env = {"ALX_LAB_IMAGE": args.image}
    run(["bash", "molecule/resources/images/build.sh", args.image.rsplit(":", 1)[1]], env=env, quiet=False)
    log("site: new containers")
    run(["molecule", "destroy"], env=env)
    run(["molecule", "create"], env=env)
    run(["molecule", "prepare"], env=env)
    result = {}
    for name in ("first", "second"):
        log("site: %s run of site.yml" % name)
        started = time.monotonic()
        done = playbook("playbooks/site.yml")
        changed = changed_per_host(done.stdout)
        result[name] = {"seconds": round(time.monotonic() - started, 1), "changed": sum(changed.values()),
                        "changed_per_host": changed}
    result["ratio"] = round(result["second"]["seconds"] / result["first"]["seconds"], 3)
    return result


def heartbeat_samples(samples: int) -> list[float]:
    done = playbook("bench/heartbeat.yml", "-e", "samples=%d" % samples,
                    env={"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json"})
    delays = []
    for play in json.loads(done.stdout)["plays"]:
        for task in play["tasks"]:
            for result in task["hosts"].values():
                delays += [r["heartbeat_delay"] for r in result.get("results", []) if "heartbeat_delay" in r]
    if not delays:
        raise RuntimeError("no heartbeat_delay in the heartbeat run")
    return delays


def section_heartbeat(lab: Lab, args) -> dict:
    """Heartbeat delay from mysql_replication_check, idle and under a write load
    (new records POSTed through the VIP and the application at a fixed rate)."""
    idle = heartbeat_samples(args.heartbeats)
    loaded: list[float] = []
    writes = probe(lab, "https://%s/records" % lab.vips[0], rate=args.write_rate, duration=900, at=3,
                   action=lambda: loaded.extend(heartbeat_samples(args.heartbeats)), stop_after_action=True,
                   extra=("--method", "POST", "--data", "note=benchmark", "--expect", "201"))

    def stats(values):
        return {"median_ms": round(1000 * statistics.median(values), 2), "max_ms": round(1000 * max(values), 2),
                "samples": len(values)}
    return {"idle": stats(idle),
            "load": stats(loaded) | {"writes_per_s": args.write_rate, "writes": brief(writes)}}


def section_throughput(lab: Lab, args) -> dict:
    """wrk through the VIP (HTTPS) and straight to one web server (HTTP), ours and baseline."""
    web = lab.address(lab.group("webservers")[0])
    vip = lab.vips[0]
    paths = {"static": "/static/index.html", "app": "/"}
    # Ports are explicit: the lab's minimal images have no /etc/services for wrk.
    result = {"settings": {"tool": "wrk -t2 -c%d, keep-alive" % args.connections, "seconds": args.wrk_seconds,
                           "runs": args.wrk_runs}}

    def measure(url: str) -> dict:
        return wrk(lab, url, args.wrk_seconds, args.connections, args.wrk_runs)
    baseline_haproxy_start(lab)
    try:
        for kind, path in paths.items():
            log("throughput: %s" % kind)
            direct = measure("http://%s:80%s" % (web, path))
            ours = measure("https://%s:443%s" % (vip, path))
            base = measure("https://%s:%d%s" % (vip, BASELINE_PORT, path))
            result[kind] = {
                "direct": direct, "ours": ours, "baseline": base,
                "ratio": round(ours["rps"] / direct["rps"], 3),
                "baseline_ratio": round(base["rps"] / direct["rps"], 3),
                "added_p50_ms": round(ours["p50_ms"] - direct["p50_ms"], 3),
                "baseline_added_p50_ms": round(base["p50_ms"] - direct["p50_ms"], 3),
            }
    finally:
        baseline_haproxy_stop(lab)
    # The same through our HAProxy logging only errors (haproxy_log_requests).
    apply_loadbalancers(lab, "-e", "haproxy_log_requests=errors")
    try:
        for kind, path in paths.items():
            log("throughput: %s, errors-only log" % kind)
            quiet = measure("https://%s:443%s" % (vip, path))
            result[kind]["ours_errors_log"] = quiet
            result[kind]["errors_log_ratio"] = round(quiet["rps"] / result[kind]["direct"]["rps"], 3)
    finally:
        apply_loadbalancers(lab)
    return result


def web_failure(lab: Lab, url: str, kind: str, hold: float) -> dict:
    web = lab.group("webservers")[0]
    stop, start = {"nginx": (["docker", "exec", web, "systemctl", "stop", "nginx"],
                             ["docker", "exec", web, "systemctl", "start", "nginx"]),
                   "freeze": (["docker", "pause", web], ["docker", "unpause", web])}[kind]

    def action():
        run(stop)
        try:
            time.sleep(hold)
        finally:
            run(start)
    report = brief(probe(lab, url, rate=PROBE_RATE, duration=hold + 15, action=action, at=3))
    time.sleep(5)  # both balancers see the server up again
    return report


def section_webfail(lab: Lab, args) -> dict:
    """Requests lost when a web server's nginx stops, and when the server freezes."""
    vip = lab.vips[0]
    result = {}
    baseline_haproxy_start(lab)
    try:
        for kind in ("nginx", "freeze"):
            log("webfail: %s" % kind)
            result[kind] = {
                "ours": web_failure(lab, "https://%s/" % vip, kind, args.hold),
                "baseline": web_failure(lab, "https://%s:%d/" % (vip, BASELINE_PORT), kind, args.hold),
                "hold_seconds": args.hold,
            }
    finally:
        baseline_haproxy_stop(lab)
    return result


def section_change(lab: Lab, args) -> dict:
    """Requests lost during ten HAProxy reloads and during rolling deploys, under load."""
    vip = lab.vips[0]
    holder = lab.holder(vip)

    def reloads():
        for _reload in range(10):
            dexec(holder, "systemctl reload haproxy")
            time.sleep(0.5)
    log("change: ten reloads")
    reload_report = brief(probe(lab, "https://%s/" % vip, rate=PROBE_RATE, duration=15, action=reloads, at=2))
    default = lab.hostvars[lab.group("webservers")[0]].get("app_version", "1.0.0")
    deploys = []
    for version in ("%s-bench" % default, default):
        log("change: rolling deploy of %s" % version)
        started = time.monotonic()
        report = probe(lab, "https://%s/" % vip, rate=PROBE_RATE, duration=900, at=1, stop_after_action=True,
                       action=lambda v=version: playbook("playbooks/deploy.yml", "-e", "app_version=%s" % v))
        deploys.append(brief(report) | {"version": version, "seconds": round(time.monotonic() - started, 1)})
    return {"reloads": reload_report, "deploys": deploys}


def failover_trials(lab: Lab, kind: str, trials: int) -> list[dict]:
    """VIP outage seen by the probe when the VIP's holder is killed or its HAProxy stopped.

    Every trial starts settled: apply_loadbalancers() settles before the first,
    and each trial waits until the VIP is back before it ends."""
    vip = lab.vips[0]
    reports = []
    for trial in range(trials):
        holder = lab.holder(vip) or lab.group("loadbalancers")[0]
        log("failover: %s, trial %d on %s" % (kind, trial + 1, holder))
        breaks = {"kill": (["docker", "kill", holder], ["docker", "start", holder]),
                  "haproxy": (["docker", "exec", holder, "systemctl", "stop", "haproxy"],
                              ["docker", "exec", holder, "systemctl", "start", "haproxy"])}
        action, restore = breaks[kind]
        try:
            report = probe(lab, "https://%s/static/index.html" % vip, rate=PROBE_RATE, duration=8,
                           action=lambda cmd=action: run(cmd), at=3, bucket=0.1)
        finally:
            run(restore)
        reports.append(report)
        lab.settle(vip, holder)
    return reports


def summary(reports: list[dict]) -> dict:
    """The outage of each trial is the longest time without a good answer: a
    request sent during the hand-over may still succeed once its SYN is
    retransmitted, so failed requests alone would understate it."""
    outages = [r["longest_gap"] for r in reports]
    return {"median_s": round(statistics.median(outages), 3), "max_s": max(outages), "outages_s": outages,
            "longest_failing_run_s": [r["longest_outage"] for r in reports],
            "failed": [r["failed"] for r in reports], "sent": [r["total"] for r in reports]}


def section_failover(lab: Lab, args) -> dict:
    """VIP outages, ours (VRRPv3, 0.1 s adverts) and baseline (VRRPv2, 1 s adverts)."""
    result = {"probe_rate": PROBE_RATE}
    timelines = {}
    vrrp_v2 = ("-e", "keepalived_vrrp_version=2", "-e", "keepalived_advert_int=1")
    for config, extra in (("ours", ()), ("baseline", vrrp_v2)):
        log("failover: keepalived %s" % config)
        apply_loadbalancers(lab, *extra)
        version = 2 if extra else 3
        if "vrrp_version %d" % version not in dexec(lab.group("loadbalancers")[0], "cat /etc/keepalived/keepalived.conf"):
            raise RuntimeError("keepalived is not on VRRP version %d" % version)
        try:
            for kind in ("kill", "haproxy"):
                reports = failover_trials(lab, kind, args.trials)
                result.setdefault(kind, {})[config] = summary(reports)
                if kind == "kill":
                    timelines[config] = {k: reports[0][k] for k in ("timeline", "action_at", "longest_gap")}
        finally:
            if config == "baseline":
                apply_loadbalancers(lab)
    result["timelines"] = timelines
    return result


# --- versions, report and plot ----------------------------------------------------------------

def versions(lab: Lab) -> dict:
    lb, web, db = lab.group("loadbalancers")[0], lab.group("webservers")[0], lab.group("mysql_primary")[0]

    def first(text: str) -> str:
        return text.strip().splitlines()[0] if text.strip() else "?"
    cpu = re.search(r"model name\s*:\s*(.*)", Path("/proc/cpuinfo").read_text())
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": run(["git", "rev-parse", "--short", "HEAD"], check=False).stdout.strip(),
        "machine": "%s, %d cores, %.0f GiB, kernel %s" % (
            cpu.group(1) if cpu else platform.machine(), os.cpu_count(),
            os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2 ** 30, platform.release()),
        "docker": run(["docker", "version", "-f", "{{.Server.Version}}"], check=False).stdout.strip(),
        "debian": first(dexec(lb, "cat /etc/debian_version", check=False)),
        "haproxy": first(dexec(lb, "haproxy -v", check=False)),
        "keepalived": first(dexec(lb, "keepalived -v 2>&1", check=False)),
        "nginx": first(dexec(web, "nginx -v 2>&1", check=False)),
        "mariadb": first(dexec(db, "mariadb --version", check=False)),
        "wrk": first(dexec(lab.client, "wrk -v 2>&1", check=False)),
        "ansible_core": first(run(["ansible", "--version"], check=False).stdout),
    }


def plot(results: dict, path: Path) -> None:
    import matplotlib  # pylint: disable=import-outside-toplevel
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel

    timelines = results.get("failover", {}).get("timelines", {})
    if not timelines:
        return
    fig, axes = plt.subplots(len(timelines), 1, figsize=(9, 2.6 * len(timelines)), sharex=True, squeeze=False)
    labels = {"ours": "alx.webstack (VRRPv3, advert 0.1 s)", "baseline": "baseline (VRRPv2, advert 1 s)"}
    for axis, (config, data) in zip(axes[:, 0], sorted(timelines.items(), key=lambda kv: kv[0] != "ours")):
        rows = data["timeline"]
        times = [row["t"] - data["action_at"] for row in rows]
        axis.bar(times, [row["answered"] for row in rows], width=0.1, align="edge", color="#3a7d44",
                 label="good answers (when they arrived)")
        axis.bar(times, [row["failed"] for row in rows], width=0.1, align="edge", color="#c0392b",
                 bottom=[row["answered"] for row in rows], label="failed requests (when sent)")
        axis.axvline(0, color="black", linestyle="--", linewidth=1)
        axis.text(0.05, max(max(r["answered"] + r["failed"] for r in rows), 1) * 0.9, "docker kill", fontsize=8)
        axis.set_title("%s: %.2f s without an answer" % (labels.get(config, config), data["longest_gap"]),
                       fontsize=10)
        axis.set_ylabel("per 100 ms")
        axis.legend(loc="lower right", fontsize=8)
    axes[-1, 0].set_xlabel("seconds from killing the VIP holder")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def ratio(a, b):
    return round(a / b, 2) if a is not None and b else None


def rows(results: dict) -> list[tuple]:
    """(measurement, ours, baseline, ratio, target, met) for every figure there is."""
    out = []
    fo = results.get("failover")
    if fo:
        for kind, what in (("kill", "VIP outage, VIP holder killed"), ("haproxy", "VIP outage, HAProxy stopped")):
            ours, base = fo[kind]["ours"], fo[kind]["baseline"]
            out.append(("%s (median / max of %d)" % (what, len(ours["outages_s"])),
                        "%.2f / %.2f s" % (ours["median_s"], ours["max_s"]),
                        "%.2f / %.2f s" % (base["median_s"], base["max_s"]),
                        ratio(ours["median_s"], base["median_s"]), "≤ 1.0 s", ours["max_s"] <= 1.0))
    wf = results.get("webfail")
    if wf:
        for kind, what in (("nginx", "failed requests, nginx stopped on a web server %d s"),
                           ("freeze", "failed requests, web server frozen %d s (docker pause)")):
            ours, base = wf[kind]["ours"], wf[kind]["baseline"]
            out.append((what % wf[kind]["hold_seconds"], "%d of %d" % (ours["failed"], ours["total"]),
                        "%d of %d" % (base["failed"], base["total"]), ratio(ours["failed"], base["failed"]),
                        "0" if kind == "nginx" else "", ours["failed"] == 0 if kind == "nginx" else None))
        ours, base = wf["freeze"]["ours"], wf["freeze"]["baseline"]
        out.append(("time span of those failures, web server frozen", "%.2f s" % ours["failure_span"],
                    "%.2f s" % base["failure_span"], ratio(ours["failure_span"], base["failure_span"]), "≤ 2 s",
                    ours["failure_span"] <= 2.0))
    ch = results.get("change")
    if ch:
        rl = ch["reloads"]
        out.append(("failed requests, 10 × `systemctl reload haproxy`", "%d of %d" % (rl["failed"], rl["total"]),
                    "", None, "0", rl["failed"] == 0))
        failed, total = sum(d["failed"] for d in ch["deploys"]), sum(d["total"] for d in ch["deploys"])
        out.append(("failed requests, %d rolling deploys (deploy.yml)" % len(ch["deploys"]),
                    "%d of %d" % (failed, total), "", None, "0", failed == 0))
    tp = results.get("throughput")
    if tp:
        for kind, what, target in (("static", "static page", 0.6), ("app", "application request", 0.9)):
            t = tp[kind]
            out.append(("req/s through the VIP (HTTPS) ÷ direct to one web server (HTTP), %s" % what,
                        "%.2f (%.0f ÷ %.0f)" % (t["ratio"], t["ours"]["rps"], t["direct"]["rps"]),
                        "%.2f (%.0f)" % (t["baseline_ratio"], t["baseline"]["rps"]),
                        ratio(t["ratio"], t["baseline_ratio"]), "≥ %.1f" % target, t["ratio"] >= target))
            if "ours_errors_log" in t:
                out.append(("same, with `haproxy_log_requests: errors`", "%.2f (%.0f)" % (
                    t["errors_log_ratio"], t["ours_errors_log"]["rps"]), "", None, "≥ %.1f" % target,
                    t["errors_log_ratio"] >= target))
            out.append(("p50 latency the VIP adds, %s" % what, "%.2f ms" % t["added_p50_ms"],
                        "%.2f ms" % t["baseline_added_p50_ms"], None, "", None))
    st = results.get("site")
    if st:
        out.append(("site.yml on a fresh lab: wall time, changed", "%.0f s, %d changed" % (
            st["first"]["seconds"], st["first"]["changed"]), "", None, "", None))
        second = st["second"]
        out.append(("site.yml second run: wall time (share of the first run's), changed",
                    "%.0f s (%.0f %%), %d changed" % (second["seconds"], 100 * st["ratio"], second["changed"]),
                    "", None, "0 changed, ≤ 30 %", second["changed"] == 0 and st["ratio"] <= 0.3))
    hb = results.get("heartbeat")
    if hb:
        for state, what in (("idle", "idle"), ("load", "under %d application writes/s" % hb["load"]["writes_per_s"])):
            out.append(("replica heartbeat delay, %s (median / max of %d)" % (what, hb[state]["samples"]),
                        "%.1f / %.1f ms" % (hb[state]["median_ms"], hb[state]["max_ms"]), "", None, "≤ 1 s",
                        hb[state]["max_ms"] <= 1000))
    return out


def markdown(results: dict) -> str:
    v = results["versions"]
    mark = {True: "yes", False: "**no**", None: ""}
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` from `bench/results/results.json`; a rerun replaces this page.",
        "Every figure was measured in the Docker lab in one run, each beside its baseline from",
        "the same run on the same containers. Ratio is ours ÷ baseline (for outages and failures,",
        "lower is better).",
        "",
        "| | |",
        "| --- | --- |",
    ]
    for key in ("date", "commit", "machine", "docker", "debian", "haproxy", "keepalived", "nginx", "mariadb",
                "wrk", "ansible_core"):
        lines.append("| %s | %s |" % (key.replace("_", "-"), v.get(key, "")))
    lines += [
        "",
        "Baselines: keepalived with VRRPv2 and `advert_int 1` (the role's variables, applied and then",
        "removed); Debian's packaged `haproxy.cfg` with a TLS frontend and a plain round-robin backend",
        "(`server ... check`), run as a second HAProxy on port %d beside ours." % BASELINE_PORT,
        "",
        "| measurement | alx.webstack | baseline | ratio | target | met |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for what, ours, base, rat, target, met in rows(results):
        lines.append("| %s | %s | %s | %s | %s | %s |" % (what, ours, base, "" if rat is None else rat, target,
                                                          mark[met]))
    if results.get("failover", {}).get("timelines"):
        lines += ["", "One failover (the first trial of each), requests per 100 ms:", "",
                  "![VIP failover timeline](bench/results/failover.png)"]
    tp = results.get("throughput", {}).get("settings")
    if tp:
        lines += ["", "Throughput: %s, %d s per run, median of %d runs, from the client container; the load"
                  " tool, HAProxy, nginx and the application share the machine's cores." % (
                      tp["tool"], tp["seconds"], tp["runs"])]
    fo = results.get("failover")
    if fo:
        lines += ["", "VIP outages: the probe sends %d HTTPS requests per second, each on a new connection;"
                  " the outage is the longest time in which no good answer arrived. (A request sent during"
                  " the hand-over may still succeed once TCP retransmits its SYN, so failed requests alone"
                  " would understate the outage.)" % fo["probe_rate"]]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--only", nargs="+", choices=SECTIONS, help="re-measure these on the running lab")
    parser.add_argument("--report", action="store_true", help="only write BENCHMARKS.md and the plot again")
    parser.add_argument("--image", default=os.environ.get("ALX_LAB_IMAGE", "alx-webstack/debian:12"))
    parser.add_argument("--trials", type=int, default=5, help="failover trials per kind and config")
    parser.add_argument("--hold", type=float, default=10.0, help="seconds a web server stays broken")
    parser.add_argument("--heartbeats", type=int, default=20, help="heartbeat samples per state")
    parser.add_argument("--write-rate", type=float, default=100.0, help="writes per second during the heartbeat")
    parser.add_argument("--wrk-seconds", type=int, default=10)
    parser.add_argument("--wrk-runs", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args(argv)
    os.environ.setdefault("ANSIBLE_CONFIG", str(ROOT / "ansible.cfg"))
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "results.json"
    if args.report:
        write_report(json.loads(path.read_text()))
        return 0

    lab = Lab()
    was_running = lab.running()
    sections = args.only or list(SECTIONS)
    results = json.loads(path.read_text()) if args.only and path.exists() else {}
    if "site" not in sections and not was_running:
        raise SystemExit("the lab is not running: `make lab` first, or run without --only")
    try:
        for name in sections:
            log("== %s" % name)
            started = time.monotonic()
            results[name] = globals()["section_" + name](lab, args)
            log("== %s done in %.0f s" % (name, time.monotonic() - started))
        results["versions"] = versions(lab)
    finally:
        baseline_haproxy_stop(lab)
        if not was_running and "site" in sections:
            log("removing the lab, which was not running before")
            run(["molecule", "destroy"], check=False)
            run(["docker", "network", "rm", "alx-webstack-lab"], check=False)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(results, indent=2) + "\n")
    tmp.replace(path)
    write_report(results)
    return 0


def write_report(results: dict) -> None:
    plot(results, RESULTS / "failover.png")
    (ROOT / "BENCHMARKS.md").write_text(markdown(results))
    written = [(RESULTS / name).relative_to(ROOT) for name in ("results.json", "failover.png")]
    log("wrote %s, %s and BENCHMARKS.md" % tuple(written))


if __name__ == "__main__":
    sys.exit(main())
