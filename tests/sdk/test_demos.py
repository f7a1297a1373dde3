"""The three demos (examples/) as subprocesses against a live server and the loopback stand-ins."""

import json
import os
import subprocess
import sys

import pytest

from accounts.models import Role
from tests.sdk.conftest import ROOT, key
from traces.models import Trace, TraceSource
from vault.models import Secret


@pytest.fixture
def demo(live_server, tenant_a):
    env = {**os.environ, "AOS_BASE_URL": live_server.url, "AOS_API_KEY": key(tenant_a, Role.OPERATOR)}
    env["AOS_PYTHON"] = sys.executable

    def call(name, *args, expect=0, role=None):
        if role is not None:
            env["AOS_API_KEY"] = key(tenant_a, role)
        result = subprocess.run(
            ["sh", str(ROOT / "examples" / name / "run.sh"), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == expect, (result.stdout, result.stderr)
        return result.stdout

    return call


@pytest.mark.parametrize("role", [Role.ADMIN, Role.OPERATOR])
def test_it_posts_the_btc_price_once_and_replays_with_parity(demo, standins, role, tenant_a):
    urls = standins.urls()
    out = demo("btc_price_slack", "--price-url", urls["price"], "--slack-url", urls["slack"], role=role)
    assert "simulate: feasible" in out
    assert "replay (recorded): parity true" in out
    assert "OUTCOME btc_price_slack: ok price=$97123.45 slack_posts=1 replay_parity=true" in out
    assert standins.slack_messages() == [{"text": "Current BTC price: $97123.45"}]  # not re-posted by the replay
    assert [r["path"] for r in standins.requests].count("/api/v3/simple/price") == 1
    run = Trace.objects.get(source=TraceSource.RUN)
    steps = list(run.steps.order_by("index"))
    assert [s.skill_id for s in steps] == ["http_call", "json_transform", "webhook_send"]
    replay = Trace.objects.get(source=TraceSource.REPLAY)
    assert replay.root_hash == run.root_hash
    # An admin's key stores the Slack URL as a secret: the plan and the trace hold only the reference.
    secret_names = list(Secret.objects.filter(tenant=tenant_a).values_list("name", flat=True))
    if role == Role.ADMIN:
        assert "posted to Slack (secret URL)" in out and secret_names == ["DEMO_SLACK_WEBHOOK_URL"]
        assert steps[2].params["url"] == "{{ secrets.DEMO_SLACK_WEBHOOK_URL }}"
        assert urls["slack"] not in json.dumps([run.plan, [s.params for s in steps], [s.output for s in steps]])
    else:
        assert "posted to Slack (literal URL)" in out and secret_names == []
        assert steps[2].params["url"] == urls["slack"]


def test_it_aborts_the_btc_demo_when_simulate_says_infeasible(demo, standins, tenant_a):
    tenant_a.allowed_skills = ["json_transform"]
    tenant_a.save()
    out = demo(
        "btc_price_slack", "--price-url", standins.urls()["price"], "--slack-url", standins.urls()["slack"], expect=1
    )
    assert "OUTCOME btc_price_slack: aborted, simulate says" in out
    assert standins.requests == [] and not Trace.objects.filter(source=TraceSource.RUN).exists()


def test_it_extracts_active_contacts_deterministically(demo):
    out = demo("json_transform", "--check-determinism")
    assert "active contacts (3): Ada Lovelace, Grace Hopper, Alan Turing" in out
    assert "identical" in out and "first 3 steps" in out and "output_hash" in out
    runs = Trace.objects.filter(source=TraceSource.RUN)
    assert runs.count() == 2 and len({r.root_hash for r in runs}) == 1
    assert f"OUTCOME json_transform: ok contacts=3 deterministic=true root_hash={runs[0].root_hash}" in out


def test_it_retries_the_flaky_url_and_falls_back_for_the_down_one(demo, standins):
    urls = standins.urls()
    out = demo("http_retry", "--url", urls["flaky"], "--down-url", urls["down"], "--backoff-ms", "10")
    report = json.loads(out[: out.index("\n}\n") + 2])
    assert report["flaky"]["retries"] == 3 and report["flaky"]["step_status"] == "succeeded"
    assert report["flaky"]["output"] == {"status_code": 200, "body": {"ok": True, "attempt": 4}}
    assert report["down"]["used_fallback"] and report["down"]["output"] == {"source": "fallback", "status": "degraded"}
    assert "OUTCOME http_retry: ok retries=3 fallback_used=true" in out
    paths = [r["path"] for r in standins.requests]
    assert paths.count("/flaky") == 4 and paths.count("/always-503") == 2


def test_it_refuses_the_stand_ins_when_they_are_not_allow_listed(demo, standins, settings):
    settings.HTTP_CALL_ALLOWED_HOSTS = []
    out = demo("http_retry", "--url", standins.urls()["flaky"], expect=1)
    assert "OUTCOME http_retry: failed" in out and standins.requests == []


def test_it_runs_make_demos_end_to_end():
    """`make demos` (README): its own server and stand-ins, every outcome printed, exit 0."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples/_local/run_demos.py")],
        capture_output=True,
        text=True,
        timeout=180,
        env={k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")},
    )
    assert result.returncode == 0, (result.stdout, result.stderr)
    for name in ("btc_price_slack", "json_transform", "http_retry"):
        assert f"[ok] OUTCOME {name}: ok" in result.stdout
    assert "the Slack stand-in received 1 message:" in result.stdout
    assert "slack_url=secret" in result.stdout  # the demos' admin key keeps the URL in the secret store
    assert "demos: 3 passed, 0 failed" in result.stdout
