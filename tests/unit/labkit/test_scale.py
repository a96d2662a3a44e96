# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for the larger lab layouts of the scale-out figures."""

from __future__ import annotations

import pytest
import yaml
from labkit import scale
from labkit.commands import LAB_INVENTORY


@pytest.fixture(name="base")
def lab_hosts():
    return yaml.safe_load((LAB_INVENTORY / "hosts.yml").read_text(encoding="utf-8"))


def test_a_layout_adds_web_servers_after_the_last_and_keeps_the_rest(base):
    data, added = scale.hosts_file(scale.Layout(web=4, replicas=2), base)
    children = data["all"]["children"]
    web = children["webservers"]["hosts"]
    last = int(base["all"]["children"]["webservers"]["hosts"]["web2"]["ansible_host"].rsplit(".", 1)[1])
    assert added == {"web3": "172.30.80.%d" % (last + 1), "web4": "172.30.80.%d" % (last + 2)}
    assert sorted(web) == ["web1", "web2", "web3", "web4"]
    assert {name: web[name]["ansible_host"] for name in added} == added
    assert children["mysql_replica"] == base["all"]["children"]["mysql_replica"]
    assert children["loadbalancers"] == base["all"]["children"]["loadbalancers"]
    # The lab's own inventory is left as it was.
    assert sorted(base["all"]["children"]["webservers"]["hosts"]) == ["web1", "web2"]


def test_one_replica_leaves_the_others_out(base):
    data, added = scale.hosts_file(scale.Layout(web=2, replicas=1), base)
    assert added == {}
    assert list(data["all"]["children"]["mysql_replica"]["hosts"]) == ["db2"]


@pytest.mark.parametrize("layout", [scale.Layout(1, 2), scale.Layout(2, 0), scale.Layout(2, 3)])
def test_a_layout_smaller_than_the_lab_or_with_more_replicas_than_it_has_is_refused(base, layout):
    with pytest.raises(ValueError):
        scale.hosts_file(layout, base)


def test_added_hosts_get_the_lab_nodes_settings():
    settings = scale.node_settings()
    cmd = scale.docker_run("web3", "172.30.80.23", settings, "alx-webstack/debian:12")
    assert cmd[:2] == ["docker", "run"]
    assert cmd[-2:] == ["alx-webstack/debian:12", settings["command"]]
    joined = " ".join(cmd)
    assert "--ip 172.30.80.23" in joined and "--network %s" % settings["docker_networks"][0]["name"] in joined
    for capability in settings["capabilities"]:
        assert "--cap-add %s" % capability in joined
    for mount in settings["tmpfs"]:
        assert "--tmpfs %s" % mount in joined
    assert "--cgroupns host" in joined and "--stop-signal %s" % settings["stop_signal"] in joined
