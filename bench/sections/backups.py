# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Backups on a database of at least 1 GiB that the section writes: what a full
backup takes per GiB and costs the application, beside the logical dump a
user would otherwise take (mysqldump | gzip on a replica); how many
acknowledged writes the binary-log archive keeps when every database server
is lost at once; and restore.yml to the second before a dropped table, with
writes sent all along: what comes back, and how long it takes to bring writes
back and to finish.

Every section returns its figures and ``rows``: the table lines they give,
each with its target and whether it was met.
"""

from __future__ import annotations

import calendar
import json
import shlex
import time

from bench import baselines
from bench.load import brief, log, ratio, row, wrk
from labkit import faults
from labkit.client import Probe
from labkit.commands import LabError, playbook, run, said, wait_until

GIB = 1024 ** 3
# Rows of 1000 random bytes (incompressible, as most real data is not) are
# written in batches until the table holds this much.
BULK_GIB = 1.05
BATCH_ROWS = 50000
# Share of the bulk table's rows changed before the incremental backup.
CHANGED = 0.05
WRITE_RATE = 20
# backup_throttle for the second measurement of the backup's cost.
THROTTLE = 1
HOME = "/var/lib/webstack-backup"


def _sql(lab, host: str, statement: str, timeout: float = 1800) -> str:
    return lab.sh(host, "mariadb -N -B -e %s" % json.dumps(statement), timeout=timeout).strip()


def _bulk_size(lab, host: str) -> int:
    return int(_sql(lab, host, "SELECT COALESCE(SUM(data_length + index_length), 0) FROM information_schema.tables "
                               "WHERE table_schema = 'bench_bulk'") or 0)


def write_bulk(lab, primary: str, replicas: list[str]) -> int:
    """The bulk table on the primary, replicated everywhere; its size in bytes."""
    _sql(lab, primary, "CREATE DATABASE IF NOT EXISTS bench_bulk; CREATE TABLE IF NOT EXISTS bench_bulk.pad "
                       "(id INT PRIMARY KEY, pad VARBINARY(1000) NOT NULL) ENGINE=InnoDB")
    start = int(_sql(lab, primary, "SELECT COALESCE(MAX(id), 0) FROM bench_bulk.pad"))
    while _bulk_size(lab, primary) < BULK_GIB * GIB:
        _sql(lab, primary, "INSERT INTO bench_bulk.pad SELECT seq, RANDOM_BYTES(1000) FROM bench_bulk.seq_%d_to_%d"
             % (start + 1, start + BATCH_ROWS))
        start += BATCH_ROWS
        log("backups: %d rows written" % start)
    position = _sql(lab, primary, "SELECT @@gtid_binlog_pos")
    for replica in replicas:
        if _sql(lab, replica, "SELECT MASTER_GTID_WAIT('%s', 1800)" % position) != "0":
            raise LabError("%s did not catch up with the bulk table" % replica)
    return _bulk_size(lab, primary)


def full_backup(lab, backup: str) -> dict:
    """A full backup started by its unit; the state it records."""
    started = time.time()
    lab.sh(backup, "systemctl start webstack-backup.service", timeout=3600)
    state = json.loads(lab.sh(backup, "cat %s/state.json" % HOME))["backups"]["full"]
    return dict(state, wall=round(time.time() - started, 1))


def incremental_backup(lab, primary: str, replicas: list[str], backup: str) -> dict:
    """CHANGED of the bulk table's rows rewritten (the first ones: their pages
    only), replicated, then an incremental backup started by its unit; the
    state it records."""
    rows = int(_sql(lab, primary, "SELECT COUNT(*) FROM bench_bulk.pad"))
    _sql(lab, primary, "UPDATE bench_bulk.pad SET pad = RANDOM_BYTES(1000) WHERE id <= %d" % int(rows * CHANGED))
    position = _sql(lab, primary, "SELECT @@gtid_binlog_pos")
    for replica in replicas:
        if _sql(lab, replica, "SELECT MASTER_GTID_WAIT('%s', 1800)" % position) != "0":
            raise LabError("%s did not catch up with the changed rows" % replica)
    started = time.time()
    lab.sh(backup, "systemctl start webstack-backup-incremental.service", timeout=3600)
    state = json.loads(lab.sh(backup, "cat %s/state.json" % HOME))["backups"]["incremental"]
    return dict(state, wall=round(time.time() - started, 1))


def logical_dump(lab, replica: str) -> dict:
    """What a user would otherwise do: mysqldump of every database, gzip'ed, on
    a replica."""
    started = time.time()
    size = lab.sh(replica, "bash -c %s" % shlex.quote(
        "set -o pipefail; mysqldump --single-transaction --all-databases --routines --events"
        " | gzip -1 > /var/tmp/bench-dump.sql.gz && stat -c %s /var/tmp/bench-dump.sql.gz"
        "; rc=$?; rm -f /var/tmp/bench-dump.sql.gz; exit $rc"), timeout=3600)
    return {"seconds": round(time.time() - started, 1), "size": int(size.strip().splitlines()[-1])}


def app_rate_during(lab, args, action=None) -> dict:
    """wrk on the application page through the first VIP, while ``action``
    (started in the background) runs."""
    url = "https://%s:443/" % lab.vips[0]
    if action:
        action()
    return wrk(lab, url, args.wrk_seconds, args.connections, 1)


def rate_during_backup(lab, args, backup: str) -> dict:
    """app_rate_during a full backup started by its unit; returns when the
    backup has ended."""
    rate = app_rate_during(lab, args, lambda: lab.sh(backup, "systemctl start --no-block webstack-backup.service"))
    wait_until(lambda: lab.sh(backup, "systemctl is-active webstack-backup.service", check=False).strip()
               != "activating", 1800, 5, "the backup under load to end")
    return rate


def throttle(lab, operations: int) -> None:
    """backup_throttle (mariabackup's I/O operations a second) set on the
    database servers, through site.yml's backup tier."""
    playbook(lab.inventory, "playbooks/site.yml", "--tags", "backup", "-e", "backup_throttle=%d" % operations)


def _writer(lab) -> Probe:
    """Writes through the first VIP at WRITE_RATE, each answer kept (its id)."""
    return Probe(lab, "https://%s/records" % lab.vips[0], rate=WRITE_RATE, duration=1800, method="POST",
                 data="note=backups", expect="201", insecure=True, keep_answers=True).start()


def _acknowledged(report: dict) -> list[dict]:
    """The writes the application acknowledged: id and when sent (seconds since the epoch)."""
    return [dict(json.loads(answer["body"]), sent=report["started_at"] + answer["t"])
            for answer in report.pop("answers", [])]


def _present(lab, host: str, ids: list[int], socket: str = "", written_before: float | None = None) -> set[int]:
    """Which of the writes ``ids`` the server holds. After a restore to a
    point the primary numbers new rows from the restored table's highest id,
    so the ids of writes it left out come back on later rows: with
    ``written_before``, only rows written before that moment count."""
    if not ids:
        return set()
    where = " --socket=%s" % socket if socket else ""
    since = " AND created_at < FROM_UNIXTIME(%.6f)" % written_before if written_before else ""
    found = lab.sh(host, "mariadb%s -N -B -e %s" % (where, json.dumps(
        "SELECT id FROM app.records WHERE id IN (%s)%s" % (",".join(str(i) for i in ids), since))))
    return {int(n) for n in found.split()}


def _archived(lab, backup: str, primary: str) -> bool:
    """Whether the binary-log archive holds the primary's last transaction."""
    position = int(_sql(lab, primary, "SELECT @@gtid_binlog_pos").split("-")[-1])
    return any(" to " in line and int(line.split(" to ")[1].split()[0].split("-")[-1]) >= position
               for line in lab.sh(backup, "webstack-backup list").splitlines() if line.startswith("binary logs"))


def every_database_lost(lab, primary: str, replicas: list[str], backup: str) -> dict:
    """Writes through a VIP, then every database server killed at once:
    the newest backup with the whole archive (restore_to=latest) restored
    into a scratch server on the backup host, and the acknowledged writes it
    lacks counted. The servers are started again afterwards."""
    writer = _writer(lab)
    time.sleep(10)
    killed = time.time()
    for name in [primary] + replicas:
        run(["docker", "kill", name])
    time.sleep(3)
    writer.stop()
    report = writer.result()
    acknowledged = [w for w in _acknowledged(report) if w["sent"] < killed]
    try:
        inspected = json.loads(lab.sh(backup, "webstack-backup inspect latest --to latest", timeout=3600)
                               .strip().splitlines()[-1])
        server = " ".join(json.dumps(part) for part in inspected["command"])
        lab.sh(backup, "runuser -u webstack-backup -- %s > /dev/null 2>&1 &" % server)
        wait_until(lambda: lab.sh(backup, "mariadb-admin --socket=%s ping" % inspected["socket"], check=False)
                   .strip().endswith("alive"), 300, 1, "the scratch server")
        present = _present(lab, backup, [w["id"] for w in acknowledged], inspected["socket"])
        lab.sh(backup, "mariadb-admin --socket=%s shutdown" % inspected["socket"], check=False)
    finally:
        for name in [primary] + replicas:
            faults.start(lab, name)
        wait_until(lambda: lab.sh(primary, "mariadb -N -B -e 'SELECT 1'", check=False).strip() == "1", 120, 1,
                   "the primary back")
        position = _sql(lab, primary, "SELECT @@gtid_binlog_pos")
        for replica in replicas:
            wait_until(lambda r=replica: lab.sh(r, "mariadb -N -B -e \"SELECT MASTER_GTID_WAIT('%s', 5)\"" % position,
                                                check=False).strip() == "0", 120, 1, "%s caught up" % replica)
    lost = [w for w in acknowledged if w["id"] not in present]
    return {"acknowledged": len(acknowledged), "lost": len(lost),
            "lost_seconds": round(killed - min((w["sent"] for w in lost), default=killed), 2),
            "gtid": inspected["gtid"], "writer": brief(report)}


def point_in_time_under_writes(lab, primary: str, backup: str) -> dict:
    """Writes through the first VIP all along; a table dropped at a moment
    T; restore.yml into the stack to the second of T (restore_to, the backup
    host's clock). What comes back: the writes acknowledged before that
    second (all must), those sent after the drop and before the restore (none
    may), the dropped table; and the seconds from restore.yml's start to the
    first write the restored primary acknowledged, to its end, and the writes'
    longest outage."""
    _sql(lab, primary, "CREATE DATABASE IF NOT EXISTS bench_pitr; CREATE OR REPLACE TABLE bench_pitr.marker "
                       "(id INT PRIMARY KEY) ENGINE=InnoDB; INSERT INTO bench_pitr.marker SELECT seq FROM bench_pitr.seq_1_to_1000")
    writer = _writer(lab)
    time.sleep(10)
    mistake = lab.sh(backup, "date '+%F %T'").strip()
    _sql(lab, primary, "DROP TABLE bench_pitr.marker")
    dropped = time.time()
    time.sleep(5)
    wait_until(lambda: _archived(lab, backup, primary), 60, 1, "the drop in the binary-log archive")
    started = time.time()
    done = playbook(lab.inventory, "playbooks/restore.yml", "-e", "restore_confirm=%s" % primary,
                    "-e", "restore_to='%s'" % mistake, succeed=False)
    finished = time.time()
    time.sleep(3)
    writer.stop()
    report = writer.result()
    if done.returncode != 0:
        raise LabError("restore.yml failed:\n%s" % said(done)[-3000:])
    acknowledged = _acknowledged(report)
    moment = calendar.timegm(time.strptime(mistake, "%Y-%m-%d %H:%M:%S"))
    before = [w["id"] for w in acknowledged if w["sent"] < moment - 0.5]
    after = [w["id"] for w in acknowledged if dropped <= w["sent"] < started]
    markers = int(_sql(lab, primary, "SELECT COUNT(*) FROM bench_pitr.marker"))
    start_at = started - report["started_at"]
    answered = sorted(w["sent"] - report["started_at"] for w in acknowledged)
    gaps = [(b - a, b) for a, b in zip(answered, answered[1:]) if b > start_at]
    longest, back_at = max(gaps, default=(0.0, start_at))
    return {"before": len(before), "before_back": len(_present(lab, primary, before, written_before=started)),
            "after_drop": len(after), "after_drop_back": len(_present(lab, primary, after, written_before=started)),
            "markers_back": markers, "first_write_seconds": round(back_at - start_at, 1),
            "run_seconds": round(finished - started, 1), "write_outage_seconds": round(longest, 1),
            "writer": brief(report)}


def backups(lab, args) -> dict:
    """The bulk table written, a full backup alone and under application load
    (wrk), a logical dump for comparison, then restore.yml into the stack with
    writes sent all along; the bulk table is dropped at the end."""
    primary, replicas = lab.group("mysql_primary")[0], lab.group("mysql_replica")
    backup = lab.group("backup")[0]
    result = {}
    try:
        log("backups: writing the bulk table")
        result["database_bytes"] = write_bulk(lab, primary, replicas)
        log("backups: a full backup")
        result["full"] = full_backup(lab, backup)
        log("backups: an incremental backup after %d %% of the rows changed" % (CHANGED * 100))
        result["incremental"] = incremental_backup(lab, primary, replicas, backup)
        log("backups: a logical dump (the baseline)")
        result["dump"] = logical_dump(lab, replicas[0])
        exempt = baselines.client_exempt(lab)
        with baselines.loadbalancers(lab, *exempt):
            log("backups: the application's rate alone")
            result["rate_alone"] = app_rate_during(lab, args)
            log("backups: the application's rate during a full backup")
            result["rate_during"] = rate_during_backup(lab, args, backup)
            result["full_under_load"] = json.loads(lab.sh(backup, "cat %s/state.json" % HOME))["backups"]["full"]
            log("backups: the same with backup_throttle=%d on the database servers" % THROTTLE)
            throttle(lab, THROTTLE)
            try:
                result["rate_during_throttled"] = rate_during_backup(lab, args, backup)
                result["full_throttled"] = json.loads(lab.sh(backup, "cat %s/state.json" % HOME))["backups"]["full"]
            finally:
                throttle(lab, 0)
        log("backups: every database server lost at once")
        result["loss"] = every_database_lost(lab, primary, replicas, backup)
        log("backups: restore.yml into the stack to the second of a dropped table")
        result["restore"] = point_in_time_under_writes(lab, primary, backup)
    finally:
        _sql(lab, primary, "DROP DATABASE IF EXISTS bench_bulk; DROP DATABASE IF EXISTS bench_pitr")
        lab.sh(primary, "rm -rf /var/lib/mysql.before-restore-*", check=False)
        # The next backup is small again; the retention drops the bulk ones.
        lab.sh(backup, "systemctl start webstack-backup.service", check=False, timeout=3600)
    gib = result["database_bytes"] / GIB
    full, dump, restore, loss = result["full"], result["dump"], result["restore"], result["loss"]
    cost = result["rate_during"]["rps"] / result["rate_alone"]["rps"]
    result["cost_ratio"] = round(cost, 3)
    throttled = result["rate_during_throttled"]["rps"] / result["rate_alone"]["rps"]
    result["cost_ratio_throttled"] = round(throttled, 3)
    result["wrk_seconds"] = args.wrk_seconds
    result["backup_lasted_whole_measure"] = result["full_under_load"]["last_duration"] >= args.wrk_seconds
    result["rows"] = [
        row("full backup of %.2f GiB: seconds per GiB (ours: mariabackup from a replica into restic; baseline:"
            " mysqldump | gzip on a replica)" % gib,
            "%.1f s" % (full["last_duration"] / gib), "%.1f s" % (dump["seconds"] / gib),
            ratio(full["last_duration"], dump["seconds"])),
        row("full backup: bytes kept per GiB of database (restic, compressed and deduplicated; baseline gzip -1)",
            "%.2f GiB" % (full["last_added"] / GIB / gib), "%.2f GiB" % (dump["size"] / GIB / gib)),
        row("incremental backup after %d %% of the rows were rewritten: seconds, bytes read from the replica, bytes"
            " added to the repository" % (CHANGED * 100),
            "%.1f s; %.3f GiB; %.3f GiB" % (result["incremental"]["last_duration"],
                                            result["incremental"]["last_size"] / GIB,
                                            result["incremental"]["last_added"] / GIB)),
        row("a second full backup of the same data (under load): bytes it added to the repository (restic"
            " deduplicates what the first holds), and seconds per GiB",
            "%.3f GiB; %.1f s" % (result["full_under_load"]["last_added"] / GIB,
                                  result["full_under_load"]["last_duration"] / gib)),
        row("application requests/s through a VIP during a full backup ÷ without (wrk, %d s each); the same with"
            " backup_throttle=%d, and that backup's seconds per GiB" % (args.wrk_seconds, THROTTLE),
            "%.2f; %.2f, %.1f s" % (cost, throttled, result["full_throttled"]["last_duration"] / gib), "", None,
            "≥ 0.9", max(cost, throttled) >= 0.9),
        row("every database server killed at once under %d writes/s: acknowledged writes the newest backup and the"
            " binary-log archive cannot bring back (restore_to=latest into a scratch server)" % WRITE_RATE,
            "%d of %d" % (loss["lost"], loss["acknowledged"]), "", None, "≤ 5 s of writes (%d)" % (5 * WRITE_RATE),
            loss["lost"] <= 5 * WRITE_RATE),
        row("restore.yml to the second of a DROP TABLE, writes flowing: acknowledged writes sent before that second"
            " back; sent after the drop back; the dropped table's rows back",
            "%d of %d; %d of %d; %d of 1000" % (
                restore["before_back"], restore["before"], restore["after_drop_back"], restore["after_drop"],
                restore["markers_back"]),
            "", None, "all; none; all", restore["before_back"] == restore["before"]
            and restore["after_drop_back"] == 0 and restore["markers_back"] == 1000),
        row("restore.yml into the stack (%.2f GiB, to a point): seconds from its start to the first write the"
            " restored primary acknowledged" % gib, "%.1f s" % restore["first_write_seconds"], "", None, "≤ 600 s",
            restore["first_write_seconds"] <= 600),
        row("restore.yml: longest write outage (writes at %d/s through a VIP), and the whole run with the"
            " replicas seeded again" % WRITE_RATE,
            "%.1f s; %.1f s" % (restore["write_outage_seconds"], restore["run_seconds"])),
    ]
    result["notes"] = backups_notes(result)
    return result


def backups_notes(result: dict) -> list[str]:
    notes = ["Backups: the database is a table of 1000-byte random rows written for the section (%.2f GiB with its"
             " indexes), replicated to both replicas; random bytes do not compress, so the bytes kept are about the"
             " database's size, where real tables usually shrink. The backup streams from a replica over SSH into"
             " restic on the backup host, which shares the machine's two cores with the stack and the load tool."
             % (result["database_bytes"] / GIB)]
    notes.append("Cost: the application page through a VIP at full speed (wrk) while a full backup runs, against"
                 " the same without; every process of the lab (the load tool, the balancers, the web servers, the"
                 " replica that mariabackup reads and restic's chunking, compression and encryption on the backup"
                 " host) shares the same two cores, so what the backup takes the application loses. Between"
                 " separate servers the application pays only for the replica's reads. backup_throttle (on the"
                 " database servers) caps mariabackup's reads, and with them the stream the backup host works on.")
    if "cost_ratio_throttled" in result:
        notes.append("With backup_throttle=1 the backup read %.1f MB/s (%.0f s per GiB) and the application kept %.2f of"
                     " its rate (%.2f without the throttle): in a %d-second window at the start of a backup the cost"
                     " does not come from the read rate. What a backup does as it starts (SSH sessions, restic loading"
                     " its index, mariabackup opening every tablespace) is the likely part; it was not measured"
                     " apart." % (
                         result["full_throttled"]["last_size"] / result["full_throttled"]["last_duration"] / 1e6,
                         result["full_throttled"]["last_duration"] / (result["database_bytes"] / GIB),
                         result["cost_ratio_throttled"], result["cost_ratio"], result.get("wrk_seconds", 10)))
    if not result.get("backup_lasted_whole_measure", True):
        notes.append("The backup under load ended before the rate measurement did: the ratio covers part of the"
                     " window without a backup.")
    notes.append("Loss of every database server: the three database containers killed at once (docker kill)"
                 " while writes flow; what the restore would bring back is the newest backup with the binary-log"
                 " archive replayed on it (webstack-backup inspect --to latest on the backup host), whose rows are"
                 " compared with every write the application acknowledged before the kill. The servers are then"
                 " started again.")
    notes.append("Restore to a point: restore.yml restores the newest backup into a scratch server on the backup"
                 " host, replays the archive on it up to the second of the DROP TABLE (transactions that started"
                 " in that second or later are left out), streams a copy of it to the primary, prepares it there"
                 " while the primary still serves, then stops it, swaps the data directories (the old one is kept)"
                 " and starts it; writes fail (503) from the stop to the start. Writes acknowledged after the"
                 " drop are gone from the stack by design (they are in the kept directory and the archive), and"
                 " the primary numbers new rows after the restored table's highest id, so their ids come back on"
                 " later rows: a write counts as back only if its row was written before restore.yml started. The"
                 " run then seeds both replicas again from the primary, one at a time, with writes already"
                 " flowing, and starts a new full backup.")
    return notes
