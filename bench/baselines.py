# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Baselines, applied to the lab's own containers and removed again.

  packaged_haproxy()  Debian's packaged haproxy.cfg with a TLS frontend and a
                      plain round-robin backend, as a second HAProxy on
                      BASELINE_PORT on every balancer
  loadbalancers()     the load-balancer tier applied with other variables
                      (keepalived with VRRPv2 and 1 s adverts, say), and the
                      defaults applied again afterwards
"""

from __future__ import annotations

import json
import shlex
from contextlib import ExitStack, contextmanager

from labkit import firewall
from labkit.commands import playbook, wait_until
from labkit.lab import Lab

BASELINE_PORT = 8443
BASELINE_DIR = "/run/alx-bench"
BASELINE_UNIT = "alx-bench-baseline-haproxy"
DESCRIPTION = (
    "Baselines: keepalived with VRRPv2, `advert_int 1` and the polled HAProxy check alone (no\n"
    "event-driven hand-over; the role's variables, applied and then removed); Debian's packaged\n"
    "`haproxy.cfg` with a TLS frontend and a plain round-robin backend (`server ... check`), run as a second HAProxy on port %d beside ours." % BASELINE_PORT)
VRRP_V2 = ("-e", "keepalived_vrrp_version=2", "-e", "keepalived_advert_int=1", "-e", "keepalived_track_service=")


@contextmanager
def packaged_haproxy(lab: Lab):
    """Debian's haproxy.cfg beside ours on BASELINE_PORT, for as long as the
    block runs (the balancers' firewalls let the client reach it)."""
    with ExitStack() as holes:
        for lb in lab.balancers:
            holes.enter_context(firewall.opened(lab, lb, BASELINE_PORT, lab.address(lab.client)))
        with _packaged_haproxy(lab) as url:
            yield url


@contextmanager
def _packaged_haproxy(lab: Lab):
    stop_packaged_haproxy(lab)
    servers = "".join("    server %s %s:80 check\n" % (web, lab.address(web)) for web in lab.group("webservers"))
    extra = ("\nfrontend bench_baseline\n    bind :%d ssl crt /etc/haproxy/certs/site.pem\n"
             "    default_backend bench_baseline_web\n\nbackend bench_baseline_web\n    balance roundrobin\n%s"
             % (BASELINE_PORT, servers))
    try:
        for lb in lab.balancers:
            lab.sh(lb, "mkdir -p {d} && cd {d} && rm -f haproxy_*.deb && "
                       "apt-get download -q haproxy=$(dpkg-query -W -f='${{Version}}' haproxy) >/dev/null && "
                       "dpkg-deb --fsys-tarfile haproxy_*.deb | tar -xO ./etc/haproxy/haproxy.cfg > debian.cfg"
                       .format(d=BASELINE_DIR))
            # The packaged file's runtime socket would clash with ours; nothing else is changed.
            lab.sh(lb, "cd %s && sed 's#/run/haproxy/admin.sock#%s/admin.sock#' debian.cfg > baseline.cfg && "
                       "printf %%s %s >> baseline.cfg && haproxy -c -q -f baseline.cfg"
                       % (BASELINE_DIR, BASELINE_DIR, shlex.quote(extra)))
            # Started the way Debian's haproxy.service starts HAProxy, /dev/log in
            # the chroot included, so that it logs every request as ours does.
            lab.sh(lb, "systemd-run --unit %s --property BindReadOnlyPaths=/dev/log:/var/lib/haproxy/dev/log "
                       "--property Type=notify /usr/sbin/haproxy -Ws -f %s/baseline.cfg"
                       % (BASELINE_UNIT, BASELINE_DIR))
        wait_until(lambda: lab.serves("https://%s:%d/" % (lab.vips[0], BASELINE_PORT)), 30,
                   what="baseline HAProxy serving")
        yield "https://%s:%d" % (lab.vips[0], BASELINE_PORT)
    finally:
        stop_packaged_haproxy(lab)


def stop_packaged_haproxy(lab: Lab) -> None:
    for lb in lab.balancers:
        lab.sh(lb, "systemctl stop %s; systemctl reset-failed %s; rm -rf %s"
               % (BASELINE_UNIT, BASELINE_UNIT, BASELINE_DIR), check=False)


def client_exempt(lab: Lab) -> tuple[str, ...]:
    """Extra variables that exempt the client from the abuse limits: a load
    tool is one source, which the limits would answer 429."""
    return ("-e", json.dumps({"haproxy_rate_limit_exempt": [lab.address(lab.client)]}))


def apply_loadbalancers(lab: Lab, *extra: str) -> None:
    """Apply the load-balancer tier with these extra variables (none: the
    defaults), and wait until the first VIP serves from its master again."""
    playbook(lab.inventory, "playbooks/site.yml", "--tags", "loadbalancers", *extra)
    lab.settle(lab.vips[0], lab.steady()[lab.vips[0]])


@contextmanager
def loadbalancers(lab: Lab, *extra: str):
    """The load-balancer tier with these variables while the block runs; the
    defaults again afterwards (nothing to undo when ``extra`` is empty)."""
    apply_loadbalancers(lab, *extra)
    try:
        yield
    finally:
        if extra:
            apply_loadbalancers(lab)
