"""Issue 12, findings 10, 11, 13, 14, 15: API conventions a client can rely on."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import Role
from tests.conftest import client_with_key
from tests.contract.helpers import assert_envelope
from tests.runtime.helpers import RUNS, SIMULATE, TS, replay, transform
from tests.traces.tracebuild import build, store
from traces.models import Trace, TraceStep

pytestmark = pytest.mark.django_db


# --- 10: the catch-all -------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete"])
@pytest.mark.parametrize("path", ["/api/v1/nope", "/api/nothing/here", "/api/v1/runtime/runs/a/b/c"])
def test_it_answers_unmatched_api_paths_with_a_json_404_for_every_method_without_csrf(method, path, bob):
    client = Client(enforce_csrf_checks=True)
    client.force_login(bob)  # a session cookie is what makes CSRF bite
    assert_envelope(getattr(client, method)(path), 404, "not_found")


# --- 11: issue_url -------------------------------------------------------------------------------------


def test_it_answers_a_missing_issue_url_as_null(api_a, tenant_a, settings):
    settings.GITHUB_TOKEN = ""
    settings.SLACK_MISMATCH_WEBHOOK = ""
    trace = store(tenant_a, steps=2)
    reported = api_a.post(
        f"/api/v1/traces/{trace.trace_id}/mismatch", {"step_index": 1, "reason": "output_mismatch"}, format="json"
    )
    assert reported.status_code == 201, reported.content
    assert reported.json()["issue_url"] is None
    [listed] = api_a.get("/api/v1/mismatches").json()["results"]
    assert listed["issue_url"] is None
    assert api_a.get(f"/api/v1/traces/{trace.trace_id}/mismatches").json()["results"][0]["issue_url"] is None


# --- 13: strict query parameters -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "path,query,field",
    [
        ("/api/v1/traces", "pinned=AAA", "pinned"),
        ("/api/v1/traces", "redacted=1", "redacted"),
        ("/api/v1/mismatches", "resolved=0.5", "resolved"),
        ("/api/v1/mismatches", "notified=yes", "notified"),
        ("/api/v1/runtime/runs", "source=ingest", "source"),
        ("/api/v1/runtime/runs", "source=simulate", "source"),
        ("/api/v1/runtime/runs", "status=simulated", "status"),
        ("/api/v1/traces", "limit=abc", "limit"),
        ("/api/v1/traces", "limit=0", "limit"),
        ("/api/v1/mismatches", "limit=-1", "limit"),
        ("/api/v1/mismatch-groups", "status=sleeping", "status"),
        ("/api/v1/mismatch-groups", "reason=cosmic_rays", "reason"),
        ("/api/v1/mismatch-groups", "limit=0", "limit"),
        ("/api/v1/runtime/runs", "limit=201", "limit"),
        ("/api/v1/runtime/runs", "limit=1.5", "limit"),
    ],
)
def test_it_refuses_query_values_the_schema_does_not_allow(api_a, path, query, field):
    body = assert_envelope(api_a.get(f"{path}?{query}"), 400, "validation_error")
    assert field in body["fields"], body


def test_it_filters_with_strict_booleans_and_limits(api_a, tenant_a):
    pinned = store(tenant_a, steps=1)
    Trace.objects.filter(pk=pinned.pk).update(pinned=True)
    store(tenant_a, steps=1)
    assert [t["trace_id"] for t in api_a.get("/api/v1/traces?pinned=true").json()["results"]] == [pinned.trace_id]
    assert len(api_a.get("/api/v1/traces?pinned=false").json()["results"]) == 1
    assert len(api_a.get("/api/v1/traces?limit=1").json()["results"]) == 1


def test_it_lists_runs_and_replays_by_source(api_a):
    run = api_a.post(RUNS, {"plan": [transform({"x": 1}, query="x")], "wait": True, "timestamp": TS}, format="json")
    replay(api_a, run.json()["run_id"])
    assert [r["source"] for r in api_a.get(f"{RUNS}?source=run").json()["results"]] == ["run"]
    assert [r["source"] for r in api_a.get(f"{RUNS}?source=replay").json()["results"]] == ["replay"]


# --- 14: the alerts webhook and methods ----------------------------------------------------------------


@pytest.mark.parametrize("token", ["", "alert-token"])
@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
def test_it_answers_405_for_the_wrong_method_on_the_alerts_webhook(client, settings, token, method):
    settings.ALERTS_WEBHOOK_TOKEN = token
    response = getattr(client, method)("/api/v1/alerts/webhook")
    body = assert_envelope(response, 405, "method_not_allowed")
    assert "POST" in response["Allow"] and body["message"]


# --- 15: tried as a new user would ------------------------------------------------------------------------


def test_it_refuses_a_step_index_equal_to_the_step_count(api_a, tenant_a):
    trace = store(tenant_a, steps=2)
    url = f"/api/v1/traces/{trace.trace_id}/mismatch"
    body = assert_envelope(
        api_a.post(url, {"step_index": 2, "reason": "output_mismatch"}, format="json"), 400, "validation_error"
    )
    assert "2 steps (0..1)" in body["message"] and "step_index" in body["fields"]
    assert api_a.post(url, {"step_index": 1, "reason": "output_mismatch"}, format="json").status_code == 201


def test_it_says_1_step_not_1_steps(api_a, tenant_a):
    trace = store(tenant_a, steps=1)
    body = api_a.post(
        f"/api/v1/traces/{trace.trace_id}/mismatch", {"step_index": 5, "reason": "output_mismatch"}, format="json"
    )
    assert "the trace has 1 step (index 0)." in body.json()["message"]
    assert "1 steps" not in body.json()["message"]


def test_it_names_the_same_original_everywhere_for_a_replayed_ingested_trace(api_a):
    ingested = api_a.post("/api/v1/traces", build(steps=1).to_dict(), format="json")
    assert ingested.status_code == 201, ingested.content
    trace_id = ingested.json()["trace_id"]
    result = replay(api_a, trace_id).json()
    original = result["original_run_id"]
    assert original == trace_id
    assert api_a.get(f"/api/v1/runtime/runs/{result['replay_run_id']}").json()["replay_of"] == original
    assert api_a.get(f"/api/v1/traces/{result['replay_run_id']}").json()["replay_of"] == original


def test_it_rounds_money_to_six_decimals(api_a, tenant_a):
    trace = store(tenant_a, steps=2)
    Trace.objects.filter(pk=trace.pk).update(total_cost_cents=4.999999999999938)
    TraceStep.objects.filter(trace=trace, index=0).update(cost_cents=0.1 + 0.2)
    detail = api_a.get(f"/api/v1/traces/{trace.trace_id}").json()
    assert detail["total_cost_cents"] == 5.0
    assert detail["steps"][0]["cost_cents"] == 0.3
    assert api_a.get("/api/v1/traces").json()["results"][0]["total_cost_cents"] == 5.0


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/traces",
        "/api/v1/mismatches",
        "/api/v1/mismatch-groups",
        "/api/v1/runtime/runs",
        "/api/v1/runtime/skills",
        "/api/v1/me",
    ],
)
def test_it_answers_the_same_with_or_without_a_trailing_slash(api_a, tenant_a, path):
    store(tenant_a, steps=1)
    plain, slashed = api_a.get(path), api_a.get(path + "/")
    assert plain.status_code == slashed.status_code == 200
    assert plain.json() == slashed.json()


def test_it_posts_to_a_slashed_path_without_a_redirect(api_a):
    response = api_a.post(SIMULATE + "/", {"plan": [transform(1, query="@")]}, format="json")
    assert response.status_code == 200


@pytest.mark.parametrize("endpoint", [SIMULATE, RUNS])
def test_it_reports_every_field_error_in_one_pass(api_a, endpoint):
    body = {"plan": [{"skill": "llm_invoke", "params": {"messages": "nope"}}], "timestamp": "soon", "surprise": 1}
    fields = assert_envelope(api_a.post(endpoint, body, format="json"), 400, "validation_error")["fields"]
    assert {"timestamp", "surprise", "plan[0].params.messages"} <= set(fields), fields


def test_it_keeps_a_valid_timestamp_exactly_as_given(api_a):
    for timestamp in ["2025-01-01T00:00:00.5+20:55", "2025-01-01t00:00:00z"]:
        body = {"plan": [transform(1, query="@")], "timestamp": timestamp, "wait": True}
        run = api_a.post(RUNS, body, format="json")
        assert run.status_code == 201, run.content
        assert run.json()["timestamp"] == timestamp


def test_it_lets_a_viewer_read_but_not_simulate(tenant_a):
    viewer = client_with_key(tenant_a, Role.VIEWER)
    assert_envelope(viewer.post(SIMULATE, {"plan": [transform(1, query="@")]}, format="json"), 403, "permission_denied")
