"""What `manage.py prune_traces` pushes to the Pushgateway (aosproject/metrics_push.py)."""

from __future__ import annotations

import time

from prometheus_client import Gauge

from aosproject.metrics import RETENTION_DELETED
from aosproject.metrics_push import push_command_metrics

JOB = "aos_prune_traces"


def push_retention_metrics(*, succeeded: bool) -> bool:
    """`aos_retention_deleted_total` of this run; on success also its finish time.

    The web exports the same timestamp from the database (aosproject/metrics_gauges.py); this
    copy lets the Pushgateway alone tell when retention last succeeded from cron.
    """
    collectors: list = [RETENTION_DELETED]
    if succeeded:
        last = Gauge(
            "aos_retention_last_success_timestamp_seconds",
            "Unix time the last successful prune_traces run finished.",
            registry=None,
        )
        last.set(time.time())
        collectors.append(last)
    return push_command_metrics(job=JOB, collectors=collectors)
