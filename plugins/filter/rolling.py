# -*- coding: utf-8 -*-
# Copyright: alx.webstack contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How many web servers a rolling batch takes out, checked against how many must keep serving."""

from __future__ import absolute_import, division, print_function

import re

from ansible.errors import AnsibleFilterError

__metaclass__ = type

# Ansible's serial takes a number of hosts or a whole percentage (12.5% stops it with a traceback).
_BATCH = re.compile(r"^([1-9][0-9]*|[0-9]+%)$")
_MIN = re.compile(r"^[0-9]+%?$")


def _hosts(value, count):
    """A number, or a percentage of ``count`` rounded down (as serial counts it)."""
    return int(value[:-1]) * count // 100 if value.endswith("%") else int(value)


def rolling_plan(count, batch=1, min_serving="50%"):
    """The batch of playbooks/rolling.yml for ``count`` web servers: ``batch``
    (the hosts a batch takes out, as serial counts them: a percentage rounded
    down, at least one, at most all), ``floor`` (how many must keep serving)
    and ``error``, a sentence when the batch is not a valid serial or would
    leave fewer than ``floor`` serving; empty otherwise."""
    try:
        count = int(count)
    except (TypeError, ValueError):
        raise AnsibleFilterError("rolling_plan: expects the number of web servers, got %r" % (count,))
    batch, min_serving = str(batch).strip(), str(min_serving).strip()
    plan = {"batch": 0, "floor": 0, "error": ""}
    if not _BATCH.match(batch):
        plan["error"] = ("rolling_batch '%s' is neither a number of web servers nor a percentage such as 25%%."
                         % batch)
        return plan
    if not _MIN.match(min_serving):
        plan["error"] = ("rolling_min_serving '%s' is neither a number of web servers nor a percentage such as 50%%."
                         % min_serving)
        return plan
    out = _hosts(batch, count)
    plan["batch"] = min(max(out, 1) if batch.endswith("%") else out, count)
    plan["floor"] = _hosts(min_serving, count)
    if count - plan["batch"] < plan["floor"]:
        plan["error"] = ("A batch of %d (rolling_batch %s) of the %d web servers would leave %d serving, fewer than"
                         " rolling_min_serving (%s, that is %d): choose a smaller batch."
                         % (plan["batch"], batch, count, count - plan["batch"], min_serving, plan["floor"]))
    return plan


class FilterModule:
    """alx.webstack's rolling-batch filter."""

    def filters(self):
        return {"rolling_plan": rolling_plan}
