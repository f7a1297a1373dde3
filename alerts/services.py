"""Alert workflows: storing Alertmanager's notifications (PRODUCT.md §11)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from alerts.models import Alert
from aosproject.metrics import ALERTS_RECEIVED

# Model field lengths: Alertmanager does not bound label values, we keep what fits.
_LENGTHS = {"alertname": 200, "severity": 32, "tenant_label": 200, "generator_url": 1000, "receiver": 200}


@dataclass(frozen=True)
class StoreResult:
    created: int = 0
    updated: int = 0


def _fitted(field: str, value: str) -> str:
    return value[: _LENGTHS[field]]


def alert_store(*, alert: dict[str, Any], receiver: str) -> bool:
    """Stores one validated webhook alert; True when a new row was created, False for a repeat.

    Idempotent per (fingerprint, status, startsAt): a repeat notification refreshes the end,
    labels and annotations and counts itself in `notifications`. Update first, insert if nothing
    matched; two concurrent inserts meet the unique constraint, and the loser updates instead.
    """
    labels = alert["labels"]
    key = {"fingerprint": alert["fingerprint"].lower(), "status": alert["status"], "starts_at": alert["startsAt"]}
    changes = {
        "ends_at": alert["endsAt"],
        "labels": labels,
        "annotations": alert["annotations"],
        "generator_url": _fitted("generator_url", alert["generatorURL"]),
        "receiver": _fitted("receiver", receiver),
    }

    def repeat() -> bool:
        return bool(
            Alert.objects.filter(**key).update(
                **changes, notifications=F("notifications") + 1, updated_at=timezone.now()
            )
        )

    if repeat():
        return False
    try:
        with transaction.atomic():  # a savepoint: the IntegrityError must not spoil the batch
            Alert.objects.create(
                **key,
                **changes,
                alertname=_fitted("alertname", labels.get("alertname", "")),
                severity=_fitted("severity", labels.get("severity", "")),
                tenant_label=_fitted("tenant_label", labels.get("tenant_id", "")),
                injected=labels.get("injected") == "true",
            )
    except IntegrityError:
        if not repeat():  # not a duplicate after all: a real integrity problem
            raise
        return False
    return True


def alert_batch_store(*, payload: dict[str, Any]) -> StoreResult:
    """Stores every alert of one validated Alertmanager webhook payload, in one transaction."""
    created = updated = 0
    with transaction.atomic():
        for alert in payload["alerts"]:
            if alert_store(alert=alert, receiver=payload["receiver"]):
                created += 1
            else:
                updated += 1
    for alert in payload["alerts"]:
        ALERTS_RECEIVED.labels(status=alert["status"]).inc()
    return StoreResult(created=created, updated=updated)
