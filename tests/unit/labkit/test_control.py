# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for how the lab toolkit reads Docker's view of the lab's containers."""

from __future__ import annotations

import pytest
from labkit import control

CURRENT = "sha256:" + "a" * 64
OLDER = "sha256:" + "b" * 64
INSPECTED = """/lb1 running %s alx-webstack/debian:12
/lb2 exited %s alx-webstack/debian:12
/web1 created %s alx-webstack/debian:13
/db1 paused %s alx-webstack/debian:12

""" % (CURRENT, CURRENT, OLDER, CURRENT)


@pytest.fixture(autouse=True)
def lab_image(monkeypatch):
    monkeypatch.setenv("ALX_LAB_IMAGE", "alx-webstack/debian:12")


def test_each_host_gets_dockers_state_and_absent_ones_are_missing():
    found = control.parse_inspect(INSPECTED, CURRENT, ["lb1", "lb2", "web1", "db1", "db2"])
    assert {host: c.state for host, c in found.items()} == {
        "lb1": "running", "lb2": "exited", "web1": "created", "db1": "paused", "db2": "missing"}
    assert [host for host, c in found.items() if c.running] == ["lb1"]


def test_a_container_of_another_image_is_not_current():
    found = control.parse_inspect(INSPECTED, CURRENT, ["lb1", "web1"])
    assert found["lb1"].current and not found["web1"].current


def test_without_the_image_nothing_is_current():
    # `docker image inspect` of an image not built yet prints nothing.
    found = control.parse_inspect(INSPECTED, "", ["lb1", "lb2"])
    assert not any(c.current for c in found.values())


def test_descriptions_speak_of_stopped_never_started_and_the_image():
    found = control.parse_inspect(INSPECTED, CURRENT, ["lb1", "lb2", "web1", "db2"])
    assert [found[h].describe() for h in ("lb1", "lb2", "db2")] == ["running", "stopped", "missing"]
    assert found["web1"].describe() == "created, never started, from alx-webstack/debian:13 (not alx-webstack/debian:12)"


def test_the_image_defaults_to_debian_12(monkeypatch):
    monkeypatch.delenv("ALX_LAB_IMAGE")
    assert control.image() == control.DEFAULT_IMAGE == "alx-webstack/debian:12"
