# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rolling deploys through playbooks/deploy.yml while clients keep requesting."""

from __future__ import annotations

import pytest
from conftest import LAB, broken_release, group, host, playbook, release_linked, release_served, sha256, variables
from labkit.commands import said
from labkit.client import Probe

# Rolling deploys under load: long, so run where the drills run (DRILL_DEBIAN).
pytestmark = pytest.mark.drill

WEB = group("webservers")


def probe_during(*extra, succeed=True):
    """Run deploy.yml while the client requests the first VIP; both results."""
    probe = Probe(LAB, "https://%s/" % LAB.vips[0], rate=20, duration=90, insecure=True, timeout=5).start()
    try:
        done = playbook("deploy.yml", *extra, succeed=succeed)
    finally:
        probe.stop()
    return done, probe


def test_rolling_deploy_and_rollback_cost_no_request_and_move_every_server():
    """A new release on every server, the old one kept beside it; then
    app_rollback=true takes the fleet back to it, rolling as well."""
    default = variables(WEB[0]).get("app_version", "1.0.0")
    try:
        _done, probe = probe_during("-e", "app_version=3.0.0")
        assert all(release_linked(web) == "3.0.0" and release_linked(web, "previous") == default for web in WEB)
        assert all(release_served(web) == "3.0.0" for web in WEB)
        assert all(host(web).file("/srv/app/releases/%s/app.py" % default).exists for web in WEB)
        report = probe.result(grace=120)
        assert report["failed"] == 0 and report["ok"] > 100, (report["ok"], report["failures"][:5])

        _done, probe = probe_during("-e", "app_rollback=true")
        assert all(release_linked(web) == default and release_linked(web, "previous") == "3.0.0" for web in WEB)
        assert all(release_served(web) == default for web in WEB)
        report = probe.result(grace=120)
        assert report["failed"] == 0 and report["ok"] > 100, (report["ok"], report["failures"][:5])
    finally:
        if not all(release_linked(web) == default for web in WEB):
            playbook("deploy.yml", "-e", "app_version=%s" % default)
    assert all(release_linked(web) == default for web in WEB)


def test_failing_release_stops_the_rollout_and_the_fleet_keeps_serving():
    """The archive has its SHA-256 named (in capitals): it is let through and
    unpacked, then refused for its health, and its server rolled back."""
    default = variables(WEB[0]).get("app_version", "1.0.0")
    broken = broken_release()
    done, probe = probe_during("-e", "app_source=archive", "-e", "app_archive=" + broken,
                               "-e", "app_archive_sha256=" + sha256(broken).upper(),
                               "-e", "app_version=broken-2", "-e", "app_health_timeout=10", succeed=False)
    assert done.returncode != 0
    assert "Release broken-2 of app did not become healthy" in said(done)
    assert "Rolled back to %s" % default in said(done)
    assert all(release_linked(web) == default for web in WEB)
    report = probe.result(grace=120)
    assert report["failed"] == 0, report["failures"][:5]
    assert report["ok"] > 100, report
    for web in WEB:
        assert "release %s" % default in LAB.curl_web(web)


@pytest.mark.parametrize("batch, sentence", [
    ("100%", "A batch of %d (rolling_batch 100%%) of the %d web servers would leave 0 serving, fewer than"
             " rolling_min_serving (50%%, that is %d): choose a smaller batch." % (len(WEB), len(WEB), len(WEB) // 2)),
    ("lots", "rolling_batch 'lots' is neither a number of web servers nor a percentage such as 25%."),
    # Ansible's serial takes whole percentages only: refused here, before it fails with a traceback.
    ("12.5%", "rolling_batch '12.5%' is neither a number of web servers nor a percentage such as 25%."),
])
def test_a_batch_that_would_leave_too_few_servers_serving_is_refused_before_any_change(batch, sentence):
    before = {web: release_linked(web) for web in WEB}
    done = playbook("deploy.yml", "-e", "app_version=9.9.9", "-e", "rolling_batch=%s" % batch, succeed=False)
    assert done.returncode != 0
    assert sentence in said(done), said(done)[-2000:]
    assert {web: release_linked(web) for web in WEB} == before
