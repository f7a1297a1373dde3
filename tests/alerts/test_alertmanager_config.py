"""deploy/alertmanager/alertmanager.yml: amtool accepts it, routes as documented, and really delivers."""

from __future__ import annotations

import io
import json
import re
import shlex
import time
import uuid
from pathlib import Path

import pytest
import yaml
from django.conf import settings as django_settings
from django.core.management import call_command

from alerts.models import Alert
from alerts.synthetic import ALERT_TYPES
from tests.alerts.alertmanager_proc import alertmanager_missing, amtool, running_alertmanager
from tests.servers import LocalServer

CONFIG = Path(django_settings.BASE_DIR) / "deploy" / "alertmanager" / "alertmanager.yml"
RUNBOOKS = Path(django_settings.BASE_DIR) / "docs" / "runbooks"
SECRETS = "/etc/alertmanager/secrets/"
TOKEN = "config-test-webhook-token"

pytestmark = pytest.mark.skipif(alertmanager_missing(), reason="prometheus-alertmanager/amtool not installed")


def committed() -> dict:
    return yaml.safe_load(CONFIG.read_text())


def test_it_passes_amtool_check_config_without_the_secret_files():
    # amtool only parses *_file options; the secrets are read when Alertmanager sends, so CI needs none.
    assert not Path(SECRETS).exists()
    result = amtool("check-config", str(CONFIG))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout
    assert "3 receivers" in result.stdout
    assert "1 inhibit rules" in result.stdout


def test_it_fails_check_config_for_a_broken_copy(tmp_path):
    broken = tmp_path / "alertmanager.yml"
    broken.write_text(CONFIG.read_text().replace("receiver: aos-webhook", "receiver: no-such-receiver"))
    result = amtool("check-config", str(broken))
    assert result.returncode != 0
    assert "no-such-receiver" in result.stdout + result.stderr


def test_it_keeps_secrets_out_of_git():
    text = CONFIG.read_text()
    assert "hooks.slack.com" not in text
    assert not re.search(r"^\s*(api_url|credentials|slack_api_url|bearer_token):", text, re.MULTILINE)
    config = committed()
    receivers = {receiver["name"]: receiver for receiver in config["receivers"]}
    [slack] = receivers["slack-and-aos"]["slack_configs"]
    assert slack["api_url_file"] == SECRETS + "slack_webhook_url"
    assert slack["send_resolved"] is True
    for name in ("slack-and-aos", "aos-webhook"):
        [webhook] = receivers[name]["webhook_configs"]
        assert webhook["url"] == "https://aos.example.com/api/v1/alerts/webhook"
        assert webhook["send_resolved"] is True
        assert webhook["http_config"]["authorization"]["credentials_file"] == SECRETS + "aos_webhook_token"


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        (["severity=critical", "alertname=AOSCostOverrun"], "slack-and-aos"),
        (["severity=warning", "alertname=AOSReplayMismatch", "tenant_id=acme"], "slack-and-aos"),
        (["severity=critical", "alertname=AOSWorkerUnhealthy"], "slack-and-aos"),
        (["severity=info", "alertname=AOSCustomAlert"], "aos-webhook"),
        (["severity=none", "alertname=AOSWatchdog"], "deadmans-switch"),
        (["severity=critical", "alertname=AOSWatchdog"], "deadmans-switch"),  # the heartbeat never pages
        (["alertname=RuleWithoutSeverity"], "slack-and-aos"),
    ],
)
def test_it_routes_alerts_to_the_documented_receiver(labels, receiver):
    result = amtool("config", "routes", "test", f"--config.file={CONFIG}", f"--verify.receivers={receiver}", *labels)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == receiver


def test_it_reports_a_wrong_route_in_amtool_route_tests():
    result = amtool(
        "config", "routes", "test", f"--config.file={CONFIG}", "--verify.receivers=aos-webhook", "severity=critical"
    )
    assert result.returncode != 0  # so the parametrized route tests above can fail


def test_it_beats_the_dead_mans_switch_every_minute():
    [watchdog] = [route for route in committed()["route"]["routes"] if route["receiver"] == "deadmans-switch"]
    assert watchdog["matchers"] == ['alertname="AOSWatchdog"']
    assert watchdog["repeat_interval"] == "1m"
    assert not watchdog.get("continue")


def test_it_has_a_runbook_for_every_injected_alertname():
    index = (RUNBOOKS / "README.md").read_text()
    for alert_type in ALERT_TYPES.values():
        runbook = RUNBOOKS / f"{alert_type.alertname}.md"
        text = runbook.read_text()
        assert text.startswith(f"# {alert_type.alertname}\n")
        for section in ("**Meaning.**", "## First checks", "## Fixes", "## Silence", "amtool silence add"):
            assert section in text, (runbook.name, section)
        assert f"({alert_type.alertname}.md)" in index
    for runbook in RUNBOOKS.glob("AOS*.md"):
        assert f"]({runbook.name})" in index, f"{runbook.name} is missing from docs/runbooks/README.md"


# --- The committed config, running -------------------------------------------------------------


@pytest.fixture
def deployed(live_server, tmp_path, settings, transactional_db):
    """A real Alertmanager on the committed config; only secrets, URLs and wait times are swapped for the test."""
    settings.ALERTS_WEBHOOK_TOKEN = TOKEN
    slack = LocalServer(lambda method, path, headers, body: (200, {"Content-Type": "text/plain"}, b"ok"))
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "slack_webhook_url").write_text(f"{slack.url}/services/T000/B000/test\n")
    (secrets / "aos_webhook_token").write_text(TOKEN)
    text = CONFIG.read_text().replace(SECRETS, f"{secrets}/")
    text = text.replace("https://aos.example.com", live_server.url)
    config = yaml.safe_load(text)
    config["route"].update(group_wait="1s", group_interval="1s")
    with slack, running_alertmanager(config_text=yaml.safe_dump(config), workdir=tmp_path / "am") as am:
        settings.ALERTMANAGER_URL = am.url
        am.slack = slack
        yield am


def _wait(predicate, deadline: float = 15.0):
    end = time.monotonic() + deadline
    while not (result := predicate()) and time.monotonic() < end:
        time.sleep(0.1)
    return result


def _inject(*args: str) -> str:
    out = io.StringIO()
    call_command("inject_synthetic_alert", *args, "--json", stdout=out)
    return json.loads(out.getvalue())["fingerprint"]


def test_it_delivers_to_slack_and_our_webhook_and_inhibits_the_warning_under_a_critical(deployed):
    tenant = f"t-{uuid.uuid4().hex[:10]}"
    critical = _inject("--type", "cost_overrun", "--severity", "critical", "--tenant", tenant)
    warning = _inject("--type", "cost_overrun", "--severity", "warning", "--tenant", tenant)

    stored = _wait(lambda: list(Alert.objects.filter(tenant_label=tenant)))
    assert [(row.fingerprint, row.receiver, row.severity) for row in stored] == [
        (critical, "slack-and-aos", "critical")
    ]
    slack_posts = _wait(lambda: [json.loads(request["body"]) for request in deployed.slack.requests])
    assert deployed.slack.requests[0]["path"] == "/services/T000/B000/test"  # the URL from the secret file
    [attachment] = slack_posts[0]["attachments"]
    assert attachment["title"].startswith("[FIRING:1] AOSCostOverrun (critical, ")
    assert "docs/runbooks/AOSCostOverrun.md" in attachment["text"]
    assert slack_posts[0]["channel"] == "#aos-alerts"

    # The inhibit rule: same alertname and tenant_id, so the warning is suppressed, not sent anywhere.
    out = io.StringIO()
    call_command("inject_synthetic_alert", "--list", "--json", stdout=out)
    states = {row["fingerprint"]: row["state"] for row in json.loads(out.getvalue())}
    assert states == {critical: "active", warning: "suppressed"}
    assert not Alert.objects.filter(fingerprint=warning).exists()


def test_it_runs_every_runbook_silence_command(deployed):
    for runbook in sorted(RUNBOOKS.glob("AOS*.md")):
        match = re.search(r"```sh\n(amtool silence add .*?)\n```", runbook.read_text(), re.DOTALL)
        if match is None:
            continue  # another helper's runbook may silence differently
        command = match.group(1).replace("\\\n", " ").replace('"$ALERTMANAGER_URL"', deployed.url)
        command = re.sub(r"<[a-z_]+>", "test", command)
        args = shlex.split(command)
        assert args[:3] == ["amtool", "silence", "add"]
        result = amtool(*args[1:])
        assert result.returncode == 0, (runbook.name, result.stderr)
        assert re.fullmatch(r"[0-9a-f-]{36}", result.stdout.strip()), (runbook.name, result.stdout)
