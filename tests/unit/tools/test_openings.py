# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every port a role declares is opened by its own openings, or is named here as one no other host reaches."""

from __future__ import annotations

import json

import pytest
import yaml

from tools import role_docs

ROLES = role_docs.roles()

# Ports other hosts never connect to, and why. A new port goes into the role's
# <role>_firewall_openings, or here with its reason.
NOT_LISTENING = {
    "app_db_port": "the databases' port, which the application connects to",
    "firewall_ssh_port": "opened by the firewall role itself, to the admin networks",
    "haproxy_backend_port": "the web servers' port, which HAProxy connects to",
    "haproxy_log_port": "rsyslog on 127.0.0.1",
    "monitoring_blackbox_port": "the blackbox exporter on 127.0.0.1",
    "monitoring_vip_port": "the VIPs' port, which the blackbox exporter probes",
    "nginx_status_port": "nginx's status page on 127.0.0.1",
}


def read(path):
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {} if path.exists() else {}


def unopened_ports(role, not_listening=None):
    """The port settings of ``role`` that neither its openings (or a role
    variable they name) mention nor ``not_listening`` explains."""
    not_listening = NOT_LISTENING if not_listening is None else not_listening
    defaults = read(role / "defaults" / "main.yml")
    private = read(role / "vars" / "main.yml")
    opened = json.dumps(defaults.get("%s_firewall_openings" % role.name, []))
    opened += "".join(json.dumps(value) for name, value in private.items() if name in opened)
    return sorted(name for name in defaults
                  if name.endswith("_port") and name not in not_listening and name not in opened)


@pytest.mark.parametrize("role", ROLES, ids=[r.name for r in ROLES])
def test_every_port_a_role_declares_is_opened_by_the_role(role):
    assert not unopened_ports(role), "add them to %s_firewall_openings, or to NOT_LISTENING with why" % role.name


PREFLIGHT = read(role_docs.ROOT / "roles" / "preflight" / "vars" / "main.yml")
PUBLISHERS = sorted({name for tier in PREFLIGHT["__preflight_tier_services"].values() for name in tier["roles"]}
                    | {"monitoring"})


@pytest.mark.parametrize("name", PUBLISHERS)
def test_each_role_preflight_runs_publishes_its_own_openings(name):
    role = role_docs.ROOT / "roles" / name
    assert "%s_firewall_openings" % name in read(role / "defaults" / "main.yml")
    assert "%s_firewall_openings" % name in (role / "tasks" / "services.yml").read_text(encoding="utf-8")


def test_a_new_port_without_an_opening_is_caught(tmp_path):
    role = tmp_path / "cache"
    (role / "defaults").mkdir(parents=True)
    (role / "defaults" / "main.yml").write_text(
        "cache_port: 11211\ncache_admin_port: 11212\n"
        "cache_firewall_openings:\n  - {ports: ['{{ cache_port }}'], source_groups: [webservers]}\n")
    assert unopened_ports(role) == ["cache_admin_port"]
    assert unopened_ports(role, {"cache_admin_port": "loopback only"}) == []


def test_a_port_opened_through_a_role_variable_counts(tmp_path):
    role = tmp_path / "exporters"
    (role / "defaults").mkdir(parents=True)
    (role / "vars").mkdir()
    (role / "defaults" / "main.yml").write_text(
        "exporters_node_port: 9100\nexporters_firewall_openings:\n  - {ports: '{{ __exporters_ports }}'}\n")
    (role / "vars" / "main.yml").write_text("__exporters_ports: ['{{ exporters_node_port }}']\n")
    assert unopened_ports(role) == []
