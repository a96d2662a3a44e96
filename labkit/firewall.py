# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the hosts' firewalls let through, seen from a host of the lab (or from
this machine, the lab's admin network), and a hole for a benchmark's load
tool for as long as it runs."""

from __future__ import annotations

import json
import shlex
import socket
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from labkit.lab import Lab

# The nftables table and chain of the firewall role.
TABLE = "inet alx_webstack"
CHAIN = "input"

# Run in the source host's container: connects to every (address, port) at
# once and says, for each, whether it was accepted, refused (nothing listens,
# the firewall let it through) or filtered (no answer: dropped).
_REACH = r"""
import json, socket, sys
from concurrent.futures import ThreadPoolExecutor
def state(target):
    address, port = target
    s = socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET)
    s.settimeout(float(sys.argv[2]))
    try:
        s.connect((address, port))
        return "open"
    except ConnectionRefusedError:
        return "refused"
    except OSError:
        return "filtered"
    finally:
        s.close()
targets = json.loads(sys.argv[1])
with ThreadPoolExecutor(64) as pool:
    print(json.dumps(list(pool.map(state, [tuple(t) for t in targets]))))
"""


def reach(lab: Lab, source: str | None, targets: list[tuple[str, int]], timeout: float = 2.0) -> dict:
    """{(address, port): "open" | "refused" | "filtered"} for TCP connections
    from the container ``source``, or from this machine when it is None."""
    if source is None:
        with ThreadPoolExecutor(64) as pool:
            states = list(pool.map(lambda target: _connect(target, timeout), targets))
    else:
        out = lab.sh(source, "python3 -c %s %s %s" % (shlex.quote(_REACH), shlex.quote(json.dumps(targets)), timeout),
                     timeout=timeout * len(targets) + 60)
        states = json.loads(out)
    return dict(zip(targets, states))


def _connect(target: tuple[str, int], timeout: float) -> str:
    address, port = target
    try:
        with socket.create_connection((address, port), timeout):
            return "open"
    except ConnectionRefusedError:
        return "refused"
    except OSError:
        return "filtered"


def table(lab: Lab, host: str) -> str:
    """The firewall's table as loaded on ``host`` (empty when there is none)."""
    return lab.sh(host, "nft list table %s 2>/dev/null || true" % TABLE)


@contextmanager
def opened(lab: Lab, host: str, port: int, source: str, tag: str = "alx-lab-hole"):
    """Accept TCP ``port`` on ``host`` from the address ``source`` until the
    block ends (for a load tool that measures a path the firewall closes). On a
    host without the firewall's table nothing is done."""
    if not table(lab, host):
        yield
        return
    lab.sh(host, "nft insert rule %s %s ip saddr %s tcp dport %d accept comment %s"
           % (TABLE, CHAIN, source, port, shlex.quote('"%s"' % tag)))
    try:
        yield
    finally:
        handles = lab.sh(host, "nft -a list chain %s %s | sed -n 's/.*comment \"%s\" # handle \\([0-9]*\\)$/\\1/p'"
                         % (TABLE, CHAIN, tag)).split()
        for handle in handles:
            lab.sh(host, "nft delete rule %s %s handle %s" % (TABLE, CHAIN, handle))


@contextmanager
def disabled(lab: Lab, hosts: list[str]):
    """No firewall on ``hosts`` until the block ends (the table is removed),
    then the same rules again, holes made by ``opened`` included: the same
    path with and without the firewall, for a benchmark's comparison."""
    on = [host for host in hosts if table(lab, host)]
    saved = "/run/alx-lab-firewall.nft"
    for host in on:
        lab.sh(host, "nft list table %s > %s && nft delete table %s" % (TABLE, saved, TABLE))
    try:
        yield
    finally:
        for host in on:
            lab.sh(host, "nft -f %s && rm -f %s" % (saved, saved))
