# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Breaking a lab host on purpose, and the way back.

Each fault is a context manager: entering it breaks the host, leaving it
(also on an exception) puts the host back, so a test or a benchmark that
breaks something always repairs it::

    with faults.paused(lab, "web1"):
        time.sleep(8)
"""

from __future__ import annotations

import threading
from contextlib import contextmanager

from labkit.commands import run, wait_until
from labkit.lab import Lab


@contextmanager
def killed(lab: Lab, host: str, services: tuple[str, ...] = ()):
    """``docker kill``: the host is gone at once, as after a power cut. On the
    way back it is started, waited for until systemd is up, and ``services``
    are started (in case a test had stopped them)."""
    run(["docker", "kill", host])
    try:
        yield
    finally:
        start(lab, host, services)


def start(lab: Lab, host: str, services: tuple[str, ...] = ()) -> None:
    """Start a stopped or killed host and wait until it has booted."""
    if not lab.running(host):
        run(["docker", "start", host])
    wait_until(lambda: lab.booted(host), 90, 1, "%s booted" % host)
    if services:
        lab.sh(host, "systemctl start %s" % " ".join(services))


@contextmanager
def stopped(lab: Lab, host: str, service: str):
    """``systemctl stop SERVICE`` on the host; started again on the way back."""
    lab.sh(host, "systemctl stop %s" % service)
    try:
        yield
    finally:
        lab.sh(host, "systemctl start %s" % service)


@contextmanager
def crashed(lab: Lab, host: str, service: str):
    """``kill -9`` of the service's main process, as a crash. systemd starts
    it again when its unit says so (HAProxy's does at once); on the way back
    it is started if it has not been, and waited for."""
    def active() -> bool:
        return lab.sh(host, "systemctl is-active %s" % service, check=False).strip() == "active"

    lab.sh(host, "kill -9 $(systemctl show --property MainPID --value %s)" % service)
    try:
        yield
    finally:
        if not active():
            lab.sh(host, "systemctl start %s" % service)
        wait_until(active, 30, 0.2, "%s active on %s" % (service, host))


@contextmanager
def paused(lab: Lab, host: str):
    """``docker pause``: the host keeps its connections open and never answers,
    as a machine that has frozen."""
    run(["docker", "pause", host])
    try:
        yield
    finally:
        run(["docker", "unpause", host])


def restart(host: str, grace: int = 20) -> None:
    """``docker restart`` (SIGTERM, then SIGKILL after ``grace`` seconds); returns
    as soon as the container runs again, while its services are still starting."""
    run(["docker", "restart", "--time", str(grace), host])


# A busy loop, one per core: what burns a host's CPU in ``saturated``.
BURNER = "while :; do :; done"


@contextmanager
def saturated(lab: Lab, hosts: list[str], urls: list[str], limit: float = 900):
    """The hosts' CPUs saturated: a busy loop per core on each of them (for
    ``limit`` seconds at most, whatever happens here), and wrk on the client
    at full rate against each URL, until the block ends."""
    done = threading.Event()

    def load(url: str) -> None:
        while not done.is_set():
            lab.sh(lab.client, "wrk -t2 -c32 -d3s --timeout 5s %s >/dev/null 2>&1" % url, check=False)
    loads = [threading.Thread(target=load, args=(url,), daemon=True) for url in urls]
    for thread in loads:
        thread.start()
    for host in hosts:
        lab.sh(host, "for core in $(seq $(nproc)); do setsid timeout %d sh -c '%s' </dev/null >/dev/null 2>&1 & done"
               % (limit, BURNER))
    try:
        yield
    finally:
        done.set()
        for host in hosts:
            if lab.running(host):
                lab.sh(host, "pkill -f '%s'" % BURNER, check=False)
        for thread in loads:
            thread.join(30)
