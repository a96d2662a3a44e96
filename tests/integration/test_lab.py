# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab itself: every host boots systemd on its fixed address, and the probe
tool on the client measures a real outage."""

from __future__ import annotations

import time

import pytest
from conftest import LAB, host
from labkit.client import Probe


@pytest.mark.parametrize("name", LAB.hosts)
def test_host_runs_systemd_with_no_failed_unit(name):
    # "degraded" is a failed unit: a failure of the stack, not of the lab.
    state = host(name).run("systemctl is-system-running").stdout.strip()
    failed = host(name).run("systemctl --failed --no-legend --plain").stdout.strip()
    assert state == "running", "%s: systemd is %s; failed units: %s" % (name, state, failed or "none")


@pytest.mark.parametrize("name", LAB.hosts)
def test_host_has_its_inventory_address_on_the_lab_network(name):
    assert LAB.address(name).startswith("172.30.80.")
    assert LAB.address(name) in host(name).check_output("hostname -I").split()


def test_probe_counts_an_outage(client):
    """A server on the client goes away for a few seconds while the probe runs."""
    server = "python3 -m http.server 18080 --bind 127.0.0.1 --directory /usr/share"
    client.run("pkill -f 'http[.]server 18080'")
    client.check_output("nohup %s >/dev/null 2>&1 &" % server)
    try:
        probe = Probe(LAB, "http://127.0.0.1:18080/", rate=20, duration=8, timeout=1).start()
        time.sleep(2)
        client.check_output("pkill -f 'http[.]server 18080'")
        time.sleep(2)
        client.check_output("nohup %s >/dev/null 2>&1 &" % server)
        report = probe.result()
    finally:
        client.run("pkill -f 'http[.]server 18080'")
    assert report["ok"] > 60
    assert report["failed"] > 10
    assert 1.0 < report["longest_outage"] < 5.0
    assert sum(row["ok"] + row["failed"] for row in report["timeline"]) == report["total"]
