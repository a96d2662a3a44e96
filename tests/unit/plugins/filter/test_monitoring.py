# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""scrape_jobs: Prometheus' jobs from the targets the hosts publish."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.alx.webstack.plugins.filter.monitoring import scrape_jobs

PORTS = {"node": 9100, "nginx": 9113, "mysqld": 9104}
HAPROXY = {"job": "haproxy", "tier": "loadbalancer", "port": "8404", "scheme": "https", "metrics_path": "/metrics",
           "basic_auth": {"username": "admin", "password": "s3cret"}, "tls": {"verify": False, "server_name": ""}}


def node(tier):
    return {"job": "node", "tier": tier, "exporter": {"name": "node"}}


def hostvars(**published):
    addresses = {"lb1": "192.0.2.11", "web1": "192.0.2.21", "db1": "192.0.2.31", "db2": "192.0.2.32", "v6": "2001:db8::1"}
    return {host: {"webstack_address": addresses[host], "webstack_scrape_targets": targets}
            for host, targets in published.items()}


def test_targets_are_grouped_by_job_in_the_order_jobs_first_appear():
    mysqld = {"job": "mysqld", "tier": "database", "exporter": {"name": "mysqld", "password": "x"}}
    jobs = scrape_jobs(["lb1", "web1", "db1", "db2"], hostvars(
        lb1=[HAPROXY, node("loadbalancer")],
        web1=[{"job": "nginx", "tier": "webserver", "exporter": {"name": "nginx"}}, node("webserver")],
        db1=[dict(mysqld, labels={"role": "primary"}), node("database")],
        db2=[dict(mysqld, labels={"role": "replica"}), node("database")]), PORTS)
    assert [job["name"] for job in jobs] == ["haproxy", "node", "nginx", "mysqld"]
    assert jobs[1]["targets"] == [
        {"target": "192.0.2.11:9100", "labels": {"instance": "lb1", "tier": "loadbalancer"}},
        {"target": "192.0.2.21:9100", "labels": {"instance": "web1", "tier": "webserver"}},
        {"target": "192.0.2.31:9100", "labels": {"instance": "db1", "tier": "database"}},
        {"target": "192.0.2.32:9100", "labels": {"instance": "db2", "tier": "database"}}]
    assert jobs[3]["targets"][1] == {"target": "192.0.2.32:9104",
                                     "labels": {"instance": "db2", "tier": "database", "role": "replica"}}


def test_a_job_is_reached_as_its_first_target_says_and_exporter_options_stay_out():
    jobs = scrape_jobs(["lb1", "db1"], hostvars(lb1=[HAPROXY], db1=[node("database")]), PORTS)
    assert {key: value for key, value in jobs[0].items() if key != "targets"} == {
        "name": "haproxy", "scheme": "https", "metrics_path": "/metrics",
        "basic_auth": {"username": "admin", "password": "s3cret"}, "tls": {"verify": False, "server_name": ""}}
    assert jobs[0]["targets"] == [{"target": "192.0.2.11:8404", "labels": {"instance": "lb1", "tier": "loadbalancer"}}]
    node_target = {"target": "192.0.2.31:9100", "labels": {"instance": "db1", "tier": "database"}}
    assert jobs[1] == {"name": "node", "targets": [node_target]}


def test_an_ipv6_address_is_bracketed():
    assert scrape_jobs(["v6"], hostvars(v6=[node("monitoring")]), PORTS)[0]["targets"][0]["target"] == "[2001:db8::1]:9100"


def test_a_host_that_published_nothing_is_named_with_the_likely_cause():
    with pytest.raises(AnsibleFilterError, match="web1 has published no scrape targets.*--limit"):
        scrape_jobs(["lb1", "web1"], dict(hostvars(lb1=[]), web1={"webstack_address": "192.0.2.21"}), PORTS)


@pytest.mark.parametrize("target, message", [
    ({"job": "x", "exporter": {"name": "keepalived"}}, "asks for the exporter 'keepalived'; the monitoring role has mysqld, nginx, node"),
    ({"job": "x"}, "job x on lb1 has neither a port nor an exporter"),
    ({"job": "x", "port": 1, "path": "/m"}, "unknown keys path"),
    ({"port": 1}, "not a target with a job"),
])
def test_a_malformed_target_is_refused_with_what_is_wrong(target, message):
    with pytest.raises(AnsibleFilterError, match=message):
        scrape_jobs(["lb1"], hostvars(lb1=[target]), PORTS)


def test_no_hosts_no_jobs():
    assert scrape_jobs([], {}, PORTS) == []
