# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection as a stranger gets it: built, installed into an empty
collections path, and run as `alx.webstack.site` from outside the checkout,
without its ansible.cfg, against the converged lab: nothing changes."""

from __future__ import annotations

import glob
import os
import subprocess
import tarfile

import pytest
from conftest import PROJECT
from labkit.commands import recap, said


def clean_env(**extra) -> dict:
    """The environment without any Ansible setting of the checkout or Molecule."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "MOLECULE_"))}
    env.update(ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", **extra)
    return env


def run(cmd: list[str], cwd: str, env: dict) -> subprocess.CompletedProcess:
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=cwd, env=env)
    assert done.returncode == 0, said(done)[-4000:]
    return done


@pytest.mark.drill
def test_built_collection_installs_and_runs_the_site_playbook(tmp_path):
    env = clean_env()
    run(["ansible-galaxy", "collection", "build", "--output-path", str(tmp_path / "build"), PROJECT],
        cwd=str(tmp_path), env=env)
    (tarball,) = glob.glob(str(tmp_path / "build" / "alx-webstack-*.tar.gz"))
    with tarfile.open(tarball) as archive:
        names = archive.getnames()
    assert "playbooks/site.yml" in names and "plugins/modules/mysql_replication_check.py" in names
    leaked = [n for n in names if n.startswith(("inventories/lab", "tests", "molecule", "bench", ".venv", ".cache"))]
    assert not leaked, leaked

    collections = tmp_path / "collections"
    # The dependencies come from the controller's `ansible` package here; from
    # Galaxy a user gets them with the collection.
    env = clean_env(ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_PIPELINING="1")
    run(["ansible-galaxy", "collection", "install", "--no-deps", "-p", str(collections), tarball],
        cwd=str(tmp_path), env=env)
    listed = run(["ansible-galaxy", "collection", "list", "alx.webstack"], cwd=str(tmp_path), env=env).stdout
    assert str(collections) in listed, listed

    done = run(["ansible-playbook", "-i", os.path.join(PROJECT, "inventories", "lab"), "alx.webstack.site"],
               cwd=str(tmp_path), env=env)
    changed = recap(done.stdout)
    assert changed and all(count == 0 for count in changed.values()), changed
