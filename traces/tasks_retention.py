"""Retention task for Celery beat (traces issue): the same work as `manage.py prune_traces`."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from django.conf import settings

from traces.retention import RetentionLocked, prune_traces
from traces.webhooks import webhook_deliveries_purge

logger = logging.getLogger(__name__)

__all__ = ["prune_traces_task", "webhook_deliveries_purge_task"]


@shared_task(name="traces.prune_traces", ignore_result=True)
def prune_traces_task(batch_size: int = 1000) -> dict[str, Any]:
    """Daily retention with each tenant's retention_days. A run already in progress wins."""
    try:
        run = prune_traces(batch_size=batch_size)
    except RetentionLocked as exc:
        logger.warning("prune_traces skipped: %s", exc)
        return {"skipped": str(exc)}
    logger.info("prune_traces deleted %s traces and %s steps", run.traces_deleted, run.steps_deleted)
    return {"run": run.pk, "traces_deleted": run.traces_deleted, "steps_deleted": run.steps_deleted}


@shared_task(name="traces.webhook_deliveries_purge", ignore_result=True)
def webhook_deliveries_purge_task() -> int:
    """Forgets applied GitHub deliveries past GITHUB_WEBHOOK_DELIVERY_RETENTION_DAYS."""
    return webhook_deliveries_purge(older_than_days=settings.GITHUB_WEBHOOK_DELIVERY_RETENTION_DAYS)
