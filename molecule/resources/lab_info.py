# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Print the lab's hosts, their addresses and the URLs to open from this machine."""

from __future__ import annotations

import json
import subprocess
import sys


def inventory(path: str = "inventories/lab") -> dict:
    out = subprocess.run(
        ["ansible-inventory", "-i", path, "--list"], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(out)


def address(container: str) -> str:
    out = subprocess.run(
        ["docker", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}", container],
        capture_output=True,
        text=True,
        check=False,
    )
    return out.stdout.split()[0] if out.returncode == 0 and out.stdout.split() else "(not running)"


def urls(inv: dict, addresses: dict[str, str]) -> list[str]:
    """The pages a user can open, from what the inventory deploys."""
    found = []
    hostvars = inv.get("_meta", {}).get("hostvars", {})
    for host in inv.get("loadbalancers", {}).get("hosts", []):
        for vip in hostvars.get(host, {}).get("keepalived_vips", []):
            url = "https://%s/" % vip["address"].split("/")[0]
            if url not in found:
                found.append(url)
    for host in inv.get("webservers", {}).get("hosts", []):
        found.append("http://%s/   (%s directly)" % (addresses[host], host))
    return found


def main() -> int:
    inv = inventory()
    hosts = sorted(inv.get("_meta", {}).get("hostvars", {}))
    addresses = {host: address(host) for host in hosts}
    groups = {
        host: ", ".join(sorted(g for g, v in inv.items() if isinstance(v, dict) and host in v.get("hosts", [])))
        for host in hosts
    }
    print("\nThe lab (inventory: inventories/lab)")
    for host in hosts:
        print("  %-8s %-15s %s" % (host, addresses[host], groups[host]))
    print("\nOpen from this machine:")
    for url in urls(inv, addresses):
        print("  " + url)
    print("\nRun the stack again by hand: ansible-playbook -i inventories/lab playbooks/site.yml")
    print("Remove the lab: make lab-destroy")
    return 0


if __name__ == "__main__":
    sys.exit(main())
