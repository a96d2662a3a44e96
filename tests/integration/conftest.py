# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared fixtures for the Molecule scenario's testinfra tests, on top of the
lab toolkit (labkit/): the inventory, playbook runs, waiting, faults and the
probe all come from there.

Hosts are picked by inventory group, so the tests follow the inventory rather
than host names. Every test that breaks something puts it back in a fixture
teardown, a ``finally`` block or a labkit.faults context manager.
"""

from __future__ import annotations

import hashlib
import json
import os
import tarfile
import tempfile

import pytest
import testinfra
from labkit.commands import ROOT, playbook as _playbook
from labkit.lab import Lab
from labkit.secrets import shown

# Outside Molecule, use the checkout's ansible.cfg (it finds the collection).
os.environ.setdefault("ANSIBLE_CONFIG", str(ROOT / "ansible.cfg"))
LAB = Lab()
PROJECT = str(ROOT)


def group(name: str) -> list[str]:
    """Host names of an inventory group, sorted (parametrize ids stay stable)."""
    return LAB.group(name)


def variables(name: str) -> dict:
    """The host's inventory variables (group_vars included, not templated)."""
    return LAB.variables(name)


def address(name: str) -> str:
    """The host's address on the lab network, as the other hosts see it."""
    return LAB.address(name)


def address6(name: str) -> str:
    """The host's global IPv6 address on the lab's network."""
    found = host(name).check_output("ip -6 -o addr show scope global | awk '{print $4}' | cut -d/ -f1").split()
    assert len(found) == 1, (name, found)
    return found[0]


def host(name: str):
    """A testinfra host for a lab host, looked at as root through the container
    runtime: what the tests inspect does not depend on the SSH path under test."""
    return testinfra.get_host("docker://%s" % name)


def managed(name: str):
    """A testinfra host driven through Ansible over the inventory's own
    connection (SSH as the admin user), for running modules on it; pass
    ``become=True`` to ``.ansible()`` for root."""
    return testinfra.get_host("ansible://%s" % name, ansible_inventory=str(LAB.inventory))


def playbook(name: str, *extra, succeed: bool = True):
    """Run one of playbooks/ against the scenario's inventory, as a user would."""
    return _playbook(LAB.inventory, "playbooks/%s" % name, *extra, succeed=succeed)


def site(*extra, succeed: bool = True):
    """Run playbooks/site.yml."""
    return playbook("site.yml", *extra, succeed=succeed)


def inventory_file(data: dict) -> str:
    """An inventory source written to a temporary YAML file, to pass with a
    second ``-i`` beside the lab's (its hosts, groups and variables are added)."""
    handle, path = tempfile.mkstemp(suffix=".yml", prefix="alx-inventory-")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        json.dump(data, out)  # JSON is YAML
    return path


def broken_release() -> str:
    """A release archive whose application cannot start."""
    folder = tempfile.mkdtemp()
    with open(os.path.join(folder, "app.py"), "w", encoding="utf-8") as handle:
        handle.write("raise RuntimeError('this release is broken on purpose')\n")
    path = os.path.join(folder, "broken.tar.gz")
    with tarfile.open(path, "w:gz") as archive:
        archive.add(os.path.join(folder, "app.py"), arcname="app.py")
    return path


def sha256(path: str) -> str:
    """The SHA-256 of a file on this machine, in hex."""
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def sql(name: str, statement: str) -> str:
    """Run SQL as root over the socket of a database host; tab-separated rows
    without headers."""
    return host(name).check_output("mariadb -N -B -e %s", statement)


def release_linked(web: str, link: str = "current") -> str:
    """The release directory /srv/app/LINK points at on a web server (its name)."""
    return host(web).check_output("readlink /srv/app/%s" % link).rsplit("/", 1)[1]


def release_served(web: str) -> str:
    """The release the application on a web server says it runs (its answer's
    second line ends with it)."""
    body = LAB.curl_web(web)
    return body.split("\n")[1].rsplit(" ", 1)[1]


# The lab's secrets, by variable name: no run's output may show their values.
SECRETS = ("mysql_app_password", "mysql_replication_password", "mysql_monitor_password",
           "haproxy_stats_password", "monitoring_web_password", "backup_repository_password")


def shown_secrets(output: str) -> list[str]:
    """The secret variables whose values appear in a run's output, as they are
    or base64-encoded (none may)."""
    values = {name: variables(h)[name] for h in LAB.hosts for name in SECRETS if name in variables(h)}
    assert values, "the lab defines no secret to look for"
    return shown(output, values)


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "drill: a long operator drill (whole-stack runs with another inventory, playbook runs under load, "
        "faults held until alerts fire, runs that show the playbooks' own logic: a rollback, drift put back, a "
        "stale inventory, a second run); "
        "skipped when ALX_SKIP_DRILLS=1, as `make molecule` does outside DRILL_DEBIAN")
    config.addinivalue_line(
        "markers", "refusal: bad input refused before any change, decided on the controller by argument specs and "
        "preflight, the same on every Debian release; runs where the drills run (skipped with them)")


def pytest_collection_modifyitems(config, items):
    if os.environ.get("ALX_SKIP_DRILLS") == "1":
        skip = pytest.mark.skip(reason="drills and refusals run on the Debian releases in DRILL_DEBIAN only")
        for item in items:
            if "drill" in item.keywords or "refusal" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(scope="session")
def client():
    """The client host (testinfra), the outside world of the stack."""
    return host(LAB.client)
