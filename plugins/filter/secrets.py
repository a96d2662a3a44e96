# -*- coding: utf-8 -*-
# Copyright: alx.webstack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which secrets of the inventory are empty, placeholders or too short: their names, never their values."""

from __future__ import absolute_import, division, print_function

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text

__metaclass__ = type

# What example files and habit put where a secret belongs, compared without
# case and without - _ . or spaces.
PLACEHOLDERS = frozenset((
    "changeme", "changemenow", "password", "passw0rd", "secret", "admin", "root", "test", "example", "default",
    "todo", "fixme", "xxx", "vault", "letmein", "123456", "12345678", "qwerty",
))


def _folded(text):
    return "".join(char for char in text.lower() if char not in "-_. ")


def weak_secrets(secrets, min_length=16):
    """The names among ``secrets`` (name: value) whose value is empty, a known
    placeholder such as ``change-me`` (also inside a longer value made of it
    alone repeated) or shorter than ``min_length``, each with why; sorted. The
    values never appear in what is returned."""
    if not isinstance(secrets, dict):
        raise AnsibleFilterError("weak_secrets: expects the secrets by name, got %s" % type(secrets).__name__)
    weak = []
    for name in sorted(secrets):
        value = to_text(secrets[name] if secrets[name] is not None else "")
        folded = _folded(value)
        if not value.strip():
            weak.append("%s (empty)" % name)
        elif folded in PLACEHOLDERS or any(folded == word * (len(folded) // len(word))
                                           for word in PLACEHOLDERS if folded and len(folded) % len(word) == 0):
            weak.append("%s (a placeholder)" % name)
        elif len(value) < int(min_length):
            weak.append("%s (%d characters)" % (name, len(value)))
    return weak


class FilterModule:
    """The inventory's weak secrets, by name."""

    def filters(self):
        return {"weak_secrets": weak_secrets}
