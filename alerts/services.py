"""Alert workflows: storing Alertmanager's notifications (PRODUCT.md §11)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from alerts.models import Alert
from aosproject.metrics import ALERTS_RECEIVED

# Model field lengths: Alertmanager does not bound label values, we keep what fits.
_LENGTHS = {"alertname": 200, "severity": 32, "tenant_label": 200, "generator_url": 1000, "receiver": 200}
_REFRESHED = ["ends_at", "annotations", "generator_url", "receiver", "notifications", "updated_at"]
_UPDATE_BATCH = 500  # rows per UPDATE ... CASE statement: large groups stay a few statements, each bounded

AlertKey = tuple[str, str, datetime]  # the row's identity: (fingerprint, status, starts_at)


@dataclass(frozen=True)
class StoreResult:
    created: int = 0
    updated: int = 0


def _fitted(field: str, value: str) -> str:
    return value[: _LENGTHS[field]]


def _key(alert: dict[str, Any]) -> AlertKey:
    return (alert["fingerprint"].lower(), alert["status"], alert["startsAt"])


def _changes(alert: dict[str, Any], receiver: str) -> dict[str, Any]:
    """What a repeat notification refreshes."""
    return {
        "ends_at": alert["endsAt"],
        "annotations": alert["annotations"],
        "generator_url": _fitted("generator_url", alert["generatorURL"]),
        "receiver": _fitted("receiver", receiver),
    }


def _new_row(alert: dict[str, Any], receiver: str) -> Alert:
    """The row for a state not stored yet, at 0 notifications (the batch's UPDATE counts this one)."""
    fingerprint, status, starts_at = _key(alert)
    labels = alert["labels"]
    return Alert(
        fingerprint=fingerprint,
        status=status,
        starts_at=starts_at,
        labels=labels,
        **_changes(alert, receiver),
        alertname=_fitted("alertname", labels.get("alertname", "")),
        severity=_fitted("severity", labels.get("severity", "")),
        tenant_label=_fitted("tenant_label", labels.get("tenant_id", "")),
        injected=labels.get("injected") == "true",
        notifications=0,
    )


def _stored(keys: list[AlertKey]) -> dict[AlertKey, tuple[int, int]]:
    """`{key: (pk, notifications)}` of the rows stored for these alert states (one query)."""
    rows = Alert.objects.filter(fingerprint__in={k[0] for k in keys}, starts_at__in={k[2] for k in keys}).values_list(
        "pk", "fingerprint", "status", "starts_at", "notifications"
    )
    wanted = set(keys)
    return {(fp, status, starts): (pk, n) for pk, fp, status, starts, n in rows if (fp, status, starts) in wanted}


def alert_batch_store(*, payload: dict[str, Any]) -> StoreResult:
    """Stores every alert of one validated Alertmanager webhook payload, in one transaction.

    Idempotent per (fingerprint, status, startsAt): a repeat notification refreshes the end,
    annotations, generator URL and receiver and counts itself in `notifications`. A few queries per payload, not
    per alert: INSERT the states with `notifications=0`, skipping those stored already (the unique
    constraint decides: an insert racing a concurrent notification's waits for it, then skips);
    SELECT tells which rows are ours (still at 0); one UPDATE counts them, one bulk UPDATE refreshes
    and counts the repeats.
    Inserting first also makes SQLite take its write lock before reading. A state listed twice is
    stored once (the last copy wins), and states are written in key order so that concurrent
    notifications wait on each other's rows in one order instead of deadlocking.
    """
    receiver = payload["receiver"]
    alerts = {_key(alert): alert for alert in payload["alerts"]}
    keys = sorted(alerts)
    created = 0
    if keys:
        with transaction.atomic():
            Alert.objects.bulk_create([_new_row(alerts[key], receiver) for key in keys], ignore_conflicts=True)
            stored = _stored(keys)
            now = timezone.now()
            ours = [pk for pk, notifications in stored.values() if notifications == 0]
            created = len(ours)
            # Rows inserted just now hold this notification's values already: count it, in one UPDATE.
            Alert.objects.filter(pk__in=ours).update(notifications=1, updated_at=now)
            # Repeats refresh what may change. Labels are not among it: equal labels are what makes
            # the fingerprint equal. bulk_update's cost is rows x fields (one CASE per field), in Python.
            repeats = [
                Alert(
                    pk=stored[key][0],
                    **_changes(alerts[key], receiver),
                    notifications=F("notifications") + 1,
                    updated_at=now,
                )
                for key in keys
                if stored[key][1] != 0
            ]
            Alert.objects.bulk_update(repeats, _REFRESHED, batch_size=_UPDATE_BATCH)
    for alert in payload["alerts"]:
        ALERTS_RECEIVED.labels(status=alert["status"]).inc()
    return StoreResult(created=created, updated=len(keys) - created)
