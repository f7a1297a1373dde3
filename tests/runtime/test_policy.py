"""One execution policy for runs, replays and simulate (PRODUCT.md §14; issue 21 finding 6).

An ingested SDK trace carries a plan nobody checked and no budget: replaying it must meet the
tenant's allowed skills, AOS_MAX_PLAN_STEPS and budget exactly as POST /runs does.
"""

from __future__ import annotations

from prometheus_client import REGISTRY

from aos_sdk.trace import Trace as TraceBuilder
from tests.runtime.helpers import SIMULATE, TS, llm, replay, run, transform
from traces.models import Trace, TraceSource

TRACES = "/api/v1/traces/"


def _ingest(client, trace_id: str, plan: list[dict]) -> None:
    """Stores an SDK trace of `plan` through the real ingest endpoint (outputs as the SDK recorded them)."""
    builder = TraceBuilder(plan=plan, seed=1, timestamp=TS, trace_id=trace_id)
    for step in plan:
        builder.add_step(skill=step["skill"], params=step["params"], output={"content": "recorded"})
    response = client.post(TRACES, builder.to_dict(), format="json")
    assert response.status_code == 201, response.json()


def _cost() -> float:
    return REGISTRY.get_sample_value("aos_run_cost_usd_total", {"tier": "pro"}) or 0.0


def _mixed_plan(steps: int, llm_every: int) -> list[dict]:
    return [llm(f"q{i}", model="gpt-4o") if i % llm_every == 0 else transform(i, query="@") for i in range(steps)]


def test_it_refuses_a_live_replay_with_a_skill_the_tenant_may_not_use(api_a_dev, tenant_a):
    tenant_a.allowed_skills = ["json_transform"]
    tenant_a.save()
    plan = _mixed_plan(60, llm_every=2)  # 30 llm_invoke steps, under the step limit
    _ingest(api_a_dev, "tr-llm", plan)
    before = _cost()

    refused = replay(api_a_dev, "tr-llm", mode="live")
    as_run = run(api_a_dev, plan)

    assert refused.status_code == as_run.status_code == 403
    assert refused.json()["error"] == as_run.json()["error"] == "permission_denied"
    assert (
        refused.json()["fields"]
        == as_run.json()["fields"]
        == {"plan[0].skill": ["Skill 'llm_invoke' is not allowed for tenant tenant-a."]}
    )
    assert not Trace.objects.filter(source=TraceSource.REPLAY).exists()
    assert _cost() == before  # nothing executed


def test_it_refuses_a_replay_longer_than_the_run_step_limit(api_a_dev, settings):
    settings.AOS_MAX_PLAN_STEPS = 200
    plan = _mixed_plan(430, llm_every=14)  # finding 6: 430 steps, ~30 of them llm_invoke
    _ingest(api_a_dev, "tr-long", plan)

    refused = replay(api_a_dev, "tr-long", mode="live")
    as_run = run(api_a_dev, plan)

    assert refused.status_code == as_run.status_code == 400
    assert refused.json()["fields"] == as_run.json()["fields"]
    assert "at most 200 steps" in refused.json()["message"]
    assert not Trace.objects.filter(source=TraceSource.REPLAY).exists()


def test_it_spends_at_most_the_tenant_budget_replaying_a_trace_without_one(api_a_dev, tenant_a):
    tenant_a.budget_cents = 1
    tenant_a.save()
    plan = [llm("a", model="gpt-4o", max_tokens=1000), llm("b", model="gpt-4o", max_tokens=1000)]
    _ingest(api_a_dev, "tr-costly", plan)
    assert Trace.objects.get(trace_id="tr-costly").budget_cents is None  # ingested: no budget of its own

    result = replay(api_a_dev, "tr-costly", mode="live").json()

    assert result["divergence"]["reason"] == "status_mismatch"
    assert result["divergence"]["actual"] == {"status": "failed", "error_code": "ERR_BUDGET_EXCEEDED"}
    stored = Trace.objects.get(run_id=result["replay_run_id"])
    assert stored.budget_cents == 1
    assert stored.total_cost_cents == 0


def test_it_refuses_a_replay_when_the_tenant_policy_changed_since_the_run(api_a_dev, tenant_a):
    body = run(api_a_dev, [llm("hello")]).json()
    assert body["status"] == "succeeded"
    tenant_a.allowed_skills = ["json_transform"]
    tenant_a.save()
    response = replay(api_a_dev, body["run_id"])
    assert response.status_code == 403
    assert response.json()["error"] == "permission_denied"


def test_it_applies_the_same_step_limit_and_caps_to_simulate(api_a_dev, settings):
    settings.AOS_MAX_PLAN_STEPS = 3
    response = api_a_dev.post(SIMULATE, {"plan": [transform(1, query="@")] * 4}, format="json")
    assert response.status_code == 400
    assert "at most 3 steps" in response.json()["message"]
    nested = "(" * 500 + "a" + ")" * 500
    response = api_a_dev.post(SIMULATE, {"plan": [transform(1, query=nested)]}, format="json")
    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["plan[0].params.query"]
