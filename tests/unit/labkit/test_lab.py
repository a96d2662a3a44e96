# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for the lab toolkit's pure parts: recaps, waiting, and reading the inventory."""

from __future__ import annotations

import pytest
from labkit.commands import LAB_INVENTORY, LabError, recap, wait_until
from labkit.lab import Lab

RECAP = """PLAY RECAP *********************************************************************
db1                        : ok=32   changed=0    unreachable=0    failed=0    skipped=4    rescued=0    ignored=0
web1                       : ok=42   changed=18   unreachable=0    failed=0    skipped=4    rescued=0    ignored=0
"""


def test_recap_gives_changed_tasks_per_host():
    assert recap("TASK [x] ***\nok: [db1]\n" + RECAP) == {"db1": 0, "web1": 18}


def test_wait_until_returns_the_first_true_value_past_failed_checks():
    answers = iter([None, "raise", "there"])

    def check():
        answer = next(answers)
        assert answer != "raise", "not yet"
        return answer
    assert wait_until(check, timeout=5, interval=0) == "there"


def test_wait_until_names_what_it_waited_for_and_the_last_answer():
    def check():
        assert False, "lb1 holds it"
    with pytest.raises(LabError, match=r"VIP on lb2 not reached within 0.05 s \(last: AssertionError\('lb1 holds it"):
        wait_until(check, timeout=0.05, interval=0.01, what="VIP on lb2")


def lab_with(data: dict) -> Lab:
    lab = Lab(LAB_INVENTORY)
    lab.__dict__["data"] = data  # what `ansible-inventory --list` would have said
    return lab


INVENTORY = {
    "_meta": {"hostvars": {
        "lb1": {"ansible_host": "172.30.80.11",
                "keepalived_vips": [{"address": "172.30.80.100/24"}, {"address": "172.30.80.101/24"}]},
        "lb2": {"ansible_host": "172.30.80.12"}, "lb3": {"ansible_host": "172.30.80.13"},
        "client": {"ansible_host": "172.30.80.51"}}},
    "all": {"children": ["ungrouped", "loadbalancers", "clients"]},
    "loadbalancers": {"hosts": ["lb2", "lb1"], "children": ["more"]},
    "more": {"hosts": ["lb3"]},
    "clients": {"hosts": ["client"]},
}


def test_groups_include_their_children_and_are_sorted():
    assert lab_with(INVENTORY).group("loadbalancers") == ["lb1", "lb2", "lb3"]


def test_vips_and_their_masters_follow_the_keepalived_role():
    lab = lab_with(INVENTORY)
    assert lab.vips == ["172.30.80.100", "172.30.80.101"]
    assert lab.steady() == {"172.30.80.100": "lb1", "172.30.80.101": "lb2"}
    assert lab.client == "client" and lab.address("lb3") == "172.30.80.13"
