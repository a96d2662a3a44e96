# -*- coding: utf-8 -*-
# Copyright: alx.webstack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The firewall rules of a host, from the openings its services publish."""

from __future__ import absolute_import, division, print_function

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text

from ansible_collections.alx.webstack.plugins.filter.network import address_of

__metaclass__ = type

_KEYS = frozenset(("comment", "protocol", "ports", "sources", "source_groups", "to"))
_PROTOCOLS = ("tcp", "udp", "vrrp")


def _list(value, what, opening):
    if value is None:
        return []
    if isinstance(value, (str, bytes, dict)) or not hasattr(value, "__iter__"):
        raise AnsibleFilterError("firewall_rules: %s of the opening %r is not a list" % (what, opening))
    return list(value)


def _unique(values):
    seen = []
    for value in values:
        if value not in seen:
            seen.append(value)
    return seen


def firewall_rules(openings, host, hostvars, groups, admin_networks=None, monitoring_group="monitoring"):
    """The rules of ``host`` from ``openings`` (what the roles of its tiers
    publish in ``webstack_openings``): each rule opens ``ports`` over
    ``protocol`` to its sources, which are the service addresses of the hosts of
    ``source_groups`` (``host`` itself excepted), then ``sources`` with the word
    ``admin`` replaced by ``admin_networks`` and ``monitoring`` by the service
    addresses of the hosts of ``monitoring_group``; ``any`` and addresses are
    kept. An opening without ports (VRRP has none) is left out; one whose
    sources come out empty opens nothing."""
    rules = []
    for opening in _list(openings, "webstack_openings", openings):
        if not isinstance(opening, dict):
            raise AnsibleFilterError("firewall_rules: the opening %r is not a dictionary" % (opening,))
        unknown = sorted(set(opening) - _KEYS)
        if unknown:
            raise AnsibleFilterError("firewall_rules: the opening %r has unknown keys %s; an opening takes %s"
                                     % (opening.get("comment", opening), ", ".join(unknown), ", ".join(sorted(_KEYS))))
        protocol = to_text(opening.get("protocol", "tcp"))
        if protocol not in _PROTOCOLS:
            raise AnsibleFilterError("firewall_rules: the opening %r has protocol %r; it takes %s"
                                     % (opening.get("comment", opening), protocol, ", ".join(_PROTOCOLS)))
        ports = _list(opening.get("ports"), "ports", opening)
        if not ports and protocol != "vrrp":
            continue
        peers = [name for group in _list(opening.get("source_groups"), "source_groups", opening)
                 for name in groups.get(group, []) if name != host]
        sources = [address_of(name, hostvars) for name in _unique(peers)]
        for source in _list(opening.get("sources"), "sources", opening):
            if source == "admin":
                sources.extend(_list(admin_networks, "admin_networks", opening))
            elif source == "monitoring":
                sources.extend(address_of(name, hostvars) for name in groups.get(monitoring_group, []))
            else:
                sources.append(to_text(source))
        rule = {"comment": to_text(opening.get("comment", "")) or "opening", "protocol": protocol,
                "ports": ports, "sources": _unique(sources)}
        if opening.get("to"):
            rule["to"] = to_text(opening["to"])
        rules.append(rule)
    return rules


class FilterModule:
    """The firewall's rules from the services' openings."""

    def filters(self):
        return {"firewall_rules": firewall_rules}
