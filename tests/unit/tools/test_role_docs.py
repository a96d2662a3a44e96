# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Each role's argument specs, defaults and README say the same thing."""

from __future__ import annotations

import pytest

from tools import role_docs

ROLES = role_docs.roles()


def options(role):
    """(entry point, option name, spec) for every option of every entry point."""
    return [(point, name, spec) for point, body in role_docs.entry_points(role).items()
            for name, spec in (body.get("options") or {}).items()]


def is_computed(value) -> bool:
    """Worked out with Jinja, anywhere inside (a list of openings with templated ports is)."""
    if isinstance(value, dict):
        return any(is_computed(item) for item in value.values())
    if isinstance(value, list):
        return any(is_computed(item) for item in value)
    return isinstance(value, str) and "{{" in value


@pytest.mark.parametrize("role", ROLES, ids=[r.name for r in ROLES])
def test_every_spec_default_is_the_role_default(role):
    defaults = role_docs.role_defaults(role)
    wrong = ["%s (%s): spec says %r, defaults/main.yml %r" % (name, point, spec["default"], defaults[name])
             for point, name, spec in options(role)
             if "default" in spec and name in defaults and spec["default"] != defaults[name]]
    assert not wrong


@pytest.mark.parametrize("role", ROLES, ids=[r.name for r in ROLES])
def test_every_literal_default_is_in_the_specs(role):
    """A default the user can read off (not worked out with Jinja) is shown in the specs too."""
    defaults = role_docs.role_defaults(role)
    missing = ["%s (%s)" % (name, point) for point, name, spec in options(role)
               if name in defaults and not is_computed(defaults[name]) and "default" not in spec
               and not spec.get("required")]
    assert not missing


@pytest.mark.parametrize("role", ROLES, ids=[r.name for r in ROLES])
def test_every_option_has_a_default_or_is_required(role):
    defaults = role_docs.role_defaults(role)
    loose = ["%s (%s)" % (name, point) for point, name, spec in options(role)
             if not spec.get("required") and "default" not in spec and name not in defaults]
    assert not loose


@pytest.mark.parametrize("role", ROLES, ids=[r.name for r in ROLES])
def test_every_role_default_is_declared(role):
    declared = {option[1] for option in options(role)}
    undeclared = sorted(set(role_docs.role_defaults(role)) - declared)
    assert not undeclared


@pytest.mark.parametrize("role", ROLES, ids=[r.name for r in ROLES])
def test_the_readme_table_is_the_specs(role):
    readme = (role / "README.md").read_text(encoding="utf-8")
    assert role_docs.render(readme, role_docs.tables(role), role.name) == readme, "run `make docs`"


def test_markup_reads_as_plain_markdown():
    assert role_docs.markup(["Port of O(nginx_listen_port) and C(a|b);", "see P(alx.webstack.mysql#role)."]) == \
        "Port of `nginx_listen_port` and `a\\|b`; see `alx.webstack.mysql`."
    assert role_docs.markup("V(none), M(ansible.builtin.apt), I(it), B(bold), L(text,https://example.org)") == \
        "`none`, `ansible.builtin.apt`, *it*, **bold**, [text](https://example.org)"


def test_a_readme_without_markers_is_refused_with_its_name():
    with pytest.raises(SystemExit, match="README.md: no generated option table"):
        role_docs.render("# role\n", "block", "README.md")
