"""Trace workflows: ingest, lookup, compare, delete, pin (PRODUCT.md §3, §5)."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, QuerySet
from django.utils import timezone
from rfc8785 import CanonicalizationError

from accounts.models import Tenant
from aos_sdk.trace import new_trace_id, verify
from aosproject.errors import ApiError, Conflict
from aosproject.metrics import TRACES_STORED
from traces.diff import structural_diff
from traces.models import Trace, TraceSource, TraceStatus, TraceStep
from traces.redaction import redact

# Step fields compared in this order; the first one that differs names the divergence (§4 reasons).
_STEP_CHECKS = (
    ("skill_id", "skill_mismatch", None),
    ("input_hash", "input_mismatch", "input_hash"),
    ("status", "status_mismatch", None),
    ("output_hash", "output_mismatch", "output_hash"),
)


def trace_queryset(*, tenant: Tenant) -> QuerySet[Trace]:
    """The tenant's traces with what the serializers need annotated (no per-row queries)."""
    return Trace.objects.for_tenant(tenant).annotate(
        tenant_slug=F("tenant__slug"), replay_of_trace_id=F("replay_of__trace_id")
    )


def trace_get(*, tenant: Tenant, identifier: str, queryset: QuerySet[Trace] | None = None) -> Trace:
    """One trace by trace_id, else by run_id; another tenant's trace is not found (404)."""
    qs = queryset if queryset is not None else trace_queryset(tenant=tenant)
    matches = list(qs.for_tenant(tenant).lookup(identifier)[:2])
    # A trace_id that equals another trace's run_id is possible; the trace_id wins.
    for trace in matches:
        if trace.trace_id == identifier:
            return trace
    if matches:
        return matches[0]
    raise ApiError("not_found", f"No trace {identifier!r}.", 404)


def _hash_error(data: dict[str, Any]) -> ApiError | None:
    try:
        problem = verify(data)
    except CanonicalizationError as exc:  # e.g. integers beyond ±2^53, which JSON cannot carry exactly
        return ApiError("validation_error", f"Trace content cannot be canonicalised: {exc}", 400)
    if problem is None:
        return None
    message = f"Hash mismatch at {problem.path}: the content hashes to {problem.expected}, not {problem.got}."
    return ApiError(
        "validation_error",
        message,
        400,
        fields={problem.path: [message]},
        step_index=problem.step_index,
        field=problem.field,
        expected=problem.expected,
        got=problem.got,
    )


def _redacted_steps(steps: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    total = 0
    out = []
    for step in steps:
        step = dict(step)
        for name in ("params", "output", "error_message"):
            step[name], n = redact(step[name])
            total += n
        out.append(step)
    return out, total


@transaction.atomic
def trace_ingest(*, tenant: Tenant, data: dict[str, Any]) -> tuple[Trace, bool]:
    """Verifies every hash, redacts secrets, stores the trace and its steps. Returns (trace, created).

    An existing trace_id of the tenant is a conflict unless `overwrite`; an overwrite replaces the
    content and steps in place (same row, so pins and mismatch reports stay attached). Traces the
    runtime recorded (run, simulate, replay) are never overwritten by an ingest.
    """
    error = _hash_error(data)
    if error is not None:
        raise error

    # Hashes above were computed on the original; only the redacted content is stored.
    plan, n_plan = redact(data["plan"])
    input_value, n_input = redact(data.get("input"))
    metadata, n_meta = redact(data.get("metadata") or {})
    steps, n_steps = _redacted_steps(data["steps"])
    status = data.get("status") or (
        TraceStatus.FAILED if any(s["status"] == "failed" for s in steps) else TraceStatus.SUCCEEDED
    )
    now = timezone.now()
    fields = {
        "source": TraceSource.INGEST,
        "agent_id": data.get("agent_id", ""),
        "plan": plan,
        "plan_hash": data["plan_hash"],
        "input": input_value,
        "seed": data["seed"],
        "frozen_timestamp": data["timestamp"],
        "status": status,
        "root_hash": data["root_hash"],
        "metadata": metadata,
        "redacted": bool(n_plan + n_input + n_meta + n_steps),
        "total_steps": len(steps),
        "total_cost_cents": sum(s["cost_cents"] for s in steps),
        "total_duration_ms": sum(s["duration_ms"] for s in steps),
        "error_code": "",
        "error_message": "",
        "finished_at": now,
    }
    trace_id = data.get("trace_id") or new_trace_id()
    existing = Trace.objects.select_for_update().filter(tenant=tenant, trace_id=trace_id).first()
    created = existing is None
    if existing is not None:
        if not data.get("overwrite"):
            raise Conflict(f"Trace {trace_id!r} already exists; send overwrite: true to replace it.", trace_id=trace_id)
        if existing.source != TraceSource.INGEST:
            raise Conflict(f"Trace {trace_id!r} was recorded by the runtime ({existing.source}); not replaceable.")
        for name, value in fields.items():
            setattr(existing, name, value)
        existing.save()
        existing.steps.all().delete()
        existing.tenant = tenant
        trace = existing
    else:
        try:
            with transaction.atomic():  # savepoint: a concurrent ingest of the same id loses cleanly
                trace = Trace.objects.create(tenant=tenant, trace_id=trace_id, **fields)
        except IntegrityError:
            raise Conflict(f"Trace {trace_id!r} already exists.", trace_id=trace_id)
    TraceStep.objects.bulk_create(
        [
            TraceStep(
                trace=trace,
                index=s["index"],
                skill_id=s["skill"],
                skill_version=s["skill_version"],
                params=s["params"],
                output=s["output"],
                status=s["status"],
                error_code=s["error_code"],
                error_message=s["error_message"],
                input_hash=s["input_hash"],
                output_hash=s["output_hash"],
                step_hash=s["step_hash"],
                cost_cents=s["cost_cents"],
                duration_ms=s["duration_ms"],
                retry_count=s["retry_count"],
                idempotency_key=s["idempotency_key"],
                replay_behaviour=s["replay"],
            )
            for s in steps
        ]
    )
    transaction.on_commit(lambda: TRACES_STORED.labels(source=TraceSource.INGEST).inc())
    return trace, created


def trace_delete(*, trace: Trace) -> int:
    """Deletes a trace; its steps and mismatches go with it (cascade). Returns the steps deleted."""
    _, per_model = trace.delete()
    return per_model.get(TraceStep._meta.label, 0)


def trace_pin(*, traces: QuerySet[Trace], pinned: bool) -> int:
    """Pins (kept by retention) or unpins traces; returns how many changed."""
    return traces.exclude(pinned=pinned).update(pinned=pinned, updated_at=timezone.now())


def _comparable(trace: Trace, steps: list[TraceStep]) -> dict[str, Any]:
    return {
        "plan_hash": trace.plan_hash,
        "seed": trace.seed,
        "frozen_timestamp": trace.frozen_timestamp,
        "status": trace.status,
        "root_hash": trace.root_hash,
        "steps": [
            {
                "skill": s.skill_id,
                "params": s.params,
                "output": s.output,
                "status": s.status,
                "input_hash": s.input_hash,
                "output_hash": s.output_hash,
                "step_hash": s.step_hash,
            }
            for s in steps
        ],
    }


def first_divergence(a_steps: list[TraceStep], b_steps: list[TraceStep]) -> dict[str, Any] | None:
    """The first step where two traces differ, with the reason (as replay reports it)."""
    for a, b in zip(a_steps, b_steps, strict=False):
        for attr, reason, hash_attr in _STEP_CHECKS:
            if getattr(a, attr) != getattr(b, attr):
                return {
                    "step_index": a.index,
                    "reason": reason,
                    "a": getattr(a, hash_attr or attr),
                    "b": getattr(b, hash_attr or attr),
                }
    if len(a_steps) != len(b_steps):
        return {
            "step_index": min(len(a_steps), len(b_steps)),
            "reason": "step_count_mismatch",
            "a": len(a_steps),
            "b": len(b_steps),
        }
    return None


def trace_compare(
    *, a: Trace, b: Trace, a_steps: list[TraceStep] | None = None, b_steps: list[TraceStep] | None = None
) -> dict[str, Any]:
    """`{match, first_divergence, differences[{path, a, b}]}` for two traces (2 step queries)."""
    a_steps = a_steps if a_steps is not None else list(a.steps.order_by("index"))
    b_steps = b_steps if b_steps is not None else list(b.steps.order_by("index"))
    differences = structural_diff(_comparable(a, a_steps), _comparable(b, b_steps))
    return {
        "a": a.trace_id,
        "b": b.trace_id,
        "match": not differences,
        "first_divergence": first_divergence(a_steps, b_steps),
        "differences": differences,
    }
