# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared fixtures for the Molecule scenario's testinfra tests.

Hosts are picked by inventory group, so the tests follow the inventory rather
than host names. Every test that breaks something puts it back in a fixture
teardown or a ``finally`` block.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import tarfile
import tempfile
import time

import pytest
import testinfra
from testinfra.utils.ansible_runner import AnsibleRunner

# Molecule's inventory directory holds its own file and a link to
# inventories/lab/hosts.yml, where the groups are; outside Molecule the tests
# read inventories/lab directly.
INVENTORY = (
    os.path.dirname(os.environ["MOLECULE_INVENTORY_FILE"])
    if "MOLECULE_INVENTORY_FILE" in os.environ
    else os.path.join(os.path.dirname(__file__), "..", "..", "inventories", "lab")
)
# Outside Molecule, use the checkout's ansible.cfg (it finds the collection).
os.environ.setdefault("ANSIBLE_CONFIG", os.path.join(os.path.dirname(__file__), "..", "..", "ansible.cfg"))
RUNNER = AnsibleRunner(INVENTORY)


def group(name: str) -> list[str]:
    """Host names of an inventory group, sorted (parametrize ids stay stable)."""
    return sorted(RUNNER.get_hosts(name))


def host(name: str):
    """A testinfra host for a lab host, looked at as root through the container
    runtime: what the tests inspect does not depend on the SSH path under test."""
    return testinfra.get_host("docker://%s" % name)


def managed(name: str):
    """A testinfra host driven through Ansible over the inventory's own
    connection (SSH as the admin user), for running modules on it; pass
    ``become=True`` to ``.ansible()`` for root."""
    return testinfra.get_host("ansible://%s" % name, ansible_inventory=INVENTORY)


def variables(name: str) -> dict:
    """The host's inventory variables (group_vars included, not templated)."""
    return RUNNER.get_variables(name)


def address(name: str) -> str:
    """The host's address on the lab network, as the other hosts see it."""
    return host(name).check_output("hostname -I").split()[0]


PROJECT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def playbook(name: str, *extra, succeed: bool = True) -> subprocess.CompletedProcess:
    """Run one of playbooks/ against the scenario's inventory, as a user would."""
    cmd = ["ansible-playbook", "-i", INVENTORY, os.path.join(PROJECT, "playbooks", name), *extra]
    env = dict(os.environ, ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1")
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=PROJECT, env=env)
    if succeed:
        assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    return done


def site(*extra, succeed: bool = True) -> subprocess.CompletedProcess:
    """Run playbooks/site.yml."""
    return playbook("site.yml", *extra, succeed=succeed)


def said(done: subprocess.CompletedProcess) -> str:
    """A run's output (failures may go to stderr), with line wrapping folded to single spaces."""
    return " ".join((done.stdout + "\n" + done.stderr).split())


def recap(output: str) -> dict:
    """changed= per host from a play recap."""
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\S+)\s+: ok=\d+\s+changed=(\d+)", output, re.M)}


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


def wait_until(check, timeout: float = 60.0, interval: float = 1.0, what: str = "condition"):
    """Call ``check`` until it returns a true value; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except AssertionError as err:  # keep the last reason for the failure message
            last = err
        else:
            if last:
                return last
        time.sleep(interval)
    pytest.fail("%s not reached within %ss (last: %r)" % (what, timeout, last))


class Probe:
    """The probe tool on a client host, run in the background while a test acts."""

    def __init__(self, client, url: str, rate: float, duration: float, **options):
        self.client = client
        self.report_path = "/tmp/alx-probe-%d.json" % int(time.time() * 1000)
        args = ["alx-probe", url, "--rate", str(rate), "--duration", str(duration),
                "--output", self.report_path]
        for key, value in options.items():
            flag = "--" + key.replace("_", "-")
            args += [flag] if value is True else [flag, str(value)]
        self.command = " ".join(shlex.quote(a) for a in args)
        self.duration = duration

    def start(self) -> "Probe":
        self.client.check_output("rm -f %s; nohup %s >/dev/null 2>&1 &" % (self.report_path, self.command))
        return self

    def result(self, grace: float = 30.0) -> dict:
        path = self.report_path
        wait_until(lambda: self.client.file(path).exists, self.duration + grace, 0.5, "probe report")
        return json.loads(self.client.file(path).content_string)


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "drill: a long operator drill (whole-stack runs with another inventory); "
        "skipped when ALX_SKIP_DRILLS=1, as `make molecule` does outside DRILL_DEBIAN")


def pytest_collection_modifyitems(config, items):
    if os.environ.get("ALX_SKIP_DRILLS") == "1":
        skip = pytest.mark.skip(reason="drills run on the Debian releases in DRILL_DEBIAN only")
        for item in items:
            if "drill" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(scope="session")
def client():
    return host(group("clients")[0])
