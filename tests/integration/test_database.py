# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The database tier on real MariaDB: replication works, the check module sees
every fault we cause, and the replica role repairs what it should."""

from __future__ import annotations

import json
import shlex
import threading
import time

import pytest
from conftest import LAB, address, group, host, managed, site, sql, variables
from labkit.commands import playbook, recap, said, wait_until
from labkit import faults

PRIMARY = group("mysql_primary")[0]
REPLICAS = group("mysql_replica")
REPLICA = REPLICAS[0]
SOCKET = "/run/mysqld/mysqld.sock"


def settings():
    return variables(PRIMARY)


# With mysql_tls the primary takes TCP connections over TLS only: the check's
# connection to it presents the stack's CA and checks the primary's name.
TLS = ({"primary_ca_cert": "/etc/mysql/tls/ca.crt", "primary_check_hostname": True}
       if variables(PRIMARY).get("mysql_tls", True) else {})


def check(check_mode=False, **args) -> dict:
    """Run alx.webstack.mysql_replication_check on the replica."""
    options = {"login_unix_socket": SOCKET, "report_only": True, **TLS, **args}
    text = " ".join("%s=%s" % (k, shlex.quote(str(v))) for k, v in options.items())
    return managed(REPLICA).ansible("alx.webstack.mysql_replication_check", text, check=check_mode, become=True)


def first_with(result: dict, error: str):
    """The check's result once the status carries the given error number."""
    return result if result["status"].get(error) else None


def wait_healthy(timeout=120):
    result = check(wait_timeout=timeout)
    assert result["healthy"], result["problems"]
    return result


def io_thread_id() -> str:
    return sql(REPLICA, "SELECT ID FROM information_schema.PROCESSLIST WHERE COMMAND = 'Slave_IO'")


@pytest.fixture(scope="module")
def records():
    """An application table on the primary, for rows the tests write."""
    sql(PRIMARY, "CREATE TABLE IF NOT EXISTS app.replication_test "
                 "(id INT PRIMARY KEY AUTO_INCREMENT, note VARCHAR(64) NOT NULL) ENGINE=InnoDB")
    return "app.replication_test"


@pytest.mark.parametrize("replica", REPLICAS)
def test_row_written_on_primary_reaches_every_replica(records, replica):
    note = "row-%d" % time.time_ns()
    sql(PRIMARY, "INSERT INTO %s (note) VALUES ('%s')" % (records, note))
    wait_until(lambda: sql(replica, "SELECT COUNT(*) FROM %s WHERE note = '%s'" % (records, note)) == "1",
               timeout=10, interval=0.2, what="row on %s" % replica)


@pytest.mark.parametrize("web", group("webservers"))
def test_application_user_cannot_write_on_the_replica(records, web):
    config = settings()
    addresses = {name: address(name) for name in (PRIMARY, REPLICA)}
    script = (
        "import os, pymysql, sys\n"
        "ca = '/srv/app/shared/db-ca.crt'\n"
        "for server in sys.argv[1:3]:\n"
        "    conn = pymysql.connect(host=server, user=%r, password=%r, database='app', autocommit=True,\n"
        "                           ssl={'ca': ca} if os.path.exists(ca) else None)\n"
        "    try:\n"
        "        conn.cursor().execute(\"INSERT INTO replication_test (note) VALUES ('from-app')\")\n"
        "        print(server, 'written')\n"
        "    except pymysql.err.MySQLError as err:\n"
        "        print(server, 'refused', err.args[0])\n"
    ) % (config["mysql_app_user"], config["mysql_app_password"])
    out = host(web).check_output("python3 -c %s %s %s", script, addresses[PRIMARY], addresses[REPLICA])
    assert "%s written" % addresses[PRIMARY] in out
    assert "%s refused 1290" % addresses[REPLICA] in out  # ER_OPTION_PREVENTS_STATEMENT: read-only


def test_the_application_account_changes_rows_not_tables():
    """Least privilege: the app role applied the demo's schema as the database's
    administrator; the application's own account reads and writes rows, and may
    not create or drop a table (1142), on a table that does not exist, so that
    nothing is lost if it could."""
    config = settings()
    script = (
        "import os, pymysql, sys\n"
        "ca = '/srv/app/shared/db-ca.crt'\n"
        "conn = pymysql.connect(host=sys.argv[1], user=%r, password=%r, database='app', autocommit=True,\n"
        "                       ssl={'ca': ca} if os.path.exists(ca) else None)\n"
        "for statement in ('SELECT COUNT(*) FROM records', 'CREATE TABLE alx_probe (n INT)',\n"
        "                  'DROP TABLE alx_no_such_table'):\n"
        "    try:\n"
        "        conn.cursor().execute(statement)\n"
        "        print('allowed', statement)\n"
        "    except pymysql.err.MySQLError as err:\n"
        "        print('refused', err.args[0], statement)\n"
    ) % (config["mysql_app_user"], config["mysql_app_password"])
    try:
        out = host(group("webservers")[0]).check_output("python3 -c %s %s", script, address(PRIMARY))
    finally:
        sql(PRIMARY, "DROP TABLE IF EXISTS app.alx_probe")
    assert "allowed SELECT COUNT(*) FROM records" in out, out
    assert "refused 1142 CREATE TABLE alx_probe (n INT)" in out, out
    assert "refused 1142 DROP TABLE alx_no_such_table" in out, out


def test_application_user_is_refused_from_other_hosts():
    """The monitoring host reaches the database port (the firewall lets it) but
    is not an application server: the application user, with its right
    password, may not log in from it. (In the lab it is the backup host too,
    whose mariadb client is used.)"""
    config = settings()
    monitor = host(group("monitoring")[0])
    refused = monitor.run("MYSQL_PWD=%s mariadb -h %s -u %s --ssl --skip-ssl-verify-server-cert -e 'SELECT 1'",
                          config["mysql_app_password"], address(PRIMARY), config["mysql_app_user"])
    assert refused.rc != 0
    # Error 1045 where the host has an account of another user (the backup
    # host's replication account), 1130 where it has none.
    assert ("Access denied for user '%s'@'%s'" % (config["mysql_app_user"], address(group("monitoring")[0]))
            in refused.stderr or "is not allowed to connect" in refused.stderr), refused.stderr


@pytest.mark.parametrize("check_mode", [False, True], ids=["normal", "check-mode"])
def test_module_reports_a_healthy_replica_with_a_numeric_lag(check_mode):
    result = check(check_mode=check_mode)
    assert result["healthy"] is True and result["problems"] == []
    assert isinstance(result["lag"], int) and result["lag"] >= 0
    assert result["status"]["io_thread"] == "running" and result["status"]["sql_thread"] == "running"
    assert result["status"]["read_only"] is True and result["status"]["gtid"] == "slave_pos"
    assert result["changed"] is False


@pytest.mark.parametrize("replica", REPLICAS)
def test_module_without_login_options_connects_as_the_mysql_client_does(replica):
    """`ansible REPLICA -b -m alx.webstack.mysql_replication_check`: the socket of
    the server's own configuration, as root."""
    result = managed(replica).ansible("alx.webstack.mysql_replication_check", "", become=True)
    assert result["healthy"] is True, result["problems"]
    assert result["status"]["source_host"] == address(PRIMARY)


def test_heartbeat_measures_the_delay_through_the_primary():
    config = settings()
    result = check(heartbeat=True, primary_login_user=config["mysql_monitor_user"],
                   primary_login_password=config["mysql_monitor_password"])
    assert result["healthy"], result["problems"]
    assert 0 < result["heartbeat_delay"] < 5
    assert config["mysql_monitor_password"] not in json.dumps(result)


def test_a_write_on_the_replica_itself_is_named_as_an_errant_transaction():
    config = settings()
    primary_login = {"primary_login_user": config["mysql_monitor_user"],
                     "primary_login_password": config["mysql_monitor_password"]}
    assert check(**primary_login)["errant_gtids"] == []
    # root may write in spite of read_only; the write is binlogged on the replica only.
    sql(REPLICA, "CREATE DATABASE IF NOT EXISTS alx_errant")
    try:
        own = sql(REPLICA, "SELECT @@gtid_binlog_pos")
        result = check(**primary_login)
        assert result["healthy"] is False and result["errant_gtids"] == [own]
        assert any("errant GTIDs %s" % own in p for p in result["problems"]), result["problems"]
    finally:
        # Forget the replica's own binary log, the errant transaction with it.
        sql(REPLICA, "SET sql_log_bin = 0; DROP DATABASE IF EXISTS alx_errant; RESET MASTER")
    wait_healthy()
    assert check(**primary_login)["errant_gtids"] == []


def test_community_mysql_agrees_with_the_module():
    theirs = managed(REPLICA).ansible(
        "community.mysql.mysql_replication", "mode=getreplica login_unix_socket=%s" % SOCKET, check=False, become=True)
    ours = check()["status"]
    assert theirs["Is_Replica"] is True
    assert {"Yes": "running", "No": "stopped", "Connecting": "connecting"}[theirs["Slave_IO_Running"]] == ours["io_thread"]
    assert {"Yes": "running", "No": "stopped"}[theirs["Slave_SQL_Running"]] == ours["sql_thread"]
    assert theirs["Master_Host"] == ours["source_host"] and int(theirs["Master_Port"]) == ours["source_port"]
    assert abs(int(theirs["Seconds_Behind_Master"]) - ours["seconds_behind"]) <= 1


def test_stopped_sql_thread_fails_the_check_and_names_it():
    sql(REPLICA, "STOP SLAVE SQL_THREAD")
    try:
        # Without report_only the module fails: only fail_json sets msg.
        result = managed(REPLICA).ansible("alx.webstack.mysql_replication_check",
                                          "login_unix_socket=%s" % SOCKET, check=False,
                                          become=True)
        assert result["msg"].startswith("The replica is not healthy: The SQL thread is not running")
        assert result["healthy"] is False
        assert any("SQL thread" in p for p in result["problems"])
    finally:
        sql(REPLICA, "START SLAVE SQL_THREAD")
    wait_healthy()


def test_wrong_replication_password_is_reported_with_the_server_text():
    config = settings()
    account = "'%s'@'%s'" % (config["mysql_replication_user"], address(REPLICA))
    sql(PRIMARY, "SET sql_log_bin = 0; ALTER USER %s IDENTIFIED BY 'not-the-password'" % account)
    try:
        sql(REPLICA, "STOP SLAVE; START SLAVE")
        result = wait_until(lambda: first_with(check(), "last_io_errno"), timeout=30, what="an IO error")
        assert result["healthy"] is False
        assert result["status"]["io_thread"] in ("connecting", "stopped")
        assert any(p.startswith("The IO thread reports error 1045") and "Access denied" in p
                   for p in result["problems"]), result["problems"]
    finally:
        sql(PRIMARY, "SET sql_log_bin = 0; ALTER USER %s IDENTIFIED BY '%s'"
            % (account, config["mysql_replication_password"]))
        sql(REPLICA, "STOP SLAVE; START SLAVE")
    wait_healthy()


def test_conflicting_row_breaks_the_sql_thread_and_the_error_is_reported(records):
    row_id = 900000 + int(time.time()) % 10000
    sql(REPLICA, "SET sql_log_bin = 0; INSERT INTO %s (id, note) VALUES (%d, 'replica-only')" % (records, row_id))
    try:
        sql(PRIMARY, "INSERT INTO %s (id, note) VALUES (%d, 'primary')" % (records, row_id))
        result = wait_until(lambda: first_with(check(), "last_sql_errno"), timeout=30, what="an SQL error")
        assert result["status"]["sql_thread"] == "stopped"
        assert any(p.startswith("The SQL thread reports error 1062") and "Duplicate entry" in p
                   for p in result["problems"]), result["problems"]
    finally:
        sql(REPLICA, "SET sql_log_bin = 0; DELETE FROM %s WHERE id = %d" % (records, row_id))
        sql(REPLICA, "START SLAVE")
    wait_healthy()
    # Healthy again, the replica applies the primary's row it had refused.
    wait_until(lambda: sql(REPLICA, "SELECT note FROM %s WHERE id = %d" % (records, row_id)) == "primary",
               timeout=30, what="the primary's row on the replica")


def test_restarted_replica_catches_up(records):
    marker = "while-restarting-%d" % time.time_ns()
    faults.restart(REPLICA)
    for n in range(20):
        sql(PRIMARY, "INSERT INTO %s (note) VALUES ('%s-%d')" % (records, marker, n))
    wait_until(lambda: host(REPLICA).run("systemctl is-active mariadb").stdout.strip() == "active",
               timeout=120, what="mariadb running again on the replica")
    result = check(wait_timeout=120)
    assert result["healthy"], result["problems"]
    assert sql(REPLICA, "SELECT COUNT(*) FROM %s WHERE note LIKE '%s-%%'" % (records, marker)) == "20"


def checksums(name: str, schema: str = "app") -> dict:
    tables = sql(name, "SELECT CONCAT(table_schema, '.', table_name) FROM information_schema.tables "
                       "WHERE table_schema = '%s' ORDER BY 1" % schema).split()
    assert tables, "no tables in %s" % schema
    return {t: sql(name, "CHECKSUM TABLE %s EXTENDED" % t).split()[-1] for t in tables}


def test_burst_of_concurrent_writes_is_applied_in_parallel_and_matches():
    # Eight connections writing at once: the replica applies them with its
    # parallel threads and ends with the same data.
    threads = int(settings().get("mysql_parallel_apply_threads", 4))
    assert int(sql(REPLICA, "SELECT @@slave_parallel_threads")) == threads
    try:
        host(PRIMARY).check_output(
            "mariadb-slap --concurrency=8 --number-of-queries=16000 --iterations=1 --auto-generate-sql "
            "--auto-generate-sql-load-type=write --create-schema=alx_burst --no-drop")
        wait_until(lambda: sql(REPLICA, "SELECT @@gtid_slave_pos") == sql(PRIMARY, "SELECT @@gtid_binlog_pos"),
                   timeout=180, what="replica at the primary's GTID position")
        assert checksums(REPLICA, "alx_burst") == checksums(PRIMARY, "alx_burst")
        assert wait_healthy()["lag"] == 0
    finally:
        sql(PRIMARY, "DROP DATABASE IF EXISTS alx_burst")


@pytest.mark.drill
def test_wiped_replica_is_seeded_again_and_matches_the_primary(records):
    """Seeded while the primary takes writes: those after the dump reach the
    replica by replication, and it matches the primary."""
    for n in range(50):
        sql(PRIMARY, "INSERT INTO %s (note) VALUES ('before-wipe-%d')" % (records, n))
    host(REPLICA).check_output("systemctl stop mariadb && rm -rf /var/lib/mysql/* && test -z \"$(ls -A /var/lib/mysql)\"")
    stop = threading.Event()

    def write():
        while not stop.wait(0.2):
            sql(PRIMARY, "INSERT INTO %s (note) VALUES ('during-seed')" % records)
    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    try:
        done = site("--tags", "database")
    finally:
        stop.set()
        writer.join()
    assert recap(done.stdout)[REPLICA] > 0
    assert int(sql(PRIMARY, "SELECT COUNT(*) FROM %s WHERE note = 'during-seed'" % records)) > 10
    wait_healthy()
    position = sql(PRIMARY, "SELECT @@gtid_binlog_pos")
    assert sql(REPLICA, "SELECT MASTER_GTID_WAIT('%s', 30)" % position) == "0"
    assert checksums(REPLICA) == checksums(PRIMARY)
    # Users came with the seed: the replica can serve the application.
    assert sql(REPLICA, "SELECT COUNT(*) FROM mysql.user WHERE User = '%s'" % settings()["mysql_app_user"]) != "0"


@pytest.mark.drill
def test_second_run_changes_nothing_and_keeps_replication_running():
    before = io_thread_id()
    uptime_before = int(sql(REPLICA, "SHOW GLOBAL STATUS LIKE 'Uptime'").split()[1])
    done = site("--tags", "database")
    changed = recap(done.stdout)
    assert all(changed[name] == 0 for name in [PRIMARY, *REPLICAS]), changed
    assert io_thread_id() == before, "the replication IO thread was restarted"
    assert int(sql(REPLICA, "SHOW GLOBAL STATUS LIKE 'Uptime'").split()[1]) >= uptime_before


def test_a_primary_told_its_server_is_set_up_stops_where_this_run_has_not(tmp_path):
    """mysql_primary_server_setup false, as playbooks/database.yml passes it,
    in a play of its own: the server was not set up earlier in this run."""
    play = tmp_path / "primary-alone.yml"
    play.write_text(json.dumps([{"name": "The primary's steps alone", "hosts": PRIMARY, "become": True,
                                 "roles": [{"role": "alx.webstack.mysql_primary", "mysql_primary_server_setup": False}]}]))
    done = playbook(LAB.inventory, str(play), succeed=False)
    assert done.returncode != 0
    assert "alx.webstack.mysql has not set up %s earlier in this run" % PRIMARY in said(done)
    assert recap(done.stdout)[PRIMARY] == 0
