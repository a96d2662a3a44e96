# -*- coding: utf-8 -*-
# Copyright: alx.webstack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Replication status for MariaDB and MySQL: read, normalise, judge.

Nothing here imports Ansible or a database driver: every function takes a
DB-API cursor that returns rows as dictionaries (PyMySQL's DictCursor), so the
logic is unit-tested with mocked cursors carrying each server's real columns.
"""

from __future__ import absolute_import, annotations, division, print_function

import re
import time

__metaclass__ = type

TABLE_NAME = re.compile(r"^[A-Za-z0-9_$]+\.[A-Za-z0-9_$]+$")
MARIADB_GTID = re.compile(r"^\d+-\d+-\d+$")
SERVER_UUID = re.compile(r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$")
GTID_TAG = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,31}$")

# Normalised name -> column names, newest first. MariaDB (all versions) and
# MySQL before 8.0.22 use the Slave_/Master_ names; MySQL 8.0.22 and newer use
# Replica_/Source_ in SHOW REPLICA STATUS.
COLUMNS = {
    "io_running": ("replica_io_running", "slave_io_running"),
    "sql_running": ("replica_sql_running", "slave_sql_running"),
    "io_state": ("replica_io_state", "slave_io_state"),
    "sql_state": ("replica_sql_running_state", "slave_sql_running_state"),
    "source_host": ("source_host", "master_host"),
    "source_port": ("source_port", "master_port"),
    "source_user": ("source_user", "master_user"),
    "seconds_behind": ("seconds_behind_source", "seconds_behind_master"),
    "last_io_errno": ("last_io_errno",),
    "last_io_error": ("last_io_error",),
    "last_sql_errno": ("last_sql_errno",),
    "last_sql_error": ("last_sql_error",),
    "sql_delay": ("sql_delay",),
    "using_gtid": ("using_gtid",),
    "auto_position": ("auto_position",),
    "gtid_io_pos": ("gtid_io_pos", "retrieved_gtid_set"),
    "gtid_executed": ("executed_gtid_set",),
    "connection_name": ("channel_name", "connection_name"),
    "ssl_allowed": ("source_ssl_allowed", "master_ssl_allowed"),
    "ssl_verify": ("source_ssl_verify_server_cert", "master_ssl_verify_server_cert"),
}


class ServerInfo:
    """What kind of server answers, and which statements it takes."""

    def __init__(self, version):
        self.version_string = version or ""
        self.flavor = "mariadb" if "mariadb" in self.version_string.lower() else "mysql"
        numbers = re.match(r"(\d+)\.(\d+)\.(\d+)", self.version_string)
        self.version = tuple(int(n) for n in numbers.groups()) if numbers else (0, 0, 0)

    @property
    def replica_keywords(self):
        """MySQL 8.0.22+ has REPLICA statements; 8.4 has only those."""
        return self.flavor == "mysql" and self.version >= (8, 0, 22)

    @property
    def status_statement(self):
        """One row per source: MariaDB's named connections, MySQL's channels."""
        if self.flavor == "mariadb":
            return "SHOW ALL SLAVES STATUS"
        return "SHOW REPLICA STATUS" if self.replica_keywords else "SHOW SLAVE STATUS"

    @property
    def connection_word(self):
        return "connection" if self.flavor == "mariadb" else "channel"

    @property
    def thread_names(self):
        """How this server's status names the two threads, for messages."""
        if self.replica_keywords:
            return "Replica_IO_Running", "Replica_SQL_Running", "Seconds_Behind_Source"
        return "Slave_IO_Running", "Slave_SQL_Running", "Seconds_Behind_Master"


def _lower_keys(row):
    return dict((str(key).lower(), value) for key, value in row.items())


def _pick(row, names):
    for name in names:
        if name in row:
            return row[name]
    return None


def _text(value):
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _int_or_none(value):
    if value is None or value == "":
        return None
    return int(value)


def _thread_state(value):
    state = _text(value).strip().lower()
    if state == "yes":
        return "running"
    if state == "connecting":
        return "connecting"
    return "stopped"


def normalise(row, server, read_only=None, gtid_mode=None, gtid_slave_pos=None, super_read_only=None):
    """One status row, whatever the server, in one shape.

    MariaDB keeps the applied GTID position in @@gtid_slave_pos rather than in
    the status row; it is passed in as ``gtid_slave_pos``.
    """
    row = _lower_keys(row)
    raw = dict((key, _pick(row, names)) for key, names in COLUMNS.items())
    if gtid_slave_pos is not None:
        raw["gtid_executed"] = gtid_slave_pos
    if server.flavor == "mariadb":
        gtid = _text(raw["using_gtid"]).strip().lower() or "no"
    else:
        gtid = "auto_position" if _int_or_none(raw["auto_position"]) == 1 else "no"
        if gtid_mode is not None and _text(gtid_mode).upper() != "ON":
            gtid = "no"
    return {
        "connection_name": _text(raw["connection_name"]),
        "flavor": server.flavor,
        "server_version": server.version_string,
        "io_thread": _thread_state(raw["io_running"]),
        "sql_thread": _thread_state(raw["sql_running"]),
        "io_state": _text(raw["io_state"]),
        "sql_state": _text(raw["sql_state"]),
        "source_host": _text(raw["source_host"]),
        "source_port": _int_or_none(raw["source_port"]),
        "source_user": _text(raw["source_user"]),
        "tls": _text(raw["ssl_allowed"]).strip().lower() == "yes",
        "tls_verify": _text(raw["ssl_verify"]).strip().lower() == "yes",
        "seconds_behind": _int_or_none(raw["seconds_behind"]),
        "last_io_errno": _int_or_none(raw["last_io_errno"]) or 0,
        "last_io_error": _text(raw["last_io_error"]),
        "last_sql_errno": _int_or_none(raw["last_sql_errno"]) or 0,
        "last_sql_error": _text(raw["last_sql_error"]),
        "sql_delay": _int_or_none(raw["sql_delay"]) or 0,
        "gtid": gtid,
        "gtid_io_pos": _text(raw["gtid_io_pos"]),
        "gtid_executed": _text(raw["gtid_executed"]),
        "read_only": None if read_only is None else bool(int(read_only)),
        "super_read_only": None if super_read_only is None else bool(int(super_read_only)),
    }


def problems(status, server, max_lag, require_gtid=True, require_read_only=True):
    """Plain sentences for everything that is wrong; an empty list is healthy."""
    found = []
    io_name, sql_name, lag_name = server.thread_names
    source = "%s:%s" % (status["source_host"], status["source_port"])
    if status["io_thread"] == "stopped":
        found.append("The IO thread is not running (%s: No), so nothing new arrives from the source %s." % (io_name, source))
    elif status["io_thread"] == "connecting":
        found.append("The IO thread is not connected to the source %s (%s: Connecting)." % (source, io_name))
    if status["last_io_errno"]:
        found.append("The IO thread reports error %d: %s" % (status["last_io_errno"], status["last_io_error"]))
    if status["sql_thread"] != "running":
        found.append("The SQL thread is not running (%s: No), so received changes are not applied." % sql_name)
    if status["last_sql_errno"]:
        found.append("The SQL thread reports error %d: %s" % (status["last_sql_errno"], status["last_sql_error"]))
    threads_ok = status["io_thread"] == "running" and status["sql_thread"] == "running"
    lag = status["seconds_behind"]
    if lag is None:
        if threads_ok:
            found.append("The replication lag is unknown (%s is NULL)." % lag_name)
    elif lag > max_lag:
        found.append("The replica is %d s behind the source, above the limit of %d s." % (lag, max_lag))
    if require_gtid and status["gtid"] == "no":
        found.append("Replication does not use GTIDs (the replica follows binary log file positions).")
    if require_read_only and status["read_only"] is False:
        found.append("read_only is OFF on the replica, so clients with write privileges can change it.")
    elif require_read_only and status["super_read_only"] is False:
        found.append("super_read_only is OFF on the replica, so users with SUPER or CONNECTION_ADMIN can change it.")
    return found


def server_info(cursor):
    cursor.execute("SELECT VERSION() AS version")
    return ServerInfo(_text(cursor.fetchone()["version"]))


def read_statuses(cursor, server):
    """Normalised status of every source the server replicates from (one for
    each MariaDB named connection or MySQL channel); empty when it is not a
    replica."""
    cursor.execute(server.status_statement)
    rows = list(cursor.fetchall() or [])
    if not rows:
        return []
    if server.flavor == "mariadb":
        cursor.execute("SELECT @@GLOBAL.read_only AS read_only, @@GLOBAL.gtid_slave_pos AS gtid_slave_pos")
        found = cursor.fetchone()
        return [normalise(row, server, read_only=found["read_only"], gtid_slave_pos=found["gtid_slave_pos"])
                for row in rows]
    cursor.execute("SELECT @@GLOBAL.read_only AS read_only, @@GLOBAL.super_read_only AS super_read_only, "
                   "@@GLOBAL.gtid_mode AS gtid_mode")
    found = cursor.fetchone()
    return [normalise(row, server, read_only=found["read_only"], gtid_mode=found["gtid_mode"],
                      super_read_only=found["super_read_only"]) for row in rows]


def read_only(cursor):
    """The server's read_only, whether it is a replica or not."""
    cursor.execute("SELECT @@GLOBAL.read_only AS read_only")
    return bool(int(cursor.fetchone()["read_only"]))


def not_a_replica(server):
    return "This server is not a replica: %s returned no rows." % server.status_statement


def evaluate(cursor, server, max_lag, require_gtid=True, require_read_only=True, connection_name=None):
    """Read the status once and judge every source, or only the one named
    ``connection_name``: (statuses, problems). With several sources each
    problem names the connection (channel) it belongs to."""
    statuses = read_statuses(cursor, server)
    if not statuses:
        return [], [not_a_replica(server)]
    if connection_name is not None:
        chosen = [status for status in statuses if status["connection_name"] == connection_name]
        if not chosen:
            names = ", ".join("'%s'" % status["connection_name"] for status in statuses)
            return statuses, ["The server has no replication %s named '%s' (it has %s)."
                              % (server.connection_word, connection_name, names)]
        statuses = chosen
    found = []
    for status in statuses:
        judged = problems(status, server, max_lag, require_gtid, require_read_only)
        if len(statuses) > 1:
            judged = ["%s '%s': %s" % (server.connection_word.capitalize(), status["connection_name"], text)
                      for text in judged]
        found += judged
    return statuses, found


def wait_healthy(cursor, server, max_lag, timeout, require_gtid=True, require_read_only=True,
                 connection_name=None, interval=1.0, clock=time.monotonic, sleep=time.sleep):
    """Evaluate until healthy or ``timeout`` seconds have passed; the last result wins."""
    deadline = clock() + max(0, timeout)
    while True:
        statuses, found = evaluate(cursor, server, max_lag, require_gtid, require_read_only, connection_name)
        if not found or not statuses or clock() >= deadline:
            return statuses, found
        sleep(interval)


def parse_mariadb_gtids(text):
    """``0-31-42,0-32-7,1-31-3`` as {(domain, server_id): highest seq}."""
    found = {}
    for part in (text or "").replace("\n", "").split(","):
        part = part.strip()
        if part:
            domain, server_id, seq = (int(n) for n in part.split("-"))
            found[(domain, server_id)] = max(seq, found.get((domain, server_id), 0))
    return found


def mariadb_errant(replica_state, primary_known):
    """The replica's transactions the primary cannot have, one GTID (the
    last) per domain and server: by MariaDB's binary log state (the last
    GTID of every server in every domain), a server's sequence numbers beyond
    what the primary has from that server, or a server it never heard of.
    ``primary_known`` is the primary's binary log state and replication
    position together."""
    replica, primary = parse_mariadb_gtids(replica_state), parse_mariadb_gtids(primary_known)
    return ["%d-%d-%d" % (domain, server_id, seq) for (domain, server_id), seq in sorted(replica.items())
            if primary.get((domain, server_id), -1) < seq]


def binlog_gtids(cursor, server):
    """The GTIDs in the server's binary log: MariaDB's gtid_binlog_pos (last
    per domain), MySQL's gtid_executed; empty when it has written none."""
    if server.flavor == "mariadb":
        cursor.execute("SELECT @@GLOBAL.gtid_binlog_pos AS pos")
        return _text(cursor.fetchone()["pos"]).replace("\n", "")
    cursor.execute("SELECT @@GLOBAL.gtid_executed AS gtids")
    return _text(cursor.fetchone()["gtids"]).replace("\n", "")


def errant_gtids(primary, replica, server):
    """Transactions on the replica that the primary lacks (GTIDs), as a list."""
    if server.flavor == "mariadb":
        state = "SELECT @@GLOBAL.gtid_binlog_state AS state, @@GLOBAL.gtid_slave_pos AS slave_pos"
        primary.execute(state)
        known = primary.fetchone()
        replica.execute(state)
        return mariadb_errant(_text(replica.fetchone()["state"]),
                              "%s,%s" % (_text(known["state"]), _text(known["slave_pos"])))
    primary_set = binlog_gtids(primary, server)
    replica.execute("SELECT GTID_SUBTRACT(@@GLOBAL.gtid_executed, %s) AS errant", (primary_set,))
    errant = _text(replica.fetchone()["errant"]).replace("\n", "")
    return [part.strip() for part in errant.split(",") if part.strip()]


def quote_table(name):
    """`db`.`table` for a validated db.table name."""
    if not TABLE_NAME.match(name or ""):
        raise ValueError("heartbeat_table must be DATABASE.TABLE (letters, digits, _ and $), got %r" % name)
    database, table = name.split(".")
    return "`%s`.`%s`" % (database, table)


def heartbeat(primary, replica, primary_server, table, timeout, clock=time.monotonic):
    """Write a marker on the primary and wait until the replica has applied it.

    Returns (delay in seconds, GTID waited for), or (None, GTID) when the
    replica did not apply it within ``timeout`` seconds.
    """
    quoted = quote_table(table)
    started = clock()
    primary.execute("REPLACE INTO %s (id, ts) VALUES (@@server_id, NOW(6))" % quoted)
    # MariaDB: the GTID of this session's write, and MASTER_GTID_WAIT; MySQL:
    # the primary's executed set, and WAIT_FOR_EXECUTED_GTID_SET. Both return 0
    # once the replica has applied it.
    if primary_server.flavor == "mariadb":
        read_gtid, wait = "SELECT @@SESSION.last_gtid AS gtid", "SELECT MASTER_GTID_WAIT(%s, %s) AS waited"
    else:
        read_gtid, wait = "SELECT @@GLOBAL.gtid_executed AS gtid", "SELECT WAIT_FOR_EXECUTED_GTID_SET(%s, %s) AS waited"
    primary.execute(read_gtid)
    gtid = _text(primary.fetchone()["gtid"])
    replica.execute(wait, (gtid, float(timeout)))
    if _int_or_none(replica.fetchone()["waited"]) != 0:
        return None, gtid
    return round(clock() - started, 4), gtid


def parse_gtid_set(text):
    """A GTID position (MariaDB ``0-1-42,1-2-7``) or set (MySQL
    ``uuid:1-5:7,uuid:tag:1-3``) as {source: [(first, last), ...]}: a MariaDB
    domain counts as every sequence number up to its last one."""
    found = {}
    for part in (text or "").replace("\n", "").split(","):
        part = part.strip()
        if not part:
            continue
        if ":" not in part:
            if not MARIADB_GTID.match(part):
                raise ValueError("%r is not DOMAIN-SERVER-SEQUENCE" % part)
            domain, _server_id, seq = part.split("-")
            found.setdefault("domain %s" % int(domain), []).append((1, int(seq)))
            continue
        fields = part.split(":")
        if not SERVER_UUID.match(fields[0]):
            raise ValueError("%r does not start with a server UUID" % part)
        source, ranges = [fields[0].lower()], []
        for field in fields[1:]:
            if re.match(r"^\d+(-\d+)?$", field):
                first, _dash, last = field.partition("-")
                ranges.append((int(first), int(last or first)))
            elif GTID_TAG.match(field):
                source.append(field.lower())
            else:
                raise ValueError("%r: %r is neither an interval nor a tag" % (part, field))
        found.setdefault(":".join(source), []).extend(ranges)
    return found


def gtid_covers(text, other):
    """Whether the GTIDs ``text`` include every transaction of ``other``."""
    ours, theirs = parse_gtid_set(text), parse_gtid_set(other)
    for source, ranges in theirs.items():
        mine = sorted(ours.get(source, []))
        for first, last in ranges:
            # Walk our sorted intervals, extending ``reach`` while they touch.
            reach = first - 1
            for start, end in mine:
                if start <= reach + 1 and end > reach:
                    reach = end
            if reach < last:
                return False
    return True


def most_advanced(positions):
    """The names in ``positions`` (name -> GTIDs) whose GTIDs include every
    other's, in the order given; empty when they have diverged."""
    return [name for name, gtids in positions.items()
            if all(gtid_covers(gtids, other) for other in positions.values())]
