"""Batch commands (prune_traces, notify_pending) push their metrics to a Prometheus Pushgateway.

A `manage.py` process from cron or a Kubernetes CronJob ends before any scrape, so its counters
would be lost. With PROMETHEUS_PUSHGATEWAY_URL set, the command pushes a registry holding only
its own metrics when it ends (also when it fails), grouped by `job` (the command) and `instance`
(the host): Prometheus scrapes them from the Pushgateway (job `aos-pushgateway` in
deploy/prometheus/scrape.yml, `honor_labels: true`).

In the Pushgateway a counter holds what the *last* run of that job on that host counted (each
push replaces it); chart it with `last_over_time`, not `rate()`. Timestamps are gauges.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterable

from django.conf import settings
from prometheus_client import CollectorRegistry, pushadd_to_gateway
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)


def grouping_key() -> dict[str, str]:
    return {"instance": settings.PROMETHEUS_PUSHGATEWAY_INSTANCE or socket.gethostname()}


def push_command_metrics(*, job: str, collectors: Iterable[Collector]) -> bool:
    """Pushes `collectors` as `job` when PROMETHEUS_PUSHGATEWAY_URL is set; True when pushed.

    `pushadd` (HTTP POST) replaces only the metric names pushed now, so a failed run that pushes
    its counters leaves the previous run's last-success timestamp in place. An unreachable
    Pushgateway is logged, never raised: the command's work is done and must not be reported failed.
    """
    url = settings.PROMETHEUS_PUSHGATEWAY_URL
    if not url:
        return False
    registry = CollectorRegistry()
    for collector in collectors:
        registry.register(collector)
    try:
        pushadd_to_gateway(
            url,
            job=job,
            registry=registry,
            grouping_key=grouping_key(),
            timeout=settings.PROMETHEUS_PUSHGATEWAY_TIMEOUT,
        )
    except OSError as exc:  # URLError, connection refused, timeouts, HTTP errors from the gateway
        logger.warning("Metrics of %s not pushed to the Pushgateway: %s", job, exc)
        return False
    return True
