# -*- coding: utf-8 -*-
# Copyright: alx.webstack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters comparing GTID positions (MariaDB) and GTID sets (MySQL)."""

from __future__ import absolute_import, division, print_function

from ansible.errors import AnsibleFilterError
from ansible_collections.alx.webstack.plugins.module_utils import replication

__metaclass__ = type


def _checked(function, *args):
    try:
        return function(*args)
    except ValueError as err:
        raise AnsibleFilterError("not a GTID position or set: %s" % err)


def gtid_covers(gtids, other):
    return _checked(replication.gtid_covers, gtids or "", other or "")


def gtid_most_advanced(positions):
    if not isinstance(positions, dict):
        raise AnsibleFilterError("gtid_most_advanced: expects a dictionary of name: GTIDs, got %r" % (positions,))
    return _checked(replication.most_advanced, dict((str(k), str(v or "")) for k, v in positions.items()))


def gtid_highest(positions):
    if not isinstance(positions, (list, tuple)):
        raise AnsibleFilterError("gtid_highest: expects a list of MariaDB GTID positions, got %r" % (positions,))
    best = {}
    for position in positions:
        for (domain, server_id), seq in _checked(replication.parse_mariadb_gtids, str(position or "")).items():
            if seq > best.get(domain, (0, -1))[1]:
                best[domain] = (server_id, seq)
    return ",".join("%d-%d-%d" % (domain, server_id, seq) for domain, (server_id, seq) in sorted(best.items()))


def gtid_state_at(state, position):
    state = _checked(replication.parse_mariadb_gtids, str(state or ""))
    for (domain, server_id), seq in _checked(replication.parse_mariadb_gtids, str(position or "")).items():
        state = dict((key, last) for key, last in state.items() if key[0] != domain or last < seq)
        state[(domain, server_id)] = seq
    return ",".join("%d-%d-%d" % (domain, server_id, seq) for (domain, server_id), seq in sorted(state.items()))


class FilterModule:
    """alx.webstack's GTID filters."""

    def filters(self):
        return {"gtid_covers": gtid_covers, "gtid_most_advanced": gtid_most_advanced, "gtid_highest": gtid_highest,
                "gtid_state_at": gtid_state_at}
