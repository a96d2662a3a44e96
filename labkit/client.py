# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The probe (labkit/probe.py, installed as alx-probe) run on the lab's client
host in the background while a test or a benchmark breaks something."""

from __future__ import annotations

import json
import shlex
import time

from labkit.commands import wait_until
from labkit.lab import Lab


class Probe:
    """One alx-probe run on the client. Options are alx-probe's flags:
    ``Probe(lab, url, rate=50, duration=10, insecure=True, bucket=0.1)``."""

    def __init__(self, lab: Lab, url: str, rate: float, duration: float, **options) -> None:
        self.lab = lab
        self.duration = duration
        self.report_path = "/tmp/alx-probe-%d.json" % int(time.time() * 1000)
        args = ["alx-probe", url, "--rate", str(rate), "--duration", str(duration), "--output", self.report_path]
        for key, value in options.items():
            flag = "--" + key.replace("_", "-")
            args += [flag] if value is True else [flag, str(value)]
        self.command = shlex.join(args)
        self.pid = None

    def start(self) -> "Probe":
        self.pid = self.lab.sh(self.lab.client, "rm -f %s; nohup %s >/dev/null 2>&1 & echo $!"
                               % (self.report_path, self.command)).strip()
        return self

    def stop(self) -> None:
        """End the probe early (SIGINT): its report covers the time it ran."""
        self.lab.sh(self.lab.client, "kill -INT %s 2>/dev/null || true" % self.pid)

    def result(self, grace: float = 30.0) -> dict:
        """The probe's report, once it has written it."""
        written = "test -s %s && ! kill -0 %s 2>/dev/null && echo written" % (self.report_path, self.pid)
        wait_until(lambda: self.lab.sh(self.lab.client, written, check=False).strip() == "written",
                   self.duration + grace, 0.5, "probe report")
        return json.loads(self.lab.sh(self.lab.client, "cat %s" % self.report_path))


def during(lab: Lab, url: str, action, rate: float, duration: float, at: float = 3.0,
           stop_after_action: bool = False, **options) -> dict:
    """Probe ``url`` and run ``action`` ``at`` seconds after the probe started.

    With ``stop_after_action`` the probe ends two seconds after the action has
    returned (``duration`` is then only an upper bound). The report gains
    ``action_at``: when the action began, in the probe's own seconds."""
    probe = Probe(lab, url, rate, duration, **options).start()
    time.sleep(at)
    acted = time.time()
    try:
        action()
    finally:
        if stop_after_action:
            time.sleep(2)
            probe.stop()
    report = probe.result()
    report["action_at"] = round(acted - report["started_at"], 3)
    return report


# Run in a host's container: as many requests as ``threads`` keep-alive HTTPS
# connections can send to one address for some seconds; prints how many got
# each status ("error" for a refused or dropped connection).
_FLOOD = r"""
import collections, http.client, json, ssl, sys, threading, time
host, path, seconds, threads = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
counts, lock, end = collections.Counter(), threading.Lock(), time.time() + seconds
context = ssl._create_unverified_context()
def worker():
    connection = None
    while time.time() < end:
        try:
            connection = connection or http.client.HTTPSConnection(host, 443, timeout=5, context=context)
            connection.request("GET", path)
            answer = connection.getresponse()
            answer.read()
            key = str(answer.status)
        except Exception:
            key, connection = "error", None
        with lock:
            counts[key] += 1
threads = [threading.Thread(target=worker) for _ in range(threads)]
[t.start() for t in threads]
[t.join() for t in threads]
print(json.dumps(counts))
"""


def flood(lab: Lab, source: str, address: str, seconds: float, path: str = "/", threads: int = 8) -> dict:
    """Send requests to https://ADDRESS/PATH from ``source`` as fast as
    ``threads`` connections can for ``seconds``; {status: count}."""
    out = lab.sh(source, "python3 -c %s %s %s %s %d" % (shlex.quote(_FLOOD), address, shlex.quote(path), seconds, threads),
                 timeout=seconds + 60)
    return json.loads(out)
