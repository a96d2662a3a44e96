# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""systemd_quote: a value of an environment file, seen by the service as given; unit_states and
unsettled_units: which units a role still has to start or stop, from one read per run."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.alx.webstack.plugins.filter.systemd import systemd_quote, unit_states, unsettled_units


@pytest.mark.parametrize("value, quoted", [
    ("s3cret", '"s3cret"'),
    ("two words # not a comment", '"two words # not a comment"'),
    ("it's \"quoted\"", '"it\'s \\"quoted\\""'),
    ("$HOME and ${PATH} and `id`", '"\\$HOME and \\${PATH} and \\`id\\`"'),
    ("back\\slash", '"back\\\\slash"'),
    ("  padded  ", '"  padded  "'),
    ("", '""'),
    (3306, '"3306"'),
])
def test_a_value_is_quoted_and_escaped_for_systemd(value, quoted):
    assert systemd_quote(value) == quoted


@pytest.mark.parametrize("value", ["two\nlines", "cr\r", "nul\x00"])
def test_a_value_systemd_cannot_read_back_is_refused(value):
    with pytest.raises(AnsibleFilterError, match="cannot hold a line break or a NUL"):
        systemd_quote(value)


# What preflight reads on a database server (Debian 12): mariadb running and
# enabled, its socket not loaded (so neither active nor enabled), nftables a
# oneshot kept active, the node exporter failed, ssh running but not enabled.
READ = [
    "ii  mariadb-server",
    "# units",
    "Id=mariadb.service", "ActiveState=active", "UnitFileState=enabled", "",
    "ActiveState=active", "Id=nftables.service", "UnitFileState=enabled", "",
    "Id=prometheus-node-exporter.service", "ActiveState=failed", "UnitFileState=enabled", "",
    "Id=ssh.service", "ActiveState=active", "UnitFileState=disabled", "",
    "Id=dbus.socket", "ActiveState=active", "UnitFileState=static",
]


def test_unit_states_reads_every_block_and_not_the_packages():
    states = unit_states(READ)
    assert states["mariadb.service"] == {"active": True, "enabled": True}
    assert states["nftables.service"] == {"active": True, "enabled": True}
    assert states["dbus.socket"] == {"active": True, "enabled": False}
    assert "mariadb.socket" not in states
    assert states["prometheus-node-exporter.service"] == {"active": False, "enabled": True}
    assert states["ssh.service"] == {"active": True, "enabled": False}
    assert "mariadb-server" not in states and "ii" not in states


def test_only_units_not_yet_running_and_enabled_are_started():
    states = unit_states(READ)
    wanted = ["mariadb", "nftables.service", "prometheus-node-exporter", "ssh", "haproxy"]
    # A failed unit, one not enabled at boot and one not installed yet are started.
    assert unsettled_units(wanted, states) == ["prometheus-node-exporter", "ssh", "haproxy"]
    assert unsettled_units("mariadb", states) == []


def test_only_units_still_active_or_enabled_or_not_seen_are_stopped():
    states = unit_states(READ + ["", "Id=mysql.socket", "ActiveState=inactive", "UnitFileState=disabled"])
    # mariadb.socket was not loaded: a package installed in this run may have enabled it since.
    assert unsettled_units(["mysql.socket", "mariadb.socket", "mariadb"], states, "stopped") == ["mariadb.socket", "mariadb"]


def test_without_the_states_every_unit_is_acted_on():
    assert unsettled_units(["nginx", "haproxy"], None) == ["nginx", "haproxy"]
    assert unsettled_units(["nginx"], unit_states([])) == ["nginx"]


@pytest.mark.parametrize("names, states, state", [
    (7, {}, "started"), (["nginx", 3], {}, "started"), (["nginx"], "running", "started"), (["nginx"], {}, "reloaded")])
def test_bad_input_is_refused(names, states, state):
    with pytest.raises(AnsibleFilterError):
        unsettled_units(names, states, state)


def test_unit_states_wants_lines():
    with pytest.raises(AnsibleFilterError):
        unit_states("mariadb.service loaded active running")
