#!/usr/bin/env python3
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""alx-probe: send requests to a URL at a fixed rate and report what happened.

Every request is sent on a new connection at its scheduled moment (a slow
answer never delays the next request), and its outcome is recorded with the
time it was sent. At the end one JSON document is printed:

  ok, failed, total, rate, duration   counts and settings
  longest_outage                      seconds from the first failed request of
                                      the longest failing run to the next
                                      request that succeeded (or the end)
  longest_gap                         longest time between two successful
                                      answers (by when they arrived): the
                                      outage as a client sees it, even when
                                      TCP retransmits hide it from the counts
  failure_span                        seconds from the first failed request
                                      sent to the last one (0 with one or none)
  started_at                          when the first request was due (Unix time)
  failures                            the first failures, with their errors
  timeline                            per bucket (default 1 s): requests sent
                                      that succeeded (ok) or failed, and good
                                      answers that arrived (answered)
  servers                             how many answers named each server (the
                                      X-Served-By header or the body's first
                                      line), for observing load balancing
  answers                             with --keep-answers only: every good
                                      answer's body, with when it was sent (t),
                                      e.g. the ids of the writes acknowledged

SIGINT or SIGTERM ends the probe early; the report then covers the time it ran.
Only the Python standard library is used, so it runs on any host with python3.
"""

from __future__ import annotations

import argparse
import functools
import http.client
import json
import math
import os
import signal
import ssl
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class Outcome:
    """One request: when it was sent (seconds from the start) and how it ended."""

    sent: float
    ok: bool
    status: int | None = None
    error: str | None = None
    elapsed: float = 0.0
    server: str | None = None
    answer: str | None = None


@dataclass
class Target:
    """Where and how to send each request."""

    url: str
    method: str = "GET"
    body: bytes | None = None
    timeout: float = 2.0
    insecure: bool = False
    cafile: str | None = None
    expect: tuple[int, ...] = (200,)
    headers: dict[str, str] = field(default_factory=dict)
    keep_answers: bool = False


@functools.lru_cache(maxsize=None)
def _tls_context(cafile: str | None, insecure: bool) -> ssl.SSLContext:
    """One TLS context per setting: loading the CA store costs more CPU than a handshake."""
    context = ssl.create_default_context(cafile=cafile)
    if insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _connection(target: Target) -> http.client.HTTPConnection:
    parts = urlsplit(target.url)
    if parts.scheme == "https":
        return http.client.HTTPSConnection(
            parts.hostname, parts.port or 443, timeout=target.timeout,
            context=_tls_context(target.cafile, target.insecure),
        )
    if parts.scheme == "http":
        return http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=target.timeout)
    raise ValueError("unsupported URL scheme %r (use http or https)" % parts.scheme)


def request_once(target: Target, started: float) -> Outcome:
    """Send one request on a new connection and classify the answer."""
    sent = time.monotonic() - started
    parts = urlsplit(target.url)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    conn = _connection(target)
    try:
        conn.request(target.method, path, body=target.body, headers={"Connection": "close", **target.headers})
        response = conn.getresponse()
        payload = response.read(65536)
        server = response.getheader("X-Served-By")
        if server is None and payload:
            server = payload.split(b"\n", 1)[0].decode("utf-8", "replace").strip()[:80] or None
        ok = response.status in target.expect
        return Outcome(
            sent=sent,
            ok=ok,
            status=response.status,
            error=None if ok else "HTTP %d" % response.status,
            elapsed=time.monotonic() - started - sent,
            server=server,
            answer=payload.decode("utf-8", "replace") if ok and target.keep_answers else None,
        )
    except (OSError, http.client.HTTPException, ssl.SSLError) as err:
        return Outcome(
            sent=sent,
            ok=False,
            error="%s: %s" % (type(err).__name__, err),
            elapsed=time.monotonic() - started - sent,
        )
    finally:
        conn.close()


def longest_outage(outcomes: list[Outcome], duration: float) -> float:
    """Longest time from a failed request to the next successful one.

    Outcomes are taken in the order they were sent. A failing run that lasts
    to the end of the probe counts up to ``duration``.
    """
    longest = 0.0
    run_start = None
    for outcome in sorted(outcomes, key=lambda o: o.sent):
        if not outcome.ok and run_start is None:
            run_start = outcome.sent
        elif outcome.ok and run_start is not None:
            longest = max(longest, outcome.sent - run_start)
            run_start = None
    if run_start is not None:
        longest = max(longest, duration - run_start)
    return round(longest, 3)


def longest_gap(outcomes: list[Outcome]) -> float:
    """Longest time between two successful answers, by when they arrived.

    A request sent while nobody holds the address is not always a failure: its
    SYN is retransmitted and it may still succeed, late. Its answer arrives
    late too, so this gap shows the outage that the failure counts miss.
    """
    arrivals = sorted(o.sent + o.elapsed for o in outcomes if o.ok)
    return round(max((b - a for a, b in zip(arrivals, arrivals[1:])), default=0.0), 3)


def timeline(outcomes: list[Outcome], duration: float, bucket: float) -> list[dict]:
    """Per bucket of ``bucket`` seconds: requests sent that succeeded (ok) and
    failed, and successful answers that arrived in it (answered)."""
    count = max(1, math.ceil(duration / bucket - 1e-9))
    rows = [{"t": round(i * bucket, 3), "ok": 0, "failed": 0, "answered": 0} for i in range(count)]
    for outcome in outcomes:
        index = min(count - 1, int(outcome.sent / bucket))
        rows[index]["ok" if outcome.ok else "failed"] += 1
        if outcome.ok:
            rows[min(count - 1, int((outcome.sent + outcome.elapsed) / bucket))]["answered"] += 1
    return rows


def summarise(outcomes: list[Outcome], rate: float, duration: float, bucket: float = 1.0) -> dict:
    """The JSON report for a finished probe."""
    failures = [o for o in sorted(outcomes, key=lambda o: o.sent) if not o.ok]
    servers: dict[str, int] = {}
    for outcome in outcomes:
        if outcome.ok and outcome.server:
            servers[outcome.server] = servers.get(outcome.server, 0) + 1
    latencies = sorted(o.elapsed for o in outcomes if o.ok)
    return {
        "total": len(outcomes),
        "ok": len(outcomes) - len(failures),
        "failed": len(failures),
        "rate": rate,
        "duration": duration,
        "longest_outage": longest_outage(outcomes, duration),
        "longest_gap": longest_gap(outcomes),
        "failure_span": round(failures[-1].sent - failures[0].sent, 3) if failures else 0.0,
        "latency_p50_ms": round(1000 * latencies[len(latencies) // 2], 2) if latencies else None,
        "latency_max_ms": round(1000 * latencies[-1], 2) if latencies else None,
        "servers": servers,
        "failures": [
            {"t": round(o.sent, 3), "status": o.status, "error": o.error} for o in failures[:50]
        ],
        "timeline": timeline(outcomes, duration, bucket),
        **({"answers": [{"t": round(o.sent, 3), "body": o.answer} for o in sorted(outcomes, key=lambda o: o.sent)
                        if o.answer is not None]} if any(o.answer is not None for o in outcomes) else {}),
    }


def run(target: Target, rate: float, duration: float, workers: int = 64,
        stop: threading.Event | None = None) -> tuple[list[Outcome], float]:
    """Send ``rate`` requests per second for ``duration`` seconds, or until ``stop`` is set.

    Returns the outcomes and the seconds the probe really ran.
    """
    if rate <= 0 or duration <= 0:
        raise ValueError("rate and duration must be positive")
    stop = stop or threading.Event()
    interval = 1.0 / rate
    planned = int(rate * duration)
    outcomes: list[Outcome] = []
    lock = threading.Lock()
    started = time.monotonic()

    def one() -> None:
        outcome = request_once(target, started)
        with lock:
            outcomes.append(outcome)

    sent = 0
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for sent in range(planned):
            delay = started + sent * interval - time.monotonic()
            if delay > 0 and stop.wait(delay):
                break
            pool.submit(one)
        else:
            sent = planned
    return outcomes, min(duration, sent * interval) if stop.is_set() else duration


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="alx-probe", description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("url")
    parser.add_argument("--rate", type=float, default=20.0, help="requests per second (default 20)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds to run (default 10)")
    parser.add_argument("--timeout", type=float, default=2.0, help="seconds a request may take (default 2)")
    parser.add_argument("--method", default="GET")
    parser.add_argument("--data", help="request body (for POST)")
    parser.add_argument("--header", action="append", default=[], help="extra header 'Name: value'")
    parser.add_argument("--expect", default="200", help="comma-separated statuses that count as ok")
    parser.add_argument("--insecure", action="store_true", help="do not verify the TLS certificate")
    parser.add_argument("--cafile", help="CA bundle to verify the TLS certificate with")
    parser.add_argument("--bucket", type=float, default=1.0, help="timeline resolution in seconds")
    parser.add_argument("--output", help="write the JSON report here as well as to stdout")
    parser.add_argument("--keep-answers", action="store_true", help="report the body of every good answer")
    args = parser.parse_args(argv)
    if args.rate <= 0 or args.duration <= 0 or args.timeout <= 0 or args.bucket <= 0:
        parser.error("--rate, --duration, --timeout and --bucket must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    headers = {}
    for header in args.header:
        name, value = header.split(":", 1) if ":" in header else (header, "")
        headers[name.strip()] = value.strip()
    target = Target(
        url=args.url,
        method=args.method.upper(),
        body=args.data.encode() if args.data is not None else None,
        timeout=args.timeout,
        insecure=args.insecure,
        cafile=args.cafile,
        expect=tuple(int(s) for s in args.expect.split(",")),
        headers=headers,
        keep_answers=args.keep_answers,
    )
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_args: stop.set())
    started_at = time.time()
    outcomes, ran = run(target, args.rate, args.duration, stop=stop)
    report = summarise(outcomes, args.rate, ran, args.bucket)
    report["started_at"] = round(started_at, 3)
    report["stopped_early"] = stop.is_set()
    report["url"] = args.url
    text = json.dumps(report, indent=2)
    if args.output:
        with open(args.output + ".tmp", "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
        os.replace(args.output + ".tmp", args.output)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
