# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Files that hold keys or credentials are readable only by the service they
serve, and nothing the roles make is left behind in a shared temporary
directory, on the hosts or on this machine (the controller)."""

from __future__ import annotations

import glob
import os
import tempfile

import pytest
from conftest import LAB, group, host

LBS = LAB.balancers
REPLICAS = group("mysql_replica")
STACK = LBS + group("webservers") + group("mysql_primary") + REPLICAS + group("monitoring")


@pytest.mark.parametrize("lb", LBS)
def test_the_balancers_key_and_credentials_are_for_haproxy_only(lb):
    box = host(lb)
    for path in ("/etc/haproxy/certs/site.pem", "/etc/haproxy/certs/admin.crt.key", "/etc/haproxy/admins.cfg",
                 "/etc/haproxy/haproxy.cfg"):
        found = box.file(path)
        assert (found.mode, found.user, found.group) == (0o640, "root", "haproxy"), path
    assert box.file("/etc/haproxy/certs").mode == 0o750


@pytest.mark.parametrize("monitor", group("monitoring"))
def test_the_monitoring_key_and_login_are_for_prometheus_only(monitor):
    box = host(monitor)
    for path in ("/etc/prometheus/tls/web.key", "/etc/prometheus/web.yml", "/etc/prometheus/web.password"):
        found = box.file(path)
        assert (found.mode, found.user, found.group) == (0o640, "root", "prometheus"), path
    assert box.file("/etc/prometheus/tls").mode == 0o750
    # The login is kept as a bcrypt hash, never as the password itself.
    assert "$2b$10$" in box.file("/etc/prometheus/web.yml").content_string


@pytest.mark.parametrize("replica", REPLICAS)
def test_the_replication_password_is_for_mariadb_only(replica):
    found = host(replica).file("/var/lib/mysql/master.info")
    assert found.exists and found.user == "mysql" and found.mode & 0o007 == 0


@pytest.mark.parametrize("name", STACK)
def test_nothing_is_left_in_the_hosts_temporary_directories(name):
    assert host(name).check_output("find /tmp /var/tmp -mindepth 1 -maxdepth 1 -name 'alx-*'") == ""


def test_no_dump_is_left_on_the_controller():
    assert glob.glob(os.path.join(os.environ.get("TMPDIR", tempfile.gettempdir()), "alx-seed-*")) == []
