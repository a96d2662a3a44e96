# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab's hosts as the inventory describes them, and the containers behind them."""

from __future__ import annotations

import json
import os
import re
import shlex
import time
from functools import cached_property
from pathlib import Path

from labkit.commands import LAB_INVENTORY, run, wait_until


def default_inventory() -> Path:
    """Molecule's inventory directory when run by Molecule (it holds its own
    file and a link to inventories/lab/hosts.yml), else inventories/lab."""
    if "MOLECULE_INVENTORY_FILE" in os.environ:
        return Path(os.environ["MOLECULE_INVENTORY_FILE"]).parent
    return LAB_INVENTORY


class Lab:
    """Groups, variables and addresses of one inventory of the lab, and a shell
    in each of its containers (container name = inventory host name)."""

    def __init__(self, inventory: str | Path | None = None) -> None:
        self.inventory = Path(inventory) if inventory else default_inventory()

    @cached_property
    def data(self) -> dict:
        return json.loads(run(["ansible-inventory", "-i", str(self.inventory), "--list"]).stdout)

    def group(self, name: str) -> list[str]:
        """Host names of a group (children included), sorted."""
        found = set(self.data.get(name, {}).get("hosts", []))
        for child in self.data.get(name, {}).get("children", []):
            found.update(self.group(child))
        return sorted(found)

    @property
    def hosts(self) -> list[str]:
        return sorted(self.data["_meta"]["hostvars"])

    def variables(self, host: str) -> dict:
        """The host's inventory variables (group variables included, not templated)."""
        return self.data["_meta"]["hostvars"][host]

    def transitions(self, balancer: str) -> list[str]:
        """The lines of keepalived's transition log on the balancer, oldest first."""
        path = self.variables(balancer).get("keepalived_transition_log", "/var/log/keepalived-transitions.log")
        return self.sh(balancer, "cat %s" % path).splitlines()

    @property
    def client(self) -> str:
        return self.group("clients")[0]

    @property
    def balancers(self) -> list[str]:
        return self.group("loadbalancers")

    @property
    def vips(self) -> list[str]:
        return [v["address"].split("/")[0] for v in self.variables(self.balancers[0])["keepalived_vips"]]

    def address(self, host: str) -> str:
        """The host's address on the lab network, as the other hosts see it."""
        fixed = self.variables(host).get("ansible_host")
        if fixed:
            return fixed
        return run(["docker", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}",
                    host]).stdout.split()[0]

    # --- the containers ---------------------------------------------------------------------

    def sh(self, host: str, command: str, check: bool = True, timeout: float | None = 600) -> str:
        """A shell command in the host's container, as root; its standard output."""
        return run(["docker", "exec", host, "sh", "-c", command], check=check, timeout=timeout).stdout

    def running(self, host: str) -> bool:
        done = run(["docker", "inspect", "-f", "{{.State.Running}}", host], check=False)
        return done.stdout.strip() == "true"

    def all_running(self) -> bool:
        done = run(["docker", "inspect", "-f", "{{.State.Running}}", *self.hosts], check=False)
        return done.returncode == 0 and set(done.stdout.split()) == {"true"}

    def booted(self, host: str) -> bool:
        """Whether systemd in the container has finished starting up."""
        state = self.sh(host, "systemctl is-system-running --wait", check=False).strip()
        return state in ("running", "degraded")

    # --- the virtual IPs --------------------------------------------------------------------

    def holders(self) -> dict[str, str | None]:
        """Which balancer holds each VIP now (None when none does). Each
        balancer's addresses are read once; a stopped or paused container
        answers nothing, so it holds nothing."""
        held = {lb: self.sh(lb, "ip -o -4 addr show", check=False) for lb in self.balancers}
        return {vip: next((lb for lb, addresses in held.items() if re.search(r" %s/" % re.escape(vip), addresses)),
                          None)
                for vip in self.vips}

    def holder(self, vip: str) -> str | None:
        """The balancer that holds ``vip`` now, or None."""
        return self.holders()[vip]

    def steady(self) -> dict[str, str]:
        """Where the VIPs live when nothing is broken: the n-th VIP on the
        (n mod count)-th balancer, as the keepalived role configures it."""
        return {vip: self.balancers[i % len(self.balancers)] for i, vip in enumerate(self.vips)}

    def curl(self, url: str, *options: str, source: str | None = None) -> str:
        """curl on the client host, or on ``source`` (certificate not checked);
        its output. The client stands for the internet: it reaches only the
        balancers' public ports, so a web server is asked from a balancer."""
        return self.sh(source or self.client, shlex.join(["curl", "-sS", "-k", "-m", "5", *options, url]))

    def curl_web(self, web: str, path: str = "/", *options: str) -> str:
        """A web server's own answer (not through HAProxy), asked from the first
        balancer as HAProxy asks it."""
        return self.curl("http://%s%s" % (self.address(web), path), *options, source=self.balancers[0])

    def serves(self, url: str) -> bool:
        """Whether ``url`` answers 200 to the client."""
        return self.curl(url, "-f", "-o", "/dev/null", "-w", "%{http_code}") == "200"

    def settle(self, vip: str, holder: str, timeout: float = 120) -> None:
        """Wait until ``holder`` holds ``vip`` again and it serves through it."""
        wait_until(lambda: self.holder(vip) == holder, timeout, what="%s back on %s" % (vip, holder))
        wait_until(lambda: self.serves("https://%s/" % vip), 60, what="%s serving" % vip)
        time.sleep(3)
