# -*- coding: utf-8 -*-
# Copyright: alx.webstack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which replica playbooks/promote_replica.yml promotes, and what each step acts on."""

from __future__ import absolute_import, division, print_function

from ansible.errors import AnsibleFilterError
from ansible_collections.alx.webstack.plugins.filter.gtid import gtid_most_advanced

__metaclass__ = type

UNCHANGED = "nothing was changed."


def _status(state):
    """The status mysql_replication_check reported (report_only), {} for a
    server that is not a replica, None for one that did not answer."""
    if not isinstance(state, dict) or "status" not in state or state.get("msg"):
        return None
    return state["status"] or {}


def _working(status):
    return bool(status) and status.get("sql_thread") == "running" and status.get("last_sql_errno") == 0 \
        and status.get("gtid") != "no"


def promotion_plan(states, primary="", primary_state=None, new_primary="", force=False, tiers=None):
    """The promotion of playbooks/promote_replica.yml, decided before any change.

    ``states`` maps each replica of the inventory to what
    mysql_replication_check (report_only) returned for it ({} when the host was
    down); ``primary_state`` is the same for the inventory's primary
    ``primary``. The candidate is ``new_primary``, or the first working replica
    (SQL thread running without error, GTID positioning) whose GTIDs cover
    every other working replica's. Returns ``error`` (a sentence, empty when
    the promotion may go on), ``candidate``, ``working``, ``ahead`` (the
    replicas with everything the others have), ``positions``, ``primary_answers``
    (the old primary's database answered, so it is fenced first), ``steps``
    ({name, group} for add_host) and ``summary``."""
    if not isinstance(states, dict):
        raise AnsibleFilterError("promotion_plan: expects a dictionary of replica: check result, got %r" % (states,))
    tiers = tiers or {}
    replica_group = tiers.get("mysql_replica", "mysql_replica")
    primary_group = tiers.get("mysql_primary", "mysql_primary")
    replicas = [str(name) for name in states]
    statuses = dict((name, _status(states[name])) for name in replicas)
    working = [name for name in replicas if _working(statuses[name])]
    positions = dict((name, "%s,%s" % (statuses[name].get("gtid_executed") or "", statuses[name].get("gtid_io_pos") or ""))
                     for name in working)
    ahead = gtid_most_advanced(positions)
    candidate = str(new_primary or (ahead[0] if ahead else ""))
    old = _status(primary_state) if primary else None
    plan = {"candidate": candidate, "working": working, "ahead": ahead, "positions": positions,
            "primary_answers": old is not None, "error": "", "steps": [], "summary": ""}

    if not candidate:
        plan["error"] = ("No replica can take over: none of %s answers as a working replica (SQL thread running"
                         " without error, GTID positioning), or they have diverged; name one with -e new_primary=HOST;"
                         " %s" % (", ".join(replicas) or "the replicas", UNCHANGED))
    elif candidate not in replicas:
        plan["error"] = "%s is not in the replica group '%s'; %s" % (candidate, replica_group, UNCHANGED)
    elif not statuses[candidate]:
        plan["error"] = "%s cannot be promoted: %s; %s" % (
            candidate, "it does not answer" if statuses[candidate] is None else "it is not a replica", UNCHANGED)
    elif not force and candidate not in working:
        plan["error"] = ("%s cannot be promoted: it is not a working replica (%s); %s Run with -e promote_force=true"
                         " to promote it all the same (what it lacks is lost)."
                         % (candidate, " ".join(states[candidate].get("problems") or []), UNCHANGED))
    elif not force and candidate not in ahead:
        plan["error"] = ("%s cannot be promoted: it lacks transactions that %s has (GTIDs %s against %s); %s Run with"
                         " -e promote_force=true to promote it all the same (what it lacks is lost)."
                         % (candidate, ", ".join(ahead) or "another replica", positions.get(candidate, ""),
                            "; ".join(positions[name] for name in ahead), UNCHANGED))
    elif old:
        plan["error"] = ("%s is in '%s' but replicates from %s: the inventory is stale (an earlier promotion?); bring it"
                         " up to date first. Nothing was changed." % (primary, primary_group, old.get("source_host", "")))
    if plan["error"]:
        return plan

    others = [name for name in working if name != candidate]
    plan["steps"] = ([{"name": candidate, "group": "webstack_new_primary"}]
                     + ([{"name": primary, "group": "webstack_old_primary"}] if plan["primary_answers"] else [])
                     + [{"name": name, "group": "webstack_repoint"} for name in others])
    plan["summary"] = "Promoting %s (GTIDs %s); old primary %s %s; %s will follow it." % (
        candidate, positions.get(candidate, "unknown"), primary,
        "is fenced first" if plan["primary_answers"] else "does not answer: make sure it stays down until it re-joins",
        ", ".join(others) or "no other replica")
    return plan


class FilterModule:
    """alx.webstack's promotion filter."""

    def filters(self):
        return {"promotion_plan": promotion_plan}
