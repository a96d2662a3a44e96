# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The backup program's own logic (roles/backup/files/webstack-backup): what
it reads from mariabackup's log and restic's tags, and the metrics it writes.
The parts that run mariabackup, restic and the scratch server are tested on
the lab (tests/integration/test_backup.py)."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import pathlib

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


def test_the_repositorys_environment_file_is_read_as_name_value_lines(tmp_path):
    env = tmp_path / "repository.env"
    env.write_text("# restic's environment\nAWS_ACCESS_KEY_ID=abc\n\nAWS_SECRET_ACCESS_KEY=x=y\n")
    assert backup.read_environment(str(env)) == {"AWS_ACCESS_KEY_ID": "abc", "AWS_SECRET_ACCESS_KEY": "x=y"}
    assert backup.read_environment(str(tmp_path / "missing")) == {}
