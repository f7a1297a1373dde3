"""Runs, skills and capabilities endpoints (PRODUCT.md §4): statuses, queueing, budgets, retry
policy, on_error, fallback, roles, tenant scoping, pagination."""

import pytest

from runtime.services import run_execute
from tests.runtime.helpers import RUNS, SIMULATE, llm, pure_plan, run, transform
from traces.models import Trace


def test_it_queues_a_run_and_executes_it_after_commit(api_a_dev, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = run(api_a_dev, pure_plan(), wait=False, input={"price": 1, "symbol": "X"})
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "queued"
    assert response["Location"] == body["url"] == f"/api/v1/runtime/runs/{body['run_id']}"
    assert api_a_dev.get(body["url"]).json()["status"] == "queued"
    assert len(callbacks) == 1
    callbacks[0]()  # the Celery task (eager here)
    detail = api_a_dev.get(body["url"]).json()
    assert detail["status"] == "succeeded"
    assert len(detail["steps"]) == 3


def test_it_executes_a_run_only_once(tenant_a):
    from runtime.services import run_create

    trace = run_create(tenant=tenant_a, plan=[transform(1, query="@")])
    run_execute(trace_pk=trace.pk)
    run_execute(trace_pk=trace.pk)  # a redelivered task
    assert trace.steps.count() == 1


def test_it_fails_a_step_with_err_budget_exceeded(api_a_dev):
    plan = [llm("a", model="gpt-4o", max_tokens=1000), llm("b", model="gpt-4o", max_tokens=1000)]
    body = run(api_a_dev, plan, budget_cents=1).json()
    assert body["status"] == "failed"
    assert body["error_code"] == "ERR_BUDGET_EXCEEDED"
    first = body["steps"][0]
    assert (first["status"], first["error_code"]) == ("failed", "ERR_BUDGET_EXCEEDED")
    assert len(body["steps"]) == 1  # abort is the default


def test_it_enforces_the_budget_while_running(api_a_dev):
    # Each call may cost up to ~0.99 cents (max_tokens priced up front) but costs ~0.02: the first
    # fits in 1 cent, the second no longer does once the first one's actual cost is spent.
    step = llm("a", model="gpt-4o", max_tokens=990)
    body = run(api_a_dev, [step, step, step], budget_cents=1).json()
    statuses = [(s["status"], s["error_code"]) for s in body["steps"]]
    assert statuses[0] == ("succeeded", "")
    assert statuses[-1] == ("failed", "ERR_BUDGET_EXCEEDED")
    assert len(statuses) == 2
    assert 0 < body["total_cost_cents"] <= 1


def test_it_continues_after_a_failure_when_asked(api_a_dev, settings):
    settings.HTTP_CALL_ALLOWED_HOSTS = []
    plan = [
        {"skill": "http_call", "params": {"url": "http://127.0.0.1:9/"}, "on_error": "continue"},
        transform({"after": "{{ steps[0].status }}"}, query="after"),
    ]
    body = run(api_a_dev, plan).json()
    assert [s["status"] for s in body["steps"]] == ["failed", "succeeded"]
    assert body["steps"][1]["output"] == "failed"
    assert body["status"] == "succeeded"


def test_it_uses_the_fallback_skill_when_a_step_fails(api_a_dev, settings):
    settings.HTTP_CALL_ALLOWED_HOSTS = []
    plan = [
        {
            "skill": "http_call",
            "params": {"url": "http://127.0.0.1:9/"},
            "fallback": {"skill": "json_transform", "params": {"payload": {"price": 0}, "query": "price"}},
        }
    ]
    body = run(api_a_dev, plan).json()
    step = body["steps"][0]
    assert (step["status"], step["skill"], step["output"]) == ("succeeded", "json_transform", 0)
    assert "fallback used" in step["error_message"]
    assert body["status"] == "succeeded"


def test_it_fails_a_step_whose_resolved_params_have_the_wrong_type(api_a_dev):
    plan = [transform({"t": "x"}, query="t"), llm("{{ steps[0].output }}", max_tokens="{{ steps[0].output }}")]
    body = run(api_a_dev, plan).json()
    assert body["steps"][1]["error_code"] == "ERR_INVALID_PARAMS"
    assert "max_tokens" in body["steps"][1]["error_message"]


def test_it_lists_runs_for_the_tenant_only_with_pagination(api_a_dev, api_a_viewer, api_b):
    for _ in range(3):
        run(api_a_dev, [transform(1, query="@")])
    run(api_b, [transform(1, query="@")])
    first = api_a_viewer.get(RUNS, {"limit": 2}).json()
    assert len(first["results"]) == 2
    second = api_a_viewer.get(first["next"])
    assert len(second.json()["results"]) == 1
    ids = {r["run_id"] for r in first["results"] + second.json()["results"]}
    assert Trace.objects.filter(run_id__in=ids, tenant__slug="tenant-a").count() == 3
    assert len(api_b.get(RUNS).json()["results"]) == 1


def test_it_needs_the_developer_role_to_run_and_simulate(api_a_viewer):
    assert run(api_a_viewer, [transform(1, query="@")]).status_code == 403
    assert api_a_viewer.post(SIMULATE, {"plan": [transform(1, query="@")]}, format="json").status_code == 403
    assert api_a_viewer.get(RUNS).status_code == 200


def test_it_refuses_anonymous_callers(client):
    assert client.get(RUNS).status_code == 401


def test_it_refuses_a_skill_the_tenant_does_not_allow(api_a_dev, tenant_a):
    tenant_a.allowed_skills = ["json_transform"]
    tenant_a.save()
    response = run(api_a_dev, [transform(1, query="@"), llm("x")])
    assert response.status_code == 403
    assert "plan[1].skill" in response.json()["fields"]
    simulated = api_a_dev.post(SIMULATE, {"plan": [llm("x")]}, format="json").json()
    assert simulated["status"] == "permission_denied"
    assert simulated["permission_gaps"] == [
        {"step_index": 0, "skill_id": "llm_invoke", "reason": "skill not allowed for tenant"}
    ]


def test_it_lists_and_describes_skills(api_a_viewer):
    skills = api_a_viewer.get("/api/v1/runtime/skills").json()
    assert [s["id"] for s in skills] == ["http_call", "json_transform", "llm_invoke", "webhook_send"]
    webhook = api_a_viewer.get("/api/v1/runtime/skills/webhook_send").json()
    assert webhook["side_effects"] is True and webhook["default_replay"] == "skip"
    assert webhook["params_schema"]["required"] == ["url", "text"]
    missing = api_a_viewer.get("/api/v1/runtime/skills/nope")
    assert missing.status_code == 404
    assert missing.json()["available"] == [s["id"] for s in skills]


def test_it_reports_capabilities(api_a_viewer, tenant_a):
    tenant_a.allowed_skills = ["json_transform"]
    tenant_a.save()
    body = api_a_viewer.get("/api/v1/runtime/capabilities").json()
    assert body["tenant"] == "tenant-a"
    assert body["budget_cents"] == tenant_a.budget_cents
    assert body["allowed_skills"] == ["json_transform"]
    assert body["rate_limit"]["tier"] == "pro"


@pytest.mark.parametrize("budget,status", [(1000, "feasible"), (0, "budget_insufficient")])
def test_it_simulates_budget_and_risk(api_a_dev, budget, status):
    plan = [llm("hello", model="gpt-4o"), {"skill": "http_call", "params": {"url": "https://example.com"}}]
    body = api_a_dev.post(SIMULATE, {"plan": plan, "budget_cents": budget}, format="json").json()
    assert body["status"] == status
    assert body["budget_sufficient"] is (status == "feasible")
    product = 1.0
    for risk in body["risks"]:
        product *= 1 - risk["probability"]
    assert body["cumulative_risk"] == pytest.approx(1 - product, abs=1e-6)
    assert sum(e["estimated_cost_cents"] for e in body["step_estimates"]) == pytest.approx(body["estimated_cost_cents"])
    if status == "budget_insufficient":
        assert any(a["suggestion"].startswith("use model") for a in body["alternatives"])


def test_it_flags_risk_too_high(api_a_dev):
    risky = {"skill": "webhook_send", "params": {"url": "https://hooks.example.com/x", "text": "t"}}
    body = api_a_dev.post(SIMULATE, {"plan": [risky] * 40}, format="json").json()
    assert body["status"] == "risk_too_high"
    assert body["cumulative_risk"] > 0.5
    assert body["feasible"] is False
