# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Print the lab's hosts, their addresses and groups, and the URLs to open from this machine."""

from __future__ import annotations

import sys

from labkit.commands import ROOT
from labkit.lab import Lab


def urls(lab: Lab) -> list[str]:
    """The pages a user can open, from what the inventory deploys."""
    found = ["https://%s/" % vip for vip in lab.vips]
    # The firewall opens the balancers' admin port to this machine (the lab's
    # admin network); the web servers answer the balancers and monitoring only.
    for lb in lab.balancers:
        settings = lab.variables(lb)
        port, user = settings.get("haproxy_admin_port", 8404), settings.get("haproxy_stats_user", "admin")
        found.append("https://%s:%s/stats   (%s, user %s)" % (lab.address(lb), port, lb, user))
    # Prometheus and Alertmanager are open to the admin networks.
    for name in lab.group("monitoring"):
        settings = lab.variables(name)
        found.append("http://%s:%s/   (Prometheus on %s)"
                     % (lab.address(name), settings.get("monitoring_prometheus_port", 9090), name))
        found.append("http://%s:%s/api/v2/alerts   (Alertmanager's API on %s)"
                     % (lab.address(name), settings.get("monitoring_alertmanager_port", 9093), name))
    return found


def main() -> int:
    lab = Lab()
    groups = {name: value for name, value in lab.data.items() if name not in ("_meta", "all", "ungrouped")}
    shown = lab.inventory.relative_to(ROOT) if lab.inventory.is_relative_to(ROOT) else lab.inventory
    print("\nThe lab (inventory: %s)" % shown)
    for host in lab.hosts:
        state = lab.address(host) if lab.running(host) else "(not running)"
        member = ", ".join(sorted(name for name in groups if host in lab.group(name)))
        print("  %-8s %-15s %s" % (host, state, member))
    print("\nOpen from this machine:")
    for url in urls(lab):
        print("  " + url)
    print("\nRun the stack again by hand: ansible-playbook -i inventories/lab playbooks/site.yml")
    print("Remove the lab: make lab-destroy")
    return 0


if __name__ == "__main__":
    sys.exit(main())
