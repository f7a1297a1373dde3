"""Mismatch notification tasks: notify one mismatch, push a resolution to GitHub, sweep pending."""

from __future__ import annotations

import logging

from celery import shared_task

from traces.github import GitHubError
from traces.mismatches import mismatch_resolution_push
from traces.notify import backoff_seconds, mismatch_notify, notify_pending_sweep

logger = logging.getLogger(__name__)

__all__ = ["mismatch_notify_sweep_task", "mismatch_notify_task", "mismatch_resolution_push_task"]

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


def schedule_notify_retry(mismatch_id, wait: float) -> None:
    try:
        mismatch_notify_task.apply_async(args=[str(mismatch_id)], countdown=wait)
    except Exception:  # broker down: the next sweep picks the row up, it is still pending
        logger.warning("mismatch %s: could not schedule the retry", mismatch_id, exc_info=True)


@shared_task(name="traces.mismatch_notify_sweep")
def mismatch_notify_sweep_task() -> dict:
    """Periodic safety net (Celery beat): whatever is pending and due gets sent."""
    return dict(notify_pending_sweep(on_retry=schedule_notify_retry))
