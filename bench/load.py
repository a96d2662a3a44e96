# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Load on the lab from its client host: wrk for throughput, and figures from probe reports."""

from __future__ import annotations

import re
import shlex
import time

from labkit.lab import Lab

UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}
# Requests per second the probe sends while something breaks (one every 20 ms).
PROBE_RATE = 50.0


def log(message: str) -> None:
    print("[%s] %s" % (time.strftime("%H:%M:%S"), message), flush=True)


def brief(report: dict) -> dict:
    """The figures of a probe report, without its timeline."""
    keys = ("total", "ok", "failed", "rate", "duration", "longest_gap", "longest_outage", "failure_span", "action_at",
            "latency_p50_ms", "latency_max_ms")
    return {k: report.get(k) for k in keys} | {"failures": report.get("failures", [])[:10]}


def parse_wrk(text: str) -> dict:
    """Requests per second, latency percentiles (ms) and errors from `wrk --latency` output."""
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    if not rps:
        raise ValueError("no Requests/sec in wrk output:\n%s" % text)
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
    """Median of ``runs`` wrk runs on the client (by requests per second), after a short warm-up."""
    base = "wrk -t2 -c%d --latency --timeout 5s" % connections
    lab.sh(lab.client, "%s -d2s %s >/dev/null" % (base, shlex.quote(url)))
    samples = [parse_wrk(lab.sh(lab.client, "%s -d%ds %s" % (base, seconds, shlex.quote(url))))
               for _run in range(runs)]
    middle = sorted(samples, key=lambda s: s["rps"])[len(samples) // 2]
    return middle | {"samples_rps": [s["rps"] for s in samples], "url": url}


def ratio(a, b):
    """a ÷ b rounded, or None where either is missing."""
    return round(a / b, 2) if a is not None and b else None


def row(measurement: str, ours: str, baseline: str = "", ratio_value=None, target: str = "", met=None) -> dict:
    """One line of the benchmark table; ``met`` is None where there is no target."""
    return {"measurement": measurement, "ours": ours, "baseline": baseline, "ratio": ratio_value,
            "target": target, "met": met}
