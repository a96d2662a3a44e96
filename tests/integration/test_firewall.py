# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The firewall role: what each host lets in, port by port, from the client
(the internet), a web server, a database server, monitoring and this machine
(the lab's admin network); and a rule set that would shut Ansible out is put
back by the host itself."""

from __future__ import annotations

import json

import pytest
from conftest import LAB, address, address6, group, host, managed, site, variables
from labkit import firewall
from labkit.commands import recap, said

LBS = LAB.balancers
WEB = group("webservers")
DBS = group("mysql_primary") + group("mysql_replica")
MONITORS = group("monitoring")
BACKUPS = group("backup")
STACK = LBS + WEB + DBS + MONITORS + [name for name in BACKUPS if name not in MONITORS]
ADMIN_PORT = int(variables(LBS[0]).get("haproxy_admin_port", 8404))
# The exporters (node, mysqld, nginx, the database cluster's) and the
# monitoring host's Prometheus and Alertmanager, at the monitoring role's
# defaults; the database cluster's pcsd, where the cluster is on.
NODE, MYSQLD, NGINX, HACLUSTER, PROMETHEUS, ALERTMANAGER = 9100, 9104, 9113, 9664, 9090, 9093
PCSD = 2224
CLUSTER = bool(variables(DBS[0]).get("mysql_cluster_enabled"))
# Every port the stack could expose: SSH, the site, the admin port, the
# database, nginx's stub_status (loopback only), monitoring's, the database
# cluster's, and a port nothing uses.
PORTS = [22, 80, 443, ADMIN_PORT, 3306, 8081, NODE, MYSQLD, NGINX, HACLUSTER, PCSD, PROMETHEUS, ALERTMANAGER, 9999]
CONTROLLER = "controller"  # this machine, in firewall_admin_networks


def allowed(source: str, target: str, port: int) -> bool:
    """Whether the rules let ``source`` open ``port`` on ``target`` (a host, or a VIP)."""
    if port == 22:
        # The backup hosts log in to the database servers for the backup stream.
        return source == CONTROLLER or (target in DBS and source in BACKUPS)
    if target in LAB.vips:
        return port in (80, 443)
    if port == NODE or (port == MYSQLD and target in DBS) or (port == NGINX and target in WEB):
        return source in MONITORS
    if target in DBS and CLUSTER and port in (HACLUSTER, PCSD):
        return source in (MONITORS if port == HACLUSTER else DBS)
    if target in LBS:
        return port in (80, 443) or (port == ADMIN_PORT and source in [CONTROLLER] + MONITORS)
    if target in WEB and port == 80:
        return source in LBS + MONITORS
    if target in DBS and port == 3306:
        # The backup hosts' binary-log archive reads the primary's binary log.
        return source in WEB + DBS + MONITORS + BACKUPS
    if target in MONITORS and port in (PROMETHEUS, ALERTMANAGER):
        return source in [CONTROLLER] + MONITORS
    return False


def matrix(source: str) -> list[tuple[str, int, str, bool]]:
    """(target, port, what the source met, whether it is allowed) for every
    host of the stack but the source itself, and every VIP."""
    targets = [(target, port) for target in STACK + LAB.vips if target != source for port in PORTS]
    found = firewall.reach(LAB, None if source == CONTROLLER else source,
                           [(target if target in LAB.vips else address(target), port) for target, port in targets])
    return [(target, port, state, allowed(source, target, port))
            for (target, port), state in zip(targets, found.values())]


@pytest.mark.parametrize("source", [LAB.client, WEB[0], DBS[-1], MONITORS[0], CONTROLLER])
def test_every_allowed_path_is_open_and_every_other_is_dropped(source):
    found = matrix(source)
    wrong = [(target, port, state) for target, port, state, should in found
             if (state == "open") != should or (not should and state != "filtered")]
    assert not wrong, wrong
    assert any(should for *_rest, should in found)


def test_over_ipv6_the_client_reaches_the_site_on_the_balancers_and_nothing_else():
    """The firewall's rules hold for IPv6 sources as for IPv4 ones: from the
    client (the internet) only the balancers' 80 and 443 answer, and they
    serve the site there."""
    targets = [(name, port) for name in STACK for port in PORTS]
    found = firewall.reach(LAB, LAB.client, [(address6(name), port) for name, port in targets])
    states = dict(zip(targets, found.values()))
    wrong = {target: state for target, state in states.items()
             if (state == "open") != (target[0] in LBS and target[1] in (80, 443))
             or (state != "open" and state != "filtered")}
    assert not wrong, wrong
    assert sum(state == "open" for state in states.values()) == 2 * len(LBS)
    for lb in LBS:
        answer = LAB.curl("https://[%s]/" % address6(lb), "-o", "/dev/null", "-w", "%{http_code}")
        assert answer == "200", (lb, answer)


def test_the_rules_are_kept_for_the_next_boot():
    for name in STACK:
        box = host(name)
        assert box.service("nftables").is_enabled
        loaded = box.check_output("nft -f /etc/nftables.conf && nft list table %s" % firewall.TABLE)
        assert "policy drop" in loaded
        assert box.file("/var/lib/alx-webstack/firewall").mode == 0o700


@pytest.mark.drill
def test_rules_that_would_shut_ansible_out_are_rolled_back():
    web = WEB[0]
    before = firewall.table(LAB, web)
    saved = host(web).check_output("sha256sum /etc/nftables.conf")
    done = site("--tags", "firewall", "--limit", web,
                "-e", json.dumps({"firewall_admin_networks": ["192.0.2.0/24"], "firewall_confirm_timeout": 10}),
                succeed=False)
    assert done.returncode != 0
    assert "cut Ansible's own connection to %s" % web in said(done)
    assert firewall.table(LAB, web) == before
    assert host(web).check_output("sha256sum /etc/nftables.conf") == saved
    assert managed(web).ansible("ansible.builtin.ping", check=False)["ping"] == "pong"
    # The refused rule set is not taken for the one in force: with the
    # inventory's settings the next run writes it again and loads nothing.
    again = site("--tags", "firewall", "--limit", web)
    assert recap(again.stdout)[web] == 1  # rules.nft written; nothing loaded
    assert host(web).file("/var/lib/alx-webstack/firewall/rules.nft").exists
    assert firewall.table(LAB, web) == before


@pytest.mark.drill
def test_a_deleted_table_is_seen_in_check_mode_and_put_back():
    """Drift: the table deleted by hand leaves the host open; --check --diff
    reports it, changing nothing, and a run loads the rules again."""
    web = WEB[0]
    before = firewall.table(LAB, web)
    host(web).check_output("nft delete table %s" % firewall.TABLE)
    try:
        check = site("--tags", "firewall", "--limit", web, "--check", "--diff")
        assert recap(check.stdout)[web] >= 1 and "the rules in force" in check.stdout
        assert firewall.table(LAB, web) == ""
        done = site("--tags", "firewall", "--limit", web)
        assert recap(done.stdout)[web] >= 1
        assert firewall.table(LAB, web) == before
        assert recap(site("--tags", "firewall", "--limit", web).stdout)[web] == 0
    finally:
        host(web).run("nft list table %s >/dev/null || nft -f /etc/nftables.conf" % firewall.TABLE)


def test_vrrp_is_taken_from_the_peer_balancer_only():
    """Packets, not the rule set: the peer's own adverts pass, one advert from
    the client or a web server meets the drop policy."""
    assert firewall.vrrp_fate(LAB, LBS[0], LBS[1]) == "accepted"
    for stranger in (LAB.client, WEB[0]):
        assert firewall.vrrp_fate(LAB, LBS[0], stranger, send=True) == "dropped", stranger


def test_router_advertisements_come_from_link_local_routers_only():
    """Neighbour discovery as RFC 4861 sends it (hop limit 255, adverts from
    link-local addresses): a router advertisement from afar is dropped."""
    rules = firewall.table(LAB, WEB[0])
    advert = [line.strip() for line in rules.splitlines() if "nd-router-advert" in line]
    assert advert == ["ip6 saddr fe80::/10 ip6 hoplimit 255 icmpv6 type nd-router-advert accept"], advert
    neighbours = [line for line in rules.splitlines() if "nd-neighbor-solicit" in line]
    assert neighbours and all("ip6 hoplimit 255" in line for line in neighbours), neighbours


def state_of(web: str) -> str:
    """The rule set written, the one kept for boot and the one loaded."""
    return host(web).check_output("cat /var/lib/alx-webstack/firewall/rules.nft /etc/nftables.conf; "
                                  "nft list table %s" % firewall.TABLE)


@pytest.mark.refusal
@pytest.mark.parametrize("extra, sentence", [
    ({"firewall_admin_networks": ["172.30.80.1/33"]}, "172.30.80.1/33: not an IP address or a network in CIDR"),
    ({"firewall_admin_networks": []}, "firewall_admin_networks is empty while SSH"),
    ({"firewall_extra_rules": [{"ports": [70000], "sources": ["any"]}]}, "70000: not a port from 1 to 65535"),
], ids=["bad-network", "no-admin-network", "bad-port"])
def test_bad_settings_stop_before_any_change(extra, sentence):
    web = WEB[0]
    before = state_of(web)
    done = site("--tags", "firewall", "--limit", web, "-e", json.dumps(extra), succeed=False)
    assert done.returncode != 0
    assert sentence in said(done)
    assert state_of(web) == before
