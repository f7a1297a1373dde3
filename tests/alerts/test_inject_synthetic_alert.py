"""inject_synthetic_alert against a REAL Alertmanager whose receiver is our webhook on the live test server."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import requests
from django.conf import settings as django_settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from alerts.models import Alert
from alerts.synthetic import SyntheticAlertError, parse_duration
from tests.alerts.alertmanager_proc import (
    alertmanager_missing,
    amtool,
    free_port,
    running_alertmanager,
    webhook_config,
)
from tests.servers import LocalServer

TOKEN = "inject-test-webhook-token"
RUNBOOKS = "https://runbooks.example.test/aos"
BASE_URL = "https://aos.example.test"
ENVIRONMENT = "inject-test"
DELIVERY_DEADLINE = 15.0

needs_alertmanager = pytest.mark.skipif(alertmanager_missing(), reason="prometheus-alertmanager/amtool not installed")

# What each type must carry, written out here (not imported) so a change in alerts/synthetic.py is caught.
EXPECTED = {
    "cost_overrun": ("AOSCostOverrun", {"budget_usd": "10.00"}),
    "rate_limit_breach": ("AOSRateLimitBreach", {"tier": "pro"}),
    "replay_mismatch": ("AOSReplayMismatch", {"reason": "output_mismatch"}),
    "worker_unhealthy": ("AOSWorkerUnhealthy", {"queue": "celery"}),
    "custom": ("AOSCustomAlert", {"source": "inject_synthetic_alert"}),
}


@pytest.fixture(scope="module")
def alertmanager(live_server, tmp_path_factory):
    """One real Alertmanager for the module; tests keep apart by using a unique tenant_id each."""
    if alertmanager_missing():
        pytest.skip("prometheus-alertmanager not installed")
    workdir = tmp_path_factory.mktemp("alertmanager")
    token_file = workdir / "webhook_token"
    token_file.write_text(TOKEN)
    config = webhook_config(webhook_url=f"{live_server.url}/api/v1/alerts/webhook", token_file=token_file)
    # The token for the whole module: a notification arriving between two tests is still accepted,
    # rather than refused and retried into a later test.
    with override_settings(ALERTS_WEBHOOK_TOKEN=TOKEN), running_alertmanager(config_text=config, workdir=workdir) as am:
        yield am


@pytest.fixture
def am(alertmanager, settings, transactional_db):
    """The module's Alertmanager as ALERTMANAGER_URL (live_server is in-process, so settings apply to it)."""
    settings.ALERTMANAGER_URL = alertmanager.url
    settings.ALERT_RUNBOOK_BASE_URL = RUNBOOKS
    settings.AOS_BASE_URL = BASE_URL
    settings.AOS_ENVIRONMENT = ENVIRONMENT
    return alertmanager


@pytest.fixture
def tenant_label() -> str:
    return f"t-{uuid.uuid4().hex[:10]}"


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("inject_synthetic_alert", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def run_process(*args: str, alertmanager_url: str, timeout: float = 30) -> subprocess.CompletedProcess:
    """The command as an operator runs it: a new process, configured by environment only."""
    env = {**os.environ, "ALERTMANAGER_URL": alertmanager_url, "ALERTMANAGER_TIMEOUT": "2"}
    return subprocess.run(
        [sys.executable, str(django_settings.BASE_DIR / "manage.py"), "inject_synthetic_alert", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        cwd=django_settings.BASE_DIR,
    )


def am_alerts(am, **labels: str) -> list[dict]:
    params = [("filter", f'{name}="{value}"') for name, value in labels.items()]
    response = requests.get(f"{am.url}/api/v2/alerts", params=params, timeout=5)
    response.raise_for_status()
    return response.json()


def wait_for_rows(*, count: int, **filters) -> list[Alert]:
    deadline = time.monotonic() + DELIVERY_DEADLINE
    while True:
        rows = list(Alert.objects.filter(**filters).order_by("alertname"))
        if len(rows) >= count or time.monotonic() > deadline:
            return rows
        time.sleep(0.1)


@needs_alertmanager
def test_it_injects_each_type_into_alertmanager_and_our_webhook_stores_it(am, tenant_label):
    fingerprints = {}
    before = datetime.now(UTC).replace(microsecond=0)
    for alert_type in EXPECTED:
        result = json.loads(run("--type", alert_type, "--tenant", tenant_label, "--json"))
        fingerprints[alert_type] = result["fingerprint"]
    assert len(set(fingerprints.values())) == 5

    in_am = {alert["fingerprint"]: alert for alert in am_alerts(am, tenant_id=tenant_label)}
    assert set(in_am) == set(fingerprints.values())
    for alert_type, (alertname, specific) in EXPECTED.items():
        alert = in_am[fingerprints[alert_type]]
        assert alert["labels"] == {
            "alertname": alertname,
            "severity": "warning",
            "tenant_id": tenant_label,
            "environment": ENVIRONMENT,
            "injected": "true",
            **specific,
        }
        assert set(alert["annotations"]) == {"summary", "description", "runbook_url"}
        assert alert["annotations"]["runbook_url"] == f"{RUNBOOKS}/{alertname}.md"
        assert alert["annotations"]["summary"] and alert["annotations"]["description"]
        if alert_type != "custom":  # the custom alert's default text is generic
            assert tenant_label in alert["annotations"]["summary"] + alert["annotations"]["description"]
        assert alert["generatorURL"].startswith(f"{BASE_URL}/admin/alerts/alert/")
        assert alert["status"]["state"] == "active"
        starts = datetime.fromisoformat(alert["startsAt"].replace("Z", "+00:00"))
        ends = datetime.fromisoformat(alert["endsAt"].replace("Z", "+00:00"))
        assert before <= starts <= datetime.now(UTC)
        assert ends - starts == timedelta(minutes=5)  # the default --duration

    # amtool, the operator's view, sees the same alerts.
    query = amtool("-o", "json", "alert", "query", f"--alertmanager.url={am.url}", f"tenant_id={tenant_label}")
    assert query.returncode == 0, query.stderr
    assert {alert["fingerprint"] for alert in json.loads(query.stdout)} == set(fingerprints.values())

    rows = wait_for_rows(count=5, tenant_label=tenant_label)
    assert {row.fingerprint: row.status for row in rows} == {fp: "firing" for fp in fingerprints.values()}
    for row in rows:
        assert row.labels == in_am[row.fingerprint]["labels"]
        assert row.annotations == in_am[row.fingerprint]["annotations"]
        assert row.injected is True
        assert row.receiver == "aos-webhook"
        assert row.severity == "warning"


@needs_alertmanager
def test_it_uses_severity_name_description_and_duration(am, tenant_label):
    result = json.loads(
        run(
            "--type", "custom", "--name", "AOSPipelineProbe", "--severity", "critical", "--tenant", tenant_label,
            "--description", "probe from the test", "--duration", "1h30m", "--json",
        )
    )  # fmt: skip
    [alert] = am_alerts(am, tenant_id=tenant_label)
    assert alert["fingerprint"] == result["fingerprint"]
    assert alert["labels"]["alertname"] == "AOSPipelineProbe"
    assert alert["labels"]["severity"] == "critical"
    assert alert["labels"]["source"] == "inject_synthetic_alert"
    assert alert["annotations"]["description"] == "probe from the test"
    assert alert["annotations"]["runbook_url"] == f"{RUNBOOKS}/AOSCustomAlert.md"
    starts = datetime.fromisoformat(alert["startsAt"].replace("Z", "+00:00"))
    ends = datetime.fromisoformat(alert["endsAt"].replace("Z", "+00:00"))
    assert ends - starts == timedelta(hours=1, minutes=30)


@needs_alertmanager
def test_it_resolves_by_fingerprint_and_our_webhook_stores_the_resolved_notification(am, tenant_label):
    fingerprint = json.loads(run("--type", "replay_mismatch", "--tenant", tenant_label, "--json"))["fingerprint"]
    [firing] = wait_for_rows(count=1, tenant_label=tenant_label, status="firing")
    assert firing.fingerprint == fingerprint

    output = run("--resolve", "--fingerprint", fingerprint)

    assert f"Resolved AOSReplayMismatch (fingerprint {fingerprint})" in output
    assert am_alerts(am, tenant_id=tenant_label) == []  # Alertmanager lists only unresolved alerts
    assert fingerprint not in run("--list")
    [resolved] = wait_for_rows(count=1, tenant_label=tenant_label, status="resolved")
    assert resolved.fingerprint == fingerprint
    assert resolved.labels == firing.labels  # the exact labels were re-posted: same alert, not a new one
    assert resolved.starts_at == firing.starts_at
    assert resolved.ends_at is not None and resolved.ends_at <= datetime.now(UTC)
    # Resolving twice: it is no longer active in Alertmanager.
    with pytest.raises(CommandError, match="no active alert with fingerprint") as exc:
        run("--resolve", "--fingerprint", fingerprint)
    assert exc.value.returncode == 1


@needs_alertmanager
def test_it_exits_1_for_an_unknown_fingerprint(am):
    with pytest.raises(CommandError, match="no active alert with fingerprint '0123456789abcdef'") as exc:
        run("--resolve", "--fingerprint", "0123456789abcdef")
    assert exc.value.returncode == 1


@needs_alertmanager
def test_it_warns_that_the_same_labels_again_only_update_the_firing_alert(am, tenant_label):
    first = json.loads(run("--type", "cost_overrun", "--tenant", tenant_label, "--json"))
    assert first["already_active"] is False

    out, err = io.StringIO(), io.StringIO()
    call_command(
        "inject_synthetic_alert", "--type", "cost_overrun", "--tenant", tenant_label, "--duration", "1h", "--json",
        stdout=out, stderr=err,
    )  # fmt: skip
    second = json.loads(out.getvalue())

    assert second["fingerprint"] == first["fingerprint"]
    assert second["already_active"] is True
    assert err.getvalue().startswith(
        f"Warning: AOSCostOverrun with these labels has been active since {first['startsAt']}"
    )
    assert f"--resolve --fingerprint {first['fingerprint']}" in err.getvalue()
    [alert] = am_alerts(am, tenant_id=tenant_label)
    assert (alert["startsAt"], alert["endsAt"]) == (first["startsAt"], second["endsAt"])  # merged, extended


@needs_alertmanager
def test_it_says_so_when_the_injected_label_set_is_silenced(am, tenant_label):
    """Finding 9: an injection into a silenced label set printed a plain "Injected"."""
    from tests.alerts.alertmanager_proc import amtool

    silence = amtool(
        "silence",
        "add",
        f"--alertmanager.url={am.url}",
        "--duration=10m",
        "--comment=test",
        f"tenant_id={tenant_label}",
    )
    assert silence.returncode == 0, silence.stderr
    silence_id = silence.stdout.strip()
    out, err = io.StringIO(), io.StringIO()
    call_command("inject_synthetic_alert", "--type", "custom", "--tenant", tenant_label, stdout=out, stderr=err)
    assert out.getvalue().startswith("Injected (silenced: nobody is notified) AOSCustomAlert")
    assert err.getvalue().startswith(f"Warning: silenced by {silence_id}: Alertmanager holds this alert")
    as_json = json.loads(run("--type", "worker_unhealthy", "--tenant", tenant_label, "--json"))
    assert as_json["silenced_by"] == [silence_id]
    # Not silenced: the plain message and no warning.
    out, err = io.StringIO(), io.StringIO()
    call_command("inject_synthetic_alert", "--type", "custom", "--tenant", tenant_label + "-x", stdout=out, stderr=err)
    assert out.getvalue().startswith("Injected AOSCustomAlert") and err.getvalue() == ""


@needs_alertmanager
def test_it_refuses_to_resolve_an_alert_that_was_not_injected(am, tenant_label):
    now = datetime.now(UTC)
    rule_alert = {
        "labels": {"alertname": "AOSSimulateSlow", "severity": "critical", "tenant_id": tenant_label},
        "startsAt": now.isoformat(),
        "endsAt": (now + timedelta(minutes=5)).isoformat(),
    }
    requests.post(f"{am.url}/api/v2/alerts", json=[rule_alert], timeout=5).raise_for_status()
    [held] = am_alerts(am, tenant_id=tenant_label)

    with pytest.raises(CommandError, match=r'\(AOSSimulateSlow\) was not injected \(no injected="true" label\)') as exc:
        run("--resolve", "--fingerprint", held["fingerprint"])

    assert exc.value.returncode == 1
    assert [alert["fingerprint"] for alert in am_alerts(am, tenant_id=tenant_label)] == [held["fingerprint"]]


@needs_alertmanager
def test_it_lists_active_alerts_as_a_table_and_as_json_and_resolves_as_json(am, tenant_label):
    cost = json.loads(run("--type", "cost_overrun", "--tenant", tenant_label, "--severity", "critical", "--json"))
    worker = json.loads(run("--type", "worker_unhealthy", "--tenant", tenant_label, "--json"))

    listed = [row for row in json.loads(run("--list", "--json")) if row["tenant"] == tenant_label]
    assert sorted(listed, key=lambda row: row["alertname"]) == [
        {
            "alertname": "AOSCostOverrun",
            "severity": "critical",
            "tenant": tenant_label,
            "fingerprint": cost["fingerprint"],
            "state": "active",
        },
        {
            "alertname": "AOSWorkerUnhealthy",
            "severity": "warning",
            "tenant": tenant_label,
            "fingerprint": worker["fingerprint"],
            "state": "active",
        },
    ]
    table = run("--list").splitlines()
    assert table[0].split() == ["ALERTNAME", "SEVERITY", "TENANT", "FINGERPRINT", "STATE"]
    assert f"AOSCostOverrun critical {tenant_label} {cost['fingerprint']} active" in [
        " ".join(r.split()) for r in table
    ]

    resolved = json.loads(run("--resolve", "--fingerprint", worker["fingerprint"], "--json"))
    assert resolved["resolved"] == worker["fingerprint"]
    assert (resolved["labels"], resolved["annotations"]) == (worker["labels"], worker["annotations"])
    assert (resolved["startsAt"], resolved["generatorURL"]) == (worker["startsAt"], worker["generatorURL"])
    assert worker["startsAt"] < resolved["endsAt"] < worker["endsAt"]  # endsAt moved to now
    assert [row["fingerprint"] for row in json.loads(run("--list", "--json")) if row["tenant"] == tenant_label] == [
        cost["fingerprint"]
    ]


@needs_alertmanager
def test_it_dry_run_prints_the_payload_and_contacts_nothing(am, tenant_label, settings):
    with LocalServer(lambda method, path, headers, body: (200, {}, b"")) as stand_in:
        settings.ALERTMANAGER_URL = stand_in.url
        payload = json.loads(run("--type", "cost_overrun", "--tenant", tenant_label, "--dry-run", "--json"))
        text = json.loads(run("--type", "custom", "--tenant", tenant_label, "--dry-run"))
    assert stand_in.requests == []
    assert payload["dry_run"] is True
    assert payload["alerts"][0]["labels"]["alertname"] == "AOSCostOverrun"
    assert payload["alerts"][0]["labels"]["tenant_id"] == tenant_label
    assert text[0]["labels"]["alertname"] == "AOSCustomAlert"
    # And pointed at the real Alertmanager, still nothing arrives there.
    settings.ALERTMANAGER_URL = am.url
    run("--type", "worker_unhealthy", "--tenant", tenant_label, "--dry-run")
    assert am_alerts(am, tenant_id=tenant_label) == []


@needs_alertmanager
def test_it_works_as_a_real_process_configured_by_environment(am, tenant_label):
    injected = run_process("--type", "rate_limit_breach", "--tenant", tenant_label, alertmanager_url=am.url)
    assert injected.returncode == 0, injected.stderr
    assert injected.stderr == ""
    line = injected.stdout.strip()
    assert line.startswith(f"Injected AOSRateLimitBreach (severity=warning, tenant_id={tenant_label}) into {am.url}")
    fingerprint = line.rsplit("fingerprint ", 1)[1]
    assert [alert["fingerprint"] for alert in am_alerts(am, tenant_id=tenant_label)] == [fingerprint]

    listed = run_process("--list", "--json", alertmanager_url=am.url)
    assert listed.returncode == 0
    assert fingerprint in [row["fingerprint"] for row in json.loads(listed.stdout)]  # stdout is pure JSON

    unknown = run_process("--resolve", "--fingerprint", "ffffffffffffffff", alertmanager_url=am.url)
    assert unknown.returncode == 1
    assert unknown.stdout == ""
    assert "no active alert with fingerprint 'ffffffffffffffff'" in unknown.stderr


def test_it_exits_1_with_one_clear_line_when_alertmanager_is_down(settings):
    closed = f"http://127.0.0.1:{free_port()}"
    result = run_process("--type", "custom", "--json", alertmanager_url=closed)
    assert result.returncode == 1, result.stderr
    assert result.stdout == ""  # --json: nothing on stdout that a machine could mistake for a result
    assert result.stderr.strip().splitlines() == [
        f"CommandError: inject_synthetic_alert: Alertmanager at {closed} is unreachable (connection failed)"
    ]
    settings.ALERTMANAGER_URL = closed
    for args in (("--list",), ("--resolve", "--fingerprint", "abc")):
        with pytest.raises(
            CommandError, match=f"^inject_synthetic_alert: Alertmanager at {closed} is unreachable"
        ) as exc:
            run(*args)
        assert exc.value.returncode == 1


def test_it_exits_2_for_bad_usage_as_a_process():
    unused = f"http://127.0.0.1:{free_port()}"
    bad_severity = run_process("--type", "custom", "--severity", "page-me", alertmanager_url=unused)
    assert bad_severity.returncode == 2
    assert "invalid choice: 'page-me'" in bad_severity.stderr
    bad_duration = run_process("--type", "custom", "--duration", "5 minutes", alertmanager_url=unused)
    assert bad_duration.returncode == 2
    assert bad_duration.stderr.strip() == (
        "CommandError: invalid --duration '5 minutes': use e.g. 30s, 5m, 1h or 1h30m"
    )
    assert "Traceback" not in bad_duration.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--type", "custom", "--duration", "5x"], "invalid --duration '5x'"),
        (["--type", "custom", "--duration", "0s"], "must be longer than 0s"),
        (["--type", "custom", "--duration", "200h"], "at most 168h"),
        (["--resolve"], "--resolve needs --fingerprint"),
        (["--fingerprint", "abc"], "--fingerprint is only used with --resolve"),
        ([], "choose exactly one of --type, --list or --resolve"),
        (["--list", "--type", "custom"], "choose exactly one"),
        (["--list", "--dry-run"], "--dry-run only apply when injecting"),
        (["--list", "--tenant", ""], "--tenant only apply when injecting"),
        (["--type", "cost_overrun", "--name", "Foo"], "--name is only allowed with --type custom"),
        (["--type", "custom", "--name", "9bad-name"], "invalid --name '9bad-name'"),
        (["--type", "custom", "--tenant", ""], "invalid --tenant"),
    ],
)
def test_it_rejects_bad_usage_with_exit_code_2(args, message, settings):
    settings.ALERTMANAGER_URL = f"http://127.0.0.1:{free_port()}"  # must not even be tried
    with pytest.raises(CommandError, match=message.replace("(", r"\(")) as exc:
        run(*args)
    assert exc.value.returncode == 2


def test_it_rejects_an_unknown_severity_via_call_command():
    with pytest.raises(CommandError, match="invalid choice: 'urgent'"):
        run("--type", "custom", "--severity", "urgent")


def test_it_reports_alertmanager_refusals_and_timeouts_as_exit_1(settings):
    def refuse(method, path, headers, body):
        return 400, {"Content-Type": "application/json"}, b'"start time must be before end time"'

    with LocalServer(refuse) as stand_in:
        settings.ALERTMANAGER_URL = stand_in.url
        with pytest.raises(CommandError, match='answered 400: "start time must be before end time"') as exc:
            run("--type", "custom")
    assert exc.value.returncode == 1
    assert stand_in.requests[0]["path"] == "/api/v2/alerts"

    def slow(method, path, headers, body):
        time.sleep(0.5)
        return 200, {}, []

    with LocalServer(slow) as stand_in:
        settings.ALERTMANAGER_URL = stand_in.url
        settings.ALERTMANAGER_TIMEOUT = 0.1
        with pytest.raises(CommandError, match="did not answer within 0.1s") as exc:
            run("--list")
    assert exc.value.returncode == 1

    settings.ALERTMANAGER_TIMEOUT = 0.0
    with pytest.raises(CommandError, match="ALERTMANAGER_TIMEOUT must be above 0 seconds, not 0$") as exc:
        run("--list")
    assert exc.value.returncode == 1


def test_it_polls_briefly_for_the_injected_alert_and_gives_up_with_exit_1(settings):
    listed: list[dict] = []

    def late_listing(method, path, headers, body):
        if method == "POST":
            listed.extend(json.loads(body))
            return 200, {}, b""
        gets = sum(request["method"] == "GET" for request in stand_in.requests)
        # The first lookup finds nothing, as on a replica the POST did not reach.
        return (
            200,
            {},
            [{**alert, "fingerprint": "00c0ffee00c0ffee", "status": {"state": "active"}} for alert in listed]
            if gets > 1
            else [],
        )

    with LocalServer(late_listing) as stand_in:
        settings.ALERTMANAGER_URL = stand_in.url
        assert json.loads(run("--type", "custom", "--json"))["fingerprint"] == "00c0ffee00c0ffee"
    assert [request["method"] for request in stand_in.requests] == ["POST", "GET", "GET"]

    with LocalServer(lambda method, path, headers, body: (200, {}, [] if method == "GET" else b"")) as stand_in:
        settings.ALERTMANAGER_URL = stand_in.url
        settings.ALERTMANAGER_TIMEOUT = 0.5
        started = time.monotonic()
        with pytest.raises(CommandError, match="accepted the alert but does not list it") as exc:
            run("--type", "custom")
    assert exc.value.returncode == 1
    assert 0.5 <= time.monotonic() - started < 3
    assert sum(request["method"] == "GET" for request in stand_in.requests) >= 2


def test_it_treats_a_redirect_or_a_tls_failure_as_an_error_not_a_success(settings):
    def sign_in_proxy(method, path, headers, body):
        return 302, {"Location": "/oauth2/sign_in"}, b""

    with LocalServer(sign_in_proxy) as stand_in:
        settings.ALERTMANAGER_URL = stand_in.url
        with pytest.raises(CommandError, match="POST /api/v2/alerts answered 302") as exc:
            run("--type", "custom")
        assert exc.value.returncode == 1
        assert [request["method"] for request in stand_in.requests] == ["POST"]  # not followed as a GET

        settings.ALERTMANAGER_URL = stand_in.url.replace("http://", "https://")  # TLS to a plain-HTTP server
        with pytest.raises(CommandError, match=f"TLS with Alertmanager at {settings.ALERTMANAGER_URL} failed") as exc:
            run("--list")
        assert exc.value.returncode == 1


def test_it_documents_exit_codes_in_help():
    result = run_process("--help", alertmanager_url="http://127.0.0.1:9")
    assert result.returncode == 0
    assert "exit codes:" in result.stdout
    for line in ("0  success", "1  Alertmanager unreachable", "2  bad usage"):
        assert line in result.stdout
    for option in ("--type", "--severity", "--tenant", "--name", "--description", "--duration", "--dry-run",
                   "--json", "--list", "--resolve", "--fingerprint"):  # fmt: skip
        assert option in result.stdout


@pytest.mark.parametrize(
    ("text", "expected"),
    [("30s", timedelta(seconds=30)), ("5m", timedelta(minutes=5)), ("1h", timedelta(hours=1)),
     ("1h30m", timedelta(hours=1, minutes=30)), ("2h0m15s", timedelta(hours=2, seconds=15))],
)  # fmt: skip
def test_it_parses_durations(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "5", "m", "5 m", "-5m", "1.5h", "5m1h", "1d", "0m"])
def test_it_rejects_bad_durations(text):
    with pytest.raises(SyntheticAlertError, match="invalid --duration"):
        parse_duration(text)
