"""Issue 12, findings 2, 3, 7 (and 5 for the GitHub webhook): JSON bodies the database or the hashing cannot hold.

Each case names the request that used to crash and what it answers now (a 4xx in the envelope, or
the normal answer when the input is valid after all).
"""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from rest_framework.test import APIClient

from tests.contract.helpers import NESTED, assert_envelope, nested, plan_with
from tests.runtime.helpers import RUNS, SIMULATE
from tests.traces.tracebuild import build, store
from traces.models import Trace

pytestmark = pytest.mark.django_db

# --- 2, 3, 7: JSON the database or the canonical hashing cannot hold ------------------------------

BAD_JSON_VALUES = {
    "nul in a string": ({"a": "x\u0000y"}, "plan[0].params.payload.a"),
    "nul in a key": ({"a\u0000": 1}, "plan[0].params.payload"),
    "lone surrogate in a string": ({"a": "\ud800"}, "plan[0].params.payload.a"),
    "lone surrogate in a key": ({"\udfff": 1}, "plan[0].params.payload"),
    "integer beyond 2^53": ({"a": 9007199254740993}, "plan[0].params.payload.a"),
    "negative integer beyond 2^53": ({"a": [-9007199254740993]}, "plan[0].params.payload.a[0]"),
    "float that comes back as a big integer": ({"a": 1e17}, "plan[0].params.payload.a"),
}


def raw_post(client: APIClient, path: str, text: str, **extra):
    return client.generic("POST", path, text.encode("utf-8"), content_type="application/json", **extra)


@pytest.mark.parametrize("endpoint", [SIMULATE, RUNS])
@pytest.mark.parametrize("case", sorted(BAD_JSON_VALUES))
def test_it_refuses_json_the_database_or_hashing_cannot_hold_naming_the_path(api_a_dev, endpoint, case):
    payload, path = BAD_JSON_VALUES[case]
    body = json.dumps({"plan": plan_with(payload), "wait": True} if endpoint == RUNS else {"plan": plan_with(payload)})
    response = raw_post(api_a_dev, endpoint, body)
    body = assert_envelope(response, 400, "validation_error")
    assert any(field.startswith(path) for field in body["fields"]), body
    assert not Trace.objects.exists()


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_it_refuses_non_finite_numbers_naming_the_path(api_a_dev, literal):
    response = raw_post(
        api_a_dev,
        SIMULATE,
        '{"plan": [{"skill": "json_transform", "params": {"payload": {"a": LITERAL}, "query": "@"}}]}'.replace(
            "LITERAL", literal
        ),
    )
    body = assert_envelope(response, 400, "validation_error")
    assert "plan[0].params.payload.a" in body["fields"], body


def test_it_accepts_the_largest_safe_integer_and_ordinary_floats(api_a_dev):
    payload = {"max": 2**53 - 1, "min": -(2**53 - 1), "f": 0.1, "e": 1e-300, "big": 1.5e15}
    response = api_a_dev.post(SIMULATE, {"plan": plan_with(payload)}, format="json")
    assert response.status_code == 200, response.content


def _json_posts(trace: Trace, mismatch_id: str) -> list[str]:
    return [
        SIMULATE,
        RUNS,
        f"/api/v1/runtime/replay/{trace.trace_id}",
        "/api/v1/traces",
        f"/api/v1/traces/{trace.trace_id}/mismatch",
        f"/api/v1/traces/{trace.trace_id}/mismatches/{mismatch_id}/resolve",
        "/api/v1/traces/mismatches/bulk-report",
    ]


def test_it_refuses_json_nested_a_thousand_levels_on_every_json_post(api_a, tenant_a):
    trace = store(tenant_a, steps=2)
    reported = api_a.post(
        f"/api/v1/traces/{trace.trace_id}/mismatch", {"step_index": 0, "reason": "output_mismatch"}, format="json"
    )
    mismatch_id = reported.json()["mismatch_id"]
    deep = f'{{"plan": {nested(NESTED)}}}'
    for path in _json_posts(trace, mismatch_id):
        body = assert_envelope(raw_post(api_a, path, deep), 400, "validation_error")
        assert "nest" in body["message"], (path, body)


def test_it_refuses_params_nested_six_hundred_levels_in_simulate(api_a_dev):
    deep = json.dumps({"plan": plan_with("DEEP")}).replace('"DEEP"', nested(600))
    assert_envelope(raw_post(api_a_dev, SIMULATE, deep), 400, "validation_error")


@pytest.mark.parametrize(
    "field,value",
    [("metadata", {"k\u0000": 1}), ("input", {"a": "\u0000"}), ("agent_id", "a\u0000b")],
)
def test_it_refuses_nul_in_run_fields(api_a_dev, field, value):
    body = json.dumps({"plan": plan_with(1), "wait": True, field: value})
    body = assert_envelope(raw_post(api_a_dev, RUNS, body), 400, "validation_error")
    assert any(f.startswith(field) for f in body["fields"]), body


def test_it_refuses_nul_in_mismatch_details(api_a, tenant_a):
    trace = store(tenant_a, steps=2)
    body = json.dumps({"step_index": 0, "reason": "output_mismatch", "details": {"why": "\u0000"}})
    response = raw_post(api_a, f"/api/v1/traces/{trace.trace_id}/mismatch", body)
    assert "details.why" in assert_envelope(response, 400, "validation_error")["fields"]


def test_it_refuses_nul_in_ingested_outputs(api_a):
    payload = build(outputs=[{"v": "\u0000"}], steps=1).to_dict()
    response = raw_post(api_a, "/api/v1/traces", json.dumps(payload))
    assert "steps[0].output.v" in assert_envelope(response, 400, "validation_error")["fields"]
    assert not Trace.objects.exists()


def test_it_refuses_nul_in_alert_labels(client, settings):
    settings.ALERTS_WEBHOOK_TOKEN = "alert-token"
    body = {
        "version": "4",
        "status": "firing",
        "receiver": "aos",
        "alerts": [{"status": "firing", "labels": {"alertname": "X\u0000"}, "startsAt": "2025-01-01T00:00:00Z"}],
    }
    response = client.generic(
        "POST",
        "/api/v1/alerts/webhook",
        json.dumps(body).encode(),
        content_type="application/json",
        HTTP_AUTHORIZATION="Bearer alert-token",
    )
    assert "alerts[0].labels.alertname" in assert_envelope(response, 400, "validation_error")["fields"]


def _signed(client, settings, payload: bytes):
    settings.GITHUB_WEBHOOK_SECRET = "gh-secret"
    signature = "sha256=" + hmac.new(b"gh-secret", payload, hashlib.sha256).hexdigest()
    return client.generic(
        "POST",
        "/api/v1/integrations/github/webhook",
        payload,
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256=signature,
        HTTP_X_GITHUB_EVENT="issues",
    )


def test_it_refuses_nul_in_a_signed_github_webhook_issue_url(client, settings):
    payload = json.dumps({"action": "closed", "issue": {"html_url": "https://github.example/a/b/issues/1\u0000"}})
    response = _signed(client, settings, payload.encode())
    assert "issue.html_url" in assert_envelope(response, 400, "validation_error")["fields"]


def test_it_refuses_a_deeply_nested_signed_github_webhook(client, settings):
    response = _signed(client, settings, f'{{"action": "closed", "issue": {nested(NESTED)}}}'.encode())
    assert_envelope(response, 400, "validation_error")
