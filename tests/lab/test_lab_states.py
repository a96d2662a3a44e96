# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""`make lab` comes back from every state a lab can be left in: all or some
containers stopped (a reboot of this machine), some or all removed, made from
another image. Each case ends with both VIPs serving from their usual
balancers and a following site.yml run that changes nothing.

These rebuild the lab several times (about half an hour), so they are not
part of `make test`: `make lab-test` runs them on the lab of LAB_DEBIAN, and
the image case moves it to the other release and back. The seconds `make lab`
took from each state are printed at the end.
"""

from __future__ import annotations

import os
import shlex
import time

import pytest
from labkit import control
from labkit.commands import ROOT, playbook, recap, run, wait_until
from labkit.lab import Lab

os.environ.setdefault("ANSIBLE_CONFIG", str(ROOT / "ansible.cfg"))
LAB = Lab()
TOOK: dict[str, float] = {}
PRIMARY = LAB.group("mysql_primary")[0]
# The seed copies the application's database (and the heartbeat's), not every
# database on the primary: the marks live where a user's data would.
MARKS = "%s.lab_states_marks" % LAB.variables(PRIMARY)["mysql_app_database"]
RUN = int(time.time()) * 10  # marks of an earlier run of these tests never count


def sql(host: str, statement: str) -> str:
    return LAB.sh(host, "mariadb -N -e %s" % shlex.quote(statement), check=False).strip()


def write_mark(value: int) -> None:
    sql(PRIMARY, "CREATE TABLE IF NOT EXISTS %s (n BIGINT); INSERT INTO %s VALUES (%d)" % (MARKS, MARKS, RUN + value))


def has_mark(host: str, value: int) -> bool:
    return sql(host, "SELECT COUNT(*) FROM %s WHERE n = %d" % (MARKS, RUN + value)) == "1"


@pytest.fixture(scope="module", autouse=True)
def serving_lab():
    """Every case starts from a whole lab; the times are shown at the end."""
    if not control.healthy(LAB):
        control.up(LAB)
    yield
    print("\nmake lab (labkit up) from each state:")
    for state, seconds in TOOK.items():
        print("  %-40s %4.0f s" % (state, seconds))


def states() -> dict[str, str]:
    return {host: container.state for host, container in control.containers(LAB).items()}


def serving() -> None:
    """Each VIP is held by its usual balancer and serves."""
    assert LAB.holders() == LAB.steady()
    for vip in LAB.vips:
        assert LAB.serves("https://%s/" % vip), vip


def brought_back(state: str, took: float) -> None:
    """The lab serves as before, and site.yml has nothing left to change."""
    TOOK[state] = took
    found = control.containers(LAB)
    assert all(c.running and c.current for c in found.values()), {h: c.describe() for h, c in found.items()}
    serving()
    changed = recap(playbook(LAB.inventory, "playbooks/site.yml").stdout)
    assert set(changed) >= set(LAB.hosts) and not any(changed.values()), changed


def test_a_whole_lab_is_only_converged():
    brought_back("running and whole", control.up(LAB))


def test_stop_and_start_keep_the_lab_and_its_data():
    write_mark(1)
    control.stop(LAB)
    assert set(states().values()) == {"exited"}
    TOOK["all stopped, make lab-start"] = control.start(LAB)
    serving()
    for db in LAB.group("mysql_primary") + LAB.group("mysql_replica"):
        assert wait_until(lambda d=db: has_mark(d, 1), 60, what="the write before the stop on %s" % db)
    # The lab's CA restarted with no memory of the balancers' account: make
    # lab prepares the lab again and registers it.
    assert not control.prepared(LAB)
    brought_back("after make lab-start, make lab", control.up(LAB))


def test_all_stopped():
    control.stop(LAB)
    brought_back("all stopped", control.up(LAB))


def test_the_holder_of_a_vip_stopped():
    holder = LAB.steady()[LAB.vips[0]]
    run(["docker", "stop", holder])
    assert states()[holder] == "exited"
    brought_back("one stopped (%s, a VIP's holder)" % holder, control.up(LAB))


def test_a_replica_removed_is_made_again_and_joins_by_itself():
    replica = LAB.group("mysql_replica")[-1]
    write_mark(2)
    run(["docker", "rm", "-f", replica])
    assert states()[replica] == "missing"
    brought_back("one removed (%s, a replica)" % replica, control.up(LAB))
    # A new, empty server: what it has it got from the others.
    assert wait_until(lambda: has_mark(replica, 2), 60, what="the earlier write on the new %s" % replica)
    write_mark(3)
    assert wait_until(lambda: has_mark(replica, 3), 60, what="a new write on %s" % replica)


def test_a_container_created_and_never_started():
    web = LAB.group("webservers")[0]
    run(["docker", "stop", web])
    # What an interrupted create leaves: the container exists, it never ran.
    image = run(["docker", "container", "inspect", "-f", "{{.Config.Image}}", web]).stdout.strip()
    run(["docker", "rm", web])
    run(["docker", "create", "--name", web, image, "/lib/systemd/systemd"])
    assert states()[web] == "created"
    brought_back("one half-created (%s)" % web, control.up(LAB))


def test_all_removed():
    run(["docker", "rm", "-f", *LAB.hosts])
    assert set(states().values()) == {"missing"}
    brought_back("all removed", control.up(LAB))


def test_another_image_replaces_every_container():
    current = control.image()
    repo, release = current.rsplit(":", 1)
    other = "13" if release == "12" else "12"
    run(["bash", "molecule/resources/images/build.sh", other])
    try:
        os.environ["ALX_LAB_IMAGE"] = "%s:%s" % (repo, other)
        assert not any(c.current for c in control.containers(LAB).values())
        brought_back("image changed (Debian %s to %s)" % (release, other), control.up(LAB))
        assert LAB.sh(LAB.client, ". /etc/os-release && echo $VERSION_ID").strip() == other
    finally:
        os.environ["ALX_LAB_IMAGE"] = current
    brought_back("image changed back (Debian %s to %s)" % (other, release), control.up(LAB))
