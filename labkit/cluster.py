# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The database servers' Pacemaker and Corosync cluster, as its own tools show
it on each member: who is online, whether there is quorum, the addresses of
each link that Corosync runs with, and whether a member lost quorum."""

from __future__ import annotations

import re

from labkit.lab import Lab


def view(lab: Lab, name: str) -> dict:
    """What Pacemaker on one member sees: the online members (sorted) and
    whether its partition has quorum."""
    shown = lab.sh(name, "crm_mon --one-shot --output-as=xml", check=False)
    return {
        "online": sorted(re.findall(r'<node name="([^"]+)"[^>]* online="true"', shown)),
        "quorum": 'with_quorum="true"' in shown,
    }


def links(lab: Lab, name: str) -> dict[int, dict[str, str]]:
    """The addresses Corosync on one member runs with, by link number, then by
    member: its runtime configuration (corosync-cmapctl), not the file."""
    nodes: dict[str, dict[str, str]] = {}
    for index, key, value in re.findall(r"^nodelist\.node\.(\d+)\.(\w+) \(\w+\) = (.*)$",
                                        lab.sh(name, "corosync-cmapctl -b nodelist.node", check=False), re.M):
        nodes.setdefault(index, {})[key] = value
    found: dict[int, dict[str, str]] = {}
    for node in nodes.values():
        for key, value in node.items():
            ring = re.fullmatch(r"ring(\d+)_addr", key)
            if ring:
                found.setdefault(int(ring.group(1)), {})[node.get("name", value)] = value
    return found


def quorum_losses(lab: Lab, name: str, since: float) -> list[str]:
    """The lines in which Corosync on one member said it had lost quorum, since
    ``since`` (a time.time())."""
    said = lab.sh(name, "journalctl -u corosync --no-pager -o cat --since @%d" % int(since), check=False)
    return [line for line in said.splitlines() if "non-primary component" in line]
