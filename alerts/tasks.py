"""Celery tasks for alerting: the worker heartbeat behind `AOSWorkerUnhealthy`."""

from __future__ import annotations

import time

from celery import shared_task

from aosproject.metrics import worker_heartbeat_record


# Beat schedules it every 60 s; `expires` drops beats queued while no worker consumed, so a
# returning worker does not chew through a backlog of stale heartbeats.
@shared_task(name="alerts.worker_heartbeat", ignore_result=True)
def worker_heartbeat() -> float:
    """Records that a worker is consuming tasks now (exported as `aos_worker_heartbeat_timestamp_seconds`)."""
    now = time.time()
    worker_heartbeat_record(now)
    return now
