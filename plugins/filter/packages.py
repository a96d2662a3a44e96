# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which of a role's packages a host still needs, from the installed packages read once per run."""

from __future__ import annotations

import re

from ansible.errors import AnsibleFilterError

# A plain package name (Debian policy: lower case, digits, + - .). Anything else
# (a version pin, an architecture, a pattern, a .deb file) is left to the
# package manager.
_PLAIN_NAME = re.compile(r"^[a-z0-9][a-z0-9+.-]+$")


def installed_packages(lines):
    """The names of the installed packages in the output lines of
    ``dpkg-query --show --showformat='${db:Status-Abbrev}${Package}\\n'``
    (``ii nginx``: desired install, installed; ``hi``: held and installed)."""
    if not isinstance(lines, (list, tuple)):
        raise AnsibleFilterError("installed_packages: expects the lines of dpkg-query's output, got %r" % (lines,))
    names = []
    for line in lines:
        fields = str(line).split()
        if len(fields) == 2 and fields[0][:2] in ("ii", "hi"):
            names.append(fields[1])
    return sorted(set(names))


def missing_packages(names, installed=None):
    """The packages of ``names`` (a name or a list) that ``installed`` does not
    hold. ``installed`` is a list of installed package names
    (``webstack_installed_packages``, which preflight reads once per run), or
    ``ansible_facts.packages`` as package_facts sets it. Without it (None: not
    read) every name counts as missing, so that the caller installs as it would
    otherwise. A name with a version, an architecture or a pattern counts as
    missing too: the package manager decides."""
    if isinstance(names, str):
        names = [names]
    if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
        raise AnsibleFilterError("missing_packages: expects a package name or a list of them, got %r" % (names,))
    if installed is None:
        return list(names)
    if isinstance(installed, dict):
        have = set(name for name, versions in installed.items() if versions)
    elif isinstance(installed, (list, tuple, set)):
        have = set(str(name) for name in installed)
    else:
        raise AnsibleFilterError("missing_packages: expects a list of installed package names or"
                                 " ansible_facts.packages, got %s" % type(installed).__name__)
    return [n for n in names if not (_PLAIN_NAME.match(n) and n in have)]


class FilterModule:
    """alx.webstack's package filters."""

    def filters(self):
        return {"installed_packages": installed_packages, "missing_packages": missing_packages}
