# -*- coding: utf-8 -*-
# Copyright: alx.webstack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""systemd for the roles: a value for an environment file, written so that the
service sees it exactly, and the state of the units read once per run."""

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


# The line before the units in preflight's read (roles/preflight/tasks/main.yml).
_UNITS = "# units"


def unit_states(lines):
    """Each loaded unit's state from the output lines of ``systemctl show
    --property=Id,ActiveState,UnitFileState`` for the units (blocks of
    ``Key=value`` lines, a blank line between units) after a line ``# units``:
    a dict of unit name to ``{"active": bool, "enabled": bool}``. A unit that is
    not loaded is missing: it is inactive, and not enabled (an enabled unit is
    wanted by a target, so loaded)."""
    if not isinstance(lines, (list, tuple)):
        raise AnsibleFilterError("unit_states: expects the lines of systemctl's output, got %r" % (lines,))
    states = {}
    block = {}
    seen = False

    def keep(block):
        if block.get("Id"):
            states[block["Id"]] = {"active": block.get("ActiveState") == "active",
                                   "enabled": block.get("UnitFileState") == "enabled"}

    for line in lines:
        text = to_text(line).strip()
        if text == _UNITS:
            seen = True
            continue
        if not seen:
            continue
        if not text:
            keep(block)
            block = {}
        elif "=" in text:
            key, value = text.split("=", 1)
            block[key] = value
    keep(block)
    return states


def _unit_name(name):
    return name if "." in name.rsplit("/", 1)[-1] else name + ".service"


def unsettled_units(names, states=None, state="started"):
    """The units of ``names`` (a name or a list; ``nginx`` is ``nginx.service``)
    that are not yet as a role wants them: for ``started``, not both active and
    enabled at boot; for ``stopped``, active or enabled. A unit that was not
    loaded when the states were read counts as not yet as wanted either way:
    the run may have installed it since. ``states`` is what
    preflight read at the start of the run (``webstack_unit_states``); without
    it (None) every unit counts, so that the caller acts as it would otherwise."""
    if isinstance(names, str):
        names = [names]
    if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
        raise AnsibleFilterError("unsettled_units: expects a unit name or a list of them, got %r" % (names,))
    if state not in ("started", "stopped"):
        raise AnsibleFilterError("unsettled_units: state is started or stopped, not %r" % (state,))
    if states is None:
        return list(names)
    if not isinstance(states, dict):
        raise AnsibleFilterError("unsettled_units: expects the states unit_states returns, got %s" % type(states).__name__)
    unsettled = []
    for name in names:
        seen = states.get(_unit_name(name))
        if seen is None:
            # Not loaded when preflight read: inactive then, but the run may
            # have installed it since (a package enables its units).
            unsettled.append(name)
        elif not (seen["active"] and seen["enabled"] if state == "started" else not (seen["active"] or seen["enabled"])):
            unsettled.append(name)
    return unsettled


class FilterModule:
    """systemd for the roles."""

    def filters(self):
        return {"systemd_quote": systemd_quote, "unit_states": unit_states, "unsettled_units": unsettled_units}
