#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: alx.webstack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: mysql_replication_check
short_description: Check that a MariaDB or MySQL replica is healthy
version_added: 0.1.0
description:
  - Reads the replica status of a MariaDB or MySQL server by column name and
    normalises MariaDB (C(Slave_*), C(Master_*)) and MySQL 8.0.22 and newer
    (C(Replica_*), C(Source_*)) into one shape. On MySQL 8.0.22 and newer only
    C(SHOW REPLICA STATUS) is sent.
  - The replica is healthy when the IO and SQL threads run, neither reports an
    error, the lag is known and at most O(max_lag) (a lag of 0 is 0, not
    missing), GTID replication is in use (O(require_gtid)) and C(read_only) is
    on, with C(super_read_only) on MySQL (O(require_read_only)).
  - A replica of several sources (MariaDB named connections, MySQL channels)
    is healthy when every source is; O(connection_name) checks one of them.
    Each source is reported in RV(connections).
  - Optionally waits up to O(wait_timeout) seconds for the replica to become
    healthy, and measures the real end-to-end delay with a heartbeat written on
    the primary (O(heartbeat)).
  - Fails with the problems in plain words unless O(report_only=true).
  - Only reads, except for the heartbeat row that O(heartbeat=true) writes on the
    primary (never in check mode).
author:
  - alx.webstack maintainers (@alx-webstack)
extends_documentation_fragment:
  - alx.webstack.login
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: In check mode the heartbeat is not written; everything else runs.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  max_lag:
    description:
      - Largest acceptable lag in seconds, for the reported lag and for the
        heartbeat delay.
    type: int
    default: 30
  require_gtid:
    description:
      - Whether replication must use GTIDs (MariaDB C(Using_Gtid) other than
        C(No); MySQL C(gtid_mode=ON) with auto-positioning).
    type: bool
    default: true
  require_read_only:
    description:
      - Whether C(read_only) must be on, so that clients cannot write to the replica,
        and on MySQL C(super_read_only) too, so that administrators cannot either.
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait for the replica to become healthy, checking once a
        second. C(0) checks once.
      - While waiting, a connection that cannot be made or that drops (a server
        restarting) is tried again until the time is up.
    type: int
    default: 0
  connection_name:
    description:
      - Check only this source of a multi-source replica, a MariaDB named
        connection or a MySQL channel. The default connection (channel) is
        named by the empty string.
      - By default every source is checked.
    type: str
  report_only:
    description:
      - Return the result without failing when the replica is unhealthy.
    type: bool
    default: false
  heartbeat:
    description:
      - Write a row into O(heartbeat_table) on the primary and wait until the
        replica has applied that transaction, to measure the delay a client
        sees between a write on the primary and a read on the replica.
      - Needs O(primary_login_user) (or socket access) with C(INSERT) and
        C(DELETE) on that table.
    type: bool
    default: false
  errant_check:
    description:
      - With access to the primary (O(heartbeat), or O(primary_login_user) or
        O(primary_login_unix_socket) set), report transactions the replica has
        and the primary lacks (errant GTIDs) as a problem, naming them.
      - On a server that is not a replica (an old primary about to re-join, say)
        this needs O(primary_login_host) or O(primary_login_unix_socket).
      - MariaDB compares C(gtid_binlog_state), the last GTID of every server in
        every domain, with the primary's (and its C(gtid_slave_pos)); MySQL uses
        C(GTID_SUBTRACT) of C(gtid_executed).
    type: bool
    default: true
  heartbeat_table:
    description:
      - The heartbeat table as C(DATABASE.TABLE), with columns C(id) (primary
        key) and C(ts) (C(DATETIME(6))). The mysql_primary role creates it.
    type: str
    default: alx_heartbeat.heartbeat
  heartbeat_timeout:
    description:
      - Seconds to wait for the heartbeat to reach the replica.
    type: int
    default: 10
  primary_login_host:
    description:
      - Host of the primary for the heartbeat and the errant check. Defaults to
        the source the replica replicates from (with several sources, the
        first one checked).
    type: str
  primary_login_port:
    description:
      - Port of the primary for the heartbeat. Defaults to the replica's source port.
    type: int
  primary_login_user:
    description:
      - User for the heartbeat connection to the primary.
    type: str
  primary_login_password:
    description:
      - Password of O(primary_login_user).
    type: str
  primary_login_unix_socket:
    description:
      - Socket of the primary, when it runs on the same host.
    type: str
  primary_ca_cert:
    description:
      - CA certificate that signed the primary's TLS certificate; setting it
        turns TLS on for the heartbeat connection. O(ca_cert) and
        O(config_file) are for the replica's own connection only and are never
        used for the primary.
    type: path
  primary_client_cert:
    description:
      - Client certificate for the primary.
    type: path
  primary_client_key:
    description:
      - Private key of O(primary_client_cert).
    type: path
  primary_check_hostname:
    description:
      - Whether the primary's certificate must match its host name.
    type: bool
notes:
  - The user needs C(REPLICATION CLIENT) (MySQL, MariaDB before 10.5),
    C(REPLICA MONITOR) (MariaDB 10.5.9 and newer), or C(SUPER).
seealso:
  - module: community.mysql.mysql_replication
"""

EXAMPLES = r"""
- name: Check the local replica as the mysql client would connect (its socket, ~/.my.cnf)
  alx.webstack.mysql_replication_check:

- name: Wait up to two minutes for a new replica to catch up
  alx.webstack.mysql_replication_check:
    login_unix_socket: /run/mysqld/mysqld.sock
    max_lag: 5
    wait_timeout: 120

- name: Measure the end-to-end delay through the primary
  alx.webstack.mysql_replication_check:
    login_unix_socket: /run/mysqld/mysqld.sock
    heartbeat: true
    primary_login_host: 192.0.2.31
    primary_login_user: monitor
    primary_login_password: "{{ vault_mysql_monitor_password }}"
  register: replication

- name: Report without failing, over TLS
  alx.webstack.mysql_replication_check:
    login_host: 192.0.2.32
    login_user: monitor
    login_password: "{{ vault_mysql_monitor_password }}"
    ca_cert: /etc/ssl/certs/db-ca.pem
    report_only: true
  register: replication
"""

RETURN = r"""
healthy:
  description: Whether the replica met every health rule.
  returned: always
  type: bool
  sample: true
problems:
  description: What is wrong, in plain sentences; empty when healthy.
  returned: always
  type: list
  elements: str
  sample: ["The SQL thread is not running (Slave_SQL_Running: No), so received changes are not applied."]
lag:
  description: Seconds the replica is behind as the server reports it (the
    largest of its sources), C(null) when unknown.
  returned: always
  type: int
  sample: 0
heartbeat_delay:
  description: Seconds from the heartbeat write on the primary until the replica
    had applied it; C(null) when not measured or when it did not arrive in time.
  returned: always
  type: float
  sample: 0.0123
read_only:
  description: Whether the server has C(read_only) on, replica or not (a server
    that follows no one and is writable runs as a primary).
  returned: always
  type: bool
  sample: true
binlog_gtids:
  description: The GTIDs in the server's binary log, replica or not (MariaDB
    C(gtid_binlog_pos), MySQL C(gtid_executed)); empty when it has written
    none, as on a freshly installed server.
  returned: always
  type: str
  sample: "0-2887667743-42"
errant_gtids:
  description: Transactions on the replica that the primary lacks; empty when
    there are none, C(null) when the primary was not asked (see O(errant_check)).
  returned: always
  type: list
  elements: str
  sample: ["0-2887667744-41"]
connections:
  description: The normalised status of each source checked, in the shape of
    RV(status); empty when the server is not a replica.
  returned: always
  type: list
  elements: dict
  sample: [{"connection_name": "", "io_thread": "running", "sql_thread": "running"}]
waited:
  description: Seconds spent waiting for health.
  returned: always
  type: float
  sample: 0.0
status:
  description: The normalised replica status of the (first) source checked;
    empty when the server is not a replica.
  returned: always
  type: dict
  contains:
    connection_name:
      description: The MariaDB connection name or MySQL channel; empty for the default one.
      type: str
    flavor:
      description: C(mariadb) or C(mysql).
      type: str
    server_version:
      description: The server's C(VERSION()).
      type: str
    io_thread:
      description: C(running), C(connecting) or C(stopped).
      type: str
    sql_thread:
      description: C(running) or C(stopped).
      type: str
    seconds_behind:
      description: The reported lag in seconds, or C(null).
      type: int
    sql_delay:
      description: Delay the replica applies on purpose (C(MASTER_DELAY)), in seconds; 0 for none.
      type: int
    io_state:
      description: What the IO thread is doing, as the server says it (C(Slave_IO_State)).
      type: str
    sql_state:
      description: What the SQL thread is doing, as the server says it (C(Slave_SQL_Running_State)).
      type: str
    source_host:
      description: The source the replica follows.
      type: str
    source_port:
      description: Port of the source.
      type: int
    source_user:
      description: Replication user.
      type: str
    tls:
      description: Whether the replica connects to its source over TLS (C(Master_SSL_Allowed)).
      type: bool
      version_added: 0.1.0
    tls_verify:
      description: Whether it checks the source's certificate and name (C(Master_SSL_Verify_Server_Cert)).
      type: bool
      version_added: 0.1.0
    last_io_errno:
      description: Last IO thread error number, 0 for none.
      type: int
    last_io_error:
      description: Last IO thread error text.
      type: str
    last_sql_errno:
      description: Last SQL thread error number, 0 for none.
      type: int
    last_sql_error:
      description: Last SQL thread error text.
      type: str
    gtid:
      description: C(slave_pos) or C(current_pos) (MariaDB), C(auto_position) (MySQL), or C(no).
      type: str
    gtid_io_pos:
      description: GTIDs received (MariaDB C(Gtid_IO_Pos), MySQL C(Retrieved_Gtid_Set)).
      type: str
    gtid_executed:
      description: GTIDs applied (MariaDB C(Gtid_Slave_Pos), MySQL C(Executed_Gtid_Set)).
      type: str
    read_only:
      description: Whether C(read_only) is on.
      type: bool
    super_read_only:
      description: Whether C(super_read_only) is on (MySQL); C(null) on MariaDB, which has no such variable.
      type: bool
  sample:
    flavor: mariadb
    io_thread: running
    sql_thread: running
    seconds_behind: 0
    gtid: slave_pos
    read_only: true
"""

import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.alx.webstack.plugins.module_utils import connection, replication

# Seconds between attempts while a connection cannot be made or has dropped.
RETRY_INTERVAL = 1.0


def argument_spec():
    spec = dict(
        max_lag=dict(type="int", default=30),
        require_gtid=dict(type="bool", default=True),
        require_read_only=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=0),
        report_only=dict(type="bool", default=False),
        heartbeat=dict(type="bool", default=False),
        heartbeat_table=dict(type="str", default="alx_heartbeat.heartbeat"),
        heartbeat_timeout=dict(type="int", default=10),
        errant_check=dict(type="bool", default=True),
        connection_name=dict(type="str"),
    )
    spec.update(connection.login_argument_spec("login"))
    primary = connection.login_argument_spec("primary_login")
    primary["primary_login_port"].pop("default")
    spec.update(primary)
    spec.update(connection.TLS_ARGUMENT_SPEC)
    spec.update(connection.tls_argument_spec("primary"))
    return spec


def check_arguments(module):
    params = module.params
    for name in ("max_lag", "wait_timeout", "heartbeat_timeout"):
        if params[name] < 0:
            module.fail_json(msg="%s must be 0 or more, got %d." % (name, params[name]))
    if params["heartbeat"]:
        try:
            replication.quote_table(params["heartbeat_table"])
        except ValueError as err:
            module.fail_json(msg=str(err))


def primary_wanted(module, status):
    """Whether to connect to the primary: for the heartbeat, or for the errant
    check when the primary's login is given (and, on a server that is not a
    replica, where the primary is)."""
    params = module.params
    if status is None:
        where = params["primary_login_host"] or params["primary_login_unix_socket"]
        return bool(params["errant_check"] and where)
    heartbeat = params["heartbeat"] and not module.check_mode
    login = params["primary_login_user"] or params["primary_login_unix_socket"]
    return heartbeat or (params["errant_check"] and (params["heartbeat"] or login))


def check_with_primary(module, replica_cursor, status, healthy):
    """Over one connection to the primary: transactions the replica has and the
    primary lacks (errant_check), then, while the replica is otherwise
    healthy, the heartbeat. Returns (errant GTIDs or None, delay or None, problems)."""
    params = dict(module.params)
    status = status or {}
    params["primary_login_host"] = params["primary_login_host"] or status.get("source_host")
    params["primary_login_port"] = params["primary_login_port"] or status.get("source_port") or 3306
    try:
        primary = connection.connect(params, "primary_login")
    except connection.ConnectionFailure as err:
        return None, None, ["The primary could not be reached: %s" % err]
    errant, delay, found = None, None, []
    try:
        cursor = primary.cursor()
        primary_server = replication.server_info(cursor)
        if params["errant_check"]:
            errant = replication.errant_gtids(cursor, replica_cursor, primary_server)
            if errant:
                found.append("The server has transactions the primary lacks (errant GTIDs %s): they were written"
                             " on it directly, and a promotion or re-join must deal with them first."
                             % ", ".join(errant))
        heartbeat = params["heartbeat"] and not module.check_mode and status
        if heartbeat and healthy and not found:
            delay, gtid = replication.heartbeat(
                cursor, replica_cursor, primary_server, params["heartbeat_table"], params["heartbeat_timeout"])
            if delay is None:
                found.append("The heartbeat (GTID %s) did not reach the replica within %d s." % (
                    gtid, params["heartbeat_timeout"]))
            elif delay > params["max_lag"]:
                found.append("The heartbeat took %.3f s to reach the replica, above the limit of %d s." % (
                    delay, params["max_lag"]))
    except Exception as err:  # the driver's errors carry the server's text
        found.append("Checking through the primary failed: %s" % err)
    finally:
        primary.close()
    return errant, delay, found


def read_healthy(module, params, deadline, result):
    """Connect and wait for health until ``deadline``; (statuses, problems).

    A connection that cannot be made or that drops while waiting (a server
    restarting, say) is tried again until the deadline; after it, the module
    fails saying why."""
    while True:
        try:
            conn = connection.connect(params, "login")
        except connection.ConnectionFailure as err:
            if time.monotonic() >= deadline:
                module.fail_json(msg=str(err), **result)
            time.sleep(RETRY_INTERVAL)
            continue
        try:
            cursor = conn.cursor()
            server = replication.server_info(cursor)
            statuses, found = replication.wait_healthy(
                cursor, server, params["max_lag"], max(0.0, deadline - time.monotonic()),
                params["require_gtid"], params["require_read_only"], params["connection_name"],
            )
            status = statuses[0] if statuses else None
            result["read_only"] = status["read_only"] if status else replication.read_only(cursor)
            result["binlog_gtids"] = replication.binlog_gtids(cursor, server)
            if primary_wanted(module, status):
                result["errant_gtids"], result["heartbeat_delay"], more = check_with_primary(
                    module, cursor, status, healthy=not found)
                found += more
            return statuses, found
        except connection.pymysql.err.MySQLError as err:
            # A dropped connection (OperationalError) is tried again while there is time.
            if not isinstance(err, connection.pymysql.err.OperationalError) or time.monotonic() >= deadline:
                module.fail_json(msg="Reading the replica status at %s failed: %s"
                                 % (connection.describe(params), err), **result)
        finally:
            conn.close()
        time.sleep(RETRY_INTERVAL)


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    check_arguments(module)
    if not connection.HAS_PYMYSQL:
        module.fail_json(msg=connection.missing_pymysql())
    params = module.params
    result = dict(changed=False, healthy=False, problems=[], status={}, connections=[], lag=None,
                  heartbeat_delay=None, errant_gtids=None, read_only=None, binlog_gtids=None, waited=0.0)

    started = time.monotonic()
    statuses, found = read_healthy(module, params, started + params["wait_timeout"], result)
    status = statuses[0] if statuses else {}
    lags = [one["seconds_behind"] for one in statuses]
    result.update(
        healthy=not found,
        problems=found,
        status=status,
        connections=statuses,
        # The largest lag of the sources; unknown when any is unknown.
        lag=None if not lags or None in lags else max(lags),
        waited=round(time.monotonic() - started, 3),
    )
    if found and not params["report_only"]:
        module.fail_json(msg="The replica is not healthy: " + " ".join(found), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
