# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Monitoring: seconds from each fault to its notification at the lab's
webhook receiver, and back to resolved; and what the monitoring stack costs
on the monitoring host and on each host of the stack.

Every section returns its figures and ``rows``: the table lines they give,
each with its target and whether it was met.
"""

from __future__ import annotations

import re
import statistics

from bench.load import log, row
from labkit.monitoring import Monitoring, drill, faults

# Processes of the monitoring host and of the exporters, by their command names.
SERVER = ("prometheus", "prometheus-alertmanager", "prometheus-blackbox-exporter", "prometheus-node-exporter")
EXPORTERS = {"node": "prometheus-node-exporter", "mysqld": "prometheus-mysqld-exporter",
             "nginx": "prometheus-nginx-exporter"}


def seconds(value: str) -> float:
    """A Prometheus duration (5s, 1m, 1m30s) in seconds."""
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
    return sum(float(n) * units[u] for n, u in re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)", value))


def windows(settings: dict) -> dict:
    """The windows that add up to a notification's delay, in seconds, from the
    monitoring host's settings (the role's defaults where it sets none)."""
    return {"scrape": seconds(settings.get("monitoring_scrape_interval", "15s")),
            "evaluation": seconds(settings.get("monitoring_evaluation_interval", "15s")),
            "for": seconds(settings.get("monitoring_alert_for_short", "1m")),
            "group_wait": seconds(settings.get("monitoring_alertmanager_group_wait", "30s")),
            "group_interval": seconds(settings.get("monitoring_alertmanager_group_interval", "5m"))}


def usage(lab, host: str, command: str) -> dict | None:
    """Resident memory (MiB) and CPU share over the process's life (%) of
    ``command`` on ``host``, from ps; None when it does not run there."""
    out = lab.sh(host, "ps -C %s -o rss=,pcpu=" % command, check=False).split()
    if len(out) < 2:
        return None
    return {"rss_mib": round(int(out[0]) / 1024, 1), "cpu_percent": float(out[1])}


def resources(lab, monitoring: Monitoring) -> dict:
    found = {"server": {name: usage(lab, monitoring.host, name) for name in SERVER}, "exporters": {}}
    for kind, command in EXPORTERS.items():
        per_host = {host: usage(lab, host, command) for host in lab.hosts if host != lab.client}
        found["exporters"][kind] = {host: u for host, u in per_host.items() if u}
    found["samples_mib"] = round(int(lab.sh(monitoring.host, "du -sk /var/lib/prometheus/metrics2").split()[0]) / 1024,
                                 1)
    found["series"] = int(float(monitoring.query("prometheus_tsdb_head_series")[0]["value"][1]))
    found["targets"] = len(monitoring.targets())
    return found


def spread(values: list[float]) -> str:
    return "%.1f / %.1f s" % (statistics.median(values), max(values))


def alerting(lab, args) -> dict:
    """Each fault alone, ``args.trials`` times: its first expected alert's
    notification, and its resolution; then the stack's resource use."""
    monitoring = Monitoring(lab)
    lab_windows = windows(lab.variables(monitoring.host))
    defaults = windows({})
    result = {"windows": lab_windows, "default_windows": defaults, "faults": {}}
    for key, fault in faults(lab).items():
        runs = []
        for trial in range(args.trials):
            log("alerting: %s, trial %d of %d" % (fault.name, trial + 1, args.trials))
            found = drill(monitoring, [fault])
            runs.append({"delay": found["delay"], "resolved_after": found["resolved_after"]})
        result["faults"][key] = {"name": fault.name, "alert": fault.expected[0][0], "runs": runs}
    result["resources"] = resources(lab, monitoring)
    result["rows"] = alerting_rows(result)
    result["notes"] = alerting_notes(result)
    return result


def bound(w: dict) -> float:
    """The longest a notification should take: a scrape and an evaluation
    to see the fault, the alert's window, then Alertmanager's group wait."""
    return w["scrape"] + w["evaluation"] + w["for"] + w["group_wait"]


def alerting_rows(result: dict) -> list[dict]:
    w = result["windows"]
    limit = bound(w)
    rows = []
    for data in result["faults"].values():
        fired = [run["delay"][data["alert"]] for run in data["runs"]]
        resolved = [run["resolved_after"][data["alert"]] for run in data["runs"]]
        rows.append(row("seconds from %s to the %s notification, then from the repair to its resolution (median / max"
                        " of %d)" % (data["name"], data["alert"], len(fired)),
                        "%s; resolved %s" % (spread(fired), spread(resolved)), "", None,
                        "≤ %.0f s (the lab's windows)" % limit, max(fired) <= limit))
    res = result["resources"]
    server = ", ".join("%s %.0f MiB / %.1f %%" % (name.replace("prometheus-", ""), u["rss_mib"], u["cpu_percent"])
                       for name, u in res["server"].items() if u)
    rows.append(row("memory / CPU of the monitoring host's services (%d targets every %.0f s, %d series)"
                    % (res["targets"], w["scrape"], res["series"]), server))
    exporters = []
    for kind, per_host in res["exporters"].items():
        if per_host:
            exporters.append("%s %.0f MiB / %.1f %% (%d hosts)" % (
                kind, statistics.median(u["rss_mib"] for u in per_host.values()),
                statistics.median(u["cpu_percent"] for u in per_host.values()), len(per_host)))
    rows.append(row("memory / CPU of each exporter on a host of the stack (median over hosts)", "; ".join(exporters)))
    return rows


def alerting_notes(result: dict) -> list[str]:
    w, d = result["windows"], result["default_windows"]
    return [
        "Alerting: the lab scrapes every %.0f s, evaluates every %.0f s, fires outage alerts after %.0f s and"
        " Alertmanager waits %.0f s before a group's first notification (inventories/lab/group_vars/monitoring.yml),"
        " so the tests see notifications arrive within seconds; a resolution goes out at the group's next"
        " %.0f s interval. The role's defaults for production are %.0f s, %.0f s, %.0f s and %.0f s: a notification"
        " about %.0f s after the fault at most, which trades speed for fewer alerts on a blip. CPU is each process's"
        " share of one core over its life (ps), memory its resident set." % (
            w["scrape"], w["evaluation"], w["for"], w["group_wait"], w["group_interval"], d["scrape"],
            d["evaluation"], d["for"], d["group_wait"], bound(d)),
    ]
