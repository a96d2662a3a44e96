# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The site's certificate from an ACME CA (Pebble on the client, the lab's
stand-in for Let's Encrypt): issued by HTTP-01 through the balancers, served
on both VIPs, renewed before it expires without a failed request, and the
VIPs' TLS compliant with Mozilla's "intermediate" profile."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile

import pytest
from conftest import LAB, PROJECT, site, variables
from labkit.client import Probe
from labkit.commands import recap

LB = LAB.balancers[0]
NAMES = variables(LB)["haproxy_acme_domains"]
# Each site name resolves to one VIP in the lab's DNS (in order).
SITES = list(zip(NAMES, LAB.vips))
# sslyze lives in a virtualenv of its own (`make sslyze`).
SSLYZE = os.path.join(PROJECT, ".cache", "sslyze", "bin", "python")


def served(name: str, vip: str) -> dict:
    """The certificate a client gets from ``vip`` asking for ``name``, and
    whether it verifies against the ACME CA's root."""
    out = LAB.sh(LAB.client, "curl -sS https://%s:15000/roots/0 > /run/acme-root.pem && "
                             "echo | openssl s_client -connect %s:443 -servername %s -CAfile /run/acme-root.pem "
                             "-verify_return_error > /run/acme-served.txt 2>/dev/null; "
                             "openssl x509 -noout -serial -issuer -ext subjectAltName < /run/acme-served.txt; "
                             "grep -c -m 1 'Verify return code: 0 (ok)' /run/acme-served.txt"
                 % (LAB.address(LAB.client), vip, name))
    return {"serial": out.split("serial=")[1].split()[0], "issuer": out.split("issuer=")[1].split("\n")[0],
            "names": sorted(part.strip()[4:] for part in out.split("Subject Alternative Name:")[1].split("\n")[1].split(",")),
            "verified": out.strip().endswith("1")}


@pytest.mark.parametrize("name, vip", SITES)
def test_both_vips_serve_the_certificate_the_acme_ca_issued(name, vip):
    certificate = served(name, vip)
    assert "Pebble" in certificate["issuer"]
    assert certificate["names"] == sorted(NAMES)
    assert certificate["verified"], certificate


@pytest.mark.drill
def test_a_certificate_near_its_end_is_renewed_without_a_failed_request():
    before = {vip: served(name, vip)["serial"] for name, vip in SITES}
    assert len(set(before.values())) == 1
    # A request may take up to 5 s: ansible-playbook starting on a 2-core machine shares its cores with the lab.
    probes = [Probe(LAB, "https://%s/" % vip, rate=20, duration=60, insecure=True, timeout=5).start() for vip in LAB.vips]
    # The CA's certificates last 90 days: renewing within 100 days of the end is due now.
    site("--tags", "loadbalancers", "-e", "haproxy_acme_renew_days=100")
    after = {vip: served(name, vip)["serial"] for name, vip in SITES}
    for probe in probes:
        probe.stop()
    reports = [probe.result() for probe in probes]
    assert len(set(after.values())) == 1 and set(after.values()) != set(before.values()), (before, after)
    for report in reports:
        assert report["failed"] == 0 and report["ok"] > 100, report["failures"][:5]
    # Renewed: the next run with the usual settings changes nothing.
    assert recap(site("--tags", "loadbalancers", "--limit", LB).stdout)[LB] == 0


def test_the_vips_are_compliant_with_mozilla_intermediate():
    assert os.path.exists(SSLYZE), "sslyze is not installed: run `make sslyze`"
    root = LAB.sh(LAB.client, "curl -sS https://%s:15000/roots/0" % LAB.address(LAB.client))
    with tempfile.TemporaryDirectory() as folder:
        ca, report = os.path.join(folder, "root.pem"), os.path.join(folder, "report.json")
        with open(ca, "w", encoding="utf-8") as out:
            out.write(root)
        done = subprocess.run([SSLYZE, "-m", "sslyze", "--mozilla_config=intermediate", "--certinfo_ca_file",
                               ca, "--json_out", report] + ["%s:443{%s}" % site for site in SITES],
                              capture_output=True, text=True, timeout=300, check=False)
        with open(report, encoding="utf-8") as handle:
            scanned = json.load(handle)
    assert [result["scan_status"] for result in scanned["server_scan_results"]] == ["COMPLETED"] * len(SITES)
    assert done.returncode == 0, done.stdout[-2000:]
    assert done.stdout.count("OK - Compliant.") == len(SITES), done.stdout[-2000:]
