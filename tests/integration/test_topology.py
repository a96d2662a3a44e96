# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Topology from one place: bad inventories, and an inventory that a promotion
made stale, stop before any change with one sentence. (A renamed group and
explicit service addresses are whole runs: test_whole_runs.py.)"""

from __future__ import annotations

import json

import pytest
from conftest import address, group, inventory_file, site, sql, variables
from labkit.commands import recap, said

WEB = group("webservers")
PRIMARY = group("mysql_primary")[0]
REPLICAS = group("mysql_replica")


def extra_vars(data: dict) -> tuple[str, str]:
    return ("-e", json.dumps(data))


BAD = {
    "missing tier": (extra_vars({"webstack_groups": {"webservers": "frontends"}}),
                     "The inventory has no host in group 'frontends' (webservers)"),
    "unknown tier": (extra_vars({"webstack_groups": {"database": "mysql_primary"}}),
                     "webstack_groups names database, which is not a tier"),
    "replicas without a primary": (extra_vars({"webstack_groups": {"mysql_primary": "nosuchgroup"}}),
                                   "have no primary to follow: group 'nosuchgroup' is empty or missing"),
    "two primaries": (("-i", inventory_file({"mysql_primary": {"hosts": {WEB[-1]: None}}})),
                      "Group 'mysql_primary' holds 2 hosts (%s); there can be only one primary"
                      % ", ".join(sorted([PRIMARY, WEB[-1]]))),
    "primary is a replica": (("-i", inventory_file({"mysql_replica": {"hosts": {PRIMARY: None}}})),
                             "%s is in both 'mysql_primary' and 'mysql_replica'" % PRIMARY),
    "balancer is a web server": (("-i", inventory_file({"loadbalancers": {"hosts": {WEB[0]: None}}})),
                                 "%s is in both 'loadbalancers' and 'webservers': HAProxy and nginx" % WEB[0]),
    "placeholder secret": (extra_vars({"mysql_replication_password": "change-me"}),
                           "would be set up with weak secrets: mysql_replication_password (a placeholder)"),
    "short secret": (extra_vars({"haproxy_stats_password": "Xk3-9fQ"}),
                     "would be set up with weak secrets: haproxy_stats_password (7 characters). Each must be at"
                     " least 16 characters"),
    "database cluster without a fencing decision": (extra_vars({"mysql_cluster_run_without_fencing": False}),
                                                    "This release does not configure fencing for the database"
                                                    " cluster: set mysql_cluster_run_without_fencing to true"),
    "database server in a cluster of another name": (extra_vars({"mysql_cluster_name": "other"}),
                                                     "is a member of the cluster webstack-db, not other: remove it"
                                                     " from that cluster first"),
    "address the host lacks": (("-i", inventory_file({"all": {"hosts": {WEB[0]: {"webstack_address": "192.0.2.99"}}}})),
                               "%s's service address 192.0.2.99 (webstack_address) is not an address of that host"
                               % WEB[0]),
}


def refused(sentence: str, *args: str) -> None:
    """site.yml stops in preflight, saying ``sentence``, and changes nothing."""
    done = site(*args, succeed=False)
    assert done.returncode != 0
    assert sentence in said(done), said(done)[-3000:]
    changed = recap(done.stdout)
    assert changed and all(count == 0 for count in changed.values()), changed


@pytest.mark.refusal
@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_topology_stops_before_any_change_with_one_sentence(case):
    args, sentence = BAD[case]
    refused(sentence, *args)


@pytest.mark.drill
def test_a_replica_that_runs_as_a_primary_is_not_demoted_nor_seeded_over():
    """What a promotion leaves behind: the inventory's replica follows no one and
    is writable. site.yml with that inventory must not touch it."""
    replica = REPLICAS[-1]
    sql(replica, "STOP SLAVE; RESET SLAVE ALL; SET GLOBAL read_only = OFF")
    try:
        sql(replica, "SET sql_log_bin = 0; CREATE DATABASE IF NOT EXISTS alx_promoted")
        refused("%s is in 'mysql_replica' but runs as a primary: it is writable and follows no one" % replica)
        assert sql(replica, "SELECT @@read_only") == "0"
        assert sql(replica, "SHOW DATABASES LIKE 'alx_promoted'") == "alx_promoted"
    finally:
        sql(replica, "SET sql_log_bin = 0; DROP DATABASE IF EXISTS alx_promoted; SET GLOBAL read_only = ON")
        config = variables(PRIMARY)
        sql(replica, "CHANGE MASTER TO MASTER_HOST = '%s', MASTER_USER = '%s', MASTER_PASSWORD = '%s', "
                     "MASTER_USE_GTID = slave_pos; START SLAVE" % (
                         address(PRIMARY), config["mysql_replication_user"], config["mysql_replication_password"]))
    # The replica role puts back the rest of its source settings (TLS), on that host alone.
    site("--tags", "database", "--limit", replica)


@pytest.mark.refusal
def test_a_primary_that_follows_another_server_is_not_touched():
    sql(PRIMARY, "CHANGE MASTER TO MASTER_HOST = '%s', MASTER_USE_GTID = slave_pos" % address(REPLICAS[0]))
    try:
        refused("%s is in 'mysql_primary' but replicates from %s: it is a replica now"
                % (PRIMARY, address(REPLICAS[0])))
    finally:
        sql(PRIMARY, "RESET SLAVE ALL")
    # The primary followed no one before: nothing else to put back.
    assert sql(PRIMARY, "SHOW SLAVE STATUS") == ""
