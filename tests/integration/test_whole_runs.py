# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The whole stack run with other inventories, as users run it, in as few runs
as the properties allow (each whole run costs about a minute and a half):

- the database tier in check mode on the converged lab: the read-only queries
  run, and nothing would change;
- the collection as a stranger gets it (built, installed into an empty
  collections path, run as `alx.webstack.site` from outside the checkout
  without its ansible.cfg), with the web servers' group renamed, in a real run
  at -vvv with --diff that moves the service addresses to a second (backend)
  network, the monitoring tier left out (its host is not on that network):
  every play finds the web servers under their new name, backends, grants and
  replication follow the addresses, VRRP stays on the VIPs' network, and
  neither the run nor the diffs of what it changes show a secret;
- then the lab's addresses are put back by the checkout's site.yml, unless the
  lab is removed right after the tests (ALX_LAB_DISPOSABLE, as the Molecule
  sequence sets it): that run proves nothing the first one did not.

Topology refusals (bad inventories, a stale inventory after a promotion) are in
test_topology.py: they stop in preflight and cost seconds."""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import tarfile
import time

import pytest
import yaml
from conftest import LAB, PROJECT, address, group, host, inventory_file, shown_secrets, site, sql, variables
from labkit import cluster, firewall
from labkit.commands import recap, run, said, wait_until
from labkit.secrets import shows_private_key

# Whole-stack runs with another inventory: run where the drills run (DRILL_DEBIAN).
pytestmark = pytest.mark.drill

LBS = group("loadbalancers")
WEB = group("webservers")
PRIMARY = group("mysql_primary")[0]
REPLICAS = group("mysql_replica")


def served_by(vip: str) -> set:
    return {LAB.curl("https://%s/" % vip).split("\n")[0] for _request in range(6)}


def shows_nothing_secret(output: str) -> None:
    """No secret variable's value and no private key, as it is or base64-encoded
    (keys are only ever named by path), in a run at full verbosity."""
    assert "ESTABLISH SSH CONNECTION" in output, "the run was not at -vvv"
    assert not shown_secrets(output)
    assert not shows_private_key(output)


# --- the collection as a stranger gets it, with a renamed group, in check mode ----------------

def clean_env(**extra) -> dict:
    """The environment without any Ansible setting of the checkout or Molecule."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "MOLECULE_"))}
    env.update(ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", **extra)
    return env


def succeeded(cmd: list[str], cwd: str, env: dict) -> subprocess.CompletedProcess:
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=cwd, env=env, timeout=3600)
    assert done.returncode == 0, said(done)[-4000:]
    return done


@pytest.fixture(scope="module")
def tarball(tmp_path_factory):
    """The collection built from the checkout, as `ansible-galaxy collection build` makes it."""
    folder = tmp_path_factory.mktemp("build")
    succeeded(["ansible-galaxy", "collection", "build", "--output-path", str(folder), PROJECT],
              cwd=str(folder), env=clean_env())
    (built,) = glob.glob(str(folder / "alx-webstack-*.tar.gz"))
    return built


def renamed_inventory(folder) -> str:
    """The lab's inventory with the web servers' group called `frontends`, and
    webstack_groups saying so (in group_vars/all/, beside the lab's settings)."""
    lab = os.path.join(PROJECT, "inventories", "lab")
    os.makedirs(folder)
    with open(os.path.join(lab, "hosts.yml"), encoding="utf-8") as handle:
        hosts = yaml.safe_load(handle)
    children = hosts["all"]["children"]
    children["frontends"] = children.pop("webservers")
    with open(os.path.join(folder, "hosts.yml"), "w", encoding="utf-8") as handle:
        yaml.safe_dump(hosts, handle)
    shutil.copytree(os.path.join(lab, "group_vars"), os.path.join(folder, "group_vars"))
    os.mkdir(os.path.join(folder, "group_vars", "all"))
    os.rename(os.path.join(folder, "group_vars", "all.yml"), os.path.join(folder, "group_vars", "all", "lab.yml"))
    with open(os.path.join(folder, "group_vars", "all", "topology.yml"), "w", encoding="utf-8") as handle:
        yaml.safe_dump({"webstack_groups": {"webservers": "frontends"}}, handle)
    return str(folder)


@pytest.fixture(scope="module")
def stranger(tarball, tmp_path_factory):
    """The tarball installed into an empty collections path, and the lab's
    inventory with the web group renamed: run() runs `alx.webstack.site` from
    there, outside the checkout and without its ansible.cfg."""
    home = tmp_path_factory.mktemp("stranger")
    collections = home / "collections"
    # The dependencies come from the controller's `ansible` package here; from
    # Galaxy a user gets them with the collection. Pipelining and forks as the
    # README tells users to set them.
    env = clean_env(ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_PIPELINING="1", ANSIBLE_FORKS="10")
    succeeded(["ansible-galaxy", "collection", "install", "--no-deps", "-p", str(collections), tarball],
              cwd=str(home), env=env)
    listed = succeeded(["ansible-galaxy", "collection", "list", "alx.webstack"], cwd=str(home), env=env).stdout
    inventory = renamed_inventory(home / "inventory")

    def run(*extra):
        return subprocess.run(["ansible-playbook", "-i", inventory, "alx.webstack.site", *extra],
                              capture_output=True, text=True, check=False, cwd=str(home), env=env, timeout=3600)

    return {"listed": listed, "collections": str(collections), "run": run}


def test_the_tarball_holds_the_collection_and_nothing_of_the_lab(tarball):
    with tarfile.open(tarball) as archive:
        names = archive.getnames()
    assert "playbooks/site.yml" in names and "plugins/modules/mysql_replication_check.py" in names
    leaked = [n for n in names if n.startswith(("inventories/lab", "tests", "molecule", "bench", ".venv", ".cache"))]
    assert not leaked, leaked


def test_check_mode_runs_the_read_only_queries_and_would_change_nothing():
    done = site("--tags", "database", "--check", "--diff")
    assert "Replicating from" in said(done)
    changed = recap(done.stdout)
    assert changed and all(count == 0 for count in changed.values()), changed


# --- service addresses on a backend network, a real run ---------------------------------------

# Named to sort after the lab network: Docker keeps the default route on the first.
BACKEND = "alx-webstack-lab-backend"


def backend_address(name: str) -> str:
    return "172.30.81.%s" % address(name).rsplit(".", 1)[1]


@pytest.fixture
def backend_network():
    """A second network for the balancers, web and database servers, as servers
    with a separate backend network have; removed afterwards."""
    chosen = {name: backend_address(name) for name in LBS + WEB + [PRIMARY] + REPLICAS}
    run(["docker", "network", "create", "--subnet", "172.30.81.0/24", BACKEND], check=True)
    try:
        for name, ip in chosen.items():
            run(["docker", "network", "connect", "--ip", ip, BACKEND, name], check=True)
        yield chosen
    finally:
        for name in chosen:
            run(["docker", "network", "disconnect", "-f", BACKEND, name], check=False)
        run(["docker", "network", "rm", BACKEND], check=False)


def test_explicit_service_addresses_carry_backends_grants_and_replication_from_the_installed_collection(
        backend_network, stranger):
    chosen = inventory_file({"all": {"hosts": {name: {"webstack_address": a} for name, a in backend_network.items()}}})
    members = [PRIMARY] + REPLICAS if variables(PRIMARY).get("mysql_cluster_enabled") else []
    started = time.time()
    try:
        # The monitoring host is not on the backend network: its tier is left
        # as it is.
        done = stranger["run"]("-i", chosen, "--diff", "-vvv", "--skip-tags", "monitoring")
        assert done.returncode == 0, said(done)[-4000:]
        # Installed where the stranger put it; a run that changes grants,
        # replication and every service's settings shows no secret, in its
        # output or its diffs.
        assert stranger["collections"] in stranger["listed"], stranger["listed"]
        assert sum(recap(done.stdout).values()) > 0
        shows_nothing_secret(said(done))
        # Every play found the web servers under their new name: HAProxy
        # reaches them, and they the databases, only through the backend
        # network, and accounts exist for those addresses alone.
        assert served_by(LAB.vips[0]) == set(WEB)
        # VRRP stays on the VIPs' network, from the peer's address there (not
        # its backend one): each VIP on exactly one balancer, the peer's adverts
        # let in and a stranger's dropped.
        held = {lb: LAB.sh(lb, "ip -o -4 addr show") for lb in LBS}
        assert all(sum(" %s/" % vip in addresses for addresses in held.values()) == 1 for vip in LAB.vips), held
        assert firewall.vrrp_fate(LAB, LBS[0], LBS[1]) == "accepted"
        assert firewall.vrrp_fate(LAB, LBS[0], LAB.client, send=True) == "dropped"
        app_hosts = set(sql(PRIMARY, "SELECT Host FROM mysql.user WHERE User = 'app'").split())
        assert app_hosts == {backend_network[w] for w in WEB}
        for replica in REPLICAS:
            status = host(replica).check_output("mariadb -e 'SHOW SLAVE STATUS\\G'")
            assert "Master_Host: %s" % backend_network[PRIMARY] in status
            assert "Slave_IO_Running: Yes" in status and "Slave_SQL_Running: Yes" in status
        written = json.loads(LAB.curl("https://%s/records" % LAB.vips[0], "-X", "POST",
                                      "--data-urlencode", "note=backend"))
        assert written["written_to"] == PRIMARY
        wait_until(lambda: sql(REPLICAS[0], "SELECT note FROM app.records WHERE id = %d" % written["id"]) == "backend",
                   timeout=20, what="the row on the replica")
        # The database cluster moved its links to the backend addresses while
        # it ran, without losing quorum on any member.
        for member in members:
            assert list(cluster.links(LAB, member).values()) == [{m: backend_network[m] for m in members}], member
            assert cluster.view(LAB, member) == {"online": sorted(members), "quorum": True}, member
            assert not cluster.quorum_losses(LAB, member, started), member
    finally:
        # Back to the lab's addresses while the backend network still exists,
        # unless the lab is removed after the tests.
        if not os.environ.get("ALX_LAB_DISPOSABLE"):
            site()
    if os.environ.get("ALX_LAB_DISPOSABLE"):
        return
    app_hosts = set(sql(PRIMARY, "SELECT Host FROM mysql.user WHERE User = 'app'").split())
    assert app_hosts == {address(w) for w in WEB}
    assert served_by(LAB.vips[0]) == set(WEB)
    for replica in REPLICAS:
        assert "Master_Host: %s" % address(PRIMARY) in host(replica).check_output("mariadb -e 'SHOW SLAVE STATUS\\G'")
    for member in members:
        assert list(cluster.links(LAB, member).values()) == [{m: address(m) for m in members}], member
        assert not cluster.quorum_losses(LAB, member, started), member
