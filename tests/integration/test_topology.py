# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Topology from one place: bad inventories stop before any change with one
sentence; a renamed group and explicit service addresses give the same stack."""

from __future__ import annotations

import json
import os
import shutil
import tempfile

import pytest
import yaml
from conftest import LAB, PROJECT, address, group, host, inventory_file, shown_secrets, site, sql, variables
from labkit.commands import playbook, recap, run, said, wait_until

LBS = group("loadbalancers")
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


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_topology_stops_before_any_change_with_one_sentence(case):
    args, sentence = BAD[case]
    refused(sentence, *args)


def served_by(vip: str) -> set:
    return {LAB.curl("https://%s/" % vip).split("\n")[0] for _request in range(6)}


@pytest.fixture(scope="module")
def renamed_run():
    """site.yml at -vvv with the web servers' group called `frontends` (and
    webstack_groups saying so): one run for the two tests below."""
    folder = tempfile.mkdtemp(prefix="alx-renamed-")
    lab = os.path.join(PROJECT, "inventories", "lab")
    try:
        with open(os.path.join(lab, "hosts.yml"), encoding="utf-8") as handle:
            hosts = yaml.safe_load(handle)
        children = hosts["all"]["children"]
        children["frontends"] = children.pop("webservers")
        with open(os.path.join(folder, "hosts.yml"), "w", encoding="utf-8") as handle:
            yaml.safe_dump(hosts, handle)
        shutil.copytree(os.path.join(lab, "group_vars"), os.path.join(folder, "group_vars"))
        os.rename(os.path.join(folder, "group_vars", "all.yml"), os.path.join(folder, "group_vars", "lab.yml"))
        os.mkdir(os.path.join(folder, "group_vars", "all"))
        os.rename(os.path.join(folder, "group_vars", "lab.yml"), os.path.join(folder, "group_vars", "all", "lab.yml"))
        with open(os.path.join(folder, "group_vars", "all", "topology.yml"), "w", encoding="utf-8") as handle:
            yaml.safe_dump({"webstack_groups": {"webservers": "frontends"}}, handle)
        yield playbook(folder, "playbooks/site.yml", "-vvv")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.drill
def test_renamed_web_group_gives_the_same_stack(renamed_run):
    """Every play and role finds the web servers under their new group name, so nothing changes."""
    changed = recap(renamed_run.stdout)
    assert set(WEB) <= set(changed) and all(count == 0 for count in changed.values()), changed
    assert served_by(LAB.vips[0]) == set(WEB)


@pytest.mark.drill
def test_a_real_run_at_vvv_shows_no_secret_nor_private_key(renamed_run):
    output = said(renamed_run)
    assert not shown_secrets(output)
    # Keys (the site's, the ACME account's, the database CA's and servers') are
    # only ever named by path.
    assert "PRIVATE KEY-----" not in output
    # The run was at full verbosity, where a missing no_log would show.
    assert "ESTABLISH SSH CONNECTION" in output


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
    site("--tags", "database")


def test_a_primary_that_follows_another_server_is_not_touched():
    sql(PRIMARY, "CHANGE MASTER TO MASTER_HOST = '%s', MASTER_USE_GTID = slave_pos" % address(REPLICAS[0]))
    try:
        refused("%s is in 'mysql_primary' but replicates from %s: it is a replica now"
                % (PRIMARY, address(REPLICAS[0])))
    finally:
        sql(PRIMARY, "RESET SLAVE ALL")
    site("--tags", "database")


# Named to sort after the lab network: Docker keeps the default route on the first.
BACKEND = "alx-webstack-lab-backend"


def backend_address(name: str) -> str:
    return "172.30.81.%s" % address(name).rsplit(".", 1)[1]


@pytest.fixture
def backend_network():
    """A second network for the balancers, web and database servers, as servers
    with a separate backend network have; removed afterwards."""
    chosen = {name: backend_address(name) for name in LBS + WEB + [PRIMARY] + REPLICAS}
    run(["docker", "network", "create", "--subnet", "172.30.81.0/24", BACKEND], check=True)
    try:
        for name, ip in chosen.items():
            run(["docker", "network", "connect", "--ip", ip, BACKEND, name], check=True)
        yield chosen
    finally:
        for name in chosen:
            run(["docker", "network", "disconnect", "-f", BACKEND, name], check=False)
        run(["docker", "network", "rm", BACKEND], check=False)


@pytest.mark.drill
def test_explicit_service_addresses_carry_backends_grants_and_replication(backend_network):
    chosen = inventory_file({"all": {"hosts": {name: {"webstack_address": a} for name, a in backend_network.items()}}})
    try:
        site("-i", chosen)
        # HAProxy reaches the web servers, and they the databases, only through
        # the backend network: accounts exist for those addresses alone.
        assert served_by(LAB.vips[0]) == set(WEB)
        app_hosts = set(sql(PRIMARY, "SELECT Host FROM mysql.user WHERE User = 'app'").split())
        assert app_hosts == {backend_network[w] for w in WEB}
        for replica in REPLICAS:
            status = host(replica).check_output("mariadb -e 'SHOW SLAVE STATUS\\G'")
            assert "Master_Host: %s" % backend_network[PRIMARY] in status
            assert "Slave_IO_Running: Yes" in status and "Slave_SQL_Running: Yes" in status
        written = json.loads(LAB.curl("https://%s/records" % LAB.vips[0], "-X", "POST",
                                      "--data-urlencode", "note=backend"))
        assert written["written_to"] == PRIMARY
        wait_until(lambda: sql(REPLICAS[0], "SELECT note FROM app.records WHERE id = %d" % written["id"]) == "backend",
                   timeout=20, what="the row on the replica")
    finally:
        # Back to the default addresses while the backend network still exists.
        site()
    app_hosts = set(sql(PRIMARY, "SELECT Host FROM mysql.user WHERE User = 'app'").split())
    assert app_hosts == {address(w) for w in WEB}
