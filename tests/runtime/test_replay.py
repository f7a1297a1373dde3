"""Replay (PRODUCT.md §4): parity, first divergence on a tampered output, side effects never
resent in recorded mode, a mismatch record per divergence, tenant isolation."""

import pytest

from aos_sdk import hashing
from tests.runtime.helpers import pure_plan, replay, run, transform
from tests.servers import LocalServer
from traces.models import Trace, TraceSource, TraceStep
from triage.models import Mismatch


@pytest.fixture
def finished_run(api_a_dev):
    body = run(api_a_dev, pure_plan(), input={"price": 101.5, "symbol": "BTC"}).json()
    assert body["status"] == "succeeded"
    return body


def test_it_replays_a_deterministic_run_with_parity(api_a_dev, finished_run):
    response = replay(api_a_dev, finished_run["run_id"])
    assert response.status_code == 200
    result = response.json()
    assert result["parity"] is True
    assert result["divergence"] is None
    assert result["root_hash"] == finished_run["root_hash"] == result["original_root_hash"]
    copy = Trace.objects.get(run_id=result["replay_run_id"])
    assert copy.source == TraceSource.REPLAY
    assert copy.replay_of.run_id == finished_run["run_id"]
    assert copy.root_hash == finished_run["root_hash"]
    assert copy.steps.count() == 3
    assert not Mismatch.objects.exists()
    detail = api_a_dev.get(f"/api/v1/runtime/runs/{result['replay_run_id']}").json()
    assert detail["replay_of"] == finished_run["run_id"]


def test_it_diverges_exactly_at_a_tampered_step(api_a_dev, finished_run):
    step = TraceStep.objects.get(trace__run_id=finished_run["run_id"], index=1)
    real = step.output
    step.output = {**real, "content": "tampered"}
    step.save(update_fields=["output"])

    result = replay(api_a_dev, finished_run["run_id"]).json()
    assert result["parity"] is False
    divergence = result["divergence"]
    assert (divergence["step_index"], divergence["reason"]) == (1, "output_mismatch")
    assert divergence["expected"]["content"] == "tampered"
    assert divergence["actual"] == real
    assert divergence["expected_hash"] == hashing.output_hash(step.output)
    assert divergence["actual_hash"] == hashing.output_hash(real)
    assert divergence["diff"] == [{"path": "content", "a": "tampered", "b": real["content"]}]
    mismatch = Mismatch.objects.get()
    assert mismatch.trace.run_id == finished_run["run_id"]
    assert (mismatch.step_index, mismatch.reason, mismatch.reported_by) == (1, "output_mismatch", "replay")
    assert mismatch.skill_id == "llm_invoke"
    assert str(mismatch.id) == result["mismatch_id"]
    assert mismatch.details["replay_run_id"] == result["replay_run_id"]


def test_it_reports_an_input_mismatch_when_a_recorded_input_hash_was_altered(api_a_dev, finished_run):
    TraceStep.objects.filter(trace__run_id=finished_run["run_id"], index=2).update(input_hash="0" * 64)
    divergence = replay(api_a_dev, finished_run["run_id"]).json()["divergence"]
    assert (divergence["step_index"], divergence["reason"]) == (2, "input_mismatch")
    assert divergence["expected_hash"] == "0" * 64


def test_it_reports_a_step_count_mismatch(api_a_dev, finished_run):
    TraceStep.objects.filter(trace__run_id=finished_run["run_id"], index=2).delete()
    divergence = replay(api_a_dev, finished_run["run_id"]).json()["divergence"]
    assert (divergence["step_index"], divergence["reason"]) == (2, "step_count_mismatch")
    assert (divergence["expected"], divergence["actual"]) == (2, 3)


def test_it_never_resends_a_webhook_in_recorded_mode(api_a_dev, settings):
    settings.HTTP_CALL_ALLOWED_HOSTS = ["127.0.0.1"]
    with LocalServer(lambda *a: (200, {}, b"ok")) as receiver:
        plan = [
            transform({"n": 1}, query="n"),
            {"skill": "webhook_send", "params": {"url": receiver.url, "text": "n={{ steps[0].output }}"}},
            transform("{{ steps[1].output }}", query="status_code"),
        ]
        original = run(api_a_dev, plan).json()
        assert len(receiver.requests) == 1
        recorded = replay(api_a_dev, original["run_id"]).json()
        live = replay(api_a_dev, original["run_id"], mode="live").json()
        assert len(receiver.requests) == 1
    assert recorded["parity"] is True and live["parity"] is True
    served = TraceStep.objects.get(trace__run_id=recorded["replay_run_id"], index=1)
    assert served.replay_behaviour == "skip"
    assert served.output == {"status_code": 200, "body": "ok"}


def test_it_detects_a_tampered_served_step(api_a_dev, settings):
    settings.HTTP_CALL_ALLOWED_HOSTS = ["127.0.0.1"]
    with LocalServer(lambda *a: (200, {}, b"ok")) as receiver:
        plan = [{"skill": "webhook_send", "params": {"url": receiver.url, "text": "hi"}}]
        original = run(api_a_dev, plan).json()
        TraceStep.objects.filter(trace__run_id=original["run_id"]).update(output={"status_code": 500})
        divergence = replay(api_a_dev, original["run_id"]).json()["divergence"]
        assert len(receiver.requests) == 1
    assert (divergence["step_index"], divergence["reason"]) == (0, "output_mismatch")


def test_it_reexecutes_a_get_in_live_mode_and_serves_it_in_recorded_mode(api_a_dev, settings):
    settings.HTTP_CALL_ALLOWED_HOSTS = ["127.0.0.1"]
    prices = iter([100, 100, 250])
    with LocalServer(lambda *a: (200, {}, {"price": next(prices)})) as server:
        original = run(api_a_dev, [{"skill": "http_call", "params": {"url": server.url}}]).json()
        recorded = replay(api_a_dev, original["run_id"]).json()
        assert len(server.requests) == 1
        same = replay(api_a_dev, original["run_id"], mode="live").json()
        moved = replay(api_a_dev, original["run_id"], mode="live").json()
        assert len(server.requests) == 3
    assert recorded["parity"] and same["parity"]
    assert moved["divergence"]["reason"] == "output_mismatch"
    assert moved["divergence"]["diff"] == [{"path": "body.price", "a": 100, "b": 250}]


def test_it_does_not_store_anything_on_a_dry_run(api_a_dev, finished_run):
    TraceStep.objects.filter(trace__run_id=finished_run["run_id"], index=0).update(output={"price": 0})
    before = Trace.objects.count()
    result = replay(api_a_dev, finished_run["run_id"], dry_run=True).json()
    assert result["parity"] is False and result["replay_run_id"] is None
    assert Trace.objects.count() == before
    assert not Mismatch.objects.exists()


def test_it_answers_404_for_an_unknown_or_foreign_run(api_a_dev, api_b, finished_run):
    assert replay(api_b, finished_run["run_id"]).status_code == 404
    assert replay(api_a_dev, "run_missing").status_code == 404
    assert api_b.get(f"/api/v1/runtime/runs/{finished_run['run_id']}").status_code == 404
    assert not Trace.objects.filter(source=TraceSource.REPLAY).exists()


def test_it_needs_the_developer_role_to_replay(api_a_viewer, finished_run):
    response = replay(api_a_viewer, finished_run["run_id"])
    assert response.status_code == 403
    assert response.json()["error"] == "permission_denied"


def test_it_refuses_to_replay_an_unfinished_run(api_a_dev, tenant_a):
    from runtime.services import run_create

    queued = run_create(tenant=tenant_a, plan=[transform(1, query="@")])
    response = replay(api_a_dev, queued.run_id)
    assert response.status_code == 409


def _ingested(tenant, plan, steps):
    """An SDK-style trace stored directly (the traces app's ingest does the same)."""
    plan_hash = hashing.plan_hash(plan)
    trace = Trace.objects.create(
        trace_id="tr_ingested",
        tenant=tenant,
        source=TraceSource.INGEST,
        plan=hashing.normalise_plan(plan),
        plan_hash=plan_hash,
        seed=42,
        frozen_timestamp="2025-01-01T00:00:00Z",
        status="succeeded",
    )
    hashes = []
    for i, (params, output) in enumerate(steps):
        in_h, out_h = hashing.input_hash(params), hashing.output_hash(output)
        s_h = hashing.step_hash(index=i, skill="json_transform", input_hash=in_h, output_hash=out_h, status="succeeded")
        hashes.append(s_h)
        TraceStep.objects.create(
            trace=trace,
            index=i,
            skill_id="json_transform",
            params=params,
            output=output,
            status="succeeded",
            input_hash=in_h,
            output_hash=out_h,
            step_hash=s_h,
        )
    trace.root_hash = hashing.root_hash(
        plan_hash=plan_hash, seed=42, timestamp=trace.frozen_timestamp, step_hashes=hashes
    )
    trace.save()
    return trace


def test_it_replays_an_ingested_sdk_trace(api_a_dev, tenant_a):
    params = {"payload": {"x": 1}, "mapping": {"y": "x"}}
    trace = _ingested(tenant_a, [{"skill": "json_transform", "params": params}], [(params, {"y": 1})])
    assert trace.root_hash == "a7d865ab34ef189aa8d1bccf324d38492f59424c7f1d924ea3bffbeb64e09b5c"  # §3 vector
    result = replay(api_a_dev, "tr_ingested").json()
    assert result["parity"] is True
    assert result["original_run_id"] == "tr_ingested"


def test_it_refuses_to_replay_an_ingested_trace_with_an_unusable_plan(api_a_dev, tenant_a):
    _ingested(tenant_a, [{"skill": "json_transform", "params": {"payload": 1}}], [({"payload": 1}, 1)])
    response = replay(api_a_dev, "tr_ingested")
    assert response.status_code == 400  # the error a run with this plan gets (one policy, PRODUCT.md §14)
    assert response.json()["error"] == "validation_error"
    assert "cannot be replayed" in response.json()["message"]
