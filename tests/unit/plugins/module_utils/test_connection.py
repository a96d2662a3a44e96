# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection errors become one sentence a user can act on."""

from __future__ import annotations

import pymysql
import pytest
from ansible_collections.alx.webstack.plugins.module_utils import connection

TCP = {"login_host": "192.0.2.31", "login_port": 3306, "login_user": "monitor", "login_password": "x",
       "config_file": ""}
SOCKET = {"login_unix_socket": "/run/mysqld/mysqld.sock", "config_file": ""}


def refuse(monkeypatch, error):
    def connect(**_kwargs):
        raise error
    monkeypatch.setattr(connection.pymysql, "connect", connect)
    # The server's socket is there; what goes wrong is the connection.
    monkeypatch.setattr(connection.os.path, "exists", lambda path: path == SOCKET["login_unix_socket"])


@pytest.mark.parametrize("params, error, sentence", [
    (TCP, pymysql.err.OperationalError(1045, "Access denied for user 'monitor'@'192.0.2.21'"),
     "Access denied for user 'monitor' at 192.0.2.31:3306 (check login_user and login_password): Access denied"),
    (TCP, pymysql.err.OperationalError(2003, "Can't connect to MySQL server on '192.0.2.31'"),
     "Cannot reach the database server at 192.0.2.31:3306: Can't connect"),
    (SOCKET, pymysql.err.OperationalError(2002, "No such file or directory"),
     "Cannot reach the database server at socket /run/mysqld/mysqld.sock: No such file"),
    (TCP, pymysql.err.OperationalError(1129, "Host is blocked"),
     "Connecting to 192.0.2.31:3306 failed with error 1129: Host is blocked"),
    (TCP, pymysql.err.InternalError("packet sequence number wrong"),
     "Connecting to 192.0.2.31:3306 failed: packet sequence number wrong"),
    (SOCKET, PermissionError(13, "Permission denied"),
     "Connecting to socket /run/mysqld/mysqld.sock failed: [Errno 13] Permission denied"),
])
def test_connection_errors_name_the_server_and_the_cause(monkeypatch, params, error, sentence):
    refuse(monkeypatch, error)
    with pytest.raises(connection.ConnectionFailure) as failure:
        connection.connect(params)
    assert str(failure.value).startswith(sentence)


def test_the_primary_options_are_named_in_the_message(monkeypatch):
    refuse(monkeypatch, pymysql.err.OperationalError(1045, "Access denied"))
    params = {"primary_login_host": "192.0.2.31", "primary_login_port": 3306, "primary_login_user": None,
              "config_file": ""}
    with pytest.raises(connection.ConnectionFailure, match=r"'\(from config\)' at .*check primary_login_user"):
        connection.connect(params, prefix="primary_login")


def test_a_host_without_pymysql_is_named(monkeypatch):
    monkeypatch.setattr(connection, "HAS_PYMYSQL", False)
    with pytest.raises(connection.ConnectionFailure, match="PyMySQL is required on the host that runs this module"):
        connection.connect(TCP)


def capture(monkeypatch) -> dict:
    """pymysql.connect's arguments, for one call."""
    seen = {}

    def connect(**kwargs):
        seen.update(kwargs)
        return "connection"
    monkeypatch.setattr(connection.pymysql, "connect", connect)
    return seen


def test_without_login_options_the_socket_of_the_servers_config_is_used(monkeypatch):
    seen = capture(monkeypatch)
    monkeypatch.setattr(connection.shutil, "which", lambda name: "/usr/bin/" + name)
    monkeypatch.setattr(connection.subprocess, "run", lambda *a, **k: type("Done", (), {
        "stdout": "--port=3306\n--socket=/srv/db/mysqld.sock\n"})())
    monkeypatch.setattr(connection.os.path, "exists", lambda path: path == "/srv/db/mysqld.sock")
    connection.connect({"config_file": ""})
    assert seen["unix_socket"] == "/srv/db/mysqld.sock"


def test_without_a_configured_socket_the_usual_places_are_tried(monkeypatch):
    seen = capture(monkeypatch)
    monkeypatch.setattr(connection.shutil, "which", lambda name: None)
    monkeypatch.setattr(connection.os.path, "exists", lambda path: path == "/var/lib/mysql/mysql.sock")
    connection.connect({"config_file": ""})
    assert seen["unix_socket"] == "/var/lib/mysql/mysql.sock"


@pytest.mark.parametrize("present", [[], ["/tmp/mysql.sock"]])
def test_a_missing_socket_is_named_and_never_replaced_by_one_in_tmp(monkeypatch, present):
    """A stopped server: no connection at all, rather than to a socket any local user could have made."""
    seen = capture(monkeypatch)
    monkeypatch.setattr(connection.shutil, "which", lambda name: None)
    monkeypatch.setattr(connection.os.path, "exists", lambda path: path in present)
    with pytest.raises(connection.ConnectionFailure, match="at socket /run/mysqld/mysqld.sock: there is no such socket, "
                                                           "so the server is not running"):
        connection.connect({"config_file": ""})
    assert not seen


def test_a_configured_socket_that_is_missing_is_named(monkeypatch):
    seen = capture(monkeypatch)
    monkeypatch.setattr(connection.os.path, "exists", lambda path: False)
    with pytest.raises(connection.ConnectionFailure, match="socket /srv/db.sock: there is no such socket.*login_unix_socket"):
        connection.connect({"config_file": "", "login_unix_socket": "/srv/db.sock"})
    assert not seen


def test_a_login_host_is_used_as_given(monkeypatch):
    seen = capture(monkeypatch)
    connection.connect(TCP)
    assert seen["host"] == "192.0.2.31" and "unix_socket" not in seen


def test_local_credentials_and_tls_never_go_to_the_primary(tmp_path, monkeypatch):
    seen = capture(monkeypatch)
    option_file = tmp_path / "my.cnf"
    option_file.write_text("[client]\nuser=root\npassword=local-secret\n")
    params = {"config_file": str(option_file), "ca_cert": "/etc/local-ca.pem", "primary_login_host": "192.0.2.31",
              "primary_login_port": 3306, "primary_login_user": "monitor", "primary_login_password": "m",
              "primary_ca_cert": "/etc/primary-ca.pem", "primary_check_hostname": False}
    connection.connect(params, prefix="primary_login")
    assert "read_default_file" not in seen
    assert seen["ssl"] == {"ca": "/etc/primary-ca.pem", "check_hostname": False}
    seen.clear()
    monkeypatch.setattr(connection.os.path, "exists", lambda path: path in (str(option_file), "/run/mysqld/mysqld.sock"))
    connection.connect(dict(params, login_unix_socket="/run/mysqld/mysqld.sock"))
    assert seen["read_default_file"] == str(option_file) and seen["ssl"] == {"ca": "/etc/local-ca.pem"}
