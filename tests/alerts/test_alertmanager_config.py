"""deploy/alertmanager/alertmanager.yml: amtool accepts it, routes as documented, and really delivers."""

from __future__ import annotations

import datetime as dt
import functools
import io
import json
import os
import re
import shlex
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest
import requests
import yaml
from django.conf import settings as django_settings
from django.core.management import call_command

from alerts.models import Alert
from alerts.synthetic import ALERT_TYPES
from tests.alerts.alertmanager_proc import alertmanager_missing, amtool, running_alertmanager
from tests.servers import LocalServer

TEMPLATE = Path(django_settings.BASE_DIR) / "deploy" / "alertmanager" / "alertmanager.yml"
SLACK_TEMPLATES = TEMPLATE.with_name("aos.tmpl")
AOS_BASE_URL = "https://aos.example.com"
DEADMANS_SWITCH_URL = "https://deadmans-switch.example.com/ping/aos-production"
RUNBOOKS = Path(django_settings.BASE_DIR) / "docs" / "runbooks"
SECRETS = "/etc/alertmanager/secrets/"
TOKEN = "config-test-webhook-token"

pytestmark = pytest.mark.skipif(alertmanager_missing(), reason="prometheus-alertmanager/amtool not installed")


def render(*, aos_base_url: str = AOS_BASE_URL, deadmans_switch_url: str = DEADMANS_SWITCH_URL) -> str:
    """The committed file rendered as the header documents it (envsubst of the two URLs)."""
    env = {**os.environ, "AOS_BASE_URL": aos_base_url, "DEADMANS_SWITCH_URL": deadmans_switch_url}
    result = subprocess.run(
        ["envsubst", "$AOS_BASE_URL $DEADMANS_SWITCH_URL"],
        input=TEMPLATE.read_text(),
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


@functools.cache
def rendered_path() -> Path:
    path = Path(tempfile.mkdtemp(prefix="aos-am-config-")) / "alertmanager.yml"
    path.write_text(render())
    return path


def committed() -> dict:
    return yaml.safe_load(rendered_path().read_text())


def test_it_passes_amtool_check_config_without_the_secret_files():
    # amtool only parses *_file options; the secrets are read when Alertmanager sends, so CI needs none.
    assert not Path(SECRETS).exists()
    result = amtool("check-config", str(rendered_path()))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout
    assert "3 receivers" in result.stdout
    assert "1 inhibit rules" in result.stdout


def test_it_fails_check_config_for_a_broken_copy(tmp_path):
    broken = tmp_path / "alertmanager.yml"
    broken.write_text(render().replace("receiver: aos-webhook", "receiver: no-such-receiver"))
    result = amtool("check-config", str(broken))
    assert result.returncode != 0
    assert "no-such-receiver" in result.stdout + result.stderr


def test_it_keeps_secrets_and_urls_out_of_git():
    """Finding 7: the webhook URL was a literal in the committed config; the environment renders it."""
    text = TEMPLATE.read_text()
    assert "hooks.slack.com" not in text
    assert not re.search(r"^\s*(api_url|credentials|slack_api_url|bearer_token):", text, re.MULTILINE)
    urls = re.findall(r"^\s*-?\s*url:\s*(\S+)", text, re.MULTILINE)
    assert urls == ["${AOS_BASE_URL}/api/v1/alerts/webhook", "${DEADMANS_SWITCH_URL}"]
    config = committed()
    receivers = {receiver["name"]: receiver for receiver in config["receivers"]}
    [slack] = receivers["slack-and-aos"]["slack_configs"]
    assert slack["api_url_file"] == SECRETS + "slack_webhook_url"
    assert slack["send_resolved"] is True
    for name in ("slack-and-aos", "aos-webhook"):
        [webhook] = receivers[name]["webhook_configs"]
        assert webhook["url"] == f"{AOS_BASE_URL}/api/v1/alerts/webhook"
        assert webhook["send_resolved"] is True
        assert webhook["http_config"]["authorization"]["credentials_file"] == SECRETS + "aos_webhook_token"
    assert receivers["deadmans-switch"]["webhook_configs"][0]["url"] == DEADMANS_SWITCH_URL


def test_it_documents_one_path_for_the_webhook_token():
    """Finding 9: the README named two different paths for the Alertmanager webhook token."""
    readme = (Path(django_settings.BASE_DIR) / "README.md").read_text()
    paths = set(re.findall(r"/etc/alertmanager/[\w/.-]*token\w*", readme))
    assert paths == {SECRETS + "aos_webhook_token"}


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
    result = amtool(
        "config", "routes", "test", f"--config.file={rendered_path()}", f"--verify.receivers={receiver}", *labels
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == receiver


def test_it_reports_a_wrong_route_in_amtool_route_tests():
    result = amtool(
        "config",
        "routes",
        "test",
        f"--config.file={rendered_path()}",
        "--verify.receivers=aos-webhook",
        "severity=critical",
    )
    assert result.returncode != 0  # so the parametrized route tests above can fail


def _duration(text: str) -> float:
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    number, unit = re.fullmatch(r"(\d+)(ms|s|m|h)", text).groups()
    return int(number) * units[unit]


def test_it_beats_the_dead_mans_switch_at_the_documented_minute():
    """Finding 4: a group is re-sent at a group_interval tick once repeat_interval has passed; with both
    at 1m the tick comes a hair early and the ping goes out every 2 minutes."""
    [watchdog] = [route for route in committed()["route"]["routes"] if route["receiver"] == "deadmans-switch"]
    assert watchdog["matchers"] == ['alertname="AOSWatchdog"']
    assert _duration(watchdog["group_interval"]) == 60  # the documented ping interval
    assert _duration(watchdog["repeat_interval"]) < _duration(watchdog["group_interval"])
    assert _duration(watchdog["group_wait"]) == 0
    assert not watchdog.get("continue")


def test_it_documents_the_notification_delays_of_the_committed_timings():
    """Finding 9: group_wait/group_interval delays (a resolve up to 5 minutes later) were undocumented."""
    route = committed()["route"]
    readme = (Path(django_settings.BASE_DIR) / "README.md").read_text()
    section = readme[readme.index("**Alert delays.**") :][:1500]
    assert f"`group_wait` ({route['group_wait']})" in section
    assert f"`group_interval` ({route['group_interval']})" in section
    assert f"`repeat_interval` ({route['repeat_interval']})" in section
    assert "resolve" in section


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
    pings: list[float] = []  # arrival times at the heartbeat service
    heartbeat = LocalServer(lambda method, path, headers, body: (pings.append(time.monotonic()), 200)[1:] + ({}, b"ok"))
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "aos.tmpl").write_text(SLACK_TEMPLATES.read_text())
    with slack, heartbeat:
        text = render(aos_base_url=live_server.url, deadmans_switch_url=f"{heartbeat.url}/ping/test")
        text = text.replace(SECRETS, f"{secrets}/").replace("/etc/alertmanager/templates/", f"{templates}/")
        config = yaml.safe_load(text)
        config["route"].update(group_wait="1s", group_interval="1s")
        # The heartbeat route at 1/60 of its committed timings (1m -> 1s, 30s -> 500ms).
        [watchdog] = [r for r in config["route"]["routes"] if r["receiver"] == "deadmans-switch"]
        watchdog.update(
            group_interval="1s", repeat_interval=f"{int(_duration(watchdog['repeat_interval']) * 1000 / 60)}ms"
        )
        with running_alertmanager(config_text=yaml.safe_dump(config), workdir=tmp_path / "am") as am:
            settings.ALERTMANAGER_URL = am.url
            am.slack = slack
            am.pings = pings
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


def _post(am, *alerts: dict) -> None:
    now = dt.datetime.now(dt.UTC)
    body = [
        {"startsAt": now.isoformat(), "endsAt": (now + dt.timedelta(hours=1)).isoformat(), **alert} for alert in alerts
    ]
    assert requests.post(f"{am.url}/api/v2/alerts", json=body, timeout=5).status_code == 200


def test_it_pings_the_dead_mans_switch_once_per_group_interval(deployed):
    """Measured on a real Alertmanager at 1/60 scale: one ping per group_interval (1 s here, 1 min deployed)."""
    _post(deployed, {"labels": {"alertname": "AOSWatchdog", "severity": "none", "environment": "test"}})
    _wait(lambda: len(deployed.pings) >= 5, deadline=10)
    gaps = [b - a for a, b in zip(deployed.pings, deployed.pings[1:])]
    assert 0.7 < statistics.median(gaps) < 1.4, gaps  # 2.0 s when repeat_interval equals group_interval
    assert not deployed.slack.requests  # the heartbeat never reaches people


def test_it_sends_rule_alerts_to_slack_readably(deployed, settings):
    """Finding 5: rule alerts read `AOSRunFailureRate (warning, )` and `(tenant )`, annotations on one line."""
    _post(
        deployed,
        {
            "labels": {"alertname": "AOSRunFailureRate", "severity": "warning", "environment": "production"},
            "annotations": {"summary": "More than 10% of runs fail", "description": "20% of runs failed."},
        },
        {
            "labels": {"alertname": "AOSRuleWithoutEnvironment", "severity": "critical"},
            "annotations": {"summary": "Something broke"},
        },
    )
    posts = _wait(
        lambda: len(deployed.slack.requests) >= 2 and [json.loads(r["body"]) for r in deployed.slack.requests]
    )
    by_title = {post["attachments"][0]["title"]: post["attachments"][0]["text"] for post in posts}
    base = "https://github.com/aos-control-plane/aos/blob/main/docs/runbooks"
    assert by_title == {
        "[FIRING:1] AOSRunFailureRate (warning, production)": (
            f"*More than 10% of runs fail*\n20% of runs failed.\nRunbook: {base}/AOSRunFailureRate.md\n"
        ),
        "[FIRING:1] AOSRuleWithoutEnvironment (critical)": (
            f"*Something broke*\nRunbook: {base}/AOSRuleWithoutEnvironment.md\n"
        ),
    }
