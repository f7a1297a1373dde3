"""Product metrics (PRODUCT.md §10), registered once at import. Labels are bounded enums only.

Import the metric objects from here; never create metrics elsewhere.
"""

from __future__ import annotations

from django_prometheus.exports import ExportToDjangoView
from prometheus_client import Counter, Gauge, Histogram

RATE_LIMIT_ALLOWED = Counter("aos_rate_limit_allowed_total", "API requests allowed by the rate limiter.", ["tier"])
RATE_LIMIT_BLOCKED = Counter("aos_rate_limit_blocked_total", "API requests refused with 429.", ["tier"])
RATE_LIMIT_TIER_LIMIT = Gauge("aos_rate_limit_tier_limit", "Requests per 60 s window by tier.", ["tier"])
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
RETENTION_DELETED = Counter("aos_retention_deleted_total", "Traces deleted by retention.")


def metrics_view(request):
    """django-prometheus's exporter (access control is added by the metrics issue)."""
    return ExportToDjangoView(request)
