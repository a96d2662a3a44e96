# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Measure the stack in the Docker lab, each figure beside a baseline from the same run.

Run it with ``make bench``. It builds a fresh lab (the first run of site.yml is
one of the figures), breaks things on purpose while the client host sends
requests, and writes:

  bench/results/results.json   every figure, with the table rows it gives
  bench/results/failover.png   one VIP failover, requests per 100 ms
  BENCHMARKS.md                the table, written from results.json

While it runs, bench/results/partial.json holds the sections measured so far
(a section that fails leaves the figures of those before it there).

When the lab was not running before, it is removed at the end; when it was,
it is left running and converged.

``--only SECTION ...`` re-measures some sections on the running lab and keeps
the other figures of the last run; ``--report`` only writes BENCHMARKS.md and
the plot again from results.json, with the notes under the table worded as the
code now words them (no figure changes).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import sys
import time
from pathlib import Path

from bench import report
from bench.load import log
from bench.sections import NOTES, SECTIONS
from labkit import control
from labkit.commands import ROOT, run
from labkit.lab import Lab

RESULTS = ROOT / "bench" / "results" / "results.json"
# The sections measured so far, while a run goes on; removed once it has ended.
PARTIAL = ROOT / "bench" / "results" / "partial.json"


def versions(lab: Lab) -> dict:
    """What the figures were measured with."""
    lb, web, db = lab.balancers[0], lab.group("webservers")[0], lab.group("mysql_primary")[0]

    def first(host: str, command: str) -> str:
        text = lab.sh(host, command, check=False).strip()
        return text.splitlines()[0] if text else "?"
    cpu = re.search(r"model name\s*:\s*(.*)", Path("/proc/cpuinfo").read_text(encoding="utf-8"))
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": run(["git", "rev-parse", "--short", "HEAD"], check=False).stdout.strip(),
        "machine": "%s, %d cores, %.0f GiB, kernel %s" % (
            cpu.group(1) if cpu else platform.machine(), os.cpu_count(),
            os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2 ** 30, platform.release()),
        "docker": run(["docker", "version", "-f", "{{.Server.Version}}"], check=False).stdout.strip(),
        "debian": first(lb, "cat /etc/debian_version"),
        "haproxy": first(lb, "haproxy -v"),
        "keepalived": first(lb, "keepalived -v 2>&1"),
        "nginx": first(web, "nginx -v 2>&1"),
        "mariadb": first(db, "mariadb --version"),
        "wrk": first(lab.client, "wrk -v 2>&1"),
        "ansible_core": run(["ansible", "--version"], check=False).stdout.splitlines()[0],
    }


def arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--only", nargs="+", choices=list(SECTIONS), help="re-measure these on the running lab")
    parser.add_argument("--report", action="store_true",
                        help="only write BENCHMARKS.md and the plot again, with the notes as the code words them")
    parser.add_argument("--image", default=os.environ.get("ALX_LAB_IMAGE", "alx-webstack/debian:12"))
    parser.add_argument("--trials", type=int, default=10, help="failover trials per kind and config")
    parser.add_argument("--hold", type=float, default=10.0, help="seconds a web server stays broken")
    parser.add_argument("--stress-seconds", type=int, default=60, help="seconds the balancers stay saturated")
    parser.add_argument("--heartbeats", type=int, default=20, help="heartbeat samples per state")
    parser.add_argument("--write-rate", type=float, default=100.0, help="writes per second during the heartbeat")
    parser.add_argument("--wrk-seconds", type=int, default=10)
    parser.add_argument("--wrk-runs", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    return parser.parse_args(argv)


def save(results: dict, path: Path | None = None) -> None:
    path = path or RESULTS
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    os.environ.setdefault("ANSIBLE_CONFIG", str(ROOT / "ansible.cfg"))
    os.environ["ALX_LAB_IMAGE"] = args.image
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    if args.report:
        results = json.loads(RESULTS.read_text(encoding="utf-8"))
        for name, notes in NOTES.items():
            if name in results:
                results[name]["notes"] = notes(results[name])
        save(results)
    else:
        lab = Lab()
        was_running = lab.all_running()
        sections = args.only or list(SECTIONS)
        results = json.loads(RESULTS.read_text(encoding="utf-8")) if args.only and RESULTS.exists() else {}
        if "site" not in sections and not control.healthy(lab):
            # Whatever an interrupted run or a reboot left: measure on a lab brought back first.
            log("the lab is not whole: bringing it back as `make lab` does")
            control.up(lab)
        try:
            for name in sections:
                log("== %s" % name)
                started = time.monotonic()
                results[name] = SECTIONS[name](lab, args)
                log("== %s done in %.0f s" % (name, time.monotonic() - started))
                # A section that fails later costs only its own figures.
                save(results, PARTIAL)
            measured = versions(lab)
            if args.only and "versions" in results:
                # The page's versions stay those of the full run; these
                # sections say when and where they were measured again.
                for name in sections:
                    results[name]["versions"] = measured
            else:
                results["versions"] = measured
        finally:
            if not was_running and "site" in sections:
                log("removing the lab, which was not running before")
                run(["molecule", "destroy"], check=False)
                run(["docker", "network", "rm", "alx-webstack-lab"], check=False)
        save(results)
        PARTIAL.unlink(missing_ok=True)
    written = report.write(results, ROOT)
    log("wrote %s" % ", ".join(str(p.relative_to(ROOT)) for p in [RESULTS, *written]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
