"""Celery tasks for runs (eager in the embedded default; a Redis-backed worker in production)."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from aosproject.models import IdempotencyRecord


@shared_task(name="runtime.run_execute", acks_late=True)
def run_execute_task(trace_pk: int) -> str:
    """Executes a queued run; safe to redeliver (a run already taken is left alone).

    Sent with soft and hard time limits just past the run's deadline (runtime.lifecycle).
    """
    from runtime.services import run_execute

    return run_execute(trace_pk=trace_pk).status


@shared_task(name="runtime.reap_runs")
def reap_runs_task() -> dict[str, int]:
    """Ends runs stuck past their deadline plus grace; re-sends queued runs (`manage.py reap_runs`)."""
    from runtime.lifecycle import runs_reap

    result = runs_reap()
    return {"abandoned": result.abandoned, "redispatched": result.redispatched}


@shared_task(name="runtime.idempotency_purge")
def idempotency_purge_task() -> int:
    """Deletes expired Idempotency-Key records (they are already ignored once expired)."""
    deleted, _ = IdempotencyRecord.objects.filter(expires_at__lte=timezone.now()).delete()
    return deleted
