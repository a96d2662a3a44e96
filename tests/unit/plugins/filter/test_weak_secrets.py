# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""weak_secrets: empty, placeholder and short secrets are named, never shown."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.alx.webstack.plugins.filter.secrets import weak_secrets


@pytest.mark.parametrize("value", ["change-me", "CHANGE_ME", "Change Me", "changeme" * 3, "password", "p.a.s.s.w.o.r.d",
                                   "secretsecretsecret", "123456"])
def test_a_placeholder_is_refused_however_it_is_written(value):
    assert weak_secrets({"mysql_app_password": value}) == ["mysql_app_password (a placeholder)"]


@pytest.mark.parametrize("value, why", [("", "empty"), ("   ", "empty"), (None, "empty"),
                                        ("Xk3-9fQ", "7 characters"), ("a" * 15, "15 characters")])
def test_an_empty_or_short_secret_is_refused_with_the_minimum(value, why):
    assert weak_secrets({"s": value}, 16) == ["s (%s)" % why]


def test_long_random_secrets_pass_and_only_names_are_returned():
    secrets = {"b": "Wq8r-2kLz_Pm4Vt7Yc1", "a": "change-me", "c": "short", "d": "lab-app-password"}
    weak = weak_secrets(secrets, 16)
    assert weak == ["a (a placeholder)", "c (5 characters)"]
    assert not any(value in item for item in weak for value in ("change-me", "short"))


def test_the_minimum_is_the_callers():
    assert weak_secrets({"s": "eightchr"}, 8) == [] and weak_secrets({"s": "eightchr"}, 9) == ["s (8 characters)"]


def test_anything_but_a_mapping_is_refused():
    with pytest.raises(AnsibleFilterError, match="expects the secrets by name"):
        weak_secrets(["change-me"])
