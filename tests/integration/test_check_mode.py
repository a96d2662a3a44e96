# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""`--check --diff` on the converged lab: it runs through, reports no change,
and shows no secret even at -vvv. (The same check run on a fresh lab is the
scenario's `check` step, before converge; a real run at -vvv is checked in
test_topology.py, on the run with the renamed web group.)"""

from __future__ import annotations

import pytest
from conftest import LAB, shown_secrets, site
from labkit.commands import recap, said


@pytest.mark.drill
def test_check_diff_on_the_converged_lab_changes_nothing_and_shows_no_secret():
    done = site("--check", "--diff", "-vvv")
    changed = recap(done.stdout)
    assert set(changed) == set(LAB.hosts), changed
    assert all(count == 0 for count in changed.values()), changed
    output = said(done)
    assert not shown_secrets(output)
    # What check mode must not skip: read-only queries and health waits ran.
    assert "Replicating from" in output
