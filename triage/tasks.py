"""Mismatch notification tasks: notify one mismatch, push a resolution to GitHub, sweep pending.

Registered names keep their `traces.` prefix from before triage was its own app, so the beat
schedule and tasks already queued under those names still resolve.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

from triage.github import GitHubError
from triage.issues import group_resolution_push
from triage.notify import backoff_seconds, mismatch_notify, notify_pending_sweep
from triage.services import mismatch_resolution_push
from triage.webhooks import webhook_deliveries_purge

logger = logging.getLogger(__name__)

__all__ = [
    "group_resolution_push_task",
    "mismatch_notify_sweep_task",
    "mismatch_notify_task",
    "mismatch_resolution_push_task",
    "webhook_deliveries_purge_task",
]

RESOLUTION_MAX_RETRIES = 6


@shared_task(bind=True, name="traces.mismatch_notify", max_retries=None, acks_late=True)
def mismatch_notify_task(self, mismatch_id: str) -> str:
    """One attempt; a transient failure schedules the next one at the backoff the pipeline chose.

    The attempt cap lives in the pipeline (MAX_ATTEMPTS), hence max_retries=None here. Eager
    Celery runs a retry at once; that run finds the row not yet due and stops (no double send).
    """
    result = mismatch_notify(mismatch_id=mismatch_id)
    if result.outcome == "retry" or (result.outcome == "not_due" and not self.request.is_eager):
        raise self.retry(countdown=result.retry_in)
    return result.outcome


@shared_task(bind=True, name="traces.mismatch_resolution_push", max_retries=RESOLUTION_MAX_RETRIES, acks_late=True)
def mismatch_resolution_push_task(self, mismatch_id: str) -> str:
    try:
        mismatch_resolution_push(mismatch_id=mismatch_id)
    except GitHubError as exc:
        if exc.retryable and self.request.retries < RESOLUTION_MAX_RETRIES and not self.request.is_eager:
            wait = exc.retry_after if exc.retry_after is not None else backoff_seconds(self.request.retries + 1)
            raise self.retry(countdown=wait)
        logger.warning("mismatch %s: resolution not pushed to GitHub: %s", mismatch_id, exc)
        return "failed"
    return "pushed"


@shared_task(bind=True, name="triage.group_resolution_push", max_retries=RESOLUTION_MAX_RETRIES, acks_late=True)
def group_resolution_push_task(self, group_id: int) -> str:
    """Posts a group's resolution (kind and note) on its issue and closes it (GITHUB_CLOSE_ON_RESOLVE)."""
    try:
        pushed = group_resolution_push(group_id=group_id, close=settings.GITHUB_CLOSE_ON_RESOLVE)
    except GitHubError as exc:
        if exc.retryable and self.request.retries < RESOLUTION_MAX_RETRIES and not self.request.is_eager:
            wait = exc.retry_after if exc.retry_after is not None else backoff_seconds(self.request.retries + 1)
            raise self.retry(countdown=wait)
        logger.warning("mismatch group %s: resolution not pushed to GitHub: %s", group_id, exc)
        return "failed"
    return "pushed" if pushed else "nothing"


def schedule_notify_retry(mismatch_id, wait: float) -> None:
    try:
        mismatch_notify_task.apply_async(args=[str(mismatch_id)], countdown=wait)
    except Exception:  # broker down: the next sweep picks the row up, it is still pending
        logger.warning("mismatch %s: could not schedule the retry", mismatch_id, exc_info=True)


@shared_task(name="traces.mismatch_notify_sweep")
def mismatch_notify_sweep_task() -> dict:
    """Periodic safety net (Celery beat): whatever is pending and due gets sent."""
    return dict(notify_pending_sweep(on_retry=schedule_notify_retry))


@shared_task(name="traces.webhook_deliveries_purge", ignore_result=True)
def webhook_deliveries_purge_task() -> int:
    """Forgets applied GitHub deliveries past GITHUB_WEBHOOK_DELIVERY_RETENTION_DAYS."""
    return webhook_deliveries_purge(older_than_days=settings.GITHUB_WEBHOOK_DELIVERY_RETENTION_DAYS)
