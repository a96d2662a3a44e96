# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""labkit.secrets: a secret is found in a run's output as it is and inside any
base64 text that encodes it, wherever it starts; nothing else is."""

from __future__ import annotations

import base64

import pytest
from labkit.secrets import base64_forms, shown, shows_private_key

SECRET = "lab-App-pa55word!"


@pytest.mark.parametrize("before", ["", "a", "ab", "abc", "DB_PASSWORD=", "x" * 100])
@pytest.mark.parametrize("after", ["", "\n", "xy", "\nDB_PORT=3306\n"])
def test_a_secret_inside_any_base64_text_is_found(before, after):
    blob = base64.b64encode((before + SECRET + after).encode()).decode()
    assert shown('"content": "%s", "encoding": "base64"' % blob, {"mysql_app_password": SECRET}) == [
        "mysql_app_password"]


def test_a_secret_as_it_is_is_found_and_named():
    assert shown("password=%s" % SECRET, {"a": SECRET, "b": "other-secret"}) == ["a"]


def test_output_without_the_secret_shows_nothing():
    other = base64.b64encode(b"DB_PASSWORD=another-password\n").decode()
    assert shown("ok: [web1] %s" % other, {"mysql_app_password": SECRET}) == []


def test_every_form_is_long_enough_to_mean_something():
    assert len(base64_forms(SECRET)) == 3
    assert all(len(form) >= 8 for form in base64_forms(SECRET))


@pytest.mark.parametrize("pem", [
    "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI\n-----END PRIVATE KEY-----\n",
    "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEI\n-----END EC PRIVATE KEY-----\n",
])
@pytest.mark.parametrize("encode", [False, True])
def test_a_private_key_is_found_as_it_is_and_slurped(pem, encode):
    text = base64.b64encode(pem.encode()).decode() if encode else pem
    assert shows_private_key('{"content": "%s"}' % text)


def test_a_certificate_is_not_a_private_key():
    pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    assert not shows_private_key(pem + base64.b64encode(pem.encode()).decode())
