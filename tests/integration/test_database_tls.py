# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Database traffic over TLS (mysql_tls): the stack's CA signs each server's
certificate; replication and the application use TLS and check the server's
certificate; the replication and application accounts refuse plain text; the
check module's TLS options work against it, and fail against another CA."""

from __future__ import annotations

import json
import shlex
import time

import pytest
from conftest import address, group, host, managed, site, variables
from labkit.commands import recap

PRIMARY = group("mysql_primary")[0]
REPLICAS = group("mysql_replica")
WEB = group("webservers")
CONFIG = variables(PRIMARY)
CA = "/etc/mysql/tls/ca.crt"

# On by default (the lab keeps the default).
pytestmark = pytest.mark.skipif(not CONFIG.get("mysql_tls", True), reason="mysql_tls is off in this inventory")

# Run on a database host: log in to the primary as the replication user with
# and without TLS; prints what happened to each.
_LOGIN = r"""
import json, sys, pymysql
host, user, password, ca = sys.argv[1:5]
found = {}
for name, tls in (("plain", None), ("tls", {"ca": ca})):
    try:
        conn = pymysql.connect(host=host, user=user, password=password, ssl=tls, ssl_verify_identity=bool(tls),
                               connect_timeout=5)
        with conn.cursor() as cur:
            cur.execute("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
            found[name] = {"ok": True, "cipher": cur.fetchone()[1]}
    except pymysql.err.MySQLError as err:
        found[name] = {"ok": False, "error": err.args[0]}
print(json.dumps(found))
"""


@pytest.mark.parametrize("replica", REPLICAS)
def test_replication_runs_over_tls_and_checks_the_primarys_certificate(replica):
    status = host(replica).check_output("mariadb -e 'SHOW SLAVE STATUS\\G'")
    fields = {name.strip(): value.strip() for name, _colon, value in
              (line.partition(":") for line in status.splitlines() if ":" in line)}
    assert fields["Master_SSL_Allowed"] == "Yes" and fields["Master_SSL_Verify_Server_Cert"] == "Yes"
    assert fields["Master_SSL_CA_File"] == CA
    assert fields["Slave_IO_Running"] == "Yes" and fields["Master_Host"] == address(PRIMARY)


@pytest.mark.parametrize("replica", REPLICAS)
def test_the_replication_user_is_refused_in_plain_text(replica):
    out = host(replica).check_output("python3 -c %s %s %s %s %s" % (
        shlex.quote(_LOGIN), address(PRIMARY), shlex.quote(CONFIG["mysql_replication_user"]),
        shlex.quote(CONFIG["mysql_replication_password"]), CA))
    found = json.loads(out)
    assert found["plain"]["ok"] is False and found["plain"]["error"] in (1045, 3159, 4151), found
    assert found["tls"]["ok"] is True and found["tls"]["cipher"], found


@pytest.mark.parametrize("web", WEB)
def test_the_application_reaches_every_database_over_tls(web):
    health = json.loads(host(web).check_output("curl -sS -m 10 http://127.0.0.1/healthz/databases"))
    for server in [health["primary"]] + health["replicas"]:
        assert server["ok"] and server["tls_cipher"], server


def check_on(replica: str, **tls) -> dict:
    options = {"login_unix_socket": "/run/mysqld/mysqld.sock", "report_only": True,
               "primary_login_user": CONFIG["mysql_monitor_user"],
               "primary_login_password": CONFIG["mysql_monitor_password"], **tls}
    text = " ".join("%s=%s" % (k, shlex.quote(str(v))) for k, v in options.items())
    return managed(replica).ansible("alx.webstack.mysql_replication_check", text, check=False, become=True)


def test_the_check_module_talks_tls_to_the_primary_and_reports_it():
    result = check_on(REPLICAS[0], primary_ca_cert=CA, primary_check_hostname=True)
    assert result["errant_gtids"] == [] and result["status"]["tls"] and result["status"]["tls_verify"]


def test_the_check_module_refuses_a_primary_whose_certificate_another_ca_signed():
    # The system's public CAs did not sign the primary's certificate.
    result = check_on(REPLICAS[0], primary_ca_cert="/etc/ssl/certs/ca-certificates.crt", primary_check_hostname=True)
    assert result["errant_gtids"] is None, result
    assert any("certificate" in problem.lower() for problem in result["problems"]), result["problems"]


@pytest.mark.parametrize("server", [PRIMARY] + REPLICAS)
def test_the_servers_key_is_for_mariadb_only(server):
    key = host(server).file("/etc/mysql/tls/server.key")
    assert (key.mode, key.user, key.group) == (0o640, "root", "mysql")


@pytest.mark.parametrize("db", [PRIMARY] + REPLICAS)
def test_the_server_listens_on_its_service_address_only(db):
    listening = host(db).check_output("ss -Hltn 'sport = :3306'").split("\n")
    assert [line.split()[3] for line in listening if line.strip()] == ["%s:3306" % address(db)], listening


def certificate_state(server: str) -> tuple[str, str, str, int]:
    """The serial and start of the server's certificate file, the start of the
    certificate the server has loaded, and the server's uptime."""
    serial, start = host(server).check_output(
        "openssl x509 -in /etc/mysql/tls/server.crt -noout -serial -startdate").split("\n")
    loaded, uptime = host(server).check_output(
        "mariadb -N -e \"SHOW GLOBAL STATUS WHERE Variable_name IN ('Ssl_server_not_before', 'Uptime')\""
        " | sort | cut -f2").split("\n")
    return serial.split("=", 1)[1], start.split("=", 1)[1], loaded, int(uptime)


@pytest.mark.drill
def test_a_certificate_due_for_renewal_is_signed_anew_and_served_without_a_restart():
    """With the renewal window longer than a certificate lives, every server's
    certificate is due: the run signs each anew and the servers load it
    without a restart, replication going on over TLS. (The run that changes
    nothing, in every scenario, shows a certificate that is not due is
    kept.)"""
    servers = [PRIMARY] + REPLICAS
    before = {name: certificate_state(name) for name in servers}
    # Signed at least a second later, so that the new certificate starts later.
    time.sleep(1.1)
    done = site("--tags", "database", "-e", "mysql_tls_renew_days=400")
    changed = recap(done.stdout)
    after = {name: certificate_state(name) for name in servers}
    for name in servers:
        serial, start, loaded, uptime = after[name]
        assert changed[name] >= 1, changed
        assert serial != before[name][0], (name, before[name], after[name])
        # The server serves the new one: it was loaded, not waiting for a restart.
        assert loaded == start != before[name][2], (name, before[name], after[name])
        assert uptime >= before[name][3], (name, "restarted", before[name], after[name])
    for replica in REPLICAS:
        test_replication_runs_over_tls_and_checks_the_primarys_certificate(replica)
