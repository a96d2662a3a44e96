# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Backups as a sysadmin relies on them: a full backup taken from a replica at
the primary's GTID, kept encrypted on the backup host, the primary's binary
log archived within seconds, the backup restored by the drill into a scratch
server with the archive replayed on it and every row of a table written
before it, and the result visible in Prometheus; restore.yml refuses what it
cannot do safely, and brings mistakenly deleted rows back into the stack as
they were the second before the DELETE, every replica seeded again from the
restored primary. (The alert of a failed backup reaching the receiver is part
of the monitoring drill, test_monitoring.py; the archive following a promoted
primary is in test_promotion.py.)"""

from __future__ import annotations

import json
import secrets
import time

import pytest
from conftest import LAB, group, host, playbook, sql, variables
from labkit.commands import said, wait_until
from labkit.monitoring import Monitoring

PRIMARY = group("mysql_primary")[0]
REPLICAS = group("mysql_replica")
BACKUP = group("backup")[0]
HOME = "/var/lib/webstack-backup"
REPOSITORY = variables(BACKUP).get("backup_repository", HOME + "/repository")
MARKERS = 200
# Rows added between the full backup and the incremental one.
ADDED = 20
SCHEMA = "alx_backup_test"


def gtid_seq(position: str) -> int:
    """The sequence number of domain 0 in a GTID position (the lab's only domain)."""
    return next(int(g.split("-")[2]) for g in position.split(",") if g.startswith("0-"))


def state() -> dict:
    return json.loads(host(BACKUP).check_output("cat %s/state.json" % HOME))


@pytest.fixture(scope="module")
def written():
    """Rows of random tokens written on the primary and replicated everywhere,
    one full backup, then some rows changed and some added, one incremental
    backup and one restore drill, each run by its systemd unit; the table is
    dropped afterwards (the drop replicates)."""
    tokens = [secrets.token_hex(16) for _number in range(MARKERS)]
    sql(PRIMARY, "CREATE DATABASE IF NOT EXISTS %s; CREATE OR REPLACE TABLE %s.marker "
        "(id INT PRIMARY KEY, token CHAR(32) NOT NULL) ENGINE=InnoDB" % (SCHEMA, SCHEMA))
    sql(PRIMARY, "INSERT INTO %s.marker VALUES %s" % (
        SCHEMA, ", ".join("(%d, '%s')" % (n, t) for n, t in enumerate(tokens))))
    written_at = sql(PRIMARY, "SELECT @@gtid_binlog_pos").strip()
    for replica in REPLICAS:
        assert sql(replica, "SELECT MASTER_GTID_WAIT('%s', 30)" % written_at).strip() == "0", replica
    backup = host(BACKUP).run("systemctl start webstack-backup.service")
    full_after = sql(PRIMARY, "SELECT @@gtid_binlog_pos").strip()
    sql(PRIMARY, "UPDATE %s.marker SET token = REVERSE(token) WHERE id %% 2 = 0; INSERT INTO %s.marker VALUES %s" % (
        SCHEMA, SCHEMA, ", ".join("(%d, '%s')" % (1000 + n, secrets.token_hex(16)) for n in range(ADDED))))
    changed_at = sql(PRIMARY, "SELECT @@gtid_binlog_pos").strip()
    for replica in REPLICAS:
        assert sql(replica, "SELECT MASTER_GTID_WAIT('%s', 30)" % changed_at).strip() == "0", replica
    incremental = host(BACKUP).run("systemctl start webstack-backup-incremental.service")
    drill = host(BACKUP).run("systemctl start webstack-backup-drill.service")
    try:
        yield {"tokens": tokens, "gtid": written_at, "full_after": full_after, "changed_at": changed_at,
               "backup": backup, "incremental": incremental, "drill": drill,
               "primary_after": sql(PRIMARY, "SELECT @@gtid_binlog_pos").strip()}
    finally:
        sql(PRIMARY, "DROP DATABASE IF EXISTS %s" % SCHEMA)


def test_a_full_backup_comes_from_a_replica_and_holds_every_write_before_it(written):
    assert written["backup"].rc == 0, host(BACKUP).check_output("journalctl -u webstack-backup -n 20 --no-pager")
    full = state()["backups"]["full"]
    # Taken from a replica, so the primary does not pay for it.
    assert full["last_source"] in REPLICAS
    assert full["last_attempt_success"] is True
    # Its GTID is the primary's: at or after the rows, not after the primary.
    assert gtid_seq(written["gtid"]) <= gtid_seq(full["last_gtid"]) <= gtid_seq(written["full_after"])
    # The snapshot in the repository carries that GTID and its source.
    snapshots = json.loads(host(BACKUP).check_output(
        "runuser -u webstack-backup -- env RESTIC_REPOSITORY=%s RESTIC_PASSWORD_FILE=/etc/webstack-backup/"
        "repository.password RESTIC_CACHE_DIR=%s/cache restic snapshots --json --tag full" % (REPOSITORY, HOME)))
    newest = max(snapshots, key=lambda s: s["time"])
    assert "gtid=" + full["last_gtid"].replace(",", "+") in newest["tags"]
    assert "source=" + full["last_source"] in newest["tags"]
    # It was copied to the copy repository, which keeps as many.
    copies = json.loads(host(BACKUP).check_output(
        "runuser -u webstack-backup -- env RESTIC_REPOSITORY=%s RESTIC_PASSWORD_FILE=/etc/webstack-backup/"
        "repository.password RESTIC_CACHE_DIR=%s/cache restic snapshots --json --tag full"
        % (variables(BACKUP)["backup_copy_repository"], HOME)))
    assert any(sorted(copy["tags"]) == sorted(newest["tags"]) and copy["time"] == newest["time"] for copy in copies)
    assert full["copy_snapshots"] == full["snapshots"] == len(snapshots)


def test_an_incremental_backup_holds_the_changes_since_the_full_one_from_the_same_replica(written):
    assert written["incremental"].rc == 0, host(BACKUP).check_output(
        "journalctl -u webstack-backup-incremental -n 20 --no-pager")
    backups = state()["backups"]
    full, incremental = backups["full"], backups["incremental"]
    # From the server the full backup came from (its pages, its LSNs).
    assert incremental["last_source"] == full["last_source"]
    assert gtid_seq(written["changed_at"]) <= gtid_seq(incremental["last_gtid"]) <= gtid_seq(written["primary_after"])
    # Only the changed pages: far less than the whole database.
    assert 0 < incremental["last_size"] < full["last_size"] / 2, (incremental, full)
    listed = host(BACKUP).check_output("webstack-backup list")
    assert "%s  " % incremental["last_snapshot"] in listed
    assert "incremental after " in listed


def test_the_restore_drill_brings_back_every_row_as_a_replica_has_it(written):
    assert written["drill"].rc == 0, host(BACKUP).check_output("journalctl -u webstack-backup-drill -n 20 --no-pager")
    report = json.loads(host(BACKUP).check_output("cat %s/drill.json" % HOME))
    # The incremental on its full backup, and the archive on both, compared
    # with a replica at the same GTID: nothing differs.
    assert report["snapshot"] == state()["backups"]["incremental"]["last_snapshot"]
    assert report["compared_with"] in REPLICAS + [PRIMARY]
    assert report["differences"] == []
    assert report["tables"]["%s.marker" % SCHEMA]["rows"] == MARKERS + ADDED
    # The application's tables were checked and counted too.
    assert any(name.startswith(variables(PRIMARY).get("mysql_app_database", "app") + ".") for name in report["tables"])
    # The scratch server is gone and its files with it.
    assert not host(BACKUP).file(HOME + "/scratch").exists
    assert host(BACKUP).run("pgrep -u webstack-backup mariadbd").rc == 1


def archived_to(name: str = "") -> int:
    """How far the binary-log archive reaches (the sequence number of its
    last transaction), from `webstack-backup list` on the backup host; only
    the part archived from the server ``name`` when given."""
    reached = 0
    for line in host(BACKUP).check_output("webstack-backup list").splitlines():
        if line.startswith("binary logs of %s" % name) and " to " in line:
            reached = max(reached, gtid_seq(line.split(" to ")[1].split()[0]))
    return reached


@pytest.mark.drill
def test_the_restore_drill_fails_when_the_restored_rows_differ_from_the_servers(written):
    """A row only the replicas have (written outside the binary log, as a
    lost write or a corrupted copy would look): the backup no longer matches
    them, and the drill says so and fails."""
    extra = "INSERT INTO %s.marker VALUES (999, 'only-on-the-replicas')" % SCHEMA
    for replica in REPLICAS:
        sql(replica, "SET SESSION sql_log_bin = 0; " + extra)
    try:
        failed = host(BACKUP).run("systemctl start webstack-backup-drill.service")
        assert failed.rc != 0
        journal = host(BACKUP).check_output("journalctl -u webstack-backup-drill -n 5 --no-pager")
        assert "differs from" in journal and "%s.marker has %d rows" % (SCHEMA, MARKERS + ADDED) in journal, journal
        assert state()["drill"]["success"] is False
    finally:
        for replica in REPLICAS:
            sql(replica, "SET SESSION sql_log_bin = 0; DELETE FROM %s.marker WHERE id = 999" % SCHEMA)
    assert host(BACKUP).run("systemctl start webstack-backup-drill.service").rc == 0
    assert state()["drill"]["success"] is True


def test_the_binary_log_archive_holds_every_write_within_seconds(written):
    sql(PRIMARY, "INSERT INTO %s.marker VALUES (%d, 'archived')" % (SCHEMA, MARKERS))
    position = gtid_seq(sql(PRIMARY, "SELECT @@gtid_binlog_pos").strip())
    wait_until(lambda: archived_to(PRIMARY) >= position, 30, 1, "the write in the binary-log archive")
    # The drill replayed the archive on the backup: it reached the rows.
    report = json.loads(host(BACKUP).check_output("cat %s/drill.json" % HOME))
    assert gtid_seq(report["replayed_to"]) >= gtid_seq(written["gtid"])
    # The archive reads the primary over TLS as the replication account,
    # whose password only root and the backup user read.
    login = host(BACKUP).file("/etc/webstack-backup/archive.cnf")
    assert (login.user, login.group, login.mode) == ("root", "webstack-backup", 0o640)
    threads = sql(PRIMARY, "SELECT COUNT(*) FROM information_schema.processlist WHERE command = 'Binlog Dump' "
                  "AND host LIKE '%s:%%'" % LAB.address(BACKUP))
    assert threads.strip() == "1"


def test_the_archive_is_kept_encrypted_in_the_repository_and_its_copy(written):
    """After each backup the archive's files go into the repository too, and
    with the backups into the copy: the last seconds survive the backup host."""
    restic = ("runuser -u webstack-backup -- env RESTIC_REPOSITORY=%s RESTIC_PASSWORD_FILE=/etc/webstack-backup/"
              "repository.password RESTIC_CACHE_DIR=%s/cache restic ")
    for repository in (REPOSITORY, variables(BACKUP)["backup_copy_repository"]):
        # The newest copy of the archive only (each holds all of it).
        kept = json.loads(host(BACKUP).check_output(restic % (repository, HOME) + "snapshots --json --tag binlogs"))
        assert len(kept) == 1, (repository, kept)
        files = host(BACKUP).check_output(restic % (repository, HOME) + "ls latest --tag binlogs")
        assert "/binlog.0" in files and "archive.json" in files, files


def test_the_repository_is_encrypted_and_readable_only_with_its_password(written):
    backup = host(BACKUP)
    # No token written in clear anywhere in the repository.
    assert backup.run("grep -rlF %s %s" % (written["tokens"][0], REPOSITORY)).rc == 1
    password = backup.file("/etc/webstack-backup/repository.password")
    assert (password.user, password.group, password.mode) == ("root", "webstack-backup", 0o640)
    wrong = backup.run("echo not-the-password > /tmp/wrong && RESTIC_REPOSITORY=%s RESTIC_PASSWORD_FILE=/tmp/wrong "
                       "restic snapshots --no-cache; rc=$?; rm -f /tmp/wrong; exit $rc" % REPOSITORY)
    assert wrong.rc != 0
    assert "wrong password" in (wrong.stderr + wrong.stdout).lower()


def test_the_backup_account_on_a_database_server_runs_the_backup_stream_and_nothing_else(written):
    ssh = ("runuser -u webstack-backup -- ssh -o BatchMode=yes -o UserKnownHostsFile=/etc/webstack-backup/known_hosts "
           "-i %s/.ssh/id_ed25519 webstack-backup@%s " % (HOME, LAB.address(REPLICAS[0])))
    assert host(BACKUP).check_output(ssh + "role") == "replica"
    assert host(BACKUP).check_output(ssh.replace(LAB.address(REPLICAS[0]), LAB.address(PRIMARY)) + "role") == "primary"
    # Any other command is refused by sudo (only "role" and "full" are
    # allowed), or by the stream itself.
    for command in ("'id; cat /etc/shadow'", "other"):
        refused = host(BACKUP).run(ssh + command)
        assert refused.rc != 0, command
        assert "uid=" not in refused.stdout and "root:" not in refused.stdout


def test_the_backup_and_drill_results_reach_prometheus(written):
    monitoring = Monitoring(LAB)

    def values():
        return {sample["metric"]["__name__"]: float(sample["value"][1]) for sample in monitoring.query(
            '{__name__=~"alx_backup_last_attempt_success|alx_backup_drill_success|alx_backup_drill_rows'
            '|alx_backup_binlog_archive_up",'
            'instance="%s"}' % BACKUP)}
    # The drill that failed on purpose just before is followed by a good one:
    # Prometheus sees the good one once it has scraped again.
    wait_until(lambda: values().get("alx_backup_drill_rows", 0) >= MARKERS + ADDED
               and values().get("alx_backup_drill_success") == 1, 60, 2, "the drill's metrics scraped")
    found = values()
    assert found["alx_backup_last_attempt_success"] == 1
    assert found["alx_backup_binlog_archive_up"] == 1


# --- restore.yml -------------------------------------------------------------------------------

@pytest.mark.refusal
@pytest.mark.parametrize("extra, sentence", [
    ((), "run again with -e restore_confirm=%s to go ahead" % PRIMARY),
    (("-e", "restore_confirm=%s" % REPLICAS[0]), "run again with -e restore_confirm=%s" % PRIMARY),
    (("-e", "restore_to=yesterday"), "restore_to is 'yesterday': give 'latest', a GTID position"),
    (("-e", "restore_to=0-1"), "restore_to is '0-1': give 'latest', a GTID position"),
    (("-e", "restore_to=latest", "-e", "restore_snapshot=latest"), "not both"),
    (("-e", "restore_confirm=%s" % PRIMARY, "-e", "restore_to='2099-01-01 00:00:00'"),
     "2099-01-01 00:00:00 is in the future"),
    (("-e", "restore_confirm=%s" % PRIMARY, "-e", "restore_to='2020-01-01 00:00:00'"),
     "2020-01-01 00:00:00 is before the oldest backup was complete"),
    (("-e", "restore_into=elsewhere"), "restore_into is 'elsewhere'"),
    (("-e", "restore_snapshot=../etc"), "restore_snapshot is '../etc'"),
], ids=["no-confirmation", "a-replica-confirmed", "not-a-point", "bad-gtid", "snapshot-and-point", "future",
        "before-the-backups", "unknown-target", "bad-snapshot"])
def test_restore_refuses_what_it_cannot_do_safely_before_any_change(extra, sentence):
    before = sql(PRIMARY, "SELECT @@gtid_binlog_pos").strip()
    done = playbook("restore.yml", *extra, succeed=False)
    assert done.returncode != 0
    # YAML's single-quoted output doubles the quotes.
    text = said(done).replace("''", "'")
    assert sentence in text and "Nothing was changed." in text, text[-2000:]
    assert sql(PRIMARY, "SELECT @@gtid_binlog_pos").strip() == before


def post(note: str) -> int:
    """A record written through the first VIP, as a user writes; its id."""
    return json.loads(LAB.curl("https://%s/records" % LAB.vips[0], "-X", "POST", "--data-urlencode",
                               "note=" + note))["id"]


def present(name: str, ids: list[int]) -> set[int]:
    if not ids:
        return set()
    found = sql(name, "SELECT id FROM app.records WHERE id IN (%s)" % ",".join(map(str, ids)))
    return {int(n) for n in found.split()}


@pytest.mark.drill
def test_deleted_rows_come_back_into_the_stack_as_they_were_the_second_before():
    """The 3 a.m. case: rows written, the nightly backup, more rows, an
    incremental backup, more rows, then a mistaken DELETE that every replica applies. restore.yml to the second
    before the DELETE brings back every row written before it, from the
    backup and the binary-log archive, on every server; the DELETE is not
    replayed, the old data is kept on the primary, and the stack writes and
    replicates again."""
    before = [post("before-backup-%d" % n) for n in range(20)]
    position = sql(PRIMARY, "SELECT @@gtid_binlog_pos").strip()
    for replica in REPLICAS:
        assert sql(replica, "SELECT MASTER_GTID_WAIT('%s', 30)" % position).strip() == "0", replica
    assert host(BACKUP).run("systemctl start webstack-backup.service").rc == 0
    after = [post("after-backup-%d" % n) for n in range(5)]
    # An incremental backup after them: the restore applies it on the full
    # backup, then replays the archive up to the moment.
    assert host(BACKUP).run("systemctl start webstack-backup-incremental.service").rc == 0
    after += [post("after-incremental-%d" % n) for n in range(5)]
    # The moment of the mistake, on the backup host's clock, a second after
    # the last good write.
    time.sleep(1.1)
    mistake_at = host(BACKUP).check_output("date '+%F %T'")
    sql(PRIMARY, "DELETE FROM app.records WHERE id IN (%s)" % ",".join(map(str, before + after)))
    reached = sql(PRIMARY, "SELECT @@gtid_binlog_pos").strip()
    for replica in REPLICAS:
        assert sql(replica, "SELECT MASTER_GTID_WAIT('%s', 30)" % reached).strip() == "0", replica
        assert present(replica, before + after) == set()
    wait_until(lambda: archived_to() >= gtid_seq(reached), 30, 1, "the DELETE in the binary-log archive")
    kept = set(host(PRIMARY).check_output("ls -d /var/lib/mysql.before-restore-* 2>/dev/null || true").split())
    try:
        done = playbook("restore.yml", "-e", "restore_confirm=%s" % PRIMARY, "-e", "restore_to='%s'" % mistake_at)
        assert "runs on the backup now" in said(done)
        for name in [PRIMARY] + REPLICAS:
            assert present(name, before + after) == set(before + after), name
        # The restored primary numbers its transactions after every GTID the
        # servers had reached: none is used twice.
        assert gtid_seq(sql(PRIMARY, "SELECT @@gtid_binlog_pos").strip()) > gtid_seq(reached)
        # The data the primary had is kept beside the restored one.
        now_kept = set(host(PRIMARY).check_output("ls -d /var/lib/mysql.before-restore-*").split())
        assert len(now_kept - kept) == 1
        # The stack writes through a VIP again, and the replicas follow.
        written = post("after-restore")
        wait_until(lambda: all(present(r, [written]) == {written} for r in REPLICAS), 30, 1,
                   "the new record on every replica")
        for replica in REPLICAS:
            status = host(replica).check_output("mariadb -e 'SHOW SLAVE STATUS\\G'")
            assert "Slave_IO_Running: Yes" in status and "Slave_SQL_Running: Yes" in status, status
        # The archive goes on with the restored primary's binary log.
        wait_until(lambda: archived_to(PRIMARY) >= gtid_seq(sql(PRIMARY, "SELECT @@gtid_binlog_pos").strip()),
                   60, 2, "the restored primary's write in the archive")
    finally:
        host(PRIMARY).run("rm -rf %s" % " ".join(set(host(PRIMARY).check_output(
            "ls -d /var/lib/mysql.before-restore-* 2>/dev/null || true").split()) - kept) or "/nonexistent")
