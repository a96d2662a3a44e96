# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""systemd_quote: a value of an environment file, seen by the service as given."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.alx.webstack.plugins.filter.systemd import systemd_quote


@pytest.mark.parametrize("value, quoted", [
    ("s3cret", '"s3cret"'),
    ("two words # not a comment", '"two words # not a comment"'),
    ("it's \"quoted\"", '"it\'s \\"quoted\\""'),
    ("$HOME and ${PATH} and `id`", '"\\$HOME and \\${PATH} and \\`id\\`"'),
    ("back\\slash", '"back\\\\slash"'),
    ("  padded  ", '"  padded  "'),
    ("", '""'),
    (3306, '"3306"'),
])
def test_a_value_is_quoted_and_escaped_for_systemd(value, quoted):
    assert systemd_quote(value) == quoted


@pytest.mark.parametrize("value", ["two\nlines", "cr\r", "nul\x00"])
def test_a_value_systemd_cannot_read_back_is_refused(value):
    with pytest.raises(AnsibleFilterError, match="cannot hold a line break or a NUL"):
        systemd_quote(value)
