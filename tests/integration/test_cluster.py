# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The database servers' cluster (alx.webstack.mysql_cluster): Pacemaker and
Corosync on every database server, one quorate partition, links encrypted and
on the service addresses, Prometheus scraping each member's view. (Its
refusals are in test_topology.py; a member lost and back, with its alert, in
test_monitoring.py; its links moving with the service addresses in
test_whole_runs.py.)"""

from __future__ import annotations

import re

from conftest import LAB, address, group, host, variables
from labkit import cluster
from labkit.commands import wait_until
from labkit.monitoring import Monitoring

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


def test_prometheus_sees_the_cluster_as_each_member_does():
    monitoring = Monitoring(LAB)

    def shown(query: str) -> set[tuple[str, ...]]:
        return {(r["metric"]["instance"], r["metric"].get("node", "")) for r in monitoring.api("query", query=query)["result"]}
    wait_until(lambda: shown('ha_cluster_corosync_quorate{job="hacluster"} == 1') == {(m, "") for m in MEMBERS},
               timeout=60, what="every member quorate in Prometheus")
    assert shown('ha_cluster_pacemaker_nodes{job="hacluster",type="member",status="online"} == 1') == {
        (seen_by, m) for seen_by in MEMBERS for m in MEMBERS}
