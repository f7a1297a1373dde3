"""Literal credentials in plans are refused; run metadata is redacted; redacted ingested steps are served."""

from __future__ import annotations

import pytest

from aos_sdk.trace import Trace as TraceBuilder
from tests.runtime.helpers import RUNS, SIMULATE, TS, llm, run
from traces.models import Trace

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.abc_DEF-ghi"
GHP = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"


def http(headers=None, url="https://api.example.com/x", **params):
    return {"skill": "http_call", "params": {"url": url, **({"headers": headers} if headers else {}), **params}}


@pytest.mark.parametrize(
    ("plan", "run_input", "field"),
    [
        ([http({"Authorization": f"token {GHP}"})], None, "plan[0].params.headers.Authorization"),
        ([http({"X-Custom": f"Bearer {GHP}"})], None, "plan[0].params.headers.X-Custom"),
        ([http({"Authorization": "Bearer abcdefgh12345678"})], None, "plan[0].params.headers.Authorization"),
        ([http({"X-Upstream": "Basic dXNlcjpodW50ZXIy"})], None, "plan[0].params.headers.X-Upstream"),
        ([llm("use aos_" + "Ab1" * 14 + "x")], None, "plan[0].params.messages[0].content"),
        ([http({"X-Api-Key": "plain-but-under-a-key"})], None, "plan[0].params.headers.X-Api-Key"),
        ([http(url="https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXX")], None, "plan[0].params.url"),
        ([http(url="https://bob:hunter22@db.example.com/")], None, "plan[0].params.url"),
        ([http(url="https://api.example.com/x?page=2&access_token=abc123")], None, "plan[0].params.url"),
        ([llm("key AKIAABCDEFGHIJKLMNOP")], None, "plan[0].params.messages[0].content"),
        ([llm("xoxb-1234567890-abcdefghij")], None, "plan[0].params.messages[0].content"),
        ([llm("-----BEGIN RSA PRIVATE KEY-----\nMIIE")], None, "plan[0].params.messages[0].content"),
        (
            [llm("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.abc_DEF-ghi")],
            None,
            "plan[0].params.messages[0].content",
        ),
        ([llm("hi")], {"db": {"password": "correct horse"}}, "input.db.password"),
        (
            [{**llm("hi"), "fallback": http({"Authorization": f"Bearer {GHP}"})}],
            None,
            "plan[0].fallback.params.headers.Authorization",
        ),
    ],
)
def test_it_refuses_a_literal_credential_naming_the_field(api_a_dev, plan, run_input, field):
    response = run(api_a_dev, plan, input=run_input)
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["error"] == "validation_error" and field in body["fields"], body
    assert "{{ secrets.NAME }}" in body["fields"][field][0]
    assert not Trace.objects.exists()


def test_it_refuses_a_literal_credential_in_simulate_too(api_a_dev):
    response = api_a_dev.post(SIMULATE, {"plan": [http({"Authorization": f"Bearer {GHP}"})]}, format="json")
    assert response.status_code == 400 and "plan[0].params.headers.Authorization" in response.json()["fields"]


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer {{ secrets.GITHUB_TOKEN }}"},
        {"Authorization": "{{ secrets.AUTH_HEADER }}"},
        {"X-Api-Key": "{{ secrets.API_KEY }}"},
        {"Accept": "application/json", "X-Request": "max_tokens=5"},
    ],
)
@pytest.mark.parametrize("url", ["https://api.example.com/x?page=2", "https://api.example.com/x?token={{ secrets.T }}"])
def test_it_accepts_secret_references_where_credentials_go(api_a_dev, headers, url):
    response = run(api_a_dev, [http(headers, url=url)], wait=False)
    assert response.status_code == 202, response.content


def test_it_redacts_run_metadata_like_an_ingested_trace(api_a_dev):
    metadata = {"ticket": "OPS-1", "slack_token": "xoxb-1234567890-abcdefghij", "note": f"see {GHP}"}
    response = run(api_a_dev, [llm("hi")], metadata=metadata)
    assert response.status_code == 201
    trace = Trace.objects.get(run_id=response.json()["run_id"])
    stored = trace.metadata
    assert trace.redacted and response.json()["metadata"] == stored
    assert stored["ticket"] == "OPS-1" and stored["slack_token"] == "[REDACTED]"
    assert GHP not in stored["note"]


def _ingest(client):
    params = {"payload": {"x": 1, "api_key": "k-123456789"}, "mapping": {"y": "x"}}
    plan = [
        {"skill": "json_transform", "params": params},
        {"skill": "json_transform", "params": {"payload": {"z": 2}, "query": "z"}},
    ]
    builder = TraceBuilder(plan=plan, seed=42, timestamp=TS, trace_id="tr_redacted")
    builder.add_step(skill="json_transform", params=params, output={"y": 1})
    builder.add_step(skill="json_transform", params=plan[1]["params"], output=2)
    response = client.post("/api/v1/traces", builder.to_dict(), format="json")
    assert response.status_code == 201, response.content
    return Trace.objects.get(trace_id="tr_redacted")


def test_it_serves_redacted_steps_from_the_recording_and_says_so(api_a_dev):
    trace = _ingest(api_a_dev)
    assert trace.redacted and trace.steps.get(index=0).params["payload"]["api_key"] == "[REDACTED]"
    result = api_a_dev.post("/api/v1/runtime/replay/tr_redacted", {}, format="json").json()
    assert result["parity"] is True, result["divergence"]
    assert result["served_redacted_steps"] == [0]
    replay = Trace.objects.get(run_id=result["replay_run_id"])
    assert [s.replay_behaviour for s in replay.steps.order_by("index")] == ["skip", "check"]


def test_it_lists_no_served_steps_for_an_ordinary_replay(api_a_dev):
    body = run(api_a_dev, [llm("hi")]).json()
    result = api_a_dev.post(f"/api/v1/runtime/replay/{body['run_id']}", {}, format="json").json()
    assert result["parity"] is True and result["served_redacted_steps"] == []
    assert RUNS


def test_it_accepts_prose_that_only_resembles_credentials(api_a_dev):
    prose = (
        "Explain bearer authentication and basic information; alert on aos_mismatch_notifications_pending "
        "and aos_rate_limit_blocked_total."
    )
    response = run(api_a_dev, [llm(prose)])
    assert response.status_code == 201, response.content
