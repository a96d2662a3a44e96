# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""promotion_plan: which replica promote_replica.yml promotes, or why it stops before any change."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.alx.webstack.plugins.filter.promotion import promotion_plan

TIERS = {"mysql_primary": "databases_primary", "mysql_replica": "databases_replica"}


def replica(executed, received=None, sql="running", errno=0, gtid="slave_pos", problems=None, source="db1"):
    """What mysql_replication_check (report_only) returns for a replica."""
    return {"status": {"sql_thread": sql, "last_sql_errno": errno, "gtid": gtid, "gtid_executed": executed,
                       "gtid_io_pos": received if received is not None else executed, "source_host": source},
            "problems": problems or []}


NOT_A_REPLICA = {"status": {}, "problems": []}
DOWN = {}
REFUSED = {"msg": "Cannot connect to the server: (2002, ...)", "status": {}}


def test_the_most_advanced_working_replica_is_promoted_and_the_others_follow_it():
    plan = promotion_plan({"db2": replica("0-1-40"), "db3": replica("0-1-42")}, "db1", NOT_A_REPLICA)
    assert plan["error"] == ""
    assert plan["candidate"] == "db3"
    assert plan["steps"] == [{"name": "db3", "group": "webstack_new_primary"},
                             {"name": "db1", "group": "webstack_old_primary"},
                             {"name": "db2", "group": "webstack_repoint"}]
    assert plan["summary"] == "Promoting db3 (GTIDs 0-1-42,0-1-42); old primary db1 is fenced first; db2 will follow it."


def test_what_a_replica_received_counts_as_much_as_what_it_applied():
    plan = promotion_plan({"db2": replica("0-1-40", "0-1-45"), "db3": replica("0-1-42")}, "db1", NOT_A_REPLICA)
    assert (plan["candidate"], plan["ahead"]) == ("db2", ["db2"])


def test_a_primary_that_is_down_is_not_fenced_and_the_run_says_so():
    plan = promotion_plan({"db2": replica("0-1-40"), "db3": replica("0-1-40")}, "db1", DOWN)
    assert plan["error"] == "" and plan["candidate"] == "db2" and not plan["primary_answers"]
    assert [s["group"] for s in plan["steps"]] == ["webstack_new_primary", "webstack_repoint"]
    assert "old primary db1 does not answer: make sure it stays down until it re-joins" in plan["summary"]
    assert not promotion_plan({"db2": replica("0-1-40")}, "db1", REFUSED)["primary_answers"]


def test_replicas_that_are_down_or_broken_are_left_out():
    plan = promotion_plan({"db2": DOWN, "db3": replica("0-1-42"), "db4": replica("0-1-43", sql="stopped"),
                           "db5": replica("0-1-44", errno=1062), "db6": replica("0-1-44", gtid="no")},
                          "db1", NOT_A_REPLICA)
    assert plan["working"] == ["db3"] and plan["candidate"] == "db3"
    assert plan["summary"].endswith("no other replica will follow it.")


@pytest.mark.parametrize("states, new_primary, force, message", [
    ({"db2": DOWN}, "", False, "No replica can take over: none of db2 answers as a working replica"),
    ({"db2": replica("0-1-5,1-1-3"), "db3": replica("0-1-6")}, "", False, "or they have diverged"),
    ({"db2": replica("0-1-5")}, "web1", False, "web1 is not in the replica group 'databases_replica'"),
    ({"db2": replica("0-1-5"), "db3": DOWN}, "db3", False, "db3 cannot be promoted: it does not answer"),
    ({"db2": replica("0-1-5"), "db3": REFUSED}, "db3", True, "db3 cannot be promoted: it does not answer"),
    ({"db2": replica("0-1-5"), "db3": NOT_A_REPLICA}, "db3", True, "db3 cannot be promoted: it is not a replica"),
    ({"db2": replica("0-1-5"), "db3": replica("0-1-5", sql="stopped", problems=["The SQL thread is not running."])},
     "db3", False, "db3 cannot be promoted: it is not a working replica (The SQL thread is not running.)"),
    ({"db2": replica("0-1-7"), "db3": replica("0-1-5")}, "db3", False,
     "db3 cannot be promoted: it lacks transactions that db2 has (GTIDs 0-1-5,0-1-5 against 0-1-7,0-1-7)"),
])
def test_a_promotion_that_cannot_go_on_stops_with_its_reason(states, new_primary, force, message):
    plan = promotion_plan(states, "db1", NOT_A_REPLICA, new_primary, force, TIERS)
    assert message in plan["error"]
    assert "othing was changed." in plan["error"]
    assert plan["steps"] == []


def test_force_promotes_a_replica_that_lags_or_is_stopped():
    states = {"db2": replica("0-1-7"), "db3": replica("0-1-5", sql="stopped")}
    plan = promotion_plan(states, "db1", NOT_A_REPLICA, "db3", True)
    assert plan["error"] == "" and plan["candidate"] == "db3"
    assert plan["steps"][0] == {"name": "db3", "group": "webstack_new_primary"}
    assert "Promoting db3 (GTIDs unknown)" in plan["summary"]
    assert promotion_plan({"db2": replica("0-1-7"), "db3": replica("0-1-5")}, "db1", NOT_A_REPLICA, "db3",
                          True)["error"] == ""


def test_a_stale_inventory_stops_even_when_forced():
    plan = promotion_plan({"db2": replica("0-1-5")}, "db1", replica("0-1-5", source="db2"), "", True, TIERS)
    assert plan["error"].startswith("db1 is in 'databases_primary' but replicates from db2: the inventory is stale")


def test_bad_input_is_refused():
    with pytest.raises(AnsibleFilterError, match="expects a dictionary"):
        promotion_plan(["db2"])
    with pytest.raises(AnsibleFilterError, match="not a GTID position or set"):
        promotion_plan({"db2": replica("zero")}, "db1", NOT_A_REPLICA)
