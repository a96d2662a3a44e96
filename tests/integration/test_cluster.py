# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The database servers' cluster (alx.webstack.mysql_cluster): Pacemaker and
Corosync on every database server, one quorate partition, links encrypted; a
member that fails leaves the others quorate and comes back by itself into the
same cluster. (Its refusals are in test_topology.py.)"""

from __future__ import annotations

import re

import pytest
from conftest import LAB, address, group, host, variables
from labkit import cluster
from labkit.commands import wait_until

MEMBERS = group("mysql_primary") + group("mysql_replica")


def view(name: str) -> dict:
    return cluster.view(LAB, name)


def test_every_database_server_is_a_member_of_one_quorate_cluster():
    name = variables(MEMBERS[0]).get("mysql_cluster_name", "webstack-db")
    for member in MEMBERS:
        assert view(member) == {"online": sorted(MEMBERS), "quorum": True}, member
        config = host(member).file("/etc/corosync/corosync.conf").content_string
        assert re.search(r"cluster_name:\s*%s\s" % re.escape(name), config), config
        # pcs sets knet's encryption up: no member talks in clear.
        assert not re.search(r"crypto_cipher:\s*none", config), config
        # One link, on the members' service addresses.
        assert list(cluster.links(LAB, member).values()) == [{m: address(m) for m in MEMBERS}], member
        for unit in ("corosync", "pacemaker", "pcsd"):
            assert host(member).service(unit).is_enabled, (member, unit)


@pytest.mark.drill
def test_a_member_that_fails_leaves_the_others_quorate_and_rejoins():
    lost, others = MEMBERS[-1], MEMBERS[:-1]
    host(lost).run("systemctl kill --signal=KILL corosync")
    try:
        for member in others:
            wait_until(lambda m=member: view(m) == {"online": sorted(others), "quorum": True},
                       timeout=60, what="%s's partition without %s" % (member, lost))
    finally:
        host(lost).run("systemctl start corosync pacemaker")
    for member in MEMBERS:
        wait_until(lambda m=member: view(m) == {"online": sorted(MEMBERS), "quorum": True},
                   timeout=120, what="%s back in the cluster, seen from %s" % (lost, member))
