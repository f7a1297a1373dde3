"""Recording replay mismatches (PRODUCT.md §6). Notification is scheduled after commit."""

from __future__ import annotations

from typing import Any

from aos_sdk.hashing import H
from aosproject.metrics import REPLAY_MISMATCHES
from traces.models import Mismatch, Trace


def mismatch_fingerprint(*, tenant_id: int, plan_hash: str, step_index: int, skill_id: str, reason: str) -> str:
    """Same fingerprint = same determinism failure: one GitHub issue, later ones comment on it."""
    return H(
        {"tenant": tenant_id, "plan_hash": plan_hash, "step_index": step_index, "skill": skill_id, "reason": reason}
    )


def mismatch_record(
    *,
    trace: Trace,
    step_index: int,
    reason: str,
    reported_by: str,
    skill_id: str = "",
    expected_hash: str = "",
    actual_hash: str = "",
    details: dict[str, Any] | None = None,
) -> Mismatch:
    """Creates the mismatch (pending notification). The caller's transaction decides when it lands."""
    if not skill_id:
        step = trace.steps.filter(index=step_index).only("skill_id").first()
        skill_id = step.skill_id if step else ""
    mismatch = Mismatch.objects.create(
        trace=trace,
        tenant_id=trace.tenant_id,
        reported_by=reported_by,
        step_index=step_index,
        skill_id=skill_id,
        reason=reason,
        expected_hash=expected_hash,
        actual_hash=actual_hash,
        details=details or {},
        fingerprint=mismatch_fingerprint(
            tenant_id=trace.tenant_id,
            plan_hash=trace.plan_hash,
            step_index=step_index,
            skill_id=skill_id,
            reason=reason,
        ),
    )
    REPLAY_MISMATCHES.labels(reason=reason).inc()
    _schedule_notification(mismatch)
    return mismatch


def _schedule_notification(mismatch: Mismatch) -> None:
    """Hook for the notification pipeline (mismatch triage issue): on_commit → Celery task."""
