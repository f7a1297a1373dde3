"""Gauges read from the database at scrape time: runs waiting or running, retention's last success.

They describe shared state (the database), not a process: whichever process is scraped (web,
under any number of gunicorn workers) reports the same truth, so they need no multiprocess mode,
and they stay right wherever runs execute (a Celery worker on another host) or retention ran
(cron, Kubernetes CronJob, Celery beat).
"""

from __future__ import annotations

import logging

from django.db import DatabaseError
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)

RUNS_HELP = "Runs not finished yet, by status (queued = waiting for a worker, running = taken by one)."
OLDEST_QUEUED_HELP = "Unix time the oldest still-queued run was created; 0 = no run is queued."
RETENTION_HELP = "Unix time the last successful (non-dry) prune_traces run finished; 0 = never."


class RunAndRetentionGauges(Collector):
    """`aos_runs_in_progress{status}`, `aos_runs_oldest_queued_timestamp_seconds`,
    `aos_retention_last_success_timestamp_seconds`: two aggregate queries per scrape.

    A database error drops these gauges from that scrape (and logs), like the mismatch gauges.
    """

    def describe(self):
        yield GaugeMetricFamily("aos_runs_in_progress", RUNS_HELP, labels=["status"])
        yield GaugeMetricFamily("aos_runs_oldest_queued_timestamp_seconds", OLDEST_QUEUED_HELP)
        yield GaugeMetricFamily("aos_retention_last_success_timestamp_seconds", RETENTION_HELP)

    def collect(self):
        from django.db.models import Count, Max, Min, Q

        from traces.models import RetentionRun, Trace, TraceSource, TraceStatus

        try:
            runs = Trace.objects.filter(
                source=TraceSource.RUN, status__in=[TraceStatus.QUEUED, TraceStatus.RUNNING]
            ).aggregate(
                queued=Count("pk", filter=Q(status=TraceStatus.QUEUED)),
                running=Count("pk", filter=Q(status=TraceStatus.RUNNING)),
                oldest=Min("created_at", filter=Q(status=TraceStatus.QUEUED)),
            )
            last = RetentionRun.objects.filter(status="succeeded", dry_run=False).aggregate(at=Max("finished_at"))
        except DatabaseError as exc:
            logger.warning("Run and retention gauges skipped: %s", exc)
            return
        in_progress = GaugeMetricFamily("aos_runs_in_progress", RUNS_HELP, labels=["status"])
        in_progress.add_metric([TraceStatus.QUEUED], runs["queued"])
        in_progress.add_metric([TraceStatus.RUNNING], runs["running"])
        yield in_progress
        oldest = runs["oldest"]
        yield GaugeMetricFamily(
            "aos_runs_oldest_queued_timestamp_seconds", OLDEST_QUEUED_HELP, value=oldest.timestamp() if oldest else 0
        )
        at = last["at"]
        yield GaugeMetricFamily(
            "aos_retention_last_success_timestamp_seconds", RETENTION_HELP, value=at.timestamp() if at else 0
        )


RUN_AND_RETENTION_GAUGES = RunAndRetentionGauges()
