# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every alert rule has promtool tests (tests/rules, run by `make rules`): one
where it fires, and the healthy stack where it does not."""

from __future__ import annotations

import pathlib
import re

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
RULES = ROOT / "roles/monitoring/templates/alerts.rules.yml.j2"
TESTS = ROOT / "tests/rules/alx-webstack.test.yml"


def _alerts():
    return set(re.findall(r"^\s+- alert: (\w+)$", RULES.read_text(), re.MULTILINE))


def _cases():
    return [case for test in yaml.safe_load(TESTS.read_text())["tests"] for case in test.get("alert_rule_test", [])]


def test_the_rules_have_alerts():
    assert len(_alerts()) >= 15


def test_every_alert_has_a_test_where_it_fires():
    fired = {case["alertname"] for case in _cases() if case.get("exp_alerts")}
    assert sorted(_alerts() - fired) == []


def test_every_alert_is_silent_on_the_healthy_stack():
    healthy = next(test for test in yaml.safe_load(TESTS.read_text())["tests"] if test["name"].startswith("a healthy"))
    silent = {case["alertname"] for case in healthy["alert_rule_test"] if case["exp_alerts"] == []}
    assert sorted(_alerts() - silent) == []


def test_tests_name_only_alerts_that_exist():
    assert sorted({case["alertname"] for case in _cases()} - _alerts()) == []


def test_every_alert_has_a_severity_and_a_runbook():
    text = RULES.read_text()
    for block in re.split(r"\n\s+- alert: ", text)[1:]:
        name = block.split("\n", 1)[0]
        assert re.search(r"severity: (critical|warning)", block), name
        assert re.search(r"\n\s+runbook: \"[^\"]{20,}\"", block), name
