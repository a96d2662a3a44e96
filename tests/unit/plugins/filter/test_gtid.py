# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The GTID filters the promotion playbook chooses its candidate with."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.alx.webstack.plugins.filter import gtid


def test_the_candidate_is_the_first_most_advanced_server():
    positions = {"db2": "0-1-42", "db3": "0-1-40"}
    assert gtid.gtid_most_advanced(positions) == ["db2"]
    assert gtid.gtid_covers("0-1-40", "0-1-42") is False


def test_a_server_that_never_replicated_has_nothing():
    assert gtid.gtid_most_advanced({"db2": None, "db3": "0-1-1"}) == ["db3"]


@pytest.mark.parametrize("value", ["0-1", "uuid:x-y", "0-a-1"])
def test_what_is_not_a_gtid_is_a_clear_error(value):
    with pytest.raises(AnsibleFilterError, match="not a GTID"):
        gtid.gtid_covers(value, "0-1-1")


def test_a_list_is_refused_with_what_is_expected():
    with pytest.raises(AnsibleFilterError, match="dictionary of name: GTIDs"):
        gtid.gtid_most_advanced(["db2"])


def test_the_highest_position_keeps_each_domains_latest_gtid():
    # A restored primary (backup at 40) follows on after what the old one reached (56).
    assert gtid.gtid_highest(["0-31-40", "0-31-56"]) == "0-31-56"
    assert gtid.gtid_highest(["0-31-40,1-5-9", "0-32-41", ""]) == "0-32-41,1-5-9"
    assert gtid.gtid_highest(["", None]) == ""


@pytest.mark.parametrize("value", [["0-1"], ["0-a-1"]])
def test_the_highest_position_of_what_is_not_a_gtid_is_a_clear_error(value):
    with pytest.raises(AnsibleFilterError, match="not a GTID"):
        gtid.gtid_highest(value)


def test_the_highest_position_wants_a_list():
    with pytest.raises(AnsibleFilterError, match="list of MariaDB GTID positions"):
        gtid.gtid_highest("0-1-1")


def test_the_state_at_a_position_keeps_the_older_servers_and_drops_what_followed():
    # A dump at 0-32-50 while the primary (32) went on to 56.
    assert gtid.gtid_state_at("0-31-40,0-32-56,1-31-7", "0-32-50") == "0-31-40,0-32-50,1-31-7"
    # Nothing newer: the position's own GTID is added where the state lacked it.
    assert gtid.gtid_state_at("0-31-40", "0-32-45") == "0-31-40,0-32-45"
    assert gtid.gtid_state_at("", "") == ""


def test_the_state_at_what_is_not_a_gtid_is_a_clear_error():
    with pytest.raises(AnsibleFilterError, match="not a GTID"):
        gtid.gtid_state_at("0-31-40", "0-1")
