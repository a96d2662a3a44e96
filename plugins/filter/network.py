# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for host addresses, shared by the roles."""

from __future__ import annotations

import ipaddress

from ansible.errors import AnsibleFilterError


def address_of(name, hostvars):
    """The service address of inventory host ``name``: its ``webstack_address``
    when set, otherwise the default IPv4 address from its facts."""
    if name not in hostvars:
        raise AnsibleFilterError("address_of: %s is not a host of the inventory" % name)
    chosen = hostvars[name].get("webstack_address")
    if chosen:
        return str(chosen).strip()
    facts = hostvars[name].get("ansible_facts") or {}
    address = (facts.get("default_ipv4") or {}).get("address")
    if not address:
        raise AnsibleFilterError(
            "address_of: no default IPv4 address in the facts of %s; gather its facts first "
            "(playbooks/preflight.yml does, for every host of the inventory) or set its "
            "webstack_address" % name
        )
    return address


def ipv4_int(address):
    """An IPv4 address as a 32-bit number."""
    try:
        return int(ipaddress.IPv4Address(str(address).strip()))
    except ValueError as err:
        raise AnsibleFilterError("ipv4_int: %r is not an IPv4 address (%s)" % (address, err)) from err


def ipv4_in_network(addresses, network):
    """The first of ``addresses`` (IPv4 strings) that lies inside ``network``
    (CIDR, e.g. ``192.0.2.0/24``)."""
    try:
        net = ipaddress.IPv4Network(str(network).strip(), strict=False)
    except ValueError as err:
        raise AnsibleFilterError("ipv4_in_network: %r is not an IPv4 network (%s)" % (network, err)) from err
    for address in addresses or []:
        try:
            if ipaddress.IPv4Address(str(address).strip()) in net:
                return str(address).strip()
        except ValueError:
            continue
    raise AnsibleFilterError("ipv4_in_network: none of %s lies inside %s" % (", ".join(map(str, addresses or [])) or "no addresses", net))


def _network(value):
    """``value`` as an IPv4 or IPv6 network (a single address is a /32 or
    /128), or None when it is neither."""
    try:
        return ipaddress.ip_network(str(value).strip(), strict=False)
    except ValueError:
        return None


def invalid_networks(values):
    """The entries of ``values`` that are neither an IP address nor a network
    in CIDR notation (an empty list when all are valid)."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise AnsibleFilterError("invalid_networks: expects a list, got %r" % (values,))
    return [value for value in values if _network(value) is None]


def networks_of_family(values, family):
    """The networks of ``values`` of one IP family (4 or 6), in CIDR notation
    and without duplicates, in their first order. Invalid entries fail."""
    if int(family) not in (4, 6):
        raise AnsibleFilterError("networks_of_family: family must be 4 or 6, got %r" % (family,))
    found = []
    for value in values or []:
        net = _network(value)
        if net is None:
            raise AnsibleFilterError("networks_of_family: %r is not an IP address or a network in CIDR notation" % (value,))
        if net.version == int(family) and str(net) not in found:
            found.append(str(net))
    return found


def url_host(address):
    """``address`` as the host part of a URL or of host:port: an IPv6 address
    in brackets, anything else (IPv4, a name) as it is."""
    text = str(address).strip()
    try:
        if ipaddress.ip_address(text).version == 6:
            return "[%s]" % text
    except ValueError:
        pass
    return text


class FilterModule:
    """alx.webstack's filters."""

    def filters(self):
        return {"address_of": address_of, "ipv4_int": ipv4_int, "ipv4_in_network": ipv4_in_network,
                "invalid_networks": invalid_networks, "networks_of_family": networks_of_family,
                "url_host": url_host}
