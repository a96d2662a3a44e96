# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""`--check --diff` on the converged lab: it runs through, reports no change,
and shows no secret even at -vvv; a real run at -vvv shows none either, nor any
private key. (The same check run on a fresh lab is the scenario's `check`
step, before converge.)"""

from __future__ import annotations

import pytest
from conftest import LAB, site, variables
from labkit.commands import recap, said


SECRETS = ("mysql_app_password", "mysql_replication_password", "mysql_monitor_password",
           "haproxy_stats_password")


@pytest.mark.drill
def test_check_diff_on_the_converged_lab_changes_nothing_and_shows_no_secret():
    done = site("--check", "--diff", "-vvv")
    changed = recap(done.stdout)
    assert set(changed) == set(LAB.hosts), changed
    assert all(count == 0 for count in changed.values()), changed
    output = said(done)
    values = {name: variables(h)[name] for h in LAB.hosts for name in SECRETS
              if name in variables(h)}
    assert values, "the lab defines no secret to look for"
    leaked = sorted(name for name, value in values.items() if value in output)
    assert not leaked, leaked
    # What check mode must not skip: read-only queries and health waits ran.
    assert "Replicating from" in output


@pytest.mark.drill
def test_a_real_run_at_vvv_shows_no_secret_nor_private_key():
    done = site("-vvv")
    assert all(count == 0 for count in recap(done.stdout).values())
    output = said(done)
    values = {name: variables(h)[name] for h in LAB.hosts for name in SECRETS if name in variables(h)}
    assert not sorted(name for name, value in values.items() if value in output)
    # Keys (the site's, the ACME account's, the database CA's and servers') are
    # only ever named by path.
    assert "PRIVATE KEY-----" not in output
