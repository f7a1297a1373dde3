"""Product metrics (PRODUCT.md §10), registered once at import. Labels are bounded enums only.

Import the metric objects from here; never create metrics elsewhere.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
from functools import lru_cache

import prometheus_client
from django.conf import settings
from django.db import DatabaseError
from django.http import HttpResponse
from prometheus_client import Counter, Gauge, Histogram, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from aosproject.metrics_gauges import RUN_AND_RETENTION_GAUGES

logger = logging.getLogger(__name__)

RATE_LIMIT_ALLOWED = Counter("aos_rate_limit_allowed_total", "API requests allowed by the rate limiter.", ["tier"])
RATE_LIMIT_BLOCKED = Counter("aos_rate_limit_blocked_total", "API requests refused with 429.", ["tier"])
# Every process sets the same configured limits: under multiprocess mode (gunicorn, Celery prefork)
# `livemax` exports one series per tier instead of one per pid, and a dead worker's values go with
# its files (gunicorn's child_exit hook, deploy/gunicorn.conf.py).
RATE_LIMIT_TIER_LIMIT = Gauge(
    "aos_rate_limit_tier_limit", "Requests per 60 s window by tier.", ["tier"], multiprocess_mode="livemax"
)
RATE_LIMIT_FAIL_OPEN = Counter(
    "aos_rate_limit_fail_open_total", "Requests allowed because the rate-limit cache was unreachable."
)
SIMULATE_DURATION = Histogram("aos_simulate_duration_seconds", "Time to simulate a plan.")
RUNS = Counter("aos_runs_total", "Finished runs by status.", ["status"])
REPLAYS = Counter("aos_replays_total", "Replays by parity outcome.", ["parity"])
TRACES_STORED = Counter("aos_traces_stored_total", "Traces stored by source.", ["source"])
REPLAY_MISMATCHES = Counter("aos_replay_mismatches_total", "Replay mismatches recorded by reason.", ["reason"])
NOTIFICATIONS = Counter(
    "aos_notifications_total", "Mismatch notifications by channel and result.", ["channel", "result"]
)
IDEMPOTENCY = Counter("aos_idempotency_total", "Idempotency-Key outcomes.", ["result"])
# The label values the code uses (runtime/idempotency.py, traces/notify.py), exported at 0 from start.
IDEMPOTENCY_RESULTS = ("new", "replayed", "in_progress", "mismatch", "released")
NOTIFICATION_RESULTS = {
    "github": ("sent", "deduplicated", "retry", "failed"),
    "slack": ("sent", "retry", "failed"),
    "none": ("no_channel",),
}
RETENTION_DELETED = Counter("aos_retention_deleted_total", "Traces deleted by retention.")
# Beyond §10, for the alert rules (deploy/prometheus/aos_rules.yml): spend, and what Alertmanager sent us.
RUN_COST_USD = Counter(
    "aos_run_cost_usd_total", "Cost of executed runs and replays in US dollars, by tenant tier.", ["tier"]
)
ALERTS_RECEIVED = Counter(
    "aos_alerts_received_total", "Alerts received on the Alertmanager webhook, by status.", ["status"]
)


class MismatchGauges(Collector):
    """`aos_mismatches_unresolved` and `aos_mismatch_notifications_pending`, read at scrape time.

    One aggregate query per scrape; a database error drops these two gauges from that scrape
    (and logs) instead of failing the whole exposition.
    """

    def describe(self):
        # Describing without querying keeps registration (at import) free of database access.
        yield GaugeMetricFamily("aos_mismatches_unresolved", "Replay mismatches not yet resolved.")
        yield GaugeMetricFamily(
            "aos_mismatch_notifications_pending", "Mismatches whose notification is waiting to be sent."
        )

    def collect(self):
        from django.db.models import Count, Q

        from triage.models import Mismatch, NotificationState  # the app registry is ready at scrape time

        try:
            counts = Mismatch.objects.aggregate(
                unresolved=Count("pk", filter=Q(resolved=False)),
                # Resolved mismatches are never notified, so they are not waiting for anything.
                pending=Count("pk", filter=Q(notification_state=NotificationState.PENDING, resolved=False)),
            )
        except DatabaseError as exc:
            logger.warning("Mismatch gauges skipped: %s", exc)
            return
        yield GaugeMetricFamily(
            "aos_mismatches_unresolved", "Replay mismatches not yet resolved.", value=counts["unresolved"]
        )
        yield GaugeMetricFamily(
            "aos_mismatch_notifications_pending",
            "Mismatches whose notification is waiting to be sent.",
            value=counts["pending"],
        )


MISMATCH_GAUGES = MismatchGauges()
prometheus_client.REGISTRY.register(MISMATCH_GAUGES)

WORKER_HEARTBEAT_KEY = "aos:worker-heartbeat"
_HEARTBEAT_HELP = "Unix time of the last Celery worker heartbeat (task alerts.worker_heartbeat); 0 = never."


def worker_heartbeat_record(now: float) -> None:
    """Called by the beat-scheduled task on a worker; the web processes export it (shared cache)."""
    from django.core.cache import cache

    cache.set(WORKER_HEARTBEAT_KEY, now, timeout=None)


class WorkerHeartbeat(Collector):
    """`aos_worker_heartbeat_timestamp_seconds`, read from the cache at scrape time.

    A worker that stopped consuming stops refreshing it, so `time() - value` is its silence.
    An unreachable cache drops the gauge from that scrape (the rule treats absence as unhealthy).
    """

    def describe(self):
        yield GaugeMetricFamily("aos_worker_heartbeat_timestamp_seconds", _HEARTBEAT_HELP)

    def collect(self):
        from django.core.cache import cache

        try:
            value = float(cache.get(WORKER_HEARTBEAT_KEY) or 0)
        except Exception as exc:  # any cache backend's connection error; the exposition must not fail
            logger.warning("Worker heartbeat gauge skipped: %s", exc)
            return
        yield GaugeMetricFamily("aos_worker_heartbeat_timestamp_seconds", _HEARTBEAT_HELP, value=value)


WORKER_HEARTBEAT = WorkerHeartbeat()
prometheus_client.REGISTRY.register(WORKER_HEARTBEAT)
prometheus_client.REGISTRY.register(RUN_AND_RETENTION_GAUGES)
# What only the web exports: state read at scrape time. A Celery worker's or a command's exposition
# leaves these out, so they are never scraped twice from two jobs.
SCRAPE_TIME_COLLECTORS = (MISMATCH_GAUGES, WORKER_HEARTBEAT, RUN_AND_RETENTION_GAUGES)


@lru_cache(maxsize=8)
def _allowed_networks(entries: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            logger.warning("METRICS_ALLOWED_IPS: ignoring %r (not an IP address or CIDR)", entry)
    return tuple(networks)


def _ip_allowed(request, entries: list[str]) -> bool:
    # REMOTE_ADDR only: X-Forwarded-For is client-controlled. Behind a proxy, use the token.
    try:
        client = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(client in network for network in _allowed_networks(tuple(entries)))


def _token_valid(request, token: str) -> bool:
    scheme, _, value = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), token.encode())


def metrics_access(request) -> int | None:
    """None when the scrape may proceed, else the HTTP status to refuse it with (401/403).

    Neither METRICS_BEARER_TOKEN nor METRICS_ALLOWED_IPS set = open only where METRICS_OPEN is on
    (default: DEBUG, so the embedded default); with DEBUG=0 it is 403 (spend per tier is not public).
    Both set = either one is enough (a scraper on the allowed network, or one with the token).
    """
    token, entries = settings.METRICS_BEARER_TOKEN, settings.METRICS_ALLOWED_IPS
    if not token and not entries:
        return None if settings.METRICS_OPEN else 403
    if token and _token_valid(request, token):
        return None
    if entries and _ip_allowed(request, entries):
        return None
    return 401 if token else 403


def known_label_values_export() -> None:
    """Creates every labelled counter's children at 0, for every known label value.

    A labelled child exists only once used, and then it starts at 1: `increase()` and `rate()`
    count nothing from a series' start, so the first replay mismatch of a reason (after every
    restart) would never fire AOSReplayMismatch. Run on every scrape (a few dict lookups), so the
    zeros are in the first scrape; in multiprocess mode the scraping worker's zeros are enough.
    Idempotent: an AppConfig.ready() may call it too, to cover events before the first scrape.
    """
    from accounts.models import Tier  # the app registry is ready at scrape time
    from traces.models import TraceSource, TraceStatus
    from triage.models import MismatchReason

    for tier in Tier.values:
        for counter in (RATE_LIMIT_ALLOWED, RATE_LIMIT_BLOCKED, RUN_COST_USD):
            counter.labels(tier=tier)
    for reason in MismatchReason.values:
        REPLAY_MISMATCHES.labels(reason=reason)
    for run_status in (TraceStatus.SUCCEEDED, TraceStatus.FAILED):
        RUNS.labels(status=run_status)
    for parity in ("true", "false"):
        REPLAYS.labels(parity=parity)
    for source in TraceSource.values:
        TRACES_STORED.labels(source=source)
    for result in IDEMPOTENCY_RESULTS:
        IDEMPOTENCY.labels(result=result)
    for channel, results in NOTIFICATION_RESULTS.items():
        for result in results:
            NOTIFICATIONS.labels(channel=channel, result=result)
    for status in ("firing", "resolved"):
        ALERTS_RECEIVED.labels(status=status)


def metrics_view(request):
    """The Prometheus exposition (django-prometheus's registry plus ours), behind `metrics_access`."""
    refused = metrics_access(request)
    if refused == 401:
        response = HttpResponse("Bearer token required.\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    if refused:
        return HttpResponse("Forbidden.\n", status=refused, content_type="text/plain")
    known_label_values_export()
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        # As django-prometheus does for gunicorn workers, plus our database gauges.
        registry = prometheus_client.CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        for collector in SCRAPE_TIME_COLLECTORS:
            registry.register(collector)
    else:
        registry = prometheus_client.REGISTRY
    return HttpResponse(prometheus_client.generate_latest(registry), content_type=prometheus_client.CONTENT_TYPE_LATEST)
