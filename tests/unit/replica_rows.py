# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Replica status rows as each server returns them, and a cursor that serves them.

The column sets are the servers' own, in their order: MariaDB 10.11 and 11.8
as read from the lab's Debian 12 and 13 servers, MySQL 8.0 before and after
8.0.22 and MySQL 8.4 as their documentation lists them.
"""

from __future__ import annotations

from unittest.mock import MagicMock

MARIADB_10_11 = (
    "Slave_IO_State Master_Host Master_User Master_Port Connect_Retry Master_Log_File "
    "Read_Master_Log_Pos Relay_Log_File Relay_Log_Pos Relay_Master_Log_File Slave_IO_Running "
    "Slave_SQL_Running Replicate_Do_DB Replicate_Ignore_DB Replicate_Do_Table "
    "Replicate_Ignore_Table Replicate_Wild_Do_Table Replicate_Wild_Ignore_Table Last_Errno "
    "Last_Error Skip_Counter Exec_Master_Log_Pos Relay_Log_Space Until_Condition Until_Log_File "
    "Until_Log_Pos Master_SSL_Allowed Master_SSL_CA_File Master_SSL_CA_Path Master_SSL_Cert "
    "Master_SSL_Cipher Master_SSL_Key Seconds_Behind_Master Master_SSL_Verify_Server_Cert "
    "Last_IO_Errno Last_IO_Error Last_SQL_Errno Last_SQL_Error Replicate_Ignore_Server_Ids "
    "Master_Server_Id Master_SSL_Crl Master_SSL_Crlpath Using_Gtid Gtid_IO_Pos "
    "Replicate_Do_Domain_Ids Replicate_Ignore_Domain_Ids Parallel_Mode SQL_Delay "
    "SQL_Remaining_Delay Slave_SQL_Running_State Slave_DDL_Groups Slave_Non_Transactional_Groups "
    "Slave_Transactional_Groups Replicate_Rewrite_DB"
).split()

# SHOW ALL SLAVES STATUS (what the module sends to MariaDB) puts two columns
# before those and adds more after them.
MARIADB_10_11 = ["Connection_name", "Slave_SQL_State"] + MARIADB_10_11 + (
    "Retried_transactions Max_relay_log_size Executed_log_entries Slave_received_heartbeats "
    "Slave_heartbeat_period Gtid_Slave_Pos"
).split()

# MariaDB 11.8 (Debian 13) returns the same columns in the same order.
MARIADB_11_8 = list(MARIADB_10_11)

MYSQL_8_0_21 = (
    "Slave_IO_State Master_Host Master_User Master_Port Connect_Retry Master_Log_File "
    "Read_Master_Log_Pos Relay_Log_File Relay_Log_Pos Relay_Master_Log_File Slave_IO_Running "
    "Slave_SQL_Running Replicate_Do_DB Replicate_Ignore_DB Replicate_Do_Table Replicate_Ignore_Table "
    "Replicate_Wild_Do_Table Replicate_Wild_Ignore_Table Last_Errno Last_Error Skip_Counter "
    "Exec_Master_Log_Pos Relay_Log_Space Until_Condition Until_Log_File Until_Log_Pos Master_SSL_Allowed "
    "Master_SSL_CA_File Master_SSL_CA_Path Master_SSL_Cert Master_SSL_Cipher Master_SSL_Key "
    "Seconds_Behind_Master Master_SSL_Verify_Server_Cert Last_IO_Errno Last_IO_Error Last_SQL_Errno "
    "Last_SQL_Error Replicate_Ignore_Server_Ids Master_Server_Id Master_UUID Master_Info_File SQL_Delay "
    "SQL_Remaining_Delay Slave_SQL_Running_State Master_Retry_Count Master_Bind Last_IO_Error_Timestamp "
    "Last_SQL_Error_Timestamp Master_SSL_Crl Master_SSL_Crlpath Retrieved_Gtid_Set Executed_Gtid_Set "
    "Auto_Position Replicate_Rewrite_DB Channel_Name Master_TLS_Version Master_public_key_path "
    "Get_master_public_key Network_Namespace"
).split()

MYSQL_REPLICA = (
    "Replica_IO_State Source_Host Source_User Source_Port Connect_Retry Source_Log_File "
    "Read_Source_Log_Pos Relay_Log_File Relay_Log_Pos Relay_Source_Log_File Replica_IO_Running "
    "Replica_SQL_Running Replicate_Do_DB Replicate_Ignore_DB Replicate_Do_Table Replicate_Ignore_Table "
    "Replicate_Wild_Do_Table Replicate_Wild_Ignore_Table Last_Errno Last_Error Skip_Counter "
    "Exec_Source_Log_Pos Relay_Log_Space Until_Condition Until_Log_File Until_Log_Pos Source_SSL_Allowed "
    "Source_SSL_CA_File Source_SSL_CA_Path Source_SSL_Cert Source_SSL_Cipher Source_SSL_Key "
    "Seconds_Behind_Source Source_SSL_Verify_Server_Cert Last_IO_Errno Last_IO_Error Last_SQL_Errno "
    "Last_SQL_Error Replicate_Ignore_Server_Ids Source_Server_Id Source_UUID Source_Info_File SQL_Delay "
    "SQL_Remaining_Delay Replica_SQL_Running_State Source_Retry_Count Source_Bind Last_IO_Error_Timestamp "
    "Last_SQL_Error_Timestamp Source_SSL_Crl Source_SSL_Crlpath Retrieved_Gtid_Set Executed_Gtid_Set "
    "Auto_Position Replicate_Rewrite_DB Channel_Name Source_TLS_Version Source_public_key_path "
    "Get_Source_public_key Network_Namespace"
).split()

# Server versions and their column sets.
SERVERS = {
    "mariadb-10.11": ("10.11.18-MariaDB-0+deb12u1-log", MARIADB_10_11),
    "mariadb-11.8": ("11.8.9-MariaDB-0+deb13u1 from Debian-log", MARIADB_11_8),
    "mysql-8.0.21": ("8.0.21", MYSQL_8_0_21),
    "mysql-8.0.36": ("8.0.36-0ubuntu0.22.04.1", MYSQL_REPLICA),
    "mysql-8.4": ("8.4.3", MYSQL_REPLICA),
}

# Healthy values by meaning; each flavour's row takes them under its own names.
HEALTHY = {
    "io_running": "Yes",
    "sql_running": "Yes",
    "io_state": "Waiting for master to send event",
    "host": "192.0.2.31",
    "user": "replication",
    "port": 3306,
    "seconds_behind": 0,
    "last_io_errno": 0,
    "last_io_error": "",
    "last_sql_errno": 0,
    "last_sql_error": "",
}


def status_row(server: str, **changes) -> dict:
    """A replica status row of ``server`` (a key of SERVERS), healthy unless changed."""
    version, columns = SERVERS[server]
    values = dict(HEALTHY, **changes)
    row = dict.fromkeys(columns, "")
    prefix_io = "Replica" if "Replica_IO_Running" in columns else "Slave"
    prefix_src = "Source" if "Source_Host" in columns else "Master"
    row.update({
        "%s_IO_Running" % prefix_io: values["io_running"],
        "%s_SQL_Running" % prefix_io: values["sql_running"],
        "%s_IO_State" % prefix_io: values["io_state"],
        "%s_Host" % prefix_src: values["host"],
        "%s_User" % prefix_src: values["user"],
        "%s_Port" % prefix_src: values["port"],
        "Seconds_Behind_%s" % prefix_src: values["seconds_behind"],
        "Last_IO_Errno": values["last_io_errno"],
        "Last_IO_Error": values["last_io_error"],
        "Last_SQL_Errno": values["last_sql_errno"],
        "Last_SQL_Error": values["last_sql_error"],
        "SQL_Delay": 0,
    })
    if "Connection_name" in columns:
        row["Connection_name"] = changes.get("connection_name", "")
    elif "Channel_Name" in columns:
        row["Channel_Name"] = changes.get("connection_name", "")
    if "Using_Gtid" in columns:
        row["Using_Gtid"] = changes.get("using_gtid", "Slave_Pos")
        row["Gtid_IO_Pos"] = "0-1-42"
    else:
        row["Auto_Position"] = changes.get("auto_position", 1)
        row["Retrieved_Gtid_Set"] = "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-42"
        row["Executed_Gtid_Set"] = "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-42"
    return row


def server_cursor(server: str, row: dict | list | None, read_only: int = 1, gtid_mode: str = "ON",
                  super_read_only: int = 1, binlog_pos: str = "0-1-42", errant: str = "",
                  slave_pos: str = "") -> MagicMock:
    """A DictCursor stand-in answering the statements the module sends.

    Every statement is recorded in ``cursor.statements``; a statement the
    server would reject (SLAVE keywords on MySQL 8.4) raises, as it would.
    """
    version = SERVERS[server][0]
    cursor = MagicMock(name="cursor")
    cursor.statements = []
    answers = {}

    def execute(sql, args=None):
        cursor.statements.append(sql)
        upper = sql.upper()
        if server == "mysql-8.4" and "SLAVE" in upper:
            raise AssertionError("MySQL 8.4 has no SLAVE statements: %s" % sql)
        if upper.startswith("SELECT VERSION()"):
            answers["next"] = {"version": version}
        elif upper.startswith(("SHOW SLAVE STATUS", "SHOW REPLICA STATUS", "SHOW ALL SLAVES STATUS")):
            if server.startswith("mariadb") and not upper.startswith("SHOW ALL SLAVES STATUS"):
                raise AssertionError("MariaDB shows every connection only with SHOW ALL SLAVES STATUS: %s" % sql)
            answers["rows"] = row if isinstance(row, list) else [row] if row else []
        elif "@@GLOBAL.GTID_BINLOG_STATE" in upper:
            answers["next"] = {"state": binlog_pos, "slave_pos": slave_pos}
        elif "@@GLOBAL.GTID_BINLOG_POS" in upper:
            answers["next"] = {"pos": binlog_pos}
        elif "GTID_SUBTRACT" in upper:
            answers["next"] = {"errant": errant}
        elif "@@GLOBAL.GTID_EXECUTED AS GTIDS" in upper:
            answers["next"] = {"gtids": "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-42"}
        elif "@@GLOBAL.READ_ONLY" in upper:
            variables = {"read_only": read_only}
            if "@@GLOBAL.GTID_SLAVE_POS" in upper:
                variables["gtid_slave_pos"] = "0-1-42"
            if "@@GLOBAL.GTID_MODE" in upper:
                variables["gtid_mode"] = gtid_mode
            if "@@GLOBAL.SUPER_READ_ONLY" in upper:
                variables["super_read_only"] = super_read_only
            answers["next"] = variables
        else:
            raise AssertionError("unexpected statement: %s" % sql)
        return 1

    cursor.execute.side_effect = execute
    cursor.fetchone.side_effect = lambda: answers.pop("next", None)
    cursor.fetchall.side_effect = lambda: answers.pop("rows", [])
    return cursor
