"""POST /api/v1/alerts/webhook: Alertmanager's payload, bearer token, idempotent storage (PRODUCT.md §11)."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.db import connection, connections, transaction
from rest_framework.test import APIClient

from accounts.models import Role
from alerts.alertmanager import alertmanager_fingerprint
from alerts.models import Alert, AlertStatus
from alerts.serializers import WebhookPayload
from alerts.services import StoreResult, alert_batch_store
from tests.conftest import client_with_key
from tests.runtime.pooled_server import PooledLiveServer
from tests.runtime.test_idempotency_live import _fire as fire_concurrently
from tests.test_metrics import exposed, families, scrape

URL = "/api/v1/alerts/webhook"
TOKEN = "am-webhook-secret"
STARTS = "2026-11-30T05:00:00.123456789Z"  # Alertmanager sends nanoseconds
# Bodies a real Alertmanager 0.25.0 (Debian prometheus-alertmanager) POSTed, saved byte for byte:
# two alerts of one group (group_by: [alertname]) posted to its API v2, then resolved.
CAPTURED = Path(__file__).parent / "fixtures" / "webhook"


def am_alert(**overrides) -> dict:
    alert = {
        "status": "firing",
        "labels": {
            "alertname": "AOSCostOverrun",
            "severity": "critical",
            "tenant_id": "tenant-a",
            "environment": "test",
            "injected": "true",
        },
        "annotations": {"summary": "Spend is high", "runbook_url": "https://example.test/rb.md"},
        "startsAt": STARTS,
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus.test/graph?g0.expr=up",
        "fingerprint": "a1b2c3d4e5f60718",
    }
    alert.update(overrides)
    return alert


def payload(*alerts: dict, **overrides) -> dict:
    alerts = alerts or (am_alert(),)
    body = {
        "version": "4",
        "groupKey": '{}:{alertname="AOSCostOverrun"}',
        "truncatedAlerts": 0,
        "status": alerts[0]["status"],
        "receiver": "aos-webhook",
        "groupLabels": {"alertname": "AOSCostOverrun"},
        "commonLabels": dict(alerts[0]["labels"]),
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.test:9093",
        "alerts": list(alerts),
    }
    body.update(overrides)
    return body


@pytest.fixture
def hook(settings, db):
    settings.ALERTS_WEBHOOK_TOKEN = TOKEN
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    return client


def post(client, body):
    return client.post(URL, body, format="json")


def test_it_stores_a_firing_alert_with_fields_derived_from_labels(hook):
    response = post(hook, payload())
    assert response.status_code == 200, response.content
    assert response.json() == {"created": 1, "updated": 0}
    alert = Alert.objects.get()
    assert (alert.alertname, alert.severity, alert.tenant_label, alert.injected) == (
        "AOSCostOverrun",
        "critical",
        "tenant-a",
        True,
    )
    assert alert.status == AlertStatus.FIRING and alert.fingerprint == "a1b2c3d4e5f60718"
    assert alert.starts_at == datetime(2026, 11, 30, 5, 0, 0, 123456, tzinfo=UTC)
    assert alert.ends_at is None  # Go's zero time means "no end"
    assert alert.labels["environment"] == "test" and alert.annotations["summary"] == "Spend is high"
    assert alert.receiver == "aos-webhook" and alert.generator_url.startswith("http://prometheus.test/")
    assert alert.notifications == 1


def post_captured(client, name: str):
    raw = (CAPTURED / name).read_bytes()
    return client.post(URL, raw, content_type="application/json", HTTP_USER_AGENT="Alertmanager/0.25.0")


def test_it_stores_the_exact_bytes_a_real_alertmanager_sent(hook):
    firing = post_captured(hook, "alertmanager-0.25-firing.json")
    assert firing.status_code == 200, firing.content
    assert firing.json() == {"created": 2, "updated": 0}
    sent = json.loads((CAPTURED / "alertmanager-0.25-firing.json").read_bytes())["alerts"]
    stored = {alert.fingerprint: alert for alert in Alert.objects.all()}
    assert set(stored) == {"705adfdb48d4b20d", "8cabf67372fb9120"}
    alert = stored["705adfdb48d4b20d"]
    assert (alert.alertname, alert.severity, alert.tenant_label, alert.injected, alert.status) == (
        "AOSCostOverrun",
        "critical",
        "tenant-a",
        True,
        "firing",
    )
    assert alert.labels == sent[0]["labels"] and alert.annotations == sent[0]["annotations"]
    assert alert.annotations["description"] == 'Synthetic "quoted" – ünïcode'
    assert alert.generator_url == "http://prometheus.test:9090/graph?g0.expr=aos_run_cost_usd_total&g0.tab=1"
    assert alert.starts_at == datetime(2026, 11, 30, 5, 27, 22, tzinfo=UTC)
    assert alert.ends_at is None and alert.receiver == "aos-webhook"

    resolved = post_captured(hook, "alertmanager-0.25-resolved.json")
    assert resolved.json() == {"created": 2, "updated": 0}
    assert post_captured(hook, "alertmanager-0.25-resolved.json").json() == {"created": 0, "updated": 2}  # a retry
    ended = Alert.objects.filter(status="resolved", ends_at=datetime(2026, 11, 30, 5, 28, 23, tzinfo=UTC))
    assert sorted(ended.values_list("tenant_label", "notifications")) == [("tenant-a", 2), ("tenant-b", 2)]


def test_it_derives_alertmanagers_fingerprint_when_an_old_alertmanager_sends_none(hook):
    body = json.loads((CAPTURED / "alertmanager-0.25-firing.json").read_bytes())
    sent = [alert.pop("fingerprint") for alert in body["alerts"]]
    assert [alertmanager_fingerprint(alert["labels"]) for alert in body["alerts"]] == sent
    assert alertmanager_fingerprint({}) == "cbf29ce484222325"  # Prometheus' empty label set signature
    assert post(hook, body).json() == {"created": 2, "updated": 0}
    assert sorted(Alert.objects.values_list("fingerprint", flat=True)) == sorted(sent)


def test_it_stores_a_state_listed_twice_in_one_payload_once(hook):
    copy = am_alert(fingerprint="A1B2C3D4E5F60718", annotations={"summary": "second copy"})  # the same, upper case
    resolved = am_alert(status="resolved", endsAt="2026-11-30T05:20:00Z")
    response = post(hook, payload(am_alert(), copy, resolved))
    assert response.json() == {"created": 2, "updated": 0}
    firing = Alert.objects.get(status="firing")
    assert (firing.fingerprint, firing.notifications) == ("a1b2c3d4e5f60718", 1)
    assert firing.annotations == {"summary": "second copy"}  # the last copy wins


def test_it_stores_a_large_group_in_a_few_queries(hook, django_assert_max_num_queries):
    def group(start: int, stop: int) -> dict:
        alerts = [
            am_alert(fingerprint=f"{i:016x}", labels={"alertname": "AOSBulk", "n": str(i)}) for i in range(start, stop)
        ]
        return payload(*alerts)

    post(hook, group(0, 100))
    # savepoint, INSERT of the new (skipping the stored; SQLite batches it in two), SELECT, UPDATE of
    # the new, bulk UPDATE of the repeats, release: not one per alert
    with django_assert_max_num_queries(7):
        response = post(hook, group(50, 150))
    assert response.json() == {"created": 50, "updated": 50}
    assert Counter(Alert.objects.values_list("notifications", flat=True)) == {1: 100, 2: 50}


def test_it_updates_a_repeat_notification_instead_of_duplicating_it(hook):
    post(hook, payload())
    repeat = am_alert(endsAt="2026-11-30T05:10:00Z", annotations={"summary": "Spend is still high"})
    response = post(hook, payload(repeat))
    assert response.json() == {"created": 0, "updated": 1}
    alert = Alert.objects.get()
    assert alert.notifications == 2
    assert alert.ends_at == datetime(2026, 11, 30, 5, 10, tzinfo=UTC)
    assert alert.annotations == {"summary": "Spend is still high"}
    assert alert.updated_at > alert.received_at


def test_it_keeps_the_resolve_and_a_new_episode_as_their_own_rows(hook):
    post(hook, payload())
    post(hook, payload(am_alert(status="resolved", endsAt="2026-11-30T05:20:00Z")))
    post(hook, payload(am_alert(startsAt="2026-11-30T06:00:00Z")))  # fired again later
    rows = sorted(Alert.objects.values_list("status", "starts_at__hour", "notifications"))
    assert rows == [("firing", 5, 1), ("firing", 6, 1), ("resolved", 5, 1)]


def test_it_stores_every_alert_of_a_group_and_counts_them(hook):
    other = am_alert(fingerprint="ffff000011112222", labels={"alertname": "AOSWatchdog", "severity": "none"})
    post(hook, payload(am_alert()))
    response = post(hook, payload(am_alert(), other))
    assert response.json() == {"created": 1, "updated": 1}
    watchdog = Alert.objects.get(fingerprint="ffff000011112222")
    assert (watchdog.alertname, watchdog.severity, watchdog.tenant_label, watchdog.injected) == (
        "AOSWatchdog",
        "none",
        "",
        False,
    )


def test_it_accepts_an_empty_group_and_unknown_fields_from_newer_alertmanagers(hook):
    response = post(hook, payload(am_alert(someNewField=1), someNewTopLevel={"x": 1}))
    assert response.status_code == 200
    assert post(hook, payload(am_alert(), alerts=[])).json() == {"created": 0, "updated": 0}


def test_it_fits_oversized_label_values_into_the_columns(hook):
    labels = {"alertname": "A" * 300, "severity": "s" * 50, "tenant_id": "t" * 250}
    response = post(hook, payload(am_alert(labels=labels, generatorURL="http://p.test/" + "q" * 2000)))
    assert response.status_code == 200
    alert = Alert.objects.get()
    assert (len(alert.alertname), len(alert.severity), len(alert.tenant_label), len(alert.generator_url)) == (
        200,
        32,
        200,
        1000,
    )
    assert alert.labels == labels  # the labels themselves are kept whole


def test_it_counts_received_alerts_by_status_on_the_metrics(hook):
    before = families(scrape())
    post(hook, payload(am_alert(), am_alert(fingerprint="0000000000000001")))
    post(hook, payload(am_alert(status="resolved")))
    after = families(scrape())

    def grew(status: str) -> float:
        name = "aos_alerts_received_total"
        return exposed(after, name, status=status) - exposed(before, name, status=status)

    assert (grew("firing"), grew("resolved")) == (2, 1)


# --- authentication ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token", f"Basic {TOKEN}", f"Bearer {TOKEN}x", "Bearer", f"{TOKEN}"],
)
def test_it_refuses_a_missing_or_wrong_token(hook, authorization):
    client = APIClient()
    if authorization is not None:
        client.credentials(HTTP_AUTHORIZATION=authorization)
    response = post(client, payload())
    assert response.status_code == 401
    # One answer for every failure: nothing tells a caller which part of its guess was wrong.
    assert response.json() == {"error": "not_authenticated", "message": "Missing or invalid Alertmanager bearer token."}
    assert response["WWW-Authenticate"] == 'Bearer realm="alertmanager"'
    assert not Alert.objects.exists()


def test_it_refuses_everything_while_the_token_setting_is_empty(settings, db):
    settings.ALERTS_WEBHOOK_TOKEN = ""
    for authorization in ("", "Bearer ", "Bearer anything"):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=authorization)
        response = post(client, payload())
        assert response.status_code == 503
        assert response.json()["error"] == "webhook_not_configured"
    assert not Alert.objects.exists()


def test_it_is_not_tenant_scoped_nor_rate_limited(hook, settings, tenant_a):
    tenant_key = client_with_key(tenant_a, Role.OPERATOR)
    assert post(tenant_key, payload()).status_code == 401  # a tenant API key is not the webhook token
    settings.RATELIMIT_TIER_OVERRIDES = {"pro": 1, "free": 1, "enterprise": 1}
    responses = [post(hook, payload()) for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert "X-RateLimit-Limit" not in responses[-1]


def test_it_refuses_an_oversized_body_with_a_413_and_stores_nothing(hook, settings):
    settings.API_MAX_BODY_BYTES = 4096
    body = payload(*(am_alert(fingerprint=f"{i:016x}") for i in range(20)))
    assert len(json.dumps(body)) > 4096
    response = post(hook, body)
    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"
    assert not Alert.objects.exists()


def test_it_checks_the_token_before_reading_the_body(settings, db):
    settings.ALERTS_WEBHOOK_TOKEN = TOKEN
    response = APIClient().post(URL, b"{not json", content_type="application/json")
    assert response.status_code == 401


# --- bad input ------------------------------------------------------------------------------


def _bad(**changes) -> dict:
    body = payload()
    for path, value in changes.items():
        target = body
        *parents, leaf = path.split("__")
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        if value is ...:
            del target[leaf]
        else:
            target[leaf] = value
    return body


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (_bad(version="3"), "version"),
        (_bad(version=...), "version"),
        (_bad(alerts=...), "alerts"),
        (_bad(alerts="nope"), "alerts"),
        (_bad(receiver=...), "receiver"),
        (_bad(alerts__0__status="pending"), "alerts.0.status"),
        (_bad(alerts__0__fingerprint="not-hex!"), "alerts.0.fingerprint"),
        (_bad(alerts__0__fingerprint=""), "alerts.0.fingerprint"),
        (_bad(alerts__0__startsAt="yesterday"), "alerts.0.startsAt"),
        (_bad(alerts__0__startsAt="0001-01-01T00:00:00Z"), "alerts.0.startsAt"),
        (_bad(alerts__0__endsAt="soon"), "alerts.0.endsAt"),
        (_bad(alerts__0__labels=["alertname"]), "alerts.0.labels"),
        (_bad(alerts__0__labels={"alertname": {"nested": 1}}), "alerts.0.labels"),
        (_bad(alerts__0__annotations={"summary": None}), "alerts.0.annotations"),
    ],
)
def test_it_answers_bad_payloads_with_a_400_naming_the_field(hook, body, field):
    response = post(hook, body)
    assert response.status_code == 400, response.content
    data = response.json()
    assert data["error"] == "validation_error"
    assert data["message"].startswith(field), data
    assert not Alert.objects.exists()


@pytest.mark.parametrize("raw", [b"{not json", b"[]", b'"text"', b"null"])
def test_it_answers_malformed_bodies_with_a_400(hook, raw):
    response = hook.post(URL, raw, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"] in {"malformed_json", "validation_error"}


def test_it_stores_nothing_when_one_alert_of_the_group_is_bad(hook):
    body = payload(am_alert(), am_alert(fingerprint="0000000000000002", status="weird"))
    assert post(hook, body).status_code == 400
    assert not Alert.objects.exists()


# --- concurrency ------------------------------------------------------------------------------


@pytest.fixture
def live(transactional_db, settings):
    settings.ALERTS_WEBHOOK_TOKEN = TOKEN
    with PooledLiveServer(workers=16) as server:
        yield server


def test_it_stores_concurrent_repeats_of_one_alert_once(live):
    """24 deliveries of one group at once, half listing its alerts in the other order: 2 rows, no error."""
    n = 24
    alerts = [am_alert(), am_alert(fingerprint="0000000000000003")]
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with ThreadPoolExecutor(max_workers=2) as pool:
        bursts = [
            pool.submit(fire_concurrently, f"{live.url}{URL}", headers, payload(*order), n // 2)
            for order in (alerts, alerts[::-1])
        ]
    results = [response for burst in bursts for response in burst.result()]
    assert Counter(getattr(r, "status_code", r) for r in results) == {200: n}, results[:3]
    assert sum(r.json()["created"] for r in results) == 2
    assert sum(r.json()["updated"] for r in results) == 2 * n - 2
    assert sorted(Alert.objects.values_list("fingerprint", "notifications")) == [
        ("0000000000000003", n),
        ("a1b2c3d4e5f60718", n),
    ]


def validated(*alerts: dict) -> dict:
    parsed = WebhookPayload(data=payload(*alerts))
    parsed.is_valid(raise_exception=True)
    return parsed.validated_data


def race(*, a_first: dict, a_then: dict | None, b: dict) -> dict:
    """Writer A stores `a_first` and holds its transaction open while B stores `b`; then A stores
    `a_then` (if any) and commits. Returns each writer's StoreResult, or the exception it raised."""
    a_holds, a_may_go_on = threading.Event(), threading.Event()
    outcome: dict = {}

    def writer(name: str, work) -> None:
        try:
            outcome[name] = work()
        except Exception as exc:  # kept, so the assertion shows it
            outcome[name] = exc
        finally:
            connections.close_all()

    def work_a():
        with transaction.atomic():
            first = alert_batch_store(payload=a_first)
            a_holds.set()
            a_may_go_on.wait(10)
            return alert_batch_store(payload=a_then) if a_then else first

    thread_a = threading.Thread(target=writer, args=("a", work_a))
    thread_a.start()
    assert a_holds.wait(10)
    thread_b = threading.Thread(target=writer, args=("b", lambda: alert_batch_store(payload=b)))
    thread_b.start()
    time.sleep(0.3)
    assert thread_b.is_alive(), "B should be waiting on A's uncommitted row"
    a_may_go_on.set()
    thread_a.join(10)
    thread_b.join(10)
    return outcome


@pytest.mark.django_db(transaction=True)
def test_it_waits_for_a_concurrent_insert_of_the_same_alert_and_counts_itself_on_it():
    if connection.vendor != "postgresql":
        pytest.skip("needs concurrent writers (PostgreSQL)")
    body = validated(am_alert())
    outcome = race(a_first=body, a_then=None, b=body)
    assert outcome == {"a": StoreResult(created=1), "b": StoreResult(updated=1)}
    assert list(Alert.objects.values_list("notifications", flat=True)) == [2]


@pytest.mark.django_db(transaction=True)
def test_it_writes_a_groups_alerts_in_one_order_so_concurrent_groups_cannot_deadlock():
    """A holds X and will write Y next; B lists Y before X. Written in B's order, B would hold Y and
    wait on X while A waits on Y: PostgreSQL would abort one of them as a deadlock."""
    if connection.vendor != "postgresql":
        pytest.skip("needs concurrent writers (PostgreSQL)")
    x, y = am_alert(fingerprint="000000000000000a"), am_alert(fingerprint="000000000000000b")
    outcome = race(a_first=validated(x), a_then=validated(y), b=validated(y, x))
    assert outcome == {"a": StoreResult(created=1), "b": StoreResult(updated=2)}
    assert sorted(Alert.objects.values_list("fingerprint", "notifications")) == [
        ("000000000000000a", 2),
        ("000000000000000b", 2),
    ]
