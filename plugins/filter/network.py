# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for host addresses, shared by the roles."""

from __future__ import annotations

import ipaddress

from ansible.errors import AnsibleFilterError


def address_of(name, hostvars):
    """The default IPv4 address of inventory host ``name``, from its facts."""
    if name not in hostvars:
        raise AnsibleFilterError("address_of: %s is not a host of the inventory" % name)
    facts = hostvars[name].get("ansible_facts") or {}
    address = (facts.get("default_ipv4") or {}).get("address")
    if not address:
        raise AnsibleFilterError(
            "address_of: no default IPv4 address in the facts of %s; gather its facts first "
            "(playbooks/preflight.yml does, for every host of the inventory)" % name
        )
    return address


def ipv4_int(address):
    """An IPv4 address as a 32-bit number."""
    try:
        return int(ipaddress.IPv4Address(str(address).strip()))
    except ValueError as err:
        raise AnsibleFilterError("ipv4_int: %r is not an IPv4 address (%s)" % (address, err)) from err


class FilterModule:
    """alx.webstack's filters."""

    def filters(self):
        return {"address_of": address_of, "ipv4_int": ipv4_int}
