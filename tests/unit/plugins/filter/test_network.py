# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The address filters the roles share."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.alx.webstack.plugins.filter import network

HOSTVARS = {
    "web1": {"ansible_facts": {"default_ipv4": {"address": "192.0.2.21", "interface": "eth0"}}},
    "web2": {"ansible_facts": {"default_ipv4": {"address": "192.0.2.22"}}},
    "nofacts": {"inventory_hostname": "nofacts"},
    "noroute": {"ansible_facts": {"default_ipv4": {}}},
    "backend": {"webstack_address": "198.51.100.21",
                "ansible_facts": {"default_ipv4": {"address": "192.0.2.23"}}},
    "chosen-nofacts": {"webstack_address": "198.51.100.22"},
}


def test_address_of_reads_the_default_ipv4_address():
    assert network.address_of("web1", HOSTVARS) == "192.0.2.21"
    assert [network.address_of(h, HOSTVARS) for h in ("web1", "web2")] == ["192.0.2.21", "192.0.2.22"]


@pytest.mark.parametrize("name, message", [
    ("nofacts", "gather its facts first"),
    ("noroute", "no default IPv4 address in the facts of noroute"),
    ("web9", "web9 is not a host of the inventory"),
])
def test_address_of_names_the_host_and_the_cause(name, message):
    with pytest.raises(AnsibleFilterError, match=message):
        network.address_of(name, HOSTVARS)


@pytest.mark.parametrize("address, number", [
    ("0.0.0.1", 1),
    ("172.30.80.31", 2887667743),
    ("192.0.2.10", 3221225994),
    ("255.255.255.255", 4294967295),
])
def test_ipv4_int(address, number):
    assert network.ipv4_int(address) == number


@pytest.mark.parametrize("address", ["192.0.2.300", "192.0.2.0/24", "2001:db8::1", ""])
def test_ipv4_int_refuses_what_is_not_an_ipv4_address(address):
    with pytest.raises(AnsibleFilterError, match="is not an IPv4 address"):
        network.ipv4_int(address)


def test_address_of_prefers_the_service_address_set_for_the_host():
    assert network.address_of("backend", HOSTVARS) == "198.51.100.21"
    assert network.address_of("chosen-nofacts", HOSTVARS) == "198.51.100.22"


@pytest.mark.parametrize("addresses, net, found", [
    (["192.0.2.11", "198.51.100.11"], "198.51.100.0/24", "198.51.100.11"),
    (["192.0.2.11", "198.51.100.11"], "192.0.2.0/24", "192.0.2.11"),
    (["10.0.0.1", "192.0.2.200"], "192.0.2.128/25", "192.0.2.200"),
    (["192.0.2.11"], "192.0.2.11/24", "192.0.2.11"),
])
def test_ipv4_in_network_picks_the_address_on_that_network(addresses, net, found):
    assert network.ipv4_in_network(addresses, net) == found


@pytest.mark.parametrize("addresses, net, message", [
    (["192.0.2.11"], "198.51.100.0/24", "none of 192.0.2.11 lies inside 198.51.100.0/24"),
    ([], "198.51.100.0/24", "none of no addresses lies inside"),
    (["192.0.2.11"], "192.0.2.0/33", "is not an IPv4 network"),
])
def test_ipv4_in_network_says_what_is_wrong(addresses, net, message):
    with pytest.raises(AnsibleFilterError, match=message):
        network.ipv4_in_network(addresses, net)


def test_the_plugin_exports_its_filters():
    assert set(network.FilterModule().filters()) == {"address_of", "ipv4_int", "ipv4_in_network",
                                                     "invalid_networks", "networks_of_family", "url_host"}


@pytest.mark.parametrize("values, bad", [
    (["192.0.2.0/24", "198.51.100.7", "2001:db8::/32", "::1"], []),
    (["192.0.2.0/24", "10.0.0.300/8", "lab", "", "192.0.2.0/33"], ["10.0.0.300/8", "lab", "", "192.0.2.0/33"]),
    ([], []),
])
def test_invalid_networks_names_what_is_not_an_address_or_network(values, bad):
    assert network.invalid_networks(values) == bad


def test_invalid_networks_wants_a_list():
    with pytest.raises(AnsibleFilterError, match="expects a list"):
        network.invalid_networks("192.0.2.0/24")


def test_networks_of_family_splits_and_normalises():
    values = ["192.0.2.7", "2001:db8::/32", "198.51.100.9/24", "192.0.2.7/32", "fe80::1"]
    assert network.networks_of_family(values, 4) == ["192.0.2.7/32", "198.51.100.0/24"]
    assert network.networks_of_family(values, "6") == ["2001:db8::/32", "fe80::1/128"]
    assert network.networks_of_family([], 4) == []


@pytest.mark.parametrize("values, family, message", [
    (["192.0.2.0/24", "nope"], 4, "'nope' is not an IP address"),
    (["192.0.2.0/24"], 5, "family must be 4 or 6"),
])
def test_networks_of_family_says_what_is_wrong(values, family, message):
    with pytest.raises(AnsibleFilterError, match=message):
        network.networks_of_family(values, family)


@pytest.mark.parametrize("address, expected", [
    ("192.0.2.10", "192.0.2.10"),
    ("2001:db8::10", "[2001:db8::10]"),
    (" 2001:db8::10 ", "[2001:db8::10]"),
    ("mon1.example.org", "mon1.example.org"),
])
def test_url_host_brackets_ipv6_only(address, expected):
    assert network.url_host(address) == expected
