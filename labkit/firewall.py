# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the hosts' firewalls let through, seen from a host of the lab (or from
this machine, the lab's admin network), and a hole for a benchmark's load
tool for as long as it runs."""

from __future__ import annotations

import json
import re
import shlex
import socket
import time
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


# Run in the source host's container: one VRRPv3 advertisement (IP protocol
# 112) to the target, with a raw socket (the lab's containers have NET_RAW).
_SEND_VRRP = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 112)
# Version 3, type 1 (advertisement), router id 250, priority 100, no address.
s.sendto(bytes([0x31, 250, 100, 0, 0, 10, 0, 0]), (sys.argv[1], 0))
"""


def vrrp_fate(lab: Lab, target: str, source: str, send: bool = False, wait: float = 1.0) -> str:
    """What ``target``'s firewall does with VRRP from the lab address of
    ``source``: "accepted", "dropped" or "not seen". With ``send`` one
    advertisement is sent from ``source``; otherwise the balancers' own
    adverts are watched for ``wait`` seconds. Two counters tell: one before
    every rule (the packet arrived) and one after them all (no rule took it,
    the policy drops it); both are removed afterwards."""
    origin = lab.address(source)
    tags = ("alx-lab-vrrp-in", "alx-lab-vrrp-out")
    match = "ip saddr %s meta l4proto vrrp counter comment" % origin
    lab.sh(target, "nft insert rule %s %s %s '\"%s\"'" % (TABLE, CHAIN, match, tags[0]))
    lab.sh(target, "nft add rule %s %s %s '\"%s\"'" % (TABLE, CHAIN, match, tags[1]))
    try:
        if send:
            lab.sh(source, "python3 -c %s %s" % (shlex.quote(_SEND_VRRP), lab.address(target)))
        time.sleep(wait)
        listed = lab.sh(target, "nft list chain %s %s" % (TABLE, CHAIN))
    finally:
        handles = lab.sh(target, "nft -a list chain %s %s | sed -n 's/.*comment \"alx-lab-vrrp-[a-z]*\" # handle "
                         "\\([0-9]*\\)$/\\1/p'" % (TABLE, CHAIN)).split()
        for handle in handles:
            lab.sh(target, "nft delete rule %s %s handle %s" % (TABLE, CHAIN, handle))
    counts = {tag: int(re.search(r"counter packets (\d+) .*comment \"%s\"" % tag, listed).group(1)) for tag in tags}
    if counts[tags[0]] == 0:
        return "not seen"
    return "dropped" if counts[tags[1]] > 0 else "accepted"
