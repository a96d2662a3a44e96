# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The backup program's own logic (roles/backup/files/webstack-backup): what
it reads from mariabackup's log and restic's tags, and the metrics it writes.
The parts that run mariabackup, restic and the scratch server are tested on
the lab (tests/integration/test_backup.py)."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import pathlib
import struct

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[3]
_loader = importlib.machinery.SourceFileLoader("webstack_backup", str(ROOT / "roles/backup/files/webstack-backup"))
_spec = importlib.util.spec_from_loader("webstack_backup", _loader)
backup = importlib.util.module_from_spec(_spec)
_loader.exec_module(backup)

# mariabackup 10.11's log of a backup of a replica (trimmed).
LOG = """[00] 2026-12-07 01:53:37 Streaming ./mysql/gtid_slave_pos.ibd
[00] 2026-12-07 01:53:37 MySQL binlog position: filename 'binlog.000001', position '37397', GTID of the last change '0-2887667743-45'
[00] 2026-12-07 01:53:37 MySQL slave binlog position: gtid_slave_pos '0-2887667743-45'; master '' master_use_gtid = slave_pos
[00] 2026-12-07 01:53:37 completed OK!
"""


def test_the_gtid_of_the_copy_is_read_from_the_log():
    assert backup.last_change_gtid(LOG) == "0-2887667743-45"


def test_a_gtid_position_of_several_domains_is_read_whole():
    log = "MySQL binlog position: filename 'b.1', position '4', GTID of the last change '0-1-9, 1-2-30'\n"
    assert backup.last_change_gtid(log) == "0-1-9,1-2-30"


def test_a_log_without_a_gtid_gives_none():
    assert backup.last_change_gtid("[00] completed OK!\n") == ""
    assert not backup.is_gtid("")


@pytest.mark.parametrize("log, ok", [
    (LOG, True),
    (LOG + "\n\n", True),
    (LOG.replace("completed OK!", "Error: failed to copy"), False),
    ("", False),
    # "completed OK!" from an earlier step, then a failure.
    ("[00] completed OK!\n[00] Error writing file 'x'\n", False),
])
def test_a_backup_counts_only_when_mariabackup_ends_with_completed_ok(log, ok):
    assert backup.completed_ok(log) is ok


# What the backup stream prints after mariabackup's log: the checkpoints.
CHECKPOINTS = """backup_type = incremental
from_lsn = 46843
to_lsn = 47215
last_lsn = 47224
"""


def test_the_lsn_the_next_incremental_starts_from_is_read_after_the_log():
    assert backup.to_lsn(LOG + CHECKPOINTS) == "47215"
    assert backup.to_lsn(LOG) == ""
    # The log still counts as complete with the checkpoints after it.
    assert backup.completed_ok(backup._CHECKPOINTS.sub("", LOG + CHECKPOINTS))
    assert not backup.completed_ok(backup._CHECKPOINTS.sub("", "[00] Error\n" + CHECKPOINTS))


def snapshot(name, *tags):
    return {"id": name * 32, "short_id": name * 4, "time": "2026-12-07T01:00:00Z", "tags": ["backup=" + name, *tags]}


FULL = snapshot("f1", "full")
INC1 = snapshot("i1", "incremental", "parent=f1", "base=f1")
INC2 = snapshot("i2", "incremental", "parent=i1", "base=f1")


def test_an_incremental_is_restored_on_the_backups_before_it_from_the_full_one():
    assert backup.chain(INC2, [INC2, FULL, INC1]) == [FULL, INC1, INC2]
    assert backup.chain(FULL, [FULL, INC1]) == [FULL]


def test_an_incremental_whose_parent_is_gone_is_refused():
    with pytest.raises(backup.BackupError, match=r"Incremental backup i2i2i2i2 lacks the backup it was taken after \(i1\)"):
        backup.chain(INC2, [FULL, INC2])


def test_backups_are_chained_by_name_whatever_their_ids():
    # restic gives a snapshot a new id when it is tagged or copied.
    copies = [dict(FULL, id="c" * 64), dict(INC1, id="d" * 64)]
    assert backup.chain(copies[1], copies) == copies
    assert backup.orphans(copies) == []


def test_incrementals_go_with_their_full_backup():
    assert backup.orphans([FULL, INC1, INC2]) == []
    assert backup.orphans([INC1, INC2, snapshot("f2", "full")]) == [INC1, INC2]


@pytest.mark.parametrize("gtid", ["0-1-5", "0-2887667743-45", "0-1-5,1-2-3,7-7-7"])
def test_a_gtid_survives_restics_tags(gtid):
    # restic splits --tag values at commas.
    tag = backup.gtid_tag(gtid)
    assert "," not in tag
    assert backup.tag_value(["full", "source=db2", tag], "gtid") == gtid


def test_a_tag_that_is_absent_reads_empty():
    assert backup.tag_value(["full"], "gtid") == ""
    assert backup.tag_value(None, "source") == ""


@pytest.mark.parametrize("text, good", [
    ("0-1-5", True), ("0-1-5,1-2-3", True), ("0-1", False), ("0-1-5,", False), ("a-b-c", False), ("0-1-5 ", False),
])
def test_gtid_positions_are_checked(text, good):
    assert backup.is_gtid(text) is good


def test_the_newest_snapshot_is_chosen_by_time():
    snapshots = [{"id": "a", "time": "2026-12-01T01:30:00.5Z"}, {"id": "b", "time": "2026-12-03T01:30:00Z"},
                 {"id": "c", "time": "2026-12-02T01:30:00Z"}]
    assert backup.latest(snapshots)["id"] == "b"
    assert backup.latest([]) is None


def test_restics_times_are_read_with_their_zone_and_fraction():
    assert backup._restic_time("1970-01-01T00:00:10.5Z") == pytest.approx(10.5)
    assert backup._restic_time("1970-01-01T01:00:10.123456789+01:00") == pytest.approx(10.123456789)
    with pytest.raises(backup.BackupError):
        backup._restic_time("yesterday")


def test_metrics_show_what_is_known_and_nothing_else():
    assert backup.render_metrics({}) == "\n"
    text = backup.render_metrics({
        "backups": {"full": {"last_success": 1700000000.5, "last_attempt": 1700000000.5, "last_attempt_success": True,
                             "last_duration": 3.25, "last_size": 17392021, "last_added": 100, "snapshots": 3}},
        "drill": {"last_attempt": 1700000100, "success": False, "duration": 2.0}})
    lines = text.splitlines()
    assert 'alx_backup_last_success_timestamp_seconds{kind="full"} 1700000000.5' in lines
    assert 'alx_backup_last_attempt_success{kind="full"} 1' in lines
    assert 'alx_backup_last_size_bytes{kind="full"} 17392021' in lines
    assert "alx_backup_drill_success 0" in lines
    # A drill that never succeeded has no success time, which would otherwise
    # read as 1970 (or, worse, as recent).
    assert not [line for line in lines if line.startswith("alx_backup_drill_last_success_timestamp_seconds")]
    # Every metric has its HELP and TYPE, once.
    names = {line.split("{")[0].split(" ")[0] for line in lines if not line.startswith("#")}
    for name in names:
        assert lines.count("# TYPE %s gauge" % name) == 1
        assert sum(line.startswith("# HELP %s " % name) for line in lines) == 1


def test_metrics_leave_out_a_kind_no_longer_scheduled():
    state = {"backups": {kind: {"last_success": 1700000000, "last_attempt_success": True}
                         for kind in ("full", "incremental")}}
    assert 'alx_backup_last_success_timestamp_seconds{kind="incremental"} 1700000000' in \
        backup.render_metrics(state).splitlines()
    # Incrementals turned off: their last time would otherwise age into BackupTooOld.
    lines = backup.render_metrics(state, kinds=["full"]).splitlines()
    assert 'alx_backup_last_success_timestamp_seconds{kind="full"} 1700000000' in lines
    assert not [line for line in lines if 'kind="incremental"' in line]


def test_the_repositorys_environment_file_is_read_as_name_value_lines(tmp_path):
    env = tmp_path / "repository.env"
    env.write_text("# restic's environment\nAWS_ACCESS_KEY_ID=abc\n\nAWS_SECRET_ACCESS_KEY=x=y\n")
    assert backup.read_environment(str(env)) == {"AWS_ACCESS_KEY_ID": "abc", "AWS_SECRET_ACCESS_KEY": "x=y"}
    assert backup.read_environment(str(tmp_path / "missing")) == {}


# ------------------------------------------------------- binary-log archive
def test_gtid_positions_are_compared_domain_by_domain():
    state = backup.gtid_state("0-1-10,1-2-5")
    assert backup.gtid_text(state) == "0-1-10,1-2-5"
    assert backup.gtid_covers(state, backup.gtid_state("0-3-9"))
    assert backup.gtid_covers(state, backup.gtid_state("0-1-10,1-2-5"))
    assert not backup.gtid_covers(state, backup.gtid_state("0-1-11"))
    assert not backup.gtid_covers(state, backup.gtid_state("2-1-1"))
    assert backup.gtid_text(backup.gtid_highest(state, backup.gtid_state("0-2-12,3-4-1"))) == "0-2-12,1-2-5,3-4-1"


def _event(kind, body, timestamp=1000, server=1):
    return struct.pack("<IBIIIH", timestamp, kind, server, 19 + len(body), 0, 0) + body


def write_binlog(path, start, transactions, partial=None):
    """A binary log as MariaDB writes it, reduced to what the archive reads:
    a format description, the Gtid_list at its start, then per transaction
    its GTID event, a row event and its XID event. ``partial``: a last
    transaction whose XID event has not arrived."""
    data = b"\xfebin" + _event(15, b"\0" * 40)
    entries = sorted(backup.gtid_state(start).items())
    data += _event(163, struct.pack("<I", len(entries))
                   + b"".join(struct.pack("<IIQ", d, s, q) for d, (s, q) in entries))
    for timestamp, domain, server, sequence in transactions + ([partial] if partial else []):
        data += _event(162, struct.pack("<QIB", sequence, domain, 0) + b"\0" * 6, timestamp, server)
        data += _event(30, b"\1" * 30, timestamp, server)
        if (timestamp, domain, server, sequence) != partial:
            data += _event(16, b"\0" * 8, timestamp, server)
    path.write_bytes(data)
    return path


def test_a_binary_log_gives_its_start_and_its_complete_transactions(tmp_path):
    path = write_binlog(tmp_path / "binlog.000002", "0-1-4", [(100, 0, 1, 5), (101, 0, 1, 6)], partial=(102, 0, 1, 7))
    start, transactions = backup.binlog_transactions(path)
    assert backup.gtid_text(start) == "0-1-4"
    assert transactions == [(100, 0, 1, 5), (101, 0, 1, 6)]
    assert backup.gtid_text(backup.binlog_end(path)) == "0-1-6"


def test_an_event_cut_short_at_the_end_of_the_file_is_left_out(tmp_path):
    path = write_binlog(tmp_path / "binlog.000001", "", [(100, 0, 1, 1)])
    path.write_bytes(path.read_bytes() + _event(162, struct.pack("<QIB", 2, 0, 0))[:10])
    assert backup.binlog_transactions(path)[1] == [(100, 0, 1, 1)]


def test_a_file_that_is_not_a_binary_log_is_refused(tmp_path):
    (tmp_path / "x").write_bytes(b"hello")
    with pytest.raises(backup.BackupError, match="not a binary log"):
        backup.binlog_start(tmp_path / "x")


class _Runner:
    def __init__(self, directory):
        self.config = {"archive": {"dir": str(directory)}, "sources": []}


def archive_with(tmp_path, segments):
    """An archive of segments [(name, start, {file: (start, transactions)})]."""
    archive = backup.Archive(_Runner(tmp_path))
    state = {"segments": [], "gaps": []}
    for name, start, files in segments:
        (tmp_path / name).mkdir()
        for file, (file_start, transactions) in files.items():
            write_binlog(tmp_path / name / file, file_start, transactions)
        state["segments"].append({"name": name, "server": name.split("-", 1)[1], "first": min(files), "start": start})
    archive.save(state)
    return archive


def two_primaries(tmp_path):
    """db1 wrote 1 to 6 and was replaced by db2, whose binary log from 5 on
    (it replicated 5 and 6) is read again from its file that starts at 4."""
    db1 = {"binlog.000001": ("", [(10, 0, 1, 1), (11, 0, 1, 2), (12, 0, 1, 3), (13, 0, 1, 4)]),
           "binlog.000002": ("0-1-4", [(14, 0, 1, 5), (15, 0, 1, 6)])}
    db2 = {"binlog.000007": ("0-1-2", [(12, 0, 1, 3), (13, 0, 1, 4)]),
           "binlog.000008": ("0-1-4", [(14, 0, 1, 5), (15, 0, 1, 6), (20, 0, 2, 7), (21, 0, 2, 8)])}
    return archive_with(tmp_path, [("0001-db1", "0-1-0", db1), ("0002-db2", "0-1-6", db2)])


def test_a_replay_crosses_a_promotion_and_counts_each_transaction_once(tmp_path):
    archive = two_primaries(tmp_path)
    plan, reached = archive.plan(backup.gtid_state("0-1-3"))
    assert backup.gtid_text(reached) == "0-2-8"
    assert [([p.rsplit("/", 2)[-2] + "/" + p.rsplit("/", 1)[-1] for p in files], backup.gtid_text(start),
             backup.gtid_text(stop)) for files, start, stop in plan] == [
        (["0001-db1/binlog.000001", "0001-db1/binlog.000002"], "0-1-3", "0-1-6"),
        # From the file that starts at 4, after 6: db2's own 7 and 8.
        (["0002-db2/binlog.000008"], "0-1-6", "0-2-8"),
    ]


def test_a_replay_stops_at_a_gtid_or_before_a_time(tmp_path):
    archive = two_primaries(tmp_path)
    assert backup.gtid_text(archive.plan(backup.gtid_state("0-1-3"), stop=backup.gtid_state("0-1-5"))[1]) == "0-1-5"
    # Transactions that started at 20 or later are left out.
    plan, reached = archive.plan(backup.gtid_state("0-1-3"), until=20)
    assert backup.gtid_text(reached) == "0-1-6"
    assert len(plan) == 1
    with pytest.raises(backup.BackupError, match="ends at GTID 0-2-8, before 0-1-9"):
        archive.plan(backup.gtid_state("0-1-3"), stop=backup.gtid_state("0-1-9"))


def test_a_backup_older_than_the_archive_cannot_be_replayed_on(tmp_path):
    archive = archive_with(tmp_path, [("0001-db1", "0-1-4", {"binlog.000002": ("0-1-4", [(14, 0, 1, 5)])})])
    with pytest.raises(backup.BackupError, match="no binary log from GTID 0-1-2 on"):
        archive.plan(backup.gtid_state("0-1-2"))
    # A backup at the archive's end needs nothing replayed.
    assert archive.plan(backup.gtid_state("0-1-5")) == ([], backup.gtid_state("0-1-5"))


def test_after_a_promotion_the_archive_starts_at_the_newest_binary_log_holding_its_end(tmp_path):
    archive = archive_with(tmp_path, [("0001-db1", "0-1-0", {"binlog.000002": ("0-1-4", [(14, 0, 1, 5), (15, 0, 1, 6)])})])
    state = archive.load()
    listing = [("binlog.000007", 500, "0-1-2"), ("binlog.000008", 500, "0-1-4"), ("binlog.000009", 500, "0-2-8")]
    segment = archive.new_segment(state, {"name": "db2"}, listing)
    assert (segment["name"], segment["first"], segment["start"]) == ("0002-db2", "binlog.000008", "0-1-6")
    assert archive.load()["gaps"] == []


def test_a_new_primary_without_the_archives_end_leaves_a_recorded_gap(tmp_path):
    archive = archive_with(tmp_path, [("0001-db1", "0-1-0", {"binlog.000002": ("0-1-4", [(14, 0, 1, 5), (15, 0, 1, 6)])})])
    segment = archive.new_segment(archive.load(), {"name": "db3"}, [("binlog.000009", 500, "0-2-8")])
    assert (segment["first"], segment["start"]) == ("binlog.000009", "0-2-8")
    assert [(gap["after"], gap["resumes"]) for gap in archive.load()["gaps"]] == [("0-1-6", "0-2-8")]
    with pytest.raises(backup.BackupError, match="no binary log from GTID 0-1-6 on"):
        write_binlog(tmp_path / "0002-db3" / "binlog.000009", "0-2-8", [(30, 0, 2, 9)])
        archive.plan(backup.gtid_state("0-1-5"))


def test_binary_logs_no_kept_backup_needs_are_pruned_but_the_newest(tmp_path):
    archive = two_primaries(tmp_path)
    # The oldest backup kept is at 5: db1's first file (1 to 4) goes, its
    # second (5, 6) is needed; of db2, the file holding 3 and 4 goes, the
    # newest stays.
    assert archive.prune(backup.gtid_state("0-1-5")) == 2
    assert [p.name for p in sorted(tmp_path.glob("*/binlog.*"))] == ["binlog.000002", "binlog.000008"]
    assert backup.gtid_text(archive.plan(backup.gtid_state("0-1-5"))[1]) == "0-2-8"
    # Even a backup past everything archived leaves the newest file.
    archive.prune(backup.gtid_state("0-2-99"))
    assert [p.name for p in sorted(tmp_path.glob("*/binlog.*"))] == ["binlog.000008"]


# ------------------------------------------------------------- a point in time
def runner_with(tmp_path, snapshots):
    """A backup program whose repository lists ``snapshots`` (time, GTID,
    end) and whose archive is empty."""
    runner = object.__new__(backup.Runner)
    runner.config = {"archive": {"dir": str(tmp_path)}, "sources": []}
    listed = [{"id": "%064d" % n, "short_id": "%08d" % n, "time": when,
               "tags": ["full", backup.gtid_tag(gtid), "end=%d" % end]}
              for n, (when, gtid, end) in enumerate(snapshots)]
    runner.snapshots = lambda *tags, env=None: listed
    return runner


# Two backups: one complete at 1000 (GTID 0-1-10), one at 2000 (0-1-20).
TWO = [("1970-01-01T00:15:00Z", "0-1-10", 1000), ("1970-01-01T00:31:00Z", "0-1-20", 2000)]


def test_a_time_is_reached_from_the_newest_backup_complete_before_it(tmp_path, monkeypatch):
    monkeypatch.setattr(backup, "_local_time", float)
    runner = runner_with(tmp_path, TWO)
    assert runner.point_in_time("1500")[0]["short_id"] == "00000000"
    assert runner.point_in_time("2000")[0]["short_id"] == "00000001"
    with pytest.raises(backup.BackupError, match="999 is before the oldest backup was complete"):
        runner.point_in_time("999")


def test_a_time_in_the_future_is_refused(tmp_path):
    with pytest.raises(backup.BackupError, match="2999-01-01 00:00:00 is in the future"):
        runner_with(tmp_path, TWO).point_in_time("2999-01-01 00:00:00")


def test_what_is_neither_a_gtid_nor_a_time_is_refused(tmp_path):
    with pytest.raises(backup.BackupError, match="'yesterday' is neither 'latest', a GTID position nor a time"):
        runner_with(tmp_path, TWO).point_in_time("yesterday")


def test_a_gtid_is_reached_from_the_newest_backup_at_or_before_it(tmp_path):
    runner = runner_with(tmp_path, TWO)
    snapshot, plan, reached = runner.point_in_time("0-1-20")
    assert (snapshot["short_id"], plan, reached) == ("00000001", [], "0-1-20")
    with pytest.raises(backup.BackupError, match="GTID 0-1-5 is before the oldest backup"):
        runner.point_in_time("0-1-5")
    # Past the newest backup the (empty) archive must reach it.
    with pytest.raises(backup.BackupError, match="The archive ends at GTID 0-1-20, before 0-1-25"):
        runner.point_in_time("0-1-25")


def test_latest_is_the_newest_backup_and_the_whole_archive(tmp_path):
    archive_with(tmp_path, [("0001-db1", "0-1-18", {"binlog.000003": (
        "0-1-18", [(2100, 0, 1, 19), (2200, 0, 1, 20), (2300, 0, 1, 21)])})])
    snapshot, plan, reached = runner_with(tmp_path, TWO).point_in_time("latest")
    assert (snapshot["short_id"], reached, len(plan)) == ("00000001", "0-1-21", 1)
    # Only the transaction after the backup is replayed.
    assert backup.gtid_text(plan[0][1]) == "0-1-20"
