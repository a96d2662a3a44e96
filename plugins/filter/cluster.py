# -*- coding: utf-8 -*-
# Copyright: alx.webstack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a Corosync configuration says: the cluster's name, its members and the
addresses of each member's links."""

from __future__ import absolute_import, division, print_function

import re

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text

__metaclass__ = type

_SECTION = re.compile(r"(\w+)\s*\{|\}|^\s*(\w+)\s*:\s*(.*?)\s*$", re.MULTILINE)
_RING = re.compile(r"ring(\d+)_addr$")


def _addresses(node):
    """A node's ``ringN_addr`` addresses by link number, and its label: its
    ``name``, or its first address where it has none (None without either)."""
    addresses = {int(_RING.match(k).group(1)): v for k, v in node.items() if _RING.match(k)}
    return addresses, node.get("name") or next(iter(addresses.values()), None)


def _by_link(nodes):
    """``{label: {link number: address}}`` turned into ``{link number: {label:
    address}}``, in link order."""
    links = {}
    for label, addresses in nodes.items():
        for number, address in addresses.items():
            links.setdefault(number, {})[label] = address
    return dict(sorted(links.items()))


def corosync_conf(text):
    """``text`` (a corosync.conf, or nothing) as ``{"name": cluster_name or "",
    "nodes": {name: {link number: address}}, "links": {link number: {name:
    address}}}``: the nodes of the nodelist by their ``name`` (or their first
    address, where a node has no name), each with its ``ringN_addr``
    addresses, and the same addresses by link."""
    if text is None:
        text = ""
    if not isinstance(text, (str, bytes)):
        raise AnsibleFilterError("corosync_conf: expected the text of a corosync.conf, got %r" % (text,))
    stack, node, name, nodes = [], None, "", {}
    for match in _SECTION.finditer(to_text(text)):
        section, key, value = match.groups()
        if section:
            stack.append(section)
            if stack == ["nodelist", "node"]:
                node = {}
        elif key is None:
            if stack == ["nodelist", "node"] and node is not None:
                addresses, label = _addresses(node)
                if label is None:
                    raise AnsibleFilterError("corosync_conf: a node of the nodelist has neither a name nor an address")
                nodes[label] = addresses
                node = None
            if not stack:
                raise AnsibleFilterError("corosync_conf: a closing brace without an opening one")
            stack.pop()
        elif stack == ["totem"] and key == "cluster_name":
            name = value
        elif stack == ["nodelist", "node"] and node is not None:
            node[key] = value
    if stack:
        raise AnsibleFilterError("corosync_conf: the section %s is not closed" % stack[-1])
    return {"name": name, "nodes": nodes, "links": _by_link(nodes)}


_CMAP = re.compile(r"^nodelist\.node\.(\d+)\.(\w+) \(\w+\) = (.*?)\s*$", re.MULTILINE)


def corosync_runtime(text):
    """The links a running Corosync uses, from ``corosync-cmapctl -b
    nodelist.node`` (or nothing, where it does not run), as the ``links`` of
    corosync_conf: ``{link number: {name: address}}``."""
    if text is None:
        text = ""
    if not isinstance(text, (str, bytes)):
        raise AnsibleFilterError("corosync_runtime: expected the output of corosync-cmapctl, got %r" % (text,))
    nodes = {}
    for index, key, value in _CMAP.findall(to_text(text)):
        nodes.setdefault(index, {})[key] = value
    labelled = {}
    for node in nodes.values():
        addresses, label = _addresses(node)
        labelled[label] = addresses
    return _by_link(labelled)


class FilterModule(object):
    def filters(self):
        return {"corosync_conf": corosync_conf, "corosync_runtime": corosync_runtime}
