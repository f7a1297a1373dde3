"""Synthetic alerts for `manage.py inject_synthetic_alert` (PRODUCT.md §11). Pure: no database, no network."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

from alerts.alertmanager import PostableAlert

SEVERITIES = ("info", "warning", "critical")
DEFAULT_SEVERITY = "warning"
DEFAULT_TENANT = "synthetic"
DEFAULT_DURATION = "5m"
# Alertmanager keeps an alert this long at most; a typo like 500h should not page for three weeks.
MAX_DURATION = timedelta(days=7)

# Same shape as a Prometheus metric name, so a custom alertname also works in PromQL and amtool matchers.
ALERTNAME_RE = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
DURATION_RE = re.compile(r"^(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+)s)?$")


class SyntheticAlertError(ValueError):
    """Bad input for a synthetic alert (a usage error, not an Alertmanager failure)."""


@dataclass(frozen=True)
class AlertType:
    alertname: str
    label: tuple[str, str]  # the one type-specific label, as a rule on our metrics would carry it
    summary: str
    description: str


ALERT_TYPES: dict[str, AlertType] = {
    "cost_overrun": AlertType(
        alertname="AOSCostOverrun",
        label=("budget_usd", "10.00"),
        summary="Tenant {tenant} is over its run cost budget (synthetic)",
        description="Synthetic alert: run costs of tenant {tenant} exceeded the budget of {value} USD.",
    ),
    "rate_limit_breach": AlertType(
        alertname="AOSRateLimitBreach",
        label=("tier", "pro"),
        summary="Tenant {tenant} is being rate limited (synthetic)",
        description="Synthetic alert: over 5% of requests of tenant {tenant} (tier {value}) were refused with 429.",
    ),
    "replay_mismatch": AlertType(
        alertname="AOSReplayMismatch",
        label=("reason", "output_mismatch"),
        summary="Replay mismatches recorded for tenant {tenant} (synthetic)",
        description="Synthetic alert: replays of tenant {tenant} did not reproduce their trace ({value}).",
    ),
    "worker_unhealthy": AlertType(
        alertname="AOSWorkerUnhealthy",
        label=("queue", "celery"),
        summary="Celery workers unhealthy (synthetic)",
        description="Synthetic alert: no healthy worker is consuming queue {value}; tasks of tenant {tenant} wait.",
    ),
    "custom": AlertType(
        alertname="AOSCustomAlert",
        label=("source", "inject_synthetic_alert"),
        summary="Custom synthetic alert for tenant {tenant}",
        description="Synthetic alert injected by manage.py inject_synthetic_alert to test the alert pipeline.",
    ),
}


def parse_duration(text: str) -> timedelta:
    """`30s`, `5m`, `1h`, `1h30m` → timedelta; anything else (or zero, or over 7 days) is an error."""
    match = DURATION_RE.match(text.strip()) if text else None
    if not text or match is None or not any(match.groupdict().values()):
        raise SyntheticAlertError(f"invalid --duration {text!r}: use e.g. 30s, 5m, 1h or 1h30m")
    parts = {unit: int(value or 0) for unit, value in match.groupdict().items()}
    duration = timedelta(hours=parts["h"], minutes=parts["m"], seconds=parts["s"])
    if duration <= timedelta(0):
        raise SyntheticAlertError(f"invalid --duration {text!r}: must be longer than 0s")
    if duration > MAX_DURATION:
        raise SyntheticAlertError(f"invalid --duration {text!r}: at most 168h (7 days)")
    return duration


def runbook_url(alertname: str) -> str:
    return f"{settings.ALERT_RUNBOOK_BASE_URL}/{alertname}.md"


def synthetic_alert(
    *,
    alert_type: str,
    now: datetime,
    severity: str = DEFAULT_SEVERITY,
    tenant: str = DEFAULT_TENANT,
    name: str | None = None,
    description: str | None = None,
    duration: str = DEFAULT_DURATION,
) -> PostableAlert:
    """The alert `inject_synthetic_alert --type alert_type` posts; raises SyntheticAlertError for bad input."""
    if alert_type not in ALERT_TYPES:
        raise SyntheticAlertError(f"unknown --type {alert_type!r}: choose from {', '.join(ALERT_TYPES)}")
    if severity not in SEVERITIES:
        raise SyntheticAlertError(f"invalid --severity {severity!r}: choose from {', '.join(SEVERITIES)}")
    if not tenant or not tenant.strip() or len(tenant) > 200 or not tenant.isprintable():
        raise SyntheticAlertError(f"invalid --tenant {tenant!r}: 1-200 printable characters")
    spec = ALERT_TYPES[alert_type]
    alertname = spec.alertname
    if name is not None:
        if alert_type != "custom":
            raise SyntheticAlertError("--name is only allowed with --type custom")
        if not ALERTNAME_RE.match(name):
            raise SyntheticAlertError(f"invalid --name {name!r}: use letters, digits, '_' and ':' (not first a digit)")
        alertname = name
    # Alertmanager shows times in milliseconds; the same precision keeps its startsAt equal to ours.
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)
    ends_at = now + parse_duration(duration)
    label_name, label_value = spec.label
    labels = {
        "alertname": alertname,
        "severity": severity,
        "tenant_id": tenant,
        "environment": settings.AOS_ENVIRONMENT,
        "injected": "true",
        label_name: label_value,
    }
    annotations = {
        "summary": spec.summary.format(tenant=tenant, value=label_value),
        "description": description or spec.description.format(tenant=tenant, value=label_value),
        # The runbook is per alert type: a custom --name still links the custom runbook.
        "runbook_url": runbook_url(spec.alertname),
    }
    return PostableAlert(
        labels=labels,
        annotations=annotations,
        starts_at=now,
        ends_at=ends_at,
        # Where the injected alert can be seen arriving: the admin's alert list, injected only.
        generator_url=f"{settings.AOS_BASE_URL}/admin/alerts/alert/?injected__exact=1",
    )
