"""GET /api/v1/traces/compare/{a}/{b}: match, first divergence, differences as paths."""

from __future__ import annotations

import pytest

from aos_sdk.trace import Trace as TraceBuilder
from tests.traces.tracebuild import build, store
from traces.models import Trace

URL = "/api/v1/traces/compare/"


@pytest.mark.django_db
def test_it_matches_identical_traces(api_a_viewer, tenant_a):
    store(tenant_a, trace_id="one", steps=5)
    store(tenant_a, trace_id="two", steps=5)
    body = api_a_viewer.get(URL + "one/two").json()
    assert body == {"a": "one", "b": "two", "match": True, "first_divergence": None, "differences": []}


@pytest.mark.django_db
def test_it_reports_step_three_first_when_traces_differ_from_step_three(api_a_viewer, tenant_a):
    base = [{"v": i} for i in range(6)]
    changed = [*base[:3], {"v": "three"}, {"v": "four"}, base[5]]
    a = store(tenant_a, builder=build(trace_id="a", steps=6, outputs=base))
    b = store(tenant_a, builder=build(trace_id="b", steps=6, outputs=changed))

    body = api_a_viewer.get(URL + "a/b").json()

    assert body["match"] is False
    divergence = body["first_divergence"]
    assert divergence["step_index"] == 3 and divergence["reason"] == "output_mismatch"
    assert divergence["a"] == a.steps.get(index=3).output_hash
    assert divergence["b"] == b.steps.get(index=3).output_hash
    paths = [d["path"] for d in body["differences"]]
    assert "steps[3].output.v" in paths and "steps[4].output.v" in paths
    assert not any(p.startswith(("steps[0]", "steps[1]", "steps[2]")) for p in paths)
    first_step_diff = next(d for d in body["differences"] if d["path"] == "steps[3].output.v")
    assert (first_step_diff["a"], first_step_diff["b"]) == (3, "three")
    assert "root_hash" in paths


@pytest.mark.django_db
def test_it_names_the_reason_of_the_divergence(api_a_viewer, tenant_a):
    store(tenant_a, builder=build(trace_id="base", steps=3))
    store(tenant_a, builder=build(trace_id="skill", steps=3, skills=["json_transform", "llm_invoke"]))
    store(tenant_a, builder=build(trace_id="short", steps=2))
    template = build(steps=3)
    failed = TraceBuilder(plan=template.plan, seed=42, timestamp="2025-01-01T00:00:00Z", trace_id="failed")
    for i, step in enumerate(template.steps):
        status = "failed" if i == 2 else "succeeded"
        failed.add_step(skill=step["skill"], params=step["params"], output=step["output"], status=status)
    store(tenant_a, builder=failed)

    skill = api_a_viewer.get(URL + "base/skill").json()["first_divergence"]
    assert (skill["step_index"], skill["reason"]) == (1, "skill_mismatch")
    short = api_a_viewer.get(URL + "base/short").json()["first_divergence"]
    assert short == {"step_index": 2, "reason": "step_count_mismatch", "a": 3, "b": 2}
    status = api_a_viewer.get(URL + "base/failed").json()["first_divergence"]
    assert (status["step_index"], status["reason"]) == (2, "status_mismatch")


@pytest.mark.django_db
def test_it_compares_by_run_id_and_reports_header_differences(api_a_viewer, tenant_a):
    run = store(tenant_a, builder=build(trace_id="orig", seed=1))
    store(tenant_a, builder=build(trace_id="reseeded", seed=2))
    Trace.objects.filter(pk=run.pk).update(run_id="run-9")
    body = api_a_viewer.get(URL + "run-9/reseeded").json()
    assert body["a"] == "orig"
    assert body["match"] is False and body["first_divergence"] is None
    assert {"path": "seed", "a": 1, "b": 2} in body["differences"]


@pytest.mark.django_db
def test_it_answers_unknown_traces_with_404(api_a_viewer, tenant_a):
    store(tenant_a, trace_id="one")
    response = api_a_viewer.get(URL + "one/missing")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
