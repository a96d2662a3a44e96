# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which of a role's packages a host still needs, from the package facts read once per run."""

from __future__ import annotations

import re

from ansible.errors import AnsibleFilterError

# A plain package name (Debian policy: lower case, digits, + - .). Anything else
# (a version pin, an architecture, a pattern, a .deb file) is left to the
# package manager.
_PLAIN_NAME = re.compile(r"^[a-z0-9][a-z0-9+.-]+$")


def missing_packages(names, installed=None):
    """The packages of ``names`` (a name or a list) that ``installed`` does not
    list. ``installed`` is ``ansible_facts.packages`` as package_facts sets it;
    without it (None or undefined, the facts were not read) every name counts as
    missing, so that the caller installs as it would without facts. A name with
    a version, an architecture or a pattern counts as missing too: the package
    manager decides."""
    if isinstance(names, str):
        names = [names]
    if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
        raise AnsibleFilterError("missing_packages: expects a package name or a list of them, got %r" % (names,))
    if installed is None:
        return list(names)
    if not isinstance(installed, dict):
        raise AnsibleFilterError("missing_packages: expects ansible_facts.packages (a mapping from names to"
                                 " installed versions), got %s" % type(installed).__name__)
    return [n for n in names if not (_PLAIN_NAME.match(n) and installed.get(n))]


class FilterModule:
    """alx.webstack's package filters."""

    def filters(self):
        return {"missing_packages": missing_packages}
