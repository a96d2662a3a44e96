# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab from the command line (what `make lab`, `lab-status`, `lab-start` and `lab-stop` call).

  python -m labkit [status]   each host's container, who holds each VIP, the URLs to open
  python -m labkit up         converge the lab from whatever Docker has, then the status
  python -m labkit start      start a stopped lab and wait until it serves, then the status
  python -m labkit stop       stop every container (the lab stays for `start`)
"""

from __future__ import annotations

import argparse
import sys

from labkit import control
from labkit.commands import ROOT
from labkit.lab import Lab
from labkit.monitoring import ca_file


def urls(lab: Lab) -> list[str]:
    """The pages a user can open, from what the inventory deploys."""
    found = ["https://%s/" % vip for vip in lab.vips]
    # The firewall opens the balancers' admin port to this machine (the lab's
    # admin network); the web servers answer the balancers and monitoring only.
    for lb in lab.balancers:
        settings = lab.variables(lb)
        port, user = settings.get("haproxy_admin_port", 8404), settings.get("haproxy_stats_user", "admin")
        found.append("https://%s:%s/stats   (%s, user %s)" % (lab.address(lb), port, lb, user))
    # Prometheus and Alertmanager are open to the admin networks, over HTTPS
    # with the internal CA's certificate and a login.
    for name in lab.group("monitoring"):
        settings = lab.variables(name)
        login = "user %s, CA %s" % (settings.get("monitoring_web_user", "admin"), ca_file(lab, name))
        found.append("https://%s:%s/   (Prometheus on %s; %s)"
                     % (lab.address(name), settings.get("monitoring_prometheus_port", 9090), name, login))
        found.append("https://%s:%s/api/v2/alerts   (Alertmanager's API on %s; %s)"
                     % (lab.address(name), settings.get("monitoring_alertmanager_port", 9093), name, login))
    return found


def status(lab: Lab) -> None:
    groups = {name: value for name, value in lab.data.items() if name not in ("_meta", "all", "ungrouped")}
    shown = lab.inventory.relative_to(ROOT) if lab.inventory.is_relative_to(ROOT) else lab.inventory
    print("\nThe lab (inventory: %s, image: %s)" % (shown, control.image()))
    found = control.containers(lab)
    for host in lab.hosts:
        member = ", ".join(sorted(name for name in groups if host in lab.group(name)))
        print("  %-8s %-15s %-10s %s" % (host, lab.variables(host).get("ansible_host", ""),
                                         found[host].describe(), member))
    if found[lab.balancers[0]].running or found[lab.balancers[-1]].running:
        held = lab.holders()
        print("\nVirtual IPs:")
        for vip, usual in lab.steady().items():
            now = held[vip]
            print("  %-15s %s" % (vip, "held by %s%s" % (now, "" if now == usual else " (usually %s)" % usual)
                                  if now else "held by no balancer"))
    print("\nOpen from this machine:")
    for url in urls(lab):
        print("  " + url)
    print("\nRun the stack again by hand: ansible-playbook -i inventories/lab playbooks/site.yml")
    print("Stop it, keeping it: make lab-stop (make lab-start brings it back); remove it: make lab-destroy")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m labkit", description=__doc__.split("\n", 1)[0])
    parser.add_argument("command", nargs="?", default="status", choices=["status", "up", "start", "stop"])
    command = parser.parse_args(argv).command
    lab = Lab()
    if command == "stop":
        control.stop(lab)
    elif command in ("up", "start"):
        took = getattr(control, command)(lab)
        control.log("%s took %.0f s" % (command, took))
    status(lab)
    return 0


if __name__ == "__main__":
    sys.exit(main())
