# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bring the lab up from whatever Docker has, start and stop it, and say how it stands.

Docker's view of the containers decides, never a cache that can disagree
with it. When every container runs the lab's image and carries the mark of
this prepare.yml (written inside it by prepare's last play), ``up`` only runs
site.yml. Otherwise Molecule's record of what it created and prepared (its
scenario's ephemeral directory, kept in .cache/molecule) is dropped first, so
its create step starts stopped containers, creates missing ones and
replaces those made from another image, and its prepare step (which changes
nothing on a prepared host) readies the new ones. site.yml then puts the
stack back as the inventory describes it. (``molecule reset`` is not used: it
also removes every container the Docker driver made.)
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import time
from dataclasses import dataclass

from labkit.commands import ROOT, LabError, run, wait_until
from labkit.lab import Lab

DEFAULT_IMAGE = "alx-webstack/debian:12"
PREPARE = ROOT / "molecule" / "resources" / "prepare.yml"
# Written on each host by prepare.yml's last play: the digest of the prepare.yml that readied it.
PREPARED_MARK = "/var/lib/alx-webstack-lab-prepared"
# Where Molecule keeps the scenario's state, inventory and settings; the
# Makefile sets the same path, so every Molecule run shares one record.
os.environ.setdefault("MOLECULE_EPHEMERAL_DIRECTORY", str(ROOT / ".cache" / "molecule" / "default"))


def image() -> str:
    """The image the lab's containers are made from (ALX_LAB_IMAGE, as Molecule reads it)."""
    return os.environ.get("ALX_LAB_IMAGE") or DEFAULT_IMAGE


def log(message: str) -> None:
    print("lab: " + message, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Container:
    """One host's container as Docker sees it: ``state`` is Docker's status
    (running, exited, created, paused, restarting, dead) or ``missing``;
    ``current`` says whether it runs the image the lab is made from now."""

    host: str
    state: str
    image: str = ""
    current: bool = False

    @property
    def running(self) -> bool:
        return self.state == "running"

    def describe(self) -> str:
        if self.state == "missing":
            return "missing"
        text = {"exited": "stopped", "created": "created, never started"}.get(self.state, self.state)
        return text if self.current else "%s, from %s (not %s)" % (text, self.image, image())


INSPECT_FORMAT = "{{.Name}} {{.State.Status}} {{.Image}} {{.Config.Image}}"


def containers(lab: Lab) -> dict[str, Container]:
    """Each inventory host's container, as Docker reports it now."""
    wanted = run(["docker", "image", "inspect", "-f", "{{.Id}}", image()], check=False).stdout.strip()
    # docker inspect prints what it finds and fails for the rest: missing ones are simply absent.
    done = run(["docker", "container", "inspect", "-f", INSPECT_FORMAT, *lab.hosts], check=False)
    return parse_inspect(done.stdout, wanted, lab.hosts)


def parse_inspect(output: str, wanted: str, hosts: list[str]) -> dict[str, Container]:
    """Containers from ``docker container inspect -f INSPECT_FORMAT`` output; a
    host it does not name is missing, one whose image ID is not ``wanted`` (the
    lab's image now) is not current."""
    found = {}
    for line in filter(None, map(str.strip, output.splitlines())):  # blank lines for the missing ones
        name, state, image_id, image_name = line.split()
        found[name.lstrip("/")] = Container(name.lstrip("/"), state, image_name, bool(wanted) and image_id == wanted)
    return {host: found.get(host, Container(host, "missing")) for host in hosts}


def healthy(lab: Lab) -> bool:
    """Every container runs the current image, and each VIP is held where it
    belongs and answers."""
    return all(c.running and c.current for c in containers(lab).values()) and lab.holders() == lab.steady() \
        and all(lab.serves("https://%s/" % vip) for vip in lab.vips)


def settle(lab: Lab, timeout: float = 180) -> None:
    """Wait until systemd has started every host and each VIP is held by its
    usual balancer and serves."""
    for host in lab.hosts:
        wait_until(lambda h=host: lab.booted(h), timeout, interval=1, what="%s booted" % host)
    for vip, holder in lab.steady().items():
        lab.settle(vip, holder, timeout)


def unpause(found: dict[str, Container]) -> None:
    """Thaw the paused containers among ``found`` (a freeze left by an interrupted run)."""
    paused = [h for h, c in found.items() if c.state == "paused"]
    if paused:
        run(["docker", "unpause", *paused])


def prepared(lab: Lab) -> bool:
    """Every container was readied by this version of prepare.yml (the mark its
    last play writes on each host, read inside the container)."""
    digest = hashlib.sha256(PREPARE.read_bytes()).hexdigest()
    return all(run(["docker", "exec", host, "cat", PREPARED_MARK], check=False).stdout.strip() == digest
               for host in lab.hosts)


def up(lab: Lab) -> float:
    """Converge the lab from any state: containers, preparation, the stack.
    Returns the seconds it took."""
    started = time.monotonic()
    before = containers(lab)
    log("found " + ", ".join("%s %s" % (h, c.describe()) for h, c in before.items()))
    unpause(before)
    if all(c.state in ("running", "paused") and c.current for c in before.values()) and prepared(lab):
        log("every container runs and is prepared: site.yml only")
    else:
        shutil.rmtree(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], ignore_errors=True)
        env = {"ALX_LAB_IMAGE": image()}
        for step in ("create", "prepare"):
            log("molecule " + step)
            run(["molecule", step], env=env, quiet=False)
    log("site.yml")
    run(["ansible-playbook", "-i", str(lab.inventory), "playbooks/site.yml"], quiet=False)
    settle(lab)
    return time.monotonic() - started


def start(lab: Lab) -> float:
    """Start the lab's stopped (or paused) containers and wait until it serves
    again; the lab must exist (``up`` makes what is missing).

    Pebble, the lab's ACME CA on the client, keeps its accounts and its root
    in memory: once the client has started again, the balancers' account is
    unknown to it and the monitoring host does not trust its new root. The
    client's preparation mark is dropped, so the next ``up`` prepares the lab
    again and runs site.yml, which registers the account."""
    started = time.monotonic()
    found = containers(lab)
    absent = [h for h, c in found.items() if c.state == "missing"]
    if absent:
        raise LabError("no container for %s: `make lab` creates it" % ", ".join(absent))
    stopped = [h for h, c in found.items() if c.state not in ("running", "paused")]
    unpause(found)
    if stopped:
        log("starting " + ", ".join(stopped))
        run(["docker", "start", *stopped])
    if lab.client in stopped:
        run(["docker", "exec", lab.client, "rm", "-f", PREPARED_MARK])
    settle(lab)
    return time.monotonic() - started


def stop(lab: Lab) -> None:
    """Stop every container of the lab (systemd shuts each down cleanly); the
    lab and its data stay for ``start``."""
    found = containers(lab)
    unpause(found)
    present = [h for h, c in found.items() if c.state != "missing"]
    if present:
        run(["docker", "stop", *present])
