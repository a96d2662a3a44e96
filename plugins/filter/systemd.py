# -*- coding: utf-8 -*-
# Copyright: alx.webstack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A value for a systemd environment file, written so that the service sees it exactly."""

from __future__ import absolute_import, division, print_function

import re

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text

__metaclass__ = type

# Inside double quotes systemd's parser takes these literally after a backslash.
_ESCAPE = re.compile(r'([\\"$`])')


def systemd_quote(value):
    """``value`` double-quoted for an environment file (``EnvironmentFile=``):
    a backslash, double quote, dollar sign or backtick is escaped, and spaces,
    ``#`` and ``'`` need nothing more inside the quotes. A line break or a NUL
    cannot be written and is refused."""
    text = to_text(value)
    if any(char in text for char in "\n\r\x00"):
        raise AnsibleFilterError("systemd_quote: a value of an environment file cannot hold a line break or a NUL")
    return '"%s"' % _ESCAPE.sub(r"\\\1", text)


class FilterModule:
    """Values for systemd's files."""

    def filters(self):
        return {"systemd_quote": systemd_quote}
