"""Persisting engine executions as traces (PRODUCT.md §3, §5; decision 0001: a run is a trace)."""

from __future__ import annotations

import uuid

from django.db import transaction
from django.utils import timezone

from aosproject.metrics import TRACES_STORED
from runtime.engine import Execution, RecordedStep
from traces.models import Trace, TraceStep

STEP_BATCH = 500


def new_run_id() -> str:
    return "run_" + uuid.uuid4().hex


def execution_store(*, trace: Trace, execution: Execution, status: str | None = None) -> Trace:
    """Writes the steps (bulk) and the trace's outcome, hashes and totals in one transaction."""
    steps = [
        TraceStep(
            trace=trace,
            index=s.index,
            skill_id=s.skill_id,
            skill_version=s.skill_version,
            params=s.params,
            output=s.output,
            status=s.status,
            error_code=s.error_code,
            error_message=s.error_message[:2000],
            input_hash=s.input_hash,
            output_hash=s.output_hash,
            step_hash=s.step_hash,
            cost_cents=s.cost_cents,
            duration_ms=s.duration_ms,
            retry_count=s.retry_count,
            replay_behaviour=s.replay_behaviour,
        )
        for s in execution.steps
    ]
    trace.status = status or execution.status
    trace.root_hash = execution.root_hash
    trace.plan_hash = execution.plan_hash
    trace.error_code = execution.error_code
    trace.error_message = execution.error_message[:2000]
    trace.total_steps = len(steps)
    trace.total_cost_cents = execution.total_cost_cents
    trace.total_duration_ms = execution.total_duration_ms
    trace.finished_at = timezone.now()
    with transaction.atomic():
        TraceStep.objects.bulk_create(steps, batch_size=STEP_BATCH)
        trace.save(
            update_fields=[
                "status",
                "root_hash",
                "plan_hash",
                "error_code",
                "error_message",
                "total_steps",
                "total_cost_cents",
                "total_duration_ms",
                "finished_at",
                "updated_at",
            ]
        )
    TRACES_STORED.labels(source=trace.source).inc()
    return trace


def recorded_steps(trace: Trace) -> list[RecordedStep]:
    """A stored trace's steps as replay compares them (one query)."""
    fields = ("index", "skill_id", "skill_version", "params", "output", "status", "error_code")
    hashes = ("input_hash", "output_hash", "step_hash")
    rows = TraceStep.objects.filter(trace=trace).order_by("index").values_list(*fields, *hashes)
    return [RecordedStep(*row) for row in rows]
