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
    # No URL in the rules: Alertmanager's template and the admin build <base>/<alertname>.md per environment.
    assert "runbook_url" not in annotations
    # Finding 5: environment comes from the Prometheus external_labels, never from a rule.
    assert "environment" not in rule.get("labels", {}) and "environment" not in rule["expr"]
    for text in annotations.values():
        assert "\n" not in text.strip(), (name, text)  # one line each: Slack's template lays them out
    runbook = RUNBOOKS / f"{name}.md"
    assert runbook.is_file(), f"missing runbook {runbook.relative_to(ROOT)}"
    text = runbook.read_text()
    assert text.startswith(f"# {name}\n")
    assert "## Silence" in text


def test_it_uses_the_runbook_base_of_the_settings(settings):
    assert settings.ALERT_RUNBOOK_BASE_URL == RUNBOOK_BASE
    template = (ROOT / "deploy" / "alertmanager" / "aos.tmpl").read_text()
    assert '{{ define "aos.runbook_base" }}' + RUNBOOK_BASE + "{{ end }}" in template
    assert "https://" not in RULES.read_text()


def test_it_has_the_new_alerts_of_issue_16():
    names = {rule["alert"] for rule in alert_rules()}
    assert {
        "AOSTargetDown",
        "AOSHTTPErrors",
        "AOSHTTPLatencyHigh",
        "AOSRetentionStale",
        "AOSRunsQueuedTooLong",
    } <= names
    [target_down] = [r for r in alert_rules() if r["alert"] == "AOSTargetDown"]
    assert "up{" in target_down["expr"] and "== 0" in target_down["expr"]
    [breach] = [r for r in alert_rules() if r["alert"] == "AOSRateLimitBreach"]
    assert breach["expr"].startswith("tier:")
    recorded = {
        r["record"]: r["expr"] for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"] if "record" in r
    }
    assert 'tier!="unlimited"' in recorded["tier:aos_rate_limit_blocked:ratio_rate5m"]
    assert "sum by (tier)" in recorded["tier:aos_rate_limit_blocked:ratio_rate5m"]


SCRAPE = RULES_DIR / "scrape.yml"


@needs_promtool
def test_it_passes_promtool_check_config_on_the_scrape_configuration(tmp_path):
    syntax = promtool("check", "config", "--syntax-only", SCRAPE.name)
    assert syntax.returncode == 0, syntax.stdout + syntax.stderr
    # The full check (rule files, token file) on a copy whose secret path points at a real file.
    token = tmp_path / "token"
    token.write_text("t")
    (tmp_path / SCRAPE.name).write_text(
        SCRAPE.read_text().replace("/etc/prometheus/secrets/aos_metrics_token", str(token))
    )
    shutil.copy(RULES, tmp_path / RULES.name)
    full = promtool("check", "config", SCRAPE.name, cwd=tmp_path)
    assert full.returncode == 0, full.stdout + full.stderr
    assert "SUCCESS: 15 rules found" in full.stdout + full.stderr
    config = yaml.safe_load(SCRAPE.read_text())
    assert config["global"]["external_labels"] == {"environment": "production"}
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(jobs) == {"aos-web", "aos-worker", "aos-pushgateway"}
    assert jobs["aos-pushgateway"]["honor_labels"] is True
    assert jobs["aos-web"]["authorization"]["credentials_file"].startswith("/etc/prometheus/secrets/")


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
