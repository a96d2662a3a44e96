# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a run from the checkout against the user's own inventory inherits is safe; the lab relaxes its own."""

from __future__ import annotations

import configparser
import pathlib

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_the_checkout_keeps_ssh_host_key_checking():
    """A production run from the checkout checks the servers' host keys (no interception of sudo or vault data)."""
    config = configparser.ConfigParser()
    config.read(ROOT / "ansible.cfg")
    for section in config.sections():
        assert config[section].getboolean("host_key_checking", fallback=True), section
        assert "StrictHostKeyChecking=no" not in config[section].get("ssh_args", ""), section
        assert "StrictHostKeyChecking=no" not in config[section].get("ssh_common_args", ""), section


def test_only_the_lab_inventory_skips_host_keys_of_its_throwaway_containers():
    lab = yaml.safe_load((ROOT / "inventories" / "lab" / "group_vars" / "all.yml").read_text(encoding="utf-8"))
    assert "StrictHostKeyChecking=no" in lab["ansible_ssh_common_args"]
    production = ROOT / "inventories" / "production"
    assert "StrictHostKeyChecking" not in "".join(
        path.read_text(encoding="utf-8") for path in production.rglob("*.yml"))


def test_database_traffic_is_encrypted_and_the_servers_listen_on_their_service_address_by_default():
    """What a user's inventory inherits from the mysql role, without the lab's settings."""
    defaults = yaml.safe_load((ROOT / "roles" / "mysql" / "defaults" / "main.yml").read_text(encoding="utf-8"))
    assert defaults["mysql_tls"] is True
    assert defaults["mysql_bind_address"] == "{{ mysql_address }}"
    # The web tier takes the same default when the inventory says nothing.
    web = (ROOT / "playbooks" / "vars" / "web.yml").read_text(encoding="utf-8")
    assert "mysql_tls | default(true)" in web
    # The lab runs on the default: it does not turn TLS on itself.
    lab = yaml.safe_load((ROOT / "inventories" / "lab" / "group_vars" / "all.yml").read_text(encoding="utf-8"))
    assert "mysql_tls" not in lab and "mysql_bind_address" not in lab


def test_no_internal_header_leaves_the_balancers_by_default():
    defaults = yaml.safe_load((ROOT / "roles" / "haproxy" / "defaults" / "main.yml").read_text(encoding="utf-8"))
    assert {"X-Served-By", "X-App-Release"} <= set(defaults["haproxy_internal_headers"])
    assert defaults["haproxy_internal_headers_sources"] == []
