"""Prometheus alert rules (deploy/prometheus/aos_rules.yml): promtool, labels, runbooks, test coverage."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
RULES_DIR = ROOT / "deploy" / "prometheus"
RULES = RULES_DIR / "aos_rules.yml"
RULE_TESTS = RULES_DIR / "aos_rules_test.yml"
RUNBOOKS = ROOT / "docs" / "runbooks"
RUNBOOK_BASE = "https://github.com/aos-control-plane/aos/blob/main/docs/runbooks"
INJECTABLE = {"AOSCostOverrun", "AOSRateLimitBreach", "AOSReplayMismatch", "AOSWorkerUnhealthy"}

needs_promtool = pytest.mark.skipif(shutil.which("promtool") is None, reason="needs promtool (Debian prometheus)")


def alert_rules() -> list[dict]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def promtool(*args: str, cwd: Path = RULES_DIR) -> subprocess.CompletedProcess:
    return subprocess.run(["promtool", *args], cwd=cwd, capture_output=True, text=True, timeout=60)


@needs_promtool
def test_it_passes_promtool_check_and_the_rule_unit_tests():
    checked = promtool("check", "rules", RULES.name)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = promtool("test", "rules", RULE_TESTS.name)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "SUCCESS" in tested.stdout + tested.stderr


@needs_promtool
def test_it_fails_the_rule_tests_when_a_threshold_changes(tmp_path):
    """The unit tests really pin the rules: a cost threshold of 100 USD/hour no longer fires at 90."""
    changed = RULES.read_text().replace("* 3600 > 50", "* 3600 > 100")
    assert changed != RULES.read_text()
    (tmp_path / RULES.name).write_text(changed)
    shutil.copy(RULE_TESTS, tmp_path / RULE_TESTS.name)
    result = promtool("test", "rules", RULE_TESTS.name, cwd=tmp_path)
    assert result.returncode != 0
    assert "AOSCostOverrun" in result.stdout + result.stderr


def test_it_covers_the_required_alerts():
    names = {rule["alert"] for rule in alert_rules()}
    assert INJECTABLE | {"AOSWatchdog"} <= names
    assert len(names) == len(alert_rules()), "one rule per alertname"


@pytest.mark.parametrize("rule", alert_rules(), ids=lambda r: r["alert"])
def test_it_labels_and_annotates_every_alert(rule):
    name = rule["alert"]
    expected_severity = {"none"} if name == "AOSWatchdog" else {"warning", "critical"}
    assert rule["labels"]["severity"] in expected_severity
    annotations = rule["annotations"]
    assert annotations["summary"] and annotations["description"]
    assert annotations["runbook_url"] == f"{RUNBOOK_BASE}/{name}.md"
    runbook = RUNBOOKS / f"{name}.md"
    assert runbook.is_file(), f"missing runbook {runbook.relative_to(ROOT)}"
    text = runbook.read_text()
    assert text.startswith(f"# {name}\n")
    assert "## Silence" in text


def test_it_uses_the_runbook_base_of_the_settings(settings):
    assert settings.ALERT_RUNBOOK_BASE_URL == RUNBOOK_BASE


@pytest.mark.parametrize("rule", alert_rules(), ids=lambda r: r["alert"])
def test_it_has_a_firing_and_a_silent_unit_test_for_every_alert(rule):
    firing = silent = 0
    for case in yaml.safe_load(RULE_TESTS.read_text())["tests"]:
        for check in case.get("alert_rule_test", []):
            if check["alertname"] == rule["alert"]:
                if check["exp_alerts"]:
                    firing += 1
                else:
                    silent += 1
    assert firing >= 1 and silent >= 1, (rule["alert"], firing, silent)
