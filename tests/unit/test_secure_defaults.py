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
