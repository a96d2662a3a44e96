# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The module's contract: what it returns, when it fails, and what it never leaks."""

from __future__ import annotations

import contextlib
import json
from unittest.mock import MagicMock

import pytest
from ansible.module_utils import basic
from ansible_collections.alx.webstack.plugins.module_utils import connection
from ansible_collections.alx.webstack.plugins.modules import mysql_replication_check as module
from replica_rows import server_cursor, status_row


try:  # ansible-core 2.19 and newer
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core 2.17 and 2.18 read the arguments from basic._ANSIBLE_ARGS
    @contextlib.contextmanager
    def patch_module_args(args):
        saved = basic._ANSIBLE_ARGS
        basic._ANSIBLE_ARGS = json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode("utf-8")
        try:
            yield
        finally:
            basic._ANSIBLE_ARGS = saved


def run(monkeypatch, capsys, args, cursor=None, failure=None):
    """Run the module's main() with the connection answering from ``cursor``."""
    def fake_connect(params, prefix="login"):
        if failure:
            raise connection.ConnectionFailure(failure)
        conn = MagicMock(name="connection")
        conn.cursor.return_value = cursor
        return conn

    monkeypatch.setattr(connection, "connect", fake_connect)
    monkeypatch.setattr(connection, "HAS_PYMYSQL", True)
    with patch_module_args(args), pytest.raises(SystemExit) as exited:
        module.main()
    out = json.loads(capsys.readouterr().out)
    return exited.value.code, out


def test_healthy_replica(monkeypatch, capsys):
    code, out = run(monkeypatch, capsys, {"login_unix_socket": "/run/mysqld/mysqld.sock"},
                    server_cursor("mariadb-10.11", status_row("mariadb-10.11")))
    assert code == 0
    assert out["healthy"] is True and out["problems"] == [] and out["changed"] is False
    assert out["lag"] == 0 and out["status"]["gtid"] == "slave_pos"


def test_unhealthy_replica_fails_with_the_problems(monkeypatch, capsys):
    row = status_row("mariadb-11.8", sql_running="No", seconds_behind=None,
                     last_sql_errno=1062, last_sql_error="Duplicate entry '7' for key 'PRIMARY'")
    code, out = run(monkeypatch, capsys, {}, server_cursor("mariadb-11.8", row))
    assert code == 1 and out["failed"] is True
    assert "SQL thread" in out["msg"] and "Duplicate entry '7'" in out["msg"]
    assert out["healthy"] is False and len(out["problems"]) == 2


def test_report_only_returns_without_failing(monkeypatch, capsys):
    code, out = run(monkeypatch, capsys, {"report_only": True},
                    server_cursor("mysql-8.4", status_row("mysql-8.4", seconds_behind=99)))
    assert code == 0 and out["healthy"] is False and out["lag"] == 99
    assert out["problems"] == ["The replica is 99 s behind the source, above the limit of 30 s."]


def test_not_a_replica_is_one_clear_failure(monkeypatch, capsys):
    code, out = run(monkeypatch, capsys, {}, server_cursor("mariadb-10.11", None))
    assert code == 1
    assert out["msg"] == "The replica is not healthy: This server is not a replica: SHOW ALL SLAVES STATUS returned no rows."
    assert out["status"] == {}


def test_connection_failure_is_one_sentence(monkeypatch, capsys):
    code, out = run(monkeypatch, capsys, {"login_host": "192.0.2.32"},
                    failure="Cannot reach the database server at 192.0.2.32:3306: timed out")
    assert code == 1 and out["msg"] == "Cannot reach the database server at 192.0.2.32:3306: timed out"


def test_passwords_never_come_back(monkeypatch, capsys):
    code, out = run(monkeypatch, capsys,
                    {"login_user": "monitor", "login_password": "s3cret-login",
                     "primary_login_password": "s3cret-primary"},
                    server_cursor("mariadb-10.11", status_row("mariadb-10.11")))
    assert code == 0
    text = json.dumps(out)
    assert "s3cret-login" not in text and "s3cret-primary" not in text


@pytest.mark.parametrize("args, words", [
    ({"max_lag": -1}, "max_lag must be 0 or more"),
    ({"wait_timeout": -5}, "wait_timeout must be 0 or more"),
    ({"heartbeat": True, "heartbeat_table": "nodot"}, "heartbeat_table must be DATABASE.TABLE"),
])
def test_bad_arguments_fail_before_connecting(monkeypatch, capsys, args, words):
    code, out = run(monkeypatch, capsys, args, failure="must not connect")
    assert code == 1 and words in out["msg"]


def test_check_mode_skips_the_heartbeat_write(monkeypatch, capsys):
    cursor = server_cursor("mariadb-10.11", status_row("mariadb-10.11"))
    code, out = run(monkeypatch, capsys, {"heartbeat": True, "_ansible_check_mode": True}, cursor)
    assert code == 0 and out["healthy"] is True and out["heartbeat_delay"] is None
    assert not any("REPLACE" in s for s in cursor.statements)


def test_missing_pymysql_says_what_to_install(monkeypatch, capsys):
    monkeypatch.setattr(connection, "HAS_PYMYSQL", False)
    with patch_module_args({}), pytest.raises(SystemExit):
        module.main()
    out = json.loads(capsys.readouterr().out)
    assert "PyMySQL" in out["msg"] and "python3-pymysql" in out["msg"]


def test_return_documents_every_key_the_module_returns(monkeypatch, capsys):
    import yaml  # pylint: disable=import-outside-toplevel
    documented = yaml.safe_load(module.RETURN)
    _code, out = run(monkeypatch, capsys, {"login_unix_socket": "/run/mysqld/mysqld.sock"},
                     server_cursor("mariadb-10.11", status_row("mariadb-10.11")))
    returned = set(out) - {"changed", "invocation"}
    assert returned == set(documented)
    assert set(out["status"]) == set(documented["status"]["contains"])


def test_a_dropped_connection_is_tried_again_while_waiting(monkeypatch, capsys):
    """The server restarts while the module waits: the first connection drops,
    the next one is refused, the third finds a healthy replica."""
    import pymysql  # pylint: disable=import-outside-toplevel
    healthy = server_cursor("mariadb-10.11", status_row("mariadb-10.11"))
    dropping = MagicMock(name="cursor")
    dropping.execute.side_effect = pymysql.err.OperationalError(2013, "Lost connection to server during query")
    attempts = iter([dropping, connection.ConnectionFailure("Cannot reach the database server"), healthy])

    def fake_connect(params, prefix="login"):
        answer = next(attempts)
        if isinstance(answer, Exception):
            raise answer
        conn = MagicMock(name="connection")
        conn.cursor.return_value = answer
        return conn

    monkeypatch.setattr(connection, "connect", fake_connect)
    monkeypatch.setattr(connection, "HAS_PYMYSQL", True)
    monkeypatch.setattr(module, "RETRY_INTERVAL", 0.01)
    with patch_module_args({"wait_timeout": 30}), pytest.raises(SystemExit) as exited:
        module.main()
    out = json.loads(capsys.readouterr().out)
    assert exited.value.code == 0 and out["healthy"] is True


def test_without_wait_a_dropped_connection_fails_at_once(monkeypatch, capsys):
    import pymysql  # pylint: disable=import-outside-toplevel
    dropping = MagicMock(name="cursor")
    dropping.execute.side_effect = pymysql.err.OperationalError(2013, "Lost connection to server during query")
    code, out = run(monkeypatch, capsys, {}, dropping)
    assert code == 1 and "Lost connection" in out["msg"]


def run_with_primary(monkeypatch, capsys, args, cursors):
    """Run main() with the replica's and the primary's connections answering from ``cursors``."""
    connected = []

    def fake_connect(params, prefix="login"):
        connected.append((prefix, params.get("%s_host" % prefix)))
        conn = MagicMock(name="connection to %s" % prefix)
        conn.cursor.return_value = cursors[prefix]
        return conn

    monkeypatch.setattr(connection, "connect", fake_connect)
    monkeypatch.setattr(connection, "HAS_PYMYSQL", True)
    with patch_module_args(args), pytest.raises(SystemExit):
        module.main()
    return json.loads(capsys.readouterr().out), connected


def test_errant_transactions_are_a_problem_naming_them(monkeypatch, capsys):
    """The replica's last GTID (its own write, 0-2-43) is beyond the primary's."""
    cursors = {"login": server_cursor("mariadb-11.8", status_row("mariadb-11.8"), binlog_pos="0-2-43"),
               "primary_login": server_cursor("mariadb-11.8", None, binlog_pos="0-1-42")}
    out, _connected = run_with_primary(monkeypatch, capsys, {"primary_login_user": "monitor", "report_only": True}, cursors)
    assert out["healthy"] is False and out["errant_gtids"] == ["0-2-43"]
    assert "errant GTIDs 0-2-43" in out["problems"][0]
    assert not any("REPLACE" in s for s in cursors["primary_login"].statements)


def test_without_primary_access_errant_gtids_are_not_checked(monkeypatch, capsys):
    cursors = {"login": server_cursor("mariadb-10.11", status_row("mariadb-10.11"), binlog_pos="0-1-42")}
    out, connected = run_with_primary(monkeypatch, capsys, {}, cursors)
    assert out["healthy"] and out["errant_gtids"] is None
    assert [prefix for prefix, _host in connected] == ["login"]
    # What the server itself has written is returned all the same.
    assert out["binlog_gtids"] == "0-1-42"


def test_a_server_that_is_not_a_replica_reports_whether_it_is_writable(monkeypatch, capsys):
    code, out = run(monkeypatch, capsys, {"report_only": True}, server_cursor("mariadb-10.11", None, read_only=0))
    assert code == 0 and out["status"] == {} and out["read_only"] is False
    assert "not a replica" in out["problems"][0]


def test_an_old_primary_is_checked_for_errant_transactions_against_the_new_one(monkeypatch, capsys):
    """Not a replica, so the primary's address must be given; it is the one used."""
    cursors = {"login": server_cursor("mariadb-11.8", None, read_only=0, binlog_pos="0-1-50"),
               "primary_login": server_cursor("mariadb-11.8", None, binlog_pos="0-2-49")}
    out, connected = run_with_primary(monkeypatch, capsys, {
        "primary_login_host": "192.0.2.32", "primary_login_user": "monitor", "report_only": True}, cursors)
    assert ("primary_login", "192.0.2.32") in connected
    assert out["errant_gtids"] == ["0-1-50"] and out["read_only"] is False
    assert "not a replica" in out["problems"][0] and "errant GTIDs 0-1-50" in out["problems"][1]


def test_a_server_that_is_not_a_replica_without_the_primarys_address_is_not_compared(monkeypatch, capsys):
    cursors = {"login": server_cursor("mariadb-11.8", None), "primary_login": None}
    out, connected = run_with_primary(monkeypatch, capsys, {"primary_login_user": "monitor", "report_only": True}, cursors)
    assert out["errant_gtids"] is None and [prefix for prefix, _host in connected] == ["login"]


def test_every_source_is_returned_and_the_lag_is_the_largest(monkeypatch, capsys):
    rows = [status_row("mariadb-11.8", seconds_behind=3), status_row("mariadb-11.8", connection_name="sales", seconds_behind=7)]
    code, out = run(monkeypatch, capsys, {}, server_cursor("mariadb-11.8", rows))
    assert code == 0 and out["lag"] == 7
    assert [c["connection_name"] for c in out["connections"]] == ["", "sales"]
    assert out["status"] == out["connections"][0]
