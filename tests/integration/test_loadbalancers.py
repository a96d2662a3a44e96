# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The load-balancer tier: HTTPS on both VIPs, round-robin, the active-active
keepalived pair, and failures that must cost clients (almost) nothing."""

from __future__ import annotations

import subprocess
import time

import pytest
from conftest import Probe, address, group, host, said, site, variables, wait_until

LBS = group("loadbalancers")
WEB = group("webservers")


def vips() -> list[str]:
    return [v["address"].split("/")[0] for v in variables(LBS[0])["keepalived_vips"]]


def client():
    return host(group("clients")[0])


def holders() -> dict:
    """Which balancer holds each VIP right now (None when nobody does)."""
    found = {}
    for vip in vips():
        found[vip] = None
        for lb in LBS:
            running = subprocess.run(["docker", "inspect", "-f", "{{.State.Running}}", lb],
                                     capture_output=True, text=True, check=False).stdout.strip()
            if running == "true" and host(lb).run("ip -4 -o addr show | grep -qw %s" % vip).rc == 0:
                found[vip] = lb
    return found


def steady() -> dict:
    """lb1 holds the first VIP, lb2 the second (n-th VIP on the (n mod count)-th balancer)."""
    return {vip: LBS[i % len(LBS)] for i, vip in enumerate(vips())}


def https(url: str, *options: str) -> str:
    return client().check_output("curl -sS -k -m 5 %s %s" % (" ".join(options), url))


@pytest.fixture(autouse=True)
def lab_in_steady_state():
    """Every test starts and ends with each VIP on its own master."""
    wait_until(lambda: holders() == steady(), timeout=60, what="VIPs on their masters")
    yield
    for lb in LBS:
        subprocess.run(["docker", "start", lb], capture_output=True, check=False)
    for lb in LBS:
        wait_until(lambda lb=lb: host(lb).run("systemctl is-system-running --wait").stdout.strip()
                   in ("running", "degraded"), timeout=90, what="%s booted" % lb)
        host(lb).check_output("systemctl start haproxy keepalived")
    wait_until(lambda: holders() == steady(), timeout=60, what="VIPs back on their masters")


def test_steady_state_each_balancer_holds_its_own_vip():
    assert holders() == steady()


@pytest.mark.parametrize("index", [0, 1])
def test_vip_answers_https_in_round_robin(index):
    vip = vips()[index]
    served = [https("https://%s/" % vip).split("\n")[0] for _request in range(6)]
    assert set(served) == set(WEB)
    assert all(a != b for a, b in zip(served, served[1:])), served


@pytest.mark.parametrize("index", [0, 1])
def test_http_redirects_to_https_and_hsts_is_set(index):
    vip = vips()[index]
    head = client().check_output("curl -sS -m 5 -o /dev/null -w '%%{http_code} %%{redirect_url}' http://%s/x" % vip)
    assert head == "301 https://%s/x" % vip
    headers = https("https://%s/" % vip, "-D", "-", "-o", "/dev/null").lower()
    assert "strict-transport-security: max-age=63072000" in headers


def test_tls_1_1_is_refused_and_1_2_accepted():
    vip = vips()[0]
    old = client().run("echo | openssl s_client -connect %s:443 -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0' 2>&1" % vip)
    assert old.rc != 0 or "Cipher is (NONE)" in old.stdout
    new = client().run("echo | openssl s_client -connect %s:443 -tls1_2 2>&1" % vip)
    assert new.rc == 0 and "TLSv1.2" in new.stdout


def test_both_balancers_serve_the_same_certificate():
    prints = set()
    for lb in LBS:
        prints.add(client().check_output(
            "echo | openssl s_client -connect %s:443 2>/dev/null | openssl x509 -noout -fingerprint -sha256"
            % address(lb)))
    assert len(prints) == 1, prints


def test_forwarded_headers_reach_the_web_servers():
    https("https://%s/?forwarded-check" % vips()[0])
    logs = "".join(host(web).check_output("grep -F forwarded-check /var/log/nginx/access.log || true") for web in WEB)
    assert address(group("clients")[0]) + " " in logs


def test_stats_and_metrics_need_credentials():
    lb = address(LBS[0])
    config = variables(LBS[0])
    assert client().check_output("curl -s -o /dev/null -w '%%{http_code}' http://%s:8404/stats" % lb) == "401"
    metrics = client().check_output("curl -sS -u admin:%s http://%s:8404/metrics" % (config["haproxy_stats_password"], lb))
    assert "haproxy_backend_active_servers" in metrics


def test_killed_balancer_hands_its_vip_to_the_other():
    vip = vips()[0]
    probe = Probe(client(), "https://%s/" % vip, rate=20, duration=12, insecure=True, timeout=1).start()
    time.sleep(3)
    subprocess.run(["docker", "kill", LBS[0]], check=True, capture_output=True)
    wait_until(lambda: holders()[vip] == LBS[1], timeout=10, interval=0.2, what="VIP on the other balancer")
    report = probe.result()
    assert report["ok"] > 150
    assert report["longest_outage"] < 5.0, report["failures"][:5]


def test_stopped_haproxy_hands_the_vip_over_and_takes_it_back():
    vip = vips()[1]
    probe = Probe(client(), "https://%s/" % vip, rate=20, duration=12, insecure=True, timeout=1).start()
    time.sleep(3)
    host(LBS[1]).check_output("systemctl stop haproxy")
    try:
        wait_until(lambda: holders()[vip] == LBS[0], timeout=10, interval=0.2, what="VIP on the other balancer")
    finally:
        host(LBS[1]).check_output("systemctl start haproxy")
    wait_until(lambda: holders()[vip] == LBS[1], timeout=30, interval=0.5, what="VIP back")
    report = probe.result()
    assert report["longest_outage"] < 5.0, report["failures"][:5]


def test_stopped_nginx_on_a_web_server_costs_no_request():
    probe = Probe(client(), "https://%s/" % vips()[0], rate=50, duration=12, insecure=True).start()
    time.sleep(3)
    host(WEB[0]).check_output("systemctl stop nginx")
    try:
        time.sleep(5)
    finally:
        host(WEB[0]).check_output("systemctl start nginx")
    report = probe.result()
    assert report["failed"] == 0, report["failures"][:5]
    wait_until(lambda: WEB[0] in {https("https://%s/" % vips()[0]).split("\n")[0] for _request in range(4)},
               timeout=30, what="%s serving again" % WEB[0])


def test_frozen_web_server_is_taken_out_of_rotation_within_seconds():
    # A paused container still accepts connections but never answers: only the
    # requests sent to it before the health checks take it out may fail.
    probe = Probe(client(), "https://%s/" % vips()[0], rate=50, duration=16, insecure=True).start()
    time.sleep(3)
    subprocess.run(["docker", "pause", WEB[0]], check=True, capture_output=True)
    try:
        time.sleep(8)
    finally:
        subprocess.run(["docker", "unpause", WEB[0]], check=True, capture_output=True)
    report = probe.result()
    assert report["failure_span"] < 4.0, report["failures"][:5]
    assert report["failed"] < 100, report["failures"][:5]
    wait_until(lambda: WEB[0] in {https("https://%s/" % vips()[0]).split("\n")[0] for _request in range(4)},
               timeout=30, what="%s serving again" % WEB[0])


def test_ten_haproxy_reloads_cost_no_request():
    probe = Probe(client(), "https://%s/" % vips()[0], rate=50, duration=10, insecure=True).start()
    for _reload in range(10):
        host(LBS[0]).check_output("systemctl reload haproxy")
        time.sleep(0.5)
    report = probe.result()
    assert report["failed"] == 0, report["failures"][:5]


def test_vip_outside_the_subnet_stops_before_any_change():
    before = host(LBS[0]).file("/etc/keepalived/keepalived.conf").content_string
    done = site("--tags", "loadbalancers", "-e",
                '{"keepalived_vips": [{"address": "198.51.100.7/24", "router_id": 51}]}', succeed=False)
    assert done.returncode != 0
    assert "is not inside" in said(done)
    assert host(LBS[0]).file("/etc/keepalived/keepalived.conf").content_string == before


def test_duplicate_router_ids_stop_before_any_change():
    before = host(LBS[0]).file("/etc/keepalived/keepalived.conf").content_string
    done = site("--tags", "loadbalancers", "-e",
                '{"keepalived_vips": [{"address": "%s/24", "router_id": 7}, {"address": "%s/24", "router_id": 7}]}'
                % tuple(vips()), succeed=False)
    assert done.returncode != 0 and "unique router_id" in said(done)
    assert host(LBS[0]).file("/etc/keepalived/keepalived.conf").content_string == before


def test_sub_second_adverts_with_vrrp_v2_stop_before_any_change():
    before = host(LBS[0]).file("/etc/keepalived/keepalived.conf").content_string
    done = site("--tags", "loadbalancers", "-e", "keepalived_vrrp_version=2", succeed=False)
    assert done.returncode != 0 and "VRRPv2 takes whole seconds" in said(done)
    assert host(LBS[0]).file("/etc/keepalived/keepalived.conf").content_string == before


def test_invalid_certificate_fails_before_the_reload_and_the_old_one_keeps_serving():
    before = host(LBS[0]).file("/etc/haproxy/certs/site.pem").sha256sum
    done = site("--tags", "loadbalancers", "-e", "haproxy_tls_certificate='not a certificate'",
                "-e", "haproxy_tls_key='not a key'", succeed=False)
    assert done.returncode != 0
    assert host(LBS[0]).file("/etc/haproxy/certs/site.pem").sha256sum == before
    assert https("https://%s/" % vips()[0]).split("\n")[0] in WEB
