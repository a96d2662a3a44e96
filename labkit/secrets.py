# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether a run's output shows a secret: as it is, or base64-encoded (what
Ansible shows of a file it slurped or a value it encoded)."""

from __future__ import annotations

import base64

# What every PEM private key holds ("-----BEGIN PRIVATE KEY-----",
# "-----END EC PRIVATE KEY-----", ...): a key shown in any form shows this.
PRIVATE_KEY_MARK = "PRIVATE KEY-----"


def base64_forms(value: str) -> set[str]:
    """The texts that any base64 encoding of a text holding ``value`` contains.

    Base64 encodes three bytes into four characters, so what ``value`` becomes
    depends on where it starts within a group of three: one form for each of
    the three places, without the characters it shares with the bytes around
    it. A value shorter than six bytes has no form that is safe to look for.
    """
    raw = value.encode("utf-8")
    forms = set()
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + raw).decode("ascii")
        # The characters that hold only the value's bits: after the ones the
        # padding bytes touch, up to the last whole group.
        first = (offset * 8 + 5) // 6
        last = (offset + len(raw)) // 3 * 4
        if last - first >= 8:
            forms.add(encoded[first:last])
    return forms


def shown(output: str, secrets: dict[str, str]) -> list[str]:
    """The names of ``secrets`` (name: value) whose value ``output`` shows,
    as it is or base64-encoded, sorted."""
    return sorted(name for name, value in secrets.items()
                  if value in output or any(form in output for form in base64_forms(value)))


def shows_private_key(output: str) -> bool:
    """Whether ``output`` holds a PEM private key, as it is or base64-encoded."""
    return bool(shown(output, {"key": PRIVATE_KEY_MARK}))
