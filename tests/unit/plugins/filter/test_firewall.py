# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""firewall_rules: the rules of a host from the openings its services publish."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.alx.webstack.plugins.filter.firewall import firewall_rules

HOSTVARS = {name: {"webstack_address": address} for name, address in [
    ("lb1", "192.0.2.11"), ("lb2", "192.0.2.12"), ("web1", "192.0.2.21"), ("db1", "192.0.2.31"),
    ("mon1", "192.0.2.41"), ("mon2", "192.0.2.42")]}
GROUPS = {"loadbalancers": ["lb1", "lb2"], "webservers": ["web1"], "mysql_primary": ["db1"],
          "monitoring": ["mon1", "mon2"]}


def rules(openings, host="lb1", admin=("198.51.100.0/24",)):
    return firewall_rules(openings, host, HOSTVARS, GROUPS, list(admin), "monitoring")


def test_groups_become_their_hosts_addresses_without_the_host_itself():
    vrrp = {"comment": "VRRP", "protocol": "vrrp", "ports": [], "source_groups": ["loadbalancers"]}
    assert rules([vrrp]) == [{"comment": "VRRP", "protocol": "vrrp", "ports": [], "sources": ["192.0.2.12"]}]


def test_admin_and_monitoring_are_the_admin_networks_and_every_monitoring_host():
    admin = {"comment": "admin port", "ports": [8404], "sources": ["admin", "monitoring"], "to": "192.0.2.11"}
    assert rules([admin]) == [{"comment": "admin port", "protocol": "tcp", "ports": [8404], "to": "192.0.2.11",
                               "sources": ["198.51.100.0/24", "192.0.2.41", "192.0.2.42"]}]
    # A monitoring host keeps its own address among the sources of "monitoring".
    assert rules([admin], host="mon1")[0]["sources"][1:] == ["192.0.2.41", "192.0.2.42"]


def test_group_sources_come_first_once_each_then_the_named_sources_in_order():
    mysql = {"comment": "MySQL", "ports": ["3306"], "sources": ["monitoring", "any"],
             "source_groups": ["webservers", "mysql_primary", "webservers", "missing"]}
    assert rules([mysql], host="db1")[0]["sources"] == ["192.0.2.21", "192.0.2.41", "192.0.2.42", "any"]


def test_an_opening_with_nobody_to_open_to_keeps_no_sources_and_the_order_is_kept():
    out = rules([{"comment": "a", "ports": [1], "source_groups": ["missing"]},
                 {"comment": "b", "ports": [2], "sources": ["any"]},
                 {"comment": "c", "ports": [3], "sources": ["admin"]}], admin=())
    assert [(rule["comment"], rule["sources"]) for rule in out] == [("a", []), ("b", ["any"]), ("c", [])]


def test_an_opening_without_ports_is_left_out_but_vrrp_needs_none():
    out = rules([{"comment": "off", "ports": [], "sources": ["any"]},
                 {"comment": "vrrp", "protocol": "vrrp", "source_groups": ["loadbalancers"]}])
    assert [rule["comment"] for rule in out] == ["vrrp"]


def test_no_openings_no_rules():
    assert rules([]) == [] and rules(None) == []


@pytest.mark.parametrize("opening, message", [
    ({"ports": [80], "source": ["any"]}, "unknown keys source"),
    ({"ports": [80], "protocol": "icmp"}, "protocol 'icmp'; it takes tcp, udp, vrrp"),
    ({"ports": 80}, "ports of the opening"),
    ({"ports": [80], "sources": "any"}, "sources of the opening"),
    ("port 80", "is not a dictionary"),
])
def test_a_malformed_opening_is_refused_with_what_is_wrong(opening, message):
    with pytest.raises(AnsibleFilterError, match=message):
        rules([opening])


def test_a_host_without_an_address_is_named():
    with pytest.raises(AnsibleFilterError, match="ghost is not a host of the inventory"):
        firewall_rules([{"ports": [80], "source_groups": ["g"]}], "lb1", HOSTVARS, {"g": ["ghost"]})
