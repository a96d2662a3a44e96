# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Larger labs for the scale-out figures: more web servers, one or two replicas.

A layout is the lab's inventory with web servers added (web3, web4, ... on the
lab network, the addresses after web2's) and, with one replica, the second
replica left out. Its inventory is written under .cache/scale/ (the lab's
group_vars linked in), and the added hosts' containers are made with the
settings Molecule gives the lab's own (``driver.lab_node`` in
molecule/default/molecule.yml), so they are the same kind of server.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

import yaml

from labkit import control
from labkit.commands import LAB_INVENTORY, ROOT, playbook, run
from labkit.lab import Lab

SCENARIO = ROOT / "molecule" / "default" / "molecule.yml"
PREPARE = ROOT / "molecule" / "resources" / "prepare.yml"
CACHE = ROOT / ".cache" / "scale"


@dataclass(frozen=True)
class Layout:
    """How many web servers and replicas the stack has."""

    web: int
    replicas: int

    @property
    def name(self) -> str:
        return "web%d-replicas%d" % (self.web, self.replicas)


def node_settings() -> dict:
    """What Molecule gives every lab container, and the lab network's name."""
    driver = yaml.safe_load(SCENARIO.read_text(encoding="utf-8"))["driver"]
    return driver["lab_node"]


def docker_run(name: str, address: str, settings: dict, image: str) -> list[str]:
    """``docker run`` for one added host, with the lab node's settings."""
    network = settings["docker_networks"][0]["name"]
    cmd = ["docker", "run", "--detach", "--name", name, "--hostname", name,
           "--network", network, "--ip", address, "--cgroupns", settings.get("cgroupns_mode", "host"),
           "--stop-signal", settings["stop_signal"]]
    for capability in settings.get("capabilities", []):
        cmd += ["--cap-add", capability]
    for option in settings.get("security_opts", []):
        cmd += ["--security-opt", option]
    for volume in settings.get("volumes", []):
        cmd += ["--volume", volume]
    for mount in settings.get("tmpfs", []):
        cmd += ["--tmpfs", mount]
    return cmd + [image, settings["command"]]


def hosts_file(layout: Layout, base: dict) -> tuple[dict, dict[str, str]]:
    """The lab's hosts.yml for ``layout``, and the added web servers' addresses."""
    data = yaml.safe_load(yaml.safe_dump(base))
    children = data["all"]["children"]
    web = children["webservers"]["hosts"]
    if layout.web < len(web):
        raise ValueError("a layout has at least the lab's %d web servers" % len(web))
    last = max(web, key=lambda h: ipaddress.ip_address(web[h]["ansible_host"]))
    first_address = ipaddress.ip_address(web[last]["ansible_host"])
    added = {"web%d" % n: str(first_address + (n - len(web))) for n in range(len(web) + 1, layout.web + 1)}
    web.update({name: {"ansible_host": address} for name, address in added.items()})
    replicas = children["mysql_replica"]["hosts"]
    if not 1 <= layout.replicas <= len(replicas):
        raise ValueError("a layout has 1 to %d replicas" % len(replicas))
    for name in sorted(replicas)[layout.replicas:]:
        del replicas[name]
    return data, added


class ScaleLab:
    """One layout's inventory and its added containers."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.directory = CACHE / layout.name
        base = yaml.safe_load((LAB_INVENTORY / "hosts.yml").read_text(encoding="utf-8"))
        self.data, self.added = hosts_file(layout, base)

    def write(self) -> Path:
        """The layout's inventory directory: its hosts.yml and the lab's group_vars."""
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / "hosts.yml").write_text(yaml.safe_dump(self.data, sort_keys=False), encoding="utf-8")
        link = self.directory / "group_vars"
        if not link.is_symlink():
            os.symlink(LAB_INVENTORY / "group_vars", link)
        return self.directory

    @property
    def lab(self) -> Lab:
        return Lab(self.directory)

    def create(self) -> None:
        """Make the added hosts' containers (any left from before are replaced)
        and ready every host of the layout as the lab's prepare does."""
        remove(list(self.added))
        settings = node_settings()
        for name, address in self.added.items():
            run(docker_run(name, address, settings, control.image()))
        playbook(self.write(), str(PREPARE))


def added_hosts() -> list[str]:
    """The containers of added web servers that exist now (web3 and up on the lab network)."""
    names = run(["docker", "ps", "-a", "--filter", "network=%s" % node_settings()["docker_networks"][0]["name"],
                 "--format", "{{.Names}}"]).stdout.split()
    base = set(Lab(LAB_INVENTORY).hosts)
    return sorted(n for n in names if n.startswith("web") and n not in base)


def remove(names: list[str] | None = None) -> None:
    """Remove the added hosts' containers (all of them by default)."""
    names = added_hosts() if names is None else names
    if names:
        run(["docker", "rm", "--force", "--volumes", *names], check=False)
