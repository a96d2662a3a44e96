# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Promotion drill: the primary is killed under load, a replica is promoted
with playbooks/promote_replica.yml, the old primary re-joins with
playbooks/rejoin_replica.yml; and the refusals that keep both safe.

The tests run in file order on one failover (a module fixture, labkit's
promotion drill). The last one switches back (a planned promotion of the old
primary, which fences the new one, and a re-join without a copy), so the lab
ends as its inventory says.
"""

from __future__ import annotations

import pytest
from conftest import LAB, address, group, playbook, site
from labkit.commands import said, wait_until
from labkit.promotion import Drill

pytestmark = pytest.mark.drill

DRILL = Drill(LAB)
PRIMARY, FIRST, SECOND = DRILL.primary, DRILL.candidate, DRILL.other
sql = DRILL.sql


def test_a_candidate_behind_another_replica_is_refused_and_nothing_changes():
    DRILL.write("before-%s-stops-receiving" % SECOND)
    DRILL.wait_matching(PRIMARY, SECOND)
    # It applies what it has and receives nothing new.
    sql(SECOND, "STOP SLAVE IO_THREAD")
    try:
        written = DRILL.write("only-on-%s" % FIRST)
        DRILL.wait_matching(PRIMARY, FIRST)
        assert sql(SECOND, "SELECT COUNT(*) FROM app.records WHERE id = %d" % written["id"]) == "0"
        refused = playbook("promote_replica.yml", "-e", "new_primary=%s" % SECOND, succeed=False)
        assert refused.returncode != 0
        assert "%s cannot be promoted: it lacks transactions that %s has" % (SECOND, FIRST) in said(refused)
        assert "nothing was changed" in said(refused)
        assert sql(PRIMARY, "SELECT @@read_only") == "0" and sql(SECOND, "SELECT @@read_only") == "1"
    finally:
        sql(SECOND, "START SLAVE IO_THREAD")
    DRILL.wait_matching(PRIMARY, SECOND)


def test_a_stopped_replica_is_refused_as_not_working():
    sql(SECOND, "STOP SLAVE SQL_THREAD")
    try:
        refused = playbook("promote_replica.yml", "-e", "new_primary=%s" % SECOND, succeed=False)
        assert "%s cannot be promoted: it is not a working replica (The SQL thread is not running" % SECOND \
            in said(refused)
    finally:
        sql(SECOND, "START SLAVE SQL_THREAD")


def test_a_host_that_is_not_a_replica_is_refused():
    refused = playbook("promote_replica.yml", "-e", "new_primary=%s" % group("webservers")[0], succeed=False)
    assert refused.returncode != 0
    assert "is not in the replica group 'mysql_replica'; nothing was changed" in said(refused)


@pytest.fixture(scope="module")
def failover():
    """Writes and reads through the VIPs while the primary is killed and the
    most advanced replica promoted at once (DRILL.candidate; the old primary
    is started again afterwards, writable, as a crashed primary comes back)."""
    result = DRILL.failover()
    print("promotion of %s: %.1f s after the kill; first write on it acknowledged %s s after the kill;"
          " acknowledged writes: %d, lost: %d; failed reads: %s"
          % (DRILL.candidate, result["promotion_seconds"], result["first_write_seconds"],
             len(result["acknowledged"]), result["lost"], [r["failed"] for r in result["readers"]]))
    return result


def test_the_promotion_succeeds_with_the_primary_killed(failover):
    assert failover["promotion"].returncode == 0, said(failover["promotion"])[-3000:]
    assert "%s is the primary now" % DRILL.candidate in said(failover["promotion"])
    assert sql(DRILL.candidate, "SELECT @@read_only") == "0" and DRILL.source_of(DRILL.candidate) == ""


def test_writes_go_to_the_new_primary_through_both_vips(failover):
    assert failover["first_write_seconds"] is not None
    assert failover["acknowledged"][-1]["written_to"] == DRILL.candidate
    for vip in LAB.vips:
        written = LAB.curl("https://%s/records" % vip, "-X", "POST", "-d", "note=after-the-failover")
        assert '"written_to": "%s"' % DRILL.candidate in written


def test_no_acknowledged_write_is_missing_with_semi_sync(failover):
    assert len(failover["acknowledged"]) > 50
    assert failover["lost"] == 0, "%d of %d acknowledged writes are missing" % (
        failover["lost"], len(failover["acknowledged"]))


def test_reads_and_pages_never_failed(failover):
    for report in failover["readers"]:
        assert report["failed"] == 0 and report["ok"] > 100, report["failures"][:5]


def test_the_other_replica_follows_the_new_primary_and_matches(failover):
    assert DRILL.source_of(DRILL.other) == address(DRILL.candidate)
    DRILL.wait_matching(DRILL.candidate, DRILL.other)


def test_the_binary_log_archive_follows_the_new_primary_without_a_gap(failover):
    """The backup host's archive moves to the promoted replica (not to the
    old primary, back and writable beside it) and goes on from where it was:
    every transaction of the failover is archived, none is missing."""
    # The replica promoted (the drill names it once the promotion chose).
    promoted = DRILL.candidate
    reached = int(sql(promoted, "SELECT @@gtid_binlog_pos").split("-")[2])

    def archived() -> str:
        return LAB.sh(group("backup")[0], "webstack-backup list")
    wait_until(lambda: any(line.startswith("binary logs of %s " % promoted) and " to " in line
                           and int(line.split(" to ")[1].split()[0].split("-")[2]) >= reached
                           for line in archived().splitlines()),
               60, 2, "the new primary's writes in the archive")
    assert "gap:" not in archived()


def test_site_with_the_old_inventory_refuses_and_changes_nothing(failover):
    refused = site(succeed=False)
    assert refused.returncode != 0
    assert "%s is in 'mysql_replica' but runs as a primary" % DRILL.candidate in said(refused)
    assert sql(DRILL.candidate, "SELECT @@read_only") == "0"


def test_an_old_primary_with_errant_transactions_is_refused(failover):
    sql(PRIMARY, "INSERT INTO app.records (note, written_by) VALUES ('errant', 'test')")
    errant = sql(PRIMARY, "SELECT @@gtid_binlog_pos")
    refused = DRILL.rejoin(succeed=False)
    assert refused.returncode != 0
    assert "%s holds transactions that %s lacks (errant GTIDs %s)" % (PRIMARY, DRILL.candidate, errant) in said(refused)
    assert DRILL.source_of(PRIMARY) == ""
    assert sql(PRIMARY, "SELECT COUNT(*) FROM app.records WHERE note = 'errant'") == "1"


def test_the_old_primary_rejoins_with_a_copy_and_catches_up(failover):
    DRILL.rejoin(reseed=True)
    assert DRILL.source_of(PRIMARY) == address(DRILL.candidate)
    assert sql(PRIMARY, "SELECT @@read_only") == "1"
    assert sql(PRIMARY, "SELECT COUNT(*) FROM app.records WHERE note = 'errant'") == "0"
    DRILL.write("after-the-rejoin")
    DRILL.wait_matching(DRILL.candidate, PRIMARY)


def test_switching_back_fences_the_primary_and_rejoins_it_without_a_copy(failover):
    """A planned promotion: the serving primary is fenced, then re-joins as it
    is (no errant transactions, so no copy); the inventory is the lab's again."""
    rejoined = DRILL.switch_back()
    assert "Load the dump" not in said(rejoined)
    assert DRILL.source_of(DRILL.candidate) == address(PRIMARY) and DRILL.source_of(DRILL.other) == address(PRIMARY)
    assert sql(DRILL.candidate, "SELECT @@read_only") == "1"
    assert DRILL.write("switched-back")["written_to"] == PRIMARY
    for replica in (DRILL.candidate, DRILL.other):
        DRILL.wait_matching(PRIMARY, replica)
    # Every server has the stack's accounts exactly as the primary has them,
    # so the next promotion finds them wherever it lands.
    accounts = "SELECT User, Host FROM mysql.user WHERE User IN ('app', 'replication', 'monitor') ORDER BY 1, 2"
    assert sql(DRILL.candidate, accounts) == sql(DRILL.other, accounts) == sql(PRIMARY, accounts)
