"""POST /api/v1/traces: SDK round trip, hash verification, conflicts, limits, idempotency."""

from __future__ import annotations

import copy
import math

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from prometheus_client import REGISTRY

from aos_sdk import hashing
from aos_sdk.trace import Trace as TraceBuilder
from aos_sdk.trace import verify
from tests.traces.tracebuild import build
from traces.models import Trace, TraceStep

URL = "/api/v1/traces/"


def stored_count() -> float:
    return REGISTRY.get_sample_value("aos_traces_stored_total", {"source": "ingest"}) or 0.0


@pytest.mark.django_db
def test_it_stores_an_sdk_trace_and_returns_identical_hashes(api_a_dev, tenant_a, django_capture_on_commit_callbacks):
    payload = build(trace_id="tr-roundtrip", steps=5).to_dict()
    before = stored_count()

    with django_capture_on_commit_callbacks(execute=True):
        response = api_a_dev.post(URL, payload, format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["root_hash"] == payload["root_hash"]
    assert stored_count() == before + 1
    detail = api_a_dev.get(URL + "tr-roundtrip").json()
    assert detail["source"] == "ingest"
    assert detail["tenant"] == "tenant-a"
    assert detail["plan_hash"] == payload["plan_hash"]
    assert detail["root_hash"] == payload["root_hash"]
    assert detail["frozen_timestamp"] == payload["timestamp"]
    assert detail["total_steps"] == 5 and detail["total_cost_cents"] == 2.5
    assert [s["step_hash"] for s in detail["steps"]] == [s["step_hash"] for s in payload["steps"]]
    assert [s["output"] for s in detail["steps"]] == [s["output"] for s in payload["steps"]]
    # What came back verifies with the SDK, as an independent client would check it.
    echoed = {**detail, "timestamp": detail["frozen_timestamp"]}
    assert verify(echoed) is None


@pytest.mark.django_db
def test_it_matches_the_spec_vector():
    builder = TraceBuilder(
        plan=[{"skill": "json_transform", "params": {"payload": {"x": 1}, "mapping": {"y": "x"}}}],
        seed=42,
        timestamp="2025-01-01T00:00:00Z",
    )
    step = builder.add_step(
        skill="json_transform", params={"payload": {"x": 1}, "mapping": {"y": "x"}}, output={"y": 1}
    )
    assert builder.plan_hash == "7da851c1e3bcfd2caf64f55bc462c92a423b22e539bfce1a43e7f59f5b5974f6"
    assert step["step_hash"] == "0c154e2f9b01803282a182e0364a8f2e7ba09847dadcd27f0eb94e98d1537788"
    assert builder.root_hash == "a7d865ab34ef189aa8d1bccf324d38492f59424c7f1d924ea3bffbeb64e09b5c"


@pytest.mark.django_db
@pytest.mark.parametrize("field", ["input_hash", "output_hash", "step_hash"])
def test_it_refuses_a_tampered_step_hash_naming_the_step(api_a_dev, field):
    payload = build(steps=5).to_dict()
    payload["steps"][3][field] = "0" * 64

    response = api_a_dev.post(URL, payload, format="json")

    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "validation_error"
    assert body["step_index"] == 3 and body["field"] == field
    assert f"steps[3].{field}" in body["message"]
    assert Trace.objects.count() == 0


@pytest.mark.django_db
def test_it_refuses_tampered_content_under_an_untouched_hash(api_a_dev):
    payload = build(steps=4).to_dict()
    payload["steps"][2]["output"] = {"step": 2, "value": 999}

    response = api_a_dev.post(URL, payload, format="json")

    assert response.status_code == 400
    assert response.json()["step_index"] == 2 and response.json()["field"] == "output_hash"


@pytest.mark.django_db
def test_it_refuses_a_tampered_root_hash(api_a_dev):
    payload = build(steps=3).to_dict()
    real_root = payload["root_hash"]
    payload["root_hash"] = "f" * 64

    response = api_a_dev.post(URL, payload, format="json")

    assert response.status_code == 400
    body = response.json()
    assert body["field"] == "root_hash" and body["step_index"] is None
    assert body["expected"] == real_root and "root_hash" in body["message"]


@pytest.mark.django_db
def test_it_refuses_a_tampered_plan_hash(api_a_dev):
    payload = build(steps=2).to_dict()
    payload["plan"][0]["params"]["mapping"] = {"y": "z"}
    response = api_a_dev.post(URL, payload, format="json")
    assert response.status_code == 400
    assert response.json()["field"] == "plan_hash"


@pytest.mark.django_db
def test_it_refuses_reordered_steps(api_a_dev):
    payload = build(steps=4).to_dict()
    payload["steps"][1], payload["steps"][2] = payload["steps"][2], payload["steps"][1]

    response = api_a_dev.post(URL, payload, format="json")

    assert response.status_code == 400
    assert "out of order" in response.json()["message"]
    assert response.json()["step_index"] == 1


@pytest.mark.django_db
def test_it_refuses_an_existing_trace_id_unless_overwrite(api_a_dev, tenant_a):
    first = build(trace_id="tr-dup", outputs=[{"v": 1}]).to_dict()
    second = build(trace_id="tr-dup", outputs=[{"v": 2}]).to_dict()
    assert api_a_dev.post(URL, first, format="json").status_code == 201
    Trace.objects.filter(trace_id="tr-dup").update(pinned=True)

    conflict = api_a_dev.post(URL, second, format="json")
    assert conflict.status_code == 409
    assert conflict.json()["error"] == "conflict"

    replaced = api_a_dev.post(URL, {**second, "overwrite": True}, format="json")
    assert replaced.status_code == 200
    trace = Trace.objects.get(tenant=tenant_a, trace_id="tr-dup")
    assert trace.root_hash == second["root_hash"] and trace.pinned  # same row: the pin stays
    assert trace.steps.get(index=0).output == {"v": 2}
    assert TraceStep.objects.filter(trace=trace).count() == 5


@pytest.mark.django_db
def test_it_keeps_trace_ids_per_tenant(api_a_dev, api_b, tenant_a, tenant_b):
    payload = build(trace_id="tr-shared").to_dict()
    assert api_a_dev.post(URL, payload, format="json").status_code == 201
    # Tenant B may use the same id, and an overwrite from B never touches A's trace.
    other = build(trace_id="tr-shared", outputs=[{"b": True}]).to_dict()
    assert api_b.post(URL, {**other, "overwrite": True}, format="json").status_code == 201
    assert Trace.objects.get(tenant=tenant_a, trace_id="tr-shared").root_hash == payload["root_hash"]
    assert Trace.objects.get(tenant=tenant_b, trace_id="tr-shared").root_hash == other["root_hash"]


@pytest.mark.django_db
def test_it_never_overwrites_a_runtime_trace(api_a_dev, tenant_a):
    payload = build(trace_id="tr-run").to_dict()
    assert api_a_dev.post(URL, payload, format="json").status_code == 201
    Trace.objects.filter(trace_id="tr-run").update(source="run", run_id="run-1")
    response = api_a_dev.post(URL, {**payload, "overwrite": True}, format="json")
    assert response.status_code == 409
    assert Trace.objects.get(trace_id="tr-run").source == "run"


@pytest.mark.django_db
def test_it_generates_a_trace_id_when_absent(api_a_dev):
    payload = build().to_dict()
    del payload["trace_id"]
    response = api_a_dev.post(URL, payload, format="json")
    assert response.status_code == 201
    assert response.json()["trace_id"].startswith("tr_")


@pytest.mark.django_db
def test_it_inserts_steps_in_one_query(api_a_dev):
    payload = build(steps=60).to_dict()
    with CaptureQueriesContext(connection) as ctx:
        response = api_a_dev.post(URL, payload, format="json")
    assert response.status_code == 201
    step_inserts = [q for q in ctx.captured_queries if q["sql"].startswith('INSERT INTO "traces_tracestep"')]
    # One bulk_create: one statement on PostgreSQL; SQLite splits it at its 999-parameter limit.
    fields = [f for f in TraceStep._meta.concrete_fields if not f.primary_key]
    batch = connection.ops.bulk_batch_size(fields, [None] * 60)
    assert len(step_inserts) == math.ceil(60 / batch)
    if connection.vendor == "postgresql":
        assert len(step_inserts) == 1
    assert len(ctx.captured_queries) < 15


@pytest.mark.django_db
def test_it_enforces_the_step_limit(api_a_dev, settings):
    settings.AOS_MAX_TRACE_STEPS = 3
    response = api_a_dev.post(URL, build(steps=4).to_dict(), format="json")
    assert response.status_code == 400
    assert "AOS_MAX_TRACE_STEPS" in response.json()["message"]
    assert api_a_dev.post(URL, build(steps=3).to_dict(), format="json").status_code == 201


@pytest.mark.django_db
@pytest.mark.parametrize(
    "mutate",
    [
        lambda p: p.update(seed="42"),
        lambda p: p.update(seed=True),
        lambda p: p.update(unknown_field=1),
        lambda p: p["steps"][0].update(status="exploded"),
        lambda p: p["steps"][0].update(extra=1),
        lambda p: p.update(trace_id="has space"),
        lambda p: p.update(plan=[{"params": {}}]),
        lambda p: p.pop("root_hash"),
        lambda p: p.update(steps="nope"),
        lambda p: p.update(seed=2**60),
    ],
)
def test_it_answers_bad_payloads_with_400(api_a_dev, mutate):
    payload = copy.deepcopy(build(steps=2).to_dict())
    mutate(payload)
    response = api_a_dev.post(URL, payload, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["error"] == "validation_error"


@pytest.mark.django_db
def test_it_answers_malformed_json_with_400(api_a_dev):
    response = api_a_dev.post(URL, "{not json", content_type="application/json")
    assert response.status_code == 400


@pytest.mark.django_db
def test_it_needs_the_developer_role_to_ingest(api_a_viewer, client):
    payload = build().to_dict()
    assert api_a_viewer.post(URL, payload, format="json").status_code == 403
    assert client.post(URL, payload, content_type="application/json").status_code == 401
    assert Trace.objects.count() == 0


@pytest.mark.django_db
def test_it_hashes_seed_and_timestamp_exactly_as_sent(api_a_dev):
    builder = build(seed=7, timestamp="2026-03-04T05:06:07.123456Z")
    payload = builder.to_dict()
    response = api_a_dev.post(URL, payload, format="json")
    assert response.status_code == 201
    root0 = hashing.root_zero(plan_hash=payload["plan_hash"], seed=7, timestamp="2026-03-04T05:06:07.123456Z")
    assert hashing.root_next(root0, payload["steps"][0]["step_hash"]) != root0
    assert response.json()["seed"] == 7 and response.json()["frozen_timestamp"] == payload["timestamp"]


@pytest.mark.django_db
def test_it_honours_the_idempotency_key(api_a_dev):
    payload = build(trace_id="tr-idem").to_dict()
    first = api_a_dev.post(URL, payload, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = api_a_dev.post(URL, payload, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == 201
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    other = build(trace_id="tr-idem-2").to_dict()
    assert api_a_dev.post(URL, other, format="json", HTTP_IDEMPOTENCY_KEY="k-1").status_code == 422
    assert Trace.objects.filter(trace_id__startswith="tr-idem").count() == 1
