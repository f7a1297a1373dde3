"""Messages of the admin and the API count in the right number: "1 mismatch", "2 mismatches", never "(s)"."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

import pytest

from aosproject.errors import ApiError
from runtime.admission import admission_acquire
from runtime.plans import PlanInvalid, plan_validate
from tests.traces.tracebuild import build
from traces.models import RetentionRun
from traces.retention import run_summary
from traces.serializers import TraceIngestSerializer
from triage.issue_text import bulk_issue_title

BULK = "/api/v1/traces/mismatches/bulk-report"


@pytest.mark.parametrize(("missing", "said"), [(1, "1 mismatch not found"), (2, "2 mismatches not found")])
def test_it_counts_the_mismatches_a_bulk_report_did_not_find(api_a, missing, said):
    ids = [str(uuid.uuid4()) for _ in range(missing)]
    response = api_a.post(BULK, {"mismatch_ids": ids}, format="json")
    assert response.status_code == 404
    assert response.json()["message"] == f"{said} in this tenant."
    assert "(es)" not in response.json()["message"]


@pytest.mark.parametrize(
    ("rows", "title"),
    [
        ([(1,)], "bulk report: 1 mismatch in 1 trace"),
        ([(1,), (2,)], "bulk report: 2 mismatches in 2 traces"),
    ],
)
def test_it_counts_the_bulk_issue_title(rows, title):
    mismatches = [SimpleNamespace(trace_id=trace_id) for (trace_id,) in rows]
    assert bulk_issue_title(mismatches) == f"[Replay Mismatch] {title}"


@pytest.mark.parametrize(("limit", "said"), [(1, "already has 1 run in flight"), (2, "already has 2 runs in flight")])
def test_it_counts_the_runs_in_flight(tenant_a, limit, said):
    tenant_a.max_concurrent = limit
    tenant_a.save()
    for i in range(limit):
        admission_acquire(tenant=tenant_a, token=f"busy-{limit}-{i}")
    with pytest.raises(ApiError) as refused:
        admission_acquire(tenant=tenant_a, token="one-more")
    assert said in refused.value.message


@pytest.mark.parametrize(("limit", "said"), [(1, "at most 1 step;"), (2, "at most 2 steps;")])
def test_it_counts_the_plan_step_limit(limit, said):
    plan = [{"skill": "json_transform", "params": {"payload": {}, "query": "@"}}] * 3
    with pytest.raises(PlanInvalid) as refused:
        plan_validate(plan, max_steps=limit)
    assert said in refused.value.fields["plan"][0]


@pytest.mark.parametrize(("limit", "said"), [(1, "At most 1 step."), (2, "At most 2 steps.")])
def test_it_counts_the_trace_step_limit(settings, limit, said):
    settings.AOS_MAX_TRACE_STEPS = limit
    with pytest.raises(ApiError) as refused:
        TraceIngestSerializer(data=build(steps=3).to_dict()).is_valid()
    assert refused.value.extra["fields"] == {"steps": [said]}


@pytest.mark.parametrize(
    ("n", "said"),
    [
        (1, "deleted 1 trace and 1 step older than 1 day across 1 tenant;"),
        (2, "deleted 2 traces and 2 steps older than 2 days across 2 tenants;"),
    ],
)
def test_it_counts_the_retention_summary(n, said):
    run = RetentionRun(pk=7, dry_run=False, days=n, traces_deleted=n, steps_deleted=n, traces_kept=0)
    assert said in run_summary(run, tenants=n, seconds=0.5)
