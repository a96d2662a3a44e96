# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Running commands and playbooks from the project's root, and waiting."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAB_INVENTORY = ROOT / "inventories" / "lab"


class LabError(AssertionError):
    """A lab step failed or a condition was not reached (an AssertionError, so
    that a test reports it as a failure, not as an error in the harness)."""


def run(cmd: list[str], check: bool = True, timeout: float | None = None, env: dict | None = None,
        quiet: bool = True) -> subprocess.CompletedProcess:
    """Run a command from the project's root; its output is captured when ``quiet``."""
    done = subprocess.run(cmd, cwd=ROOT, text=True, timeout=timeout, check=False,
                          env=dict(os.environ, **(env or {})), capture_output=quiet)
    if check and done.returncode != 0:
        raise LabError("%s failed (%d):\n%s" % (shlex.join(cmd), done.returncode, said(done)[-4000:]))
    return done


def playbook(inventory: str | Path, path: str, *extra: str, succeed: bool = True,
             env: dict | None = None) -> subprocess.CompletedProcess:
    """``ansible-playbook -i INVENTORY PATH EXTRA...`` from the project's root,
    without colours; with ``succeed`` a failed run raises with its output."""
    env = {"ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_NOCOLOR": "1", **(env or {})}
    return run(["ansible-playbook", "-i", str(inventory), path, *extra], check=succeed, timeout=3600, env=env)


def mitogen_env() -> dict:
    """The environment that runs ansible-playbook with Mitogen's linear
    strategy (PyPI ``mitogen``, an opt-in measured by ``make bench``)."""
    import ansible_mitogen  # pylint: disable=import-outside-toplevel
    # Mitogen's SSH follows Ansible's host_key_checking, not the lab
    # inventory's ssh arguments that skip the keys of its throwaway containers.
    return {"ANSIBLE_STRATEGY_PLUGINS": str(Path(ansible_mitogen.__file__).parent / "plugins" / "strategy"),
            "ANSIBLE_STRATEGY": "mitogen_linear", "ANSIBLE_HOST_KEY_CHECKING": "False"}


def said(done: subprocess.CompletedProcess) -> str:
    """A run's output (failures may go to stderr), line wrapping folded to single spaces."""
    return " ".join(((done.stdout or "") + "\n" + (done.stderr or "")).split())


def recap(output: str) -> dict[str, int]:
    """changed= per host from a play recap."""
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\S+)\s+: ok=\d+\s+changed=(\d+)", output, re.M)}


def wait_until(check, timeout: float = 60.0, interval: float = 0.5, what: str = "condition"):
    """Call ``check`` until it returns a true value and return that value; raise
    LabError after ``timeout`` seconds, with the last value or failure."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            last = check()
        except (AssertionError, subprocess.SubprocessError) as err:
            last = err
        else:
            if last:
                return last
        if time.monotonic() >= deadline:
            raise LabError("%s not reached within %s s (last: %r)" % (what, timeout, last))
        time.sleep(interval)
