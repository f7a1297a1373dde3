"""`/metrics` (PRODUCT.md §10): every product metric exported, bounded labels, DB gauges, access control."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.test import APIClient

from accounts.models import Role, Tier
from aosproject.metrics import MISMATCH_GAUGES, MismatchGauges
from tests.conftest import client_with_key
from traces.models import Trace, TraceSource
from triage.models import Mismatch, MismatchReason, NotificationState

pytestmark = pytest.mark.django_db

PRODUCT_METRICS = {
    "aos_rate_limit_allowed_total": {"tier"},
    "aos_rate_limit_blocked_total": {"tier"},
    "aos_rate_limit_tier_limit": {"tier"},
    "aos_rate_limit_fail_open_total": set(),
    "aos_simulate_duration_seconds": set(),
    "aos_runs_total": {"status"},
    "aos_replays_total": {"parity"},
    "aos_traces_stored_total": {"source"},
    "aos_replay_mismatches_total": {"reason"},
    "aos_mismatches_unresolved": set(),
    "aos_mismatch_notifications_pending": set(),
    "aos_notifications_total": {"channel", "result"},
    "aos_idempotency_total": {"result"},
    "aos_retention_deleted_total": set(),
    # Beyond §10, for the alert rules (deploy/prometheus/aos_rules.yml).
    "aos_run_cost_usd_total": {"tier"},
    "aos_worker_heartbeat_timestamp_seconds": set(),
    "aos_alerts_received_total": {"status"},
    "aos_runs_in_progress": {"status"},
    "aos_runs_oldest_queued_timestamp_seconds": set(),
    "aos_retention_last_success_timestamp_seconds": set(),
}
# What a label value may never look like: ids, hashes, tenant slugs (unbounded over time).
UNBOUNDED_VALUE = re.compile(r"^[0-9a-f]{16,}$|^[0-9a-f-]{32,36}$|^tenant-|^tr_|^run_")


def scrape(client=None, **extra) -> str:
    response = (client or APIClient()).get("/metrics", **extra)
    assert response.status_code == 200, response.content
    return response.content.decode()


def families(text: str) -> dict:
    return {f.name: f for f in text_string_to_metric_families(text)}


def make_mismatch(tenant, n: int, **fields) -> Mismatch:
    trace = Trace.objects.create(
        tenant=tenant, trace_id=f"tr-{n}", source=TraceSource.INGEST, plan_hash="p" * 64, frozen_timestamp="0"
    )
    return Mismatch.objects.create(
        trace=trace,
        tenant=tenant,
        step_index=0,
        reason=MismatchReason.values[0],
        fingerprint=f"{n:064x}",
        reported_by="test",
        **fields,
    )


def test_it_exports_every_product_metric_family(api_a):
    api_a.get("/api/v1/me")  # rate-limit counters get a tier child
    exported = families(scrape())
    # prometheus_client names counter families without the `_total` suffix.
    names = {name if name in exported else name.removesuffix("_total") for name in PRODUCT_METRICS}
    assert names <= set(exported), sorted(names - set(exported))


def test_it_counts_rate_limited_requests_on_the_exposition(settings, api_a):
    settings.RATELIMIT_TIER_OVERRIDES = {"pro": 2}
    before = families(scrape())
    statuses = [api_a.get("/api/v1/me").status_code for _ in range(3)]
    after = families(scrape())
    assert statuses == [200, 200, 429]

    def value(fams, family, sample_name):
        found = [s.value for s in fams[family].samples if s.name == sample_name and s.labels == {"tier": "pro"}]
        return found[0] if found else 0.0

    assert value(after, "aos_rate_limit_allowed", "aos_rate_limit_allowed_total") == (
        value(before, "aos_rate_limit_allowed", "aos_rate_limit_allowed_total") + 2
    )
    assert value(after, "aos_rate_limit_blocked", "aos_rate_limit_blocked_total") == (
        value(before, "aos_rate_limit_blocked", "aos_rate_limit_blocked_total") + 1
    )
    limits = {s.labels["tier"]: s.value for s in after["aos_rate_limit_tier_limit"].samples}
    assert set(limits) == set(Tier.values)


def test_it_reads_the_mismatch_gauges_from_the_database(tenant_a, tenant_b, django_assert_max_num_queries):
    make_mismatch(tenant_a, 1)
    make_mismatch(tenant_a, 2, resolved=True, notification_state=NotificationState.SENT)
    make_mismatch(tenant_b, 3, notification_state=NotificationState.FAILED)
    with django_assert_max_num_queries(3):  # mismatches, runs in progress, retention's last success
        exported = families(scrape())
    assert exported["aos_mismatches_unresolved"].samples[0].value == 2
    assert exported["aos_mismatch_notifications_pending"].samples[0].value == 1
    Mismatch.objects.filter(resolved=False).update(resolved=True)
    assert families(scrape())["aos_mismatches_unresolved"].samples[0].value == 0


def test_it_registers_the_database_collector_once():
    assert sum(isinstance(c, MismatchGauges) for c in REGISTRY._collector_to_names) == 1
    text = scrape()
    assert text.count("# TYPE aos_mismatches_unresolved gauge") == 1
    assert MISMATCH_GAUGES in REGISTRY._collector_to_names


def test_it_keeps_label_sets_bounded(api_a, api_b, tenant_a):
    for client in (api_a, api_b):
        client.get("/api/v1/me")
        client.get("/api/v1/traces/no-such-trace")
    make_mismatch(tenant_a, 9)
    exported = families(scrape())
    for name, allowed_labels in PRODUCT_METRICS.items():
        family = exported.get(name) or exported[name.removesuffix("_total")]
        label_sets = {tuple(sorted(s.labels.items())) for s in family.samples if not s.name.endswith("_created")}
        for labels in label_sets:
            names = {k for k, _ in labels} - {"le"}  # histogram buckets
            assert names <= allowed_labels, (name, labels)
            for _, value in labels:
                assert not UNBOUNDED_VALUE.search(value), (name, labels)
        assert len(label_sets) <= 60, name
    tiers = {s.labels["tier"] for s in exported["aos_rate_limit_allowed"].samples if "tier" in s.labels}
    assert tiers <= set(Tier.values)


def test_it_leaves_metrics_open_in_the_embedded_default(settings):
    assert settings.METRICS_BEARER_TOKEN == "" and settings.METRICS_ALLOWED_IPS == []
    assert "aos_runs_total" in scrape()


def test_it_closes_metrics_without_a_token_or_ip_list_when_debug_is_off(settings):
    settings.METRICS_OPEN = False  # what DEBUG=0 gives when METRICS_OPEN is not set
    response = APIClient().get("/metrics", REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 403
    assert b"aos_" not in response.content
    settings.METRICS_ALLOWED_IPS = ["203.0.113.0/24"]
    assert APIClient().get("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 200


def test_it_defaults_metrics_open_to_debug():
    """In a fresh process: DEBUG=0 closes /metrics unless METRICS_OPEN=1 says otherwise."""
    code = "from django.conf import settings; print(settings.METRICS_OPEN)"
    for variables, expected in [({"DEBUG": "0"}, "False"), ({"DEBUG": "0", "METRICS_OPEN": "1"}, "True")]:
        env = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "METRICS_OPEN")}
        env.update(variables, DJANGO_SETTINGS_MODULE="aosproject.settings")
        command = [sys.executable, "-c", "import django; django.setup(); " + code]
        result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
        assert result.stdout.strip() == expected, result.stderr


def test_it_requires_the_bearer_token_when_one_is_set(settings):
    settings.METRICS_BEARER_TOKEN = "s3cret-scrape-token"
    client = APIClient()
    missing = client.get("/metrics")
    assert missing.status_code == 401
    assert missing["WWW-Authenticate"].startswith("Bearer")
    assert b"aos_" not in missing.content
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Basic s3cret-scrape-token").status_code == 401
    assert "aos_runs_total" in scrape(client, HTTP_AUTHORIZATION="Bearer s3cret-scrape-token")


def test_it_allows_only_listed_addresses_when_an_allow_list_is_set(settings):
    settings.METRICS_ALLOWED_IPS = ["10.1.0.0/16", "192.0.2.7", "not-an-ip"]
    client = APIClient()
    assert client.get("/metrics", REMOTE_ADDR="10.1.200.3").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.7").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.8").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403
    # A forwarded-for header is client-controlled and does not count.
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="10.1.0.1").status_code == 403


def test_it_accepts_either_the_token_or_a_listed_address_when_both_are_set(settings):
    settings.METRICS_BEARER_TOKEN = "tok"
    settings.METRICS_ALLOWED_IPS = ["10.0.0.0/8"]
    client = APIClient()
    assert client.get("/metrics", REMOTE_ADDR="10.2.3.4").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION="Bearer tok").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 401


def test_it_does_not_rate_limit_or_authenticate_metrics(settings, tenant_a):
    settings.RATELIMIT_TIER_OVERRIDES = {"pro": 1}
    client = client_with_key(tenant_a, Role.VIEWER)
    responses = [client.get("/metrics") for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert "X-RateLimit-Limit" not in responses[-1]


DEPLOY = Path(__file__).resolve().parent.parent / "deploy"


def referenced_metrics(text: str) -> set[str]:
    text = re.sub(r"(?m)^\s*#.*$", "", text)  # YAML comments name files (aos_rules.yml), not metrics
    names = set(re.findall(r"\baos_[a-z_]+", text))
    # Strip the series suffixes Prometheus adds to counters and histograms.
    return {re.sub(r"_(bucket|sum|count)$", "", n) for n in names}


@pytest.mark.parametrize("path", ["grafana/aos-control-plane.json", "prometheus/aos_rules.yml"])
def test_it_only_charts_and_alerts_on_metrics_we_export(path):
    exported = set(families(scrape()))
    known = exported | {f"{name}_total" for name in exported}
    referenced = referenced_metrics((DEPLOY / path).read_text())
    assert referenced, path
    assert referenced <= known, sorted(referenced - known)


def test_it_loads_the_dashboard_with_a_datasource_variable():
    dashboard = json.loads((DEPLOY / "grafana/aos-control-plane.json").read_text())
    assert {v["name"] for v in dashboard["templating"]["list"]} >= {"datasource"}
    titles = {p["title"] for p in dashboard["panels"] if p["type"] == "row"}
    assert titles == {"Rate limits", "Runs and simulation", "Replays and mismatches", "Cost, workers and alerts"}


@pytest.mark.skipif(not shutil.which("promtool"), reason="promtool (Debian package prometheus) is not installed")
def test_it_charts_only_valid_promql(tmp_path):
    """Every dashboard query parses: promtool checks them as recording rules (Grafana variables filled in)."""
    dashboard = json.loads((DEPLOY / "grafana/aos-control-plane.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    filled = [e.replace("$__rate_interval", "5m").replace("$job", ".*") for e in exprs]
    rules = {
        "groups": [
            {"name": "dashboard", "rules": [{"record": f"aos:panel_{i}", "expr": e} for i, e in enumerate(filled)]}
        ]
    }
    (tmp_path / "panels.yml").write_text(json.dumps(rules))  # JSON is YAML
    result = subprocess.run(["promtool", "check", "rules", "panels.yml"], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(exprs)} rules found" in result.stdout


# promtool check/test of the rules: tests/alerts/test_alert_rules.py


def exposed(fams: dict, sample_name: str, **labels: str) -> float:
    for family in fams.values():
        for s in family.samples:
            if s.name == sample_name and s.labels == labels:
                return s.value
    return 0.0


def test_it_counts_every_feature_through_its_real_code_path(api_a_dev, tenant_a, django_capture_on_commit_callbacks):
    from datetime import timedelta

    from django.core.management import call_command
    from django.utils import timezone

    from tests.runtime.helpers import RUNS, SIMULATE, pure_plan, replay, run
    from traces.models import TraceStep

    before = families(scrape())
    plan = pure_plan()
    assert api_a_dev.post(SIMULATE, {"plan": plan}, format="json").status_code == 200
    kept = run(api_a_dev, plan, input={"price": 1, "symbol": "X"}).json()
    pruned = run(api_a_dev, plan, input={"price": 2, "symbol": "Y"}).json()
    assert replay(api_a_dev, kept["run_id"]).json()["parity"] is True
    step = TraceStep.objects.get(trace__run_id=kept["run_id"], index=1)
    TraceStep.objects.filter(pk=step.pk).update(output={**step.output, "content": "tampered"})
    with django_capture_on_commit_callbacks(execute=True):  # the mismatch notification is after commit
        assert replay(api_a_dev, kept["run_id"]).json()["parity"] is False
    body = {"plan": plan, "seed": 1, "timestamp": "2025-01-01T00:00:00Z", "wait": True}
    for _ in range(2):
        api_a_dev.post(RUNS, body, format="json", HTTP_IDEMPOTENCY_KEY="metrics-key")
    Trace.objects.filter(run_id=pruned["run_id"]).update(created_at=timezone.now() - timedelta(days=90))
    call_command("prune_traces", "--days", "30", "--tenant", tenant_a.slug, stdout=io.StringIO())
    after = families(scrape())

    def grew(sample_name: str, by: float = 1, **labels: str) -> bool:
        return exposed(after, sample_name, **labels) - exposed(before, sample_name, **labels) >= by

    assert grew("aos_simulate_duration_seconds_count")
    assert grew("aos_runs_total", 3, status="succeeded")
    assert grew("aos_replays_total", parity="true")
    assert grew("aos_replays_total", parity="false")
    assert grew("aos_replay_mismatches_total", reason="output_mismatch")
    assert grew("aos_traces_stored_total", 3, source="run")
    assert grew("aos_traces_stored_total", 2, source="replay")
    assert grew("aos_idempotency_total", result="new")
    assert grew("aos_idempotency_total", result="replayed")
    assert grew("aos_retention_deleted_total")
    assert grew("aos_rate_limit_allowed_total", 7, tier="pro")  # the seven API calls above
    notified = {s.labels["result"] for s in after["aos_notifications"].samples if s.name == "aos_notifications_total"}
    assert notified, "the mismatch's notification attempt is counted"
    assert exposed(after, "aos_mismatches_unresolved") >= 1
    # The pruned run's trace is gone, so the counter holds at least what the remaining runs cost.
    spent = sum(t.total_cost_cents for t in Trace.objects.filter(source="run", tenant=tenant_a)) / 100
    assert spent > 0
    assert grew("aos_run_cost_usd_total", spent * 0.999, tier="pro")


def test_it_counts_run_cost_by_tier_including_failed_runs(api_a_dev, tenant_a):
    from tests.runtime.helpers import llm, run

    tenant_a.tier = "enterprise"
    tenant_a.save(update_fields=["tier"])
    before = families(scrape())
    # The first call fits the 1-cent budget and is paid; the second no longer does: the run fails, spent.
    step = llm("a", model="gpt-4o", max_tokens=990)
    failed = run(api_a_dev, [step, step, step], budget_cents=1).json()
    assert failed["status"] == "failed", failed
    after = families(scrape())
    trace = Trace.objects.get(run_id=failed["run_id"])
    assert trace.total_cost_cents > 0
    grew = exposed(after, "aos_run_cost_usd_total", tier="enterprise") - exposed(
        before, "aos_run_cost_usd_total", tier="enterprise"
    )
    assert grew == pytest.approx(trace.total_cost_cents / 100)
    assert exposed(after, "aos_run_cost_usd_total", tier="pro") == exposed(before, "aos_run_cost_usd_total", tier="pro")


def test_it_counts_a_runs_cost_once_when_its_task_is_redelivered(tenant_a):
    from runtime.services import run_create, run_execute
    from tests.runtime.helpers import llm

    trace = run_create(tenant=tenant_a, plan=[llm("a", model="gpt-4o", max_tokens=500)])
    before = exposed(families(scrape()), "aos_run_cost_usd_total", tier=tenant_a.tier)
    run_execute(trace_pk=trace.pk)
    run_execute(trace_pk=trace.pk)  # a redelivered Celery task finds the run taken and does nothing
    grew = exposed(families(scrape()), "aos_run_cost_usd_total", tier=tenant_a.tier) - before
    trace.refresh_from_db()
    assert trace.status == "succeeded" and trace.total_cost_cents > 0
    assert grew == pytest.approx(trace.total_cost_cents / 100)


def test_it_counts_the_spend_of_replayed_steps_but_not_of_served_ones(api_a_dev, tenant_a):
    from tests.runtime.helpers import llm, replay, run

    step = llm("a", model="gpt-4o", max_tokens=500)
    checked = run(api_a_dev, [step]).json()  # replay re-executes the call to check its output
    served = run(api_a_dev, [{**step, "replay": "skip"}]).json()  # replay serves the recorded output
    cost = Trace.objects.get(run_id=checked["run_id"]).total_cost_cents / 100
    assert cost > 0

    def spent() -> float:
        return exposed(families(scrape()), "aos_run_cost_usd_total", tier=tenant_a.tier)

    before = spent()
    assert replay(api_a_dev, served["run_id"]).json()["parity"] is True
    assert spent() == before
    assert replay(api_a_dev, checked["run_id"]).json()["parity"] is True
    assert spent() - before == pytest.approx(cost)


def test_it_exports_every_alerted_label_value_at_zero_before_its_first_event():
    """A child made by its first event starts at 1, which `increase()` never counts: the first replay
    mismatch after a restart would not fire AOSReplayMismatch. Known label values are exported at 0."""
    from accounts.models import Tier
    from aosproject.metrics import RATE_LIMIT_BLOCKED, REPLAY_MISMATCHES, RUN_COST_USD, RUNS
    from triage.models import MismatchReason

    for counter in (RATE_LIMIT_BLOCKED, REPLAY_MISMATCHES, RUN_COST_USD, RUNS):
        counter.clear()  # as after a restart
    samples = {(s.name, tuple(s.labels.items())): s.value for f in families(scrape()).values() for s in f.samples}
    expected = [("aos_replay_mismatches_total", ("reason", r)) for r in MismatchReason.values]
    expected += [("aos_runs_total", ("status", s)) for s in ("succeeded", "failed")]
    expected += [
        (name, ("tier", t)) for t in Tier.values for name in ("aos_rate_limit_blocked_total", "aos_run_cost_usd_total")
    ]
    assert {(name, label): samples.get((name, (label,))) for name, label in expected} == {
        (name, label): 0.0 for name, label in expected
    }


def test_it_exports_the_worker_heartbeat_recorded_by_the_beat_task():
    import time

    from alerts.tasks import worker_heartbeat

    assert exposed(families(scrape()), "aos_worker_heartbeat_timestamp_seconds") == 0  # never seen
    before = time.time()
    worker_heartbeat.delay()  # eager here: the same code a worker runs
    value = exposed(families(scrape()), "aos_worker_heartbeat_timestamp_seconds")
    assert before <= value <= time.time()


def test_it_schedules_the_heartbeat_with_celery_beat(settings):
    from aosproject.celery import app

    app.loader.import_default_modules()
    assert "alerts.worker_heartbeat" in app.tasks  # autodiscovered from alerts/tasks.py
    entries = [e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == "alerts.worker_heartbeat"]
    assert len(entries) == 1 and entries[0]["schedule"] <= 60


def test_it_drops_only_the_heartbeat_gauge_when_the_cache_is_down(settings):
    settings.CACHES = {
        **settings.CACHES,
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
        },
    }
    text = scrape()
    assert "aos_runs_total" in text
    assert "aos_worker_heartbeat_timestamp_seconds " not in text


def test_it_exports_the_scrape_time_gauges_under_gunicorn_multiprocess_mode(monkeypatch, tmp_path):
    from alerts.tasks import worker_heartbeat

    worker_heartbeat.delay()
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))  # as set for gunicorn workers
    exported = families(scrape())
    assert exposed(exported, "aos_worker_heartbeat_timestamp_seconds") > 0
    assert "aos_mismatches_unresolved" in exported


def test_it_exports_a_heartbeat_sent_by_a_real_celery_worker(tmp_path):
    """A real `celery worker` (Redis broker and cache) runs the autodiscovered task; /metrics shows it."""
    import os
    import sys
    import time
    import uuid

    from django.conf import settings

    if not settings.REDIS_URL:
        pytest.skip("needs Redis (REDIS_URL): the worker and this process must share broker and cache")
    from aosproject.celery import app

    queue = f"heartbeat-test-{uuid.uuid4().hex[:8]}"  # nobody else consumes it
    env = {**os.environ, "CELERY_TASK_ALWAYS_EAGER": "0"}
    root = Path(__file__).resolve().parent.parent
    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "aosproject", "worker", "--pool=solo", "-Q", queue, "-l", "INFO"],
        cwd=root,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        before = time.time()
        app.conf.task_always_eager = False  # conftest makes tasks eager; this one goes through the broker
        app.send_task("alerts.worker_heartbeat", queue=queue)  # waits in the broker until the worker is up
        value = 0.0
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and value < before:
            time.sleep(0.2)
            value = exposed(families(scrape()), "aos_worker_heartbeat_timestamp_seconds")
        assert before <= value <= time.time(), (tmp_path / "worker.log").read_text()[-2000:]
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=10)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        log.close()
