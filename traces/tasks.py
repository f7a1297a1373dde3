"""Retention task for Celery beat: the same work as `manage.py prune_traces`."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task

from traces.retention import RetentionLocked, prune_traces

logger = logging.getLogger(__name__)

__all__ = ["prune_traces_task"]


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
