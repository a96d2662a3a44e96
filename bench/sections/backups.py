# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Backups on a database of at least 1 GiB that the section writes: what a full
backup takes per GiB and costs the application, beside the logical dump a
user would otherwise take (mysqldump | gzip on a replica); and how long
restore.yml takes to bring writes back, and to finish, with writes sent all
along.

Every section returns its figures and ``rows``: the table lines they give,
each with its target and whether it was met.
"""

from __future__ import annotations

import json
import time

from bench import baselines
from bench.load import brief, log, ratio, row, wrk
from labkit.client import Probe
from labkit.commands import LabError, playbook, said, wait_until

GIB = 1024 ** 3
# Rows of 1000 random bytes (incompressible, as most real data is not) are
# written in batches until the table holds this much.
BULK_GIB = 1.05
BATCH_ROWS = 50000
WRITE_RATE = 20
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
        _sql(lab, primary, "INSERT INTO bench_bulk.pad SELECT seq, RANDOM_BYTES(1000) FROM seq_%d_to_%d"
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


def logical_dump(lab, replica: str) -> dict:
    """What a user would otherwise do: mysqldump of every database, gzip'ed, on
    a replica."""
    started = time.time()
    size = lab.sh(replica, "set -o pipefail; mysqldump --single-transaction --all-databases --routines --events"
                           " | gzip -1 > /var/tmp/bench-dump.sql.gz && stat -c %s /var/tmp/bench-dump.sql.gz"
                           "; rc=$?; rm -f /var/tmp/bench-dump.sql.gz; exit $rc", timeout=3600)
    return {"seconds": round(time.time() - started, 1), "size": int(size.strip().splitlines()[-1])}


def app_rate_during(lab, args, action=None) -> dict:
    """wrk on the application page through the first VIP, while ``action``
    (started in the background) runs."""
    url = "https://%s:443/" % lab.vips[0]
    if action:
        action()
    return wrk(lab, url, args.wrk_seconds, args.connections, 1)


def restore_under_writes(lab, primary: str) -> dict:
    """restore.yml into the stack (the newest backup) with writes through the
    first VIP all along: seconds to the first write the restored primary
    acknowledged, to the end of the run, and the writes' longest outage."""
    writer = Probe(lab, "https://%s/records" % lab.vips[0], rate=WRITE_RATE, duration=1800, method="POST",
                   data="note=restore", expect="201", insecure=True, keep_answers=True).start()
    time.sleep(3)
    started = time.time()
    done = playbook(lab.inventory, "playbooks/restore.yml", "-e", "restore_confirm=%s" % primary, succeed=False)
    finished = time.time()
    time.sleep(3)
    writer.stop()
    report = writer.result()
    if done.returncode != 0:
        raise LabError("restore.yml failed:\n%s" % said(done)[-3000:])
    start_at = started - report["started_at"]
    acknowledged = sorted(answer["t"] for answer in report.pop("answers", []))
    gaps = [(b - a, b) for a, b in zip(acknowledged, acknowledged[1:]) if b > start_at]
    longest, back_at = max(gaps, default=(0.0, start_at))
    return {"first_write_seconds": round(back_at - start_at, 1), "run_seconds": round(finished - started, 1),
            "write_outage_seconds": round(longest, 1), "writer": brief(report)}


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
        log("backups: a logical dump (the baseline)")
        result["dump"] = logical_dump(lab, replicas[0])
        exempt = baselines.client_exempt(lab)
        with baselines.loadbalancers(lab, *exempt):
            log("backups: the application's rate alone")
            result["rate_alone"] = app_rate_during(lab, args)
            log("backups: the application's rate during a full backup")
            result["rate_during"] = app_rate_during(
                lab, args, lambda: lab.sh(backup, "systemctl start --no-block webstack-backup.service"))
            wait_until(lambda: lab.sh(backup, "systemctl is-active webstack-backup.service", check=False).strip()
                       != "activating", 1800, 5, "the backup under load to end")
            result["full_under_load"] = json.loads(lab.sh(backup, "cat %s/state.json" % HOME))["backups"]["full"]
        log("backups: restore.yml into the stack")
        result["restore"] = restore_under_writes(lab, primary)
    finally:
        _sql(lab, primary, "DROP DATABASE IF EXISTS bench_bulk")
        lab.sh(primary, "rm -rf /var/lib/mysql.before-restore-*", check=False)
        # The next backup is small again; the retention drops the bulk ones.
        lab.sh(backup, "systemctl start webstack-backup.service", check=False, timeout=3600)
    gib = result["database_bytes"] / GIB
    full, dump, restore = result["full"], result["dump"], result["restore"]
    cost = result["rate_during"]["rps"] / result["rate_alone"]["rps"]
    result["cost_ratio"] = round(cost, 3)
    result["backup_lasted_whole_measure"] = result["full_under_load"]["last_duration"] >= args.wrk_seconds
    result["rows"] = [
        row("full backup of %.2f GiB: seconds per GiB (ours: mariabackup from a replica into restic; baseline:"
            " mysqldump | gzip on a replica)" % gib,
            "%.1f s" % (full["last_duration"] / gib), "%.1f s" % (dump["seconds"] / gib),
            ratio(full["last_duration"], dump["seconds"])),
        row("full backup: bytes kept per GiB of database (restic, compressed and deduplicated; baseline gzip -1)",
            "%.2f GiB" % (full["last_added"] / GIB / gib), "%.2f GiB" % (dump["size"] / GIB / gib)),
        row("application requests/s through a VIP during a full backup ÷ without (wrk, %d s each)"
            % args.wrk_seconds, "%.2f" % cost, "", None, "≥ 0.9", cost >= 0.9),
        row("restore.yml into the stack (%.2f GiB): seconds from its start to the first write the restored"
            " primary acknowledged" % gib, "%.1f s" % restore["first_write_seconds"], "", None, "≤ 600 s",
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
    if not result.get("backup_lasted_whole_measure", True):
        notes.append("The backup under load ended before the rate measurement did: the ratio covers part of the"
                     " window without a backup.")
    notes.append("Restore: restore.yml streams the newest backup from the repository to the primary, prepares it"
                 " there while the primary still serves, then stops it, swaps the data directories (the old one is"
                 " kept) and starts it; writes fail (503) from the stop to the start. The run then seeds both"
                 " replicas again from the primary, one at a time, with writes already flowing.")
    return notes
