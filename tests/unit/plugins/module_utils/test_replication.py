# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Health rules over each server's real status columns."""

from __future__ import annotations

from unittest.mock import MagicMock

import pytest
from ansible_collections.alx.webstack.plugins.module_utils import replication
from replica_rows import SERVERS, server_cursor, status_row

ALL = sorted(SERVERS)
MYSQL_NEW = ["mysql-8.0.36", "mysql-8.4"]


def check(server, row, max_lag=30, **cursor_options):
    cursor = server_cursor(server, row, **cursor_options)
    info = replication.server_info(cursor)
    statuses, found = replication.evaluate(cursor, info, max_lag)
    return (statuses[0] if statuses else None), found, cursor


@pytest.mark.parametrize("server", ALL)
def test_healthy_replica_has_no_problems(server):
    status, found, _cursor = check(server, status_row(server))
    assert found == []
    assert status["io_thread"] == "running" and status["sql_thread"] == "running"
    assert status["source_host"] == "192.0.2.31" and status["source_port"] == 3306
    assert status["read_only"] is True
    assert status["gtid"] in ("slave_pos", "auto_position")


@pytest.mark.parametrize("server", ALL)
def test_lag_of_zero_is_zero_not_missing(server):
    status, found, _cursor = check(server, status_row(server, seconds_behind=0))
    assert status["seconds_behind"] == 0
    assert found == []


@pytest.mark.parametrize("server", ALL)
def test_lag_null_with_running_threads_is_unknown(server):
    status, found, _cursor = check(server, status_row(server, seconds_behind=None))
    assert status["seconds_behind"] is None
    assert len(found) == 1 and "lag is unknown" in found[0]
    assert ("Seconds_Behind_Source" if server in MYSQL_NEW else "Seconds_Behind_Master") in found[0]


@pytest.mark.parametrize("server", ALL)
def test_lag_above_the_limit(server):
    _status, found, _cursor = check(server, status_row(server, seconds_behind=31), max_lag=30)
    assert found == ["The replica is 31 s behind the source, above the limit of 30 s."]


@pytest.mark.parametrize("server", ALL)
def test_lag_at_the_limit_is_healthy(server):
    _status, found, _cursor = check(server, status_row(server, seconds_behind=30), max_lag=30)
    assert found == []


@pytest.mark.parametrize("server", ALL)
def test_io_thread_stopped(server):
    _status, found, _cursor = check(server, status_row(server, io_running="No", seconds_behind=None))
    assert any(p.startswith("The IO thread is not running") for p in found)
    assert not any("lag is unknown" in p for p in found)


@pytest.mark.parametrize("server", ALL)
def test_io_thread_connecting_with_an_error_reports_the_server_text(server):
    error = ("error connecting to master 'replication@192.0.2.31:3306' - retry-time: 60  maximum-retries: 100000  "
             "message: Access denied for user 'replication'@'192.0.2.32' (using password: YES)")
    row = status_row(server, io_running="Connecting", seconds_behind=None, last_io_errno=1045, last_io_error=error)
    status, found, _cursor = check(server, row)
    assert status["io_thread"] == "connecting"
    assert "not connected to the source 192.0.2.31:3306" in found[0]
    assert found[1] == "The IO thread reports error 1045: " + error


@pytest.mark.parametrize("server", ALL)
def test_sql_thread_stopped_with_an_error(server):
    error = "Could not execute Write_rows_v1 event on table app.records; Duplicate entry '7' for key 'PRIMARY'"
    row = status_row(server, sql_running="No", seconds_behind=None, last_sql_errno=1062, last_sql_error=error)
    _status, found, _cursor = check(server, row)
    assert found[0].startswith("The SQL thread is not running")
    assert ("Replica_SQL_Running" if server in MYSQL_NEW else "Slave_SQL_Running") in found[0]
    assert found[1] == "The SQL thread reports error 1062: " + error


@pytest.mark.parametrize("server", ALL)
def test_sql_thread_stopped_by_hand_names_the_sql_thread(server):
    _status, found, _cursor = check(server, status_row(server, sql_running="No", seconds_behind=None))
    assert len(found) == 1 and "SQL thread" in found[0]


@pytest.mark.parametrize("server", ALL)
def test_not_a_replica(server):
    status, found, _cursor = check(server, None)
    assert status is None
    statement = {"mysql-8.0.21": "SHOW SLAVE STATUS"}.get(
        server, "SHOW REPLICA STATUS" if server in MYSQL_NEW else "SHOW ALL SLAVES STATUS")
    assert found == ["This server is not a replica: %s returned no rows." % statement]


@pytest.mark.parametrize("server", ALL)
def test_read_only_off(server):
    status, found, _cursor = check(server, status_row(server), read_only=0)
    assert status["read_only"] is False
    assert found == ["read_only is OFF on the replica, so clients with write privileges can change it."]


@pytest.mark.parametrize("server", ["mysql-8.0.36", "mysql-8.4"])
def test_super_read_only_off_on_mysql(server):
    status, found, _cursor = check(server, status_row(server), super_read_only=0)
    assert status["read_only"] is True and status["super_read_only"] is False
    assert found == ["super_read_only is OFF on the replica, so users with SUPER or CONNECTION_ADMIN can change it."]


@pytest.mark.parametrize("server", ["mariadb-10.11", "mariadb-11.8"])
def test_mariadb_has_no_super_read_only(server):
    status, _found, cursor = check(server, status_row(server))
    assert status["super_read_only"] is None
    assert not any("SUPER_READ_ONLY" in s.upper() for s in cursor.statements)


@pytest.mark.parametrize("server", ["mariadb-10.11", "mariadb-11.8"])
def test_mariadb_gtid_off(server):
    status, found, _cursor = check(server, status_row(server, using_gtid="No"))
    assert status["gtid"] == "no"
    assert len(found) == 1 and "GTID" in found[0]


@pytest.mark.parametrize("server", ["mysql-8.0.21", "mysql-8.0.36", "mysql-8.4"])
def test_mysql_gtid_off_by_auto_position(server):
    _status, found, _cursor = check(server, status_row(server, auto_position=0))
    assert len(found) == 1 and "GTID" in found[0]


@pytest.mark.parametrize("server", ["mysql-8.0.36", "mysql-8.4"])
def test_mysql_gtid_mode_off(server):
    _status, found, _cursor = check(server, status_row(server), gtid_mode="OFF")
    assert len(found) == 1 and "GTID" in found[0]


def test_gtid_and_read_only_rules_can_be_relaxed():
    cursor = server_cursor("mariadb-10.11", status_row("mariadb-10.11", using_gtid="No"), read_only=0)
    info = replication.server_info(cursor)
    _status, found = replication.evaluate(cursor, info, 30, require_gtid=False, require_read_only=False)
    assert found == []


@pytest.mark.parametrize("server", ["mysql-8.0.36", "mysql-8.4"])
def test_new_mysql_gets_only_replica_statements(server):
    _status, _found, cursor = check(server, status_row(server))
    assert not any("SLAVE" in s.upper() for s in cursor.statements)
    assert "SHOW REPLICA STATUS" in cursor.statements


def test_older_syntax_where_replica_keywords_are_missing():
    _status, _found, cursor = check("mysql-8.0.21", status_row("mysql-8.0.21"))
    assert "SHOW SLAVE STATUS" in cursor.statements


@pytest.mark.parametrize("server", ["mariadb-10.11", "mariadb-11.8"])
def test_mariadb_is_asked_for_every_named_connection(server):
    _status, _found, cursor = check(server, status_row(server))
    assert "SHOW ALL SLAVES STATUS" in cursor.statements


@pytest.mark.parametrize("server", ["mariadb-11.8", "mysql-8.4", "mysql-8.0.21"])
def test_every_source_of_a_multi_source_replica_is_judged_and_named(server):
    rows = [status_row(server), status_row(server, connection_name="sales", sql_running="No", seconds_behind=None)]
    cursor = server_cursor(server, rows)
    info = replication.server_info(cursor)
    statuses, found = replication.evaluate(cursor, info, 30)
    assert [s["connection_name"] for s in statuses] == ["", "sales"]
    word = "Connection" if server.startswith("mariadb") else "Channel"
    assert len(found) == 1 and found[0].startswith("%s 'sales': The SQL thread is not running" % word)


@pytest.mark.parametrize("name, healthy", [("", True), ("sales", False)])
def test_one_source_can_be_checked_alone(name, healthy):
    rows = [status_row("mariadb-11.8"), status_row("mariadb-11.8", connection_name="sales", io_running="No")]
    cursor = server_cursor("mariadb-11.8", rows)
    info = replication.server_info(cursor)
    statuses, found = replication.evaluate(cursor, info, 30, connection_name=name)
    assert [s["connection_name"] for s in statuses] == [name]
    assert (found == []) is healthy
    assert not any(text.startswith("Connection") for text in found)


def test_a_missing_source_is_named_with_those_there_are():
    cursor = server_cursor("mysql-8.4", [status_row("mysql-8.4"), status_row("mysql-8.4", connection_name="sales")])
    info = replication.server_info(cursor)
    _statuses, found = replication.evaluate(cursor, info, 30, connection_name="hr")
    assert found == ["The server has no replication channel named 'hr' (it has '', 'sales')."]


def test_byte_values_are_decoded():
    row = {k: (v.encode() if isinstance(v, str) else v) for k, v in status_row("mariadb-10.11").items()}
    status, found, _cursor = check("mariadb-10.11", row)
    assert found == [] and status["source_host"] == "192.0.2.31"


def test_wait_healthy_returns_as_soon_as_healthy(monkeypatch):
    rows = [status_row("mariadb-10.11", seconds_behind=120), status_row("mariadb-10.11", seconds_behind=50),
            status_row("mariadb-10.11", seconds_behind=2)]
    cursor = server_cursor("mariadb-10.11", None)
    info = replication.server_info(cursor)
    sleeps = []
    evaluations = iter(rows)

    def fake_evaluate(cur, server, max_lag, require_gtid, require_read_only, connection_name):
        status = replication.normalise(next(evaluations), server, read_only=1)
        return [status], replication.problems(status, server, max_lag)

    monkeypatch.setattr(replication, "evaluate", fake_evaluate)
    status, found = replication.wait_healthy(cursor, info, 5, 60, sleep=sleeps.append, clock=lambda: 0.0)
    assert found == [] and status[0]["seconds_behind"] == 2
    assert len(sleeps) == 2


def test_wait_healthy_gives_up_at_the_timeout():
    cursor = server_cursor("mariadb-10.11", status_row("mariadb-10.11", sql_running="No", seconds_behind=None))
    info = replication.server_info(cursor)
    now = [0.0]

    def sleep(seconds):
        now[0] += seconds

    _status, found = replication.wait_healthy(cursor, info, 5, 3, sleep=sleep, clock=lambda: now[0])
    assert found and "SQL thread" in found[0]
    assert now[0] == 3.0


@pytest.mark.parametrize("name", ["heartbeat", "a.b.c", "db.t;DROP", "", "db.`t`"])
def test_heartbeat_table_names_are_checked(name):
    with pytest.raises(ValueError):
        replication.quote_table(name)


@pytest.mark.parametrize(
    "flavor, version, wait_sql, gtid",
    [
        ("mariadb", "10.11.14-MariaDB", "MASTER_GTID_WAIT", "0-1-43"),
        ("mysql", "8.4.3", "WAIT_FOR_EXECUTED_GTID_SET", "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-43"),
    ],
)
def test_heartbeat_waits_for_the_primary_gtid(flavor, version, wait_sql, gtid):
    primary, replica = MagicMock(), MagicMock()
    primary.fetchone.return_value = {"gtid": gtid}
    replica.fetchone.return_value = {"waited": 0}
    ticks = iter([10.0, 10.25])
    delay, seen = replication.heartbeat(primary, replica, replication.ServerInfo(version),
                                        "alx_heartbeat.heartbeat", 5, clock=lambda: next(ticks))
    assert (delay, seen) == (0.25, gtid)
    assert "REPLACE INTO `alx_heartbeat`.`heartbeat`" in primary.execute.call_args_list[0][0][0]
    sql, args = replica.execute.call_args[0]
    assert wait_sql in sql and args == (gtid, 5.0)


def test_heartbeat_that_does_not_arrive_has_no_delay():
    primary, replica = MagicMock(), MagicMock()
    primary.fetchone.return_value = {"gtid": "0-1-44"}
    replica.fetchone.return_value = {"waited": -1}
    delay, gtid = replication.heartbeat(primary, replica, replication.ServerInfo("10.11.14-MariaDB"),
                                        "alx_heartbeat.heartbeat", 1)
    assert delay is None and gtid == "0-1-44"


@pytest.mark.parametrize("server, executed", [
    ("mariadb-10.11", "0-1-42"),
    ("mysql-8.4", "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-42"),
])
def test_applied_gtids_come_from_where_each_server_keeps_them(server, executed):
    status, _found, _cursor = check(server, status_row(server))
    assert status["gtid_executed"] == executed


@pytest.mark.parametrize("replica_state, primary_known, errant", [
    ("0-31-42", "0-31-42", []),
    ("0-31-40", "0-31-42", []),  # behind: nothing the primary lacks
    ("0-31-42,0-32-43", "0-31-42", ["0-32-43"]),  # written on the replica
    ("0-32-42", "0-31-42", ["0-32-42"]),  # same number, another server
    ("0-31-42,1-32-5", "0-31-42", ["1-32-5"]),  # a domain the primary never wrote
    ("", "0-31-42", []),
    # An old primary (31) after a promotion: the new primary (32) has written
    # more since, but never received 31's last transaction.
    ("0-31-50", "0-31-49,0-32-60", ["0-31-50"]),
    ("0-31-50", "0-31-50,0-32-60", []),
    # Seeded at 0-31-50 and never sent anything since: its replication position knows it.
    ("0-31-50", ",0-31-50", []),
])
def test_mariadb_errant_gtids(replica_state, primary_known, errant):
    assert replication.mariadb_errant(replica_state, primary_known) == errant


def test_mysql_errant_gtids_come_from_gtid_subtract():
    errant = "3e11fa47-71ca-11e1-9e33-c80aa9429562:43,\n9b1a2c3d-0000-0000-0000-000000000001:1-2"
    cursor = server_cursor("mysql-8.4", status_row("mysql-8.4"), errant=errant)
    info = replication.server_info(cursor)
    assert replication.errant_gtids(cursor, cursor, info) == [
        "3e11fa47-71ca-11e1-9e33-c80aa9429562:43", "9b1a2c3d-0000-0000-0000-000000000001:1-2"]


@pytest.mark.parametrize("ours, theirs, covered", [
    ("0-1-42", "0-1-42", True),
    ("0-2-43", "0-1-42", True),
    ("0-1-41", "0-1-42", False),
    ("0-1-42", "0-1-42,1-3-1", False),
    ("0-1-42,1-3-1", "", True),
    ("3e11fa47-71ca-11e1-9e33-c80aa9429562:1-42", "3E11FA47-71CA-11E1-9E33-C80AA9429562:1-40", True),
    ("3e11fa47-71ca-11e1-9e33-c80aa9429562:1-20:22-42", "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-42", False),
    ("3e11fa47-71ca-11e1-9e33-c80aa9429562:1-20:21-42", "3e11fa47-71ca-11e1-9e33-c80aa9429562:5-42", True),
    ("3e11fa47-71ca-11e1-9e33-c80aa9429562:1-42,\nab11fa47-71ca-11e1-9e33-c80aa9429562:1",
     "ab11fa47-71ca-11e1-9e33-c80aa9429562:1", True),
    ("3e11fa47-71ca-11e1-9e33-c80aa9429562:blue:1-3", "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-3", False),
])
def test_gtid_covers(ours, theirs, covered):
    assert replication.gtid_covers(ours, theirs) is covered


def test_the_most_advanced_servers_have_what_every_other_has():
    assert replication.most_advanced({"db2": "0-1-40", "db3": "0-1-42", "db4": "0-1-42"}) == ["db3", "db4"]
    # Each has a transaction the other lacks: no server can take over without losing one.
    assert replication.most_advanced({"db2": "0-1-42,1-2-1", "db3": "0-1-43"}) == []


@pytest.mark.parametrize("server", ["mariadb-10.11", "mysql-8.0.21", "mysql-8.4"])
def test_tls_of_the_replication_connection_is_reported(server):
    info = replication.server_info(server_cursor(server, None))
    row = status_row(server)
    prefix = "Source" if "Source_SSL_Allowed" in row else "Master"
    assert replication.normalise(row, info)["tls"] is False
    row.update({"%s_SSL_Allowed" % prefix: "Yes", "%s_SSL_Verify_Server_Cert" % prefix: "Yes"})
    status = replication.normalise(row, info)
    assert status["tls"] is True and status["tls_verify"] is True
