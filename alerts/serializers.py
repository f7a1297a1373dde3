"""Alertmanager's webhook payload (version 4), validated at the edge into plain dicts.

Unknown fields are tolerated on purpose (plain `Serializer`, not `StrictSerializer`): the payload
is Alertmanager's, not ours, and a newer Alertmanager adding a field must not make the receiver
refuse every notification. The fields we store are checked strictly.
"""

from __future__ import annotations

from datetime import datetime

from rest_framework import serializers

from alerts.alertmanager import alertmanager_fingerprint
from alerts.models import AlertStatus
from aosproject.api import StrictCharField, StrictIntegerField, StrictRegexField

# Alertmanager sends Go's zero time for "no end" (firing alerts without endsAt).
GO_ZERO_YEAR = 1


class LabelSet(serializers.DictField):
    """`{name: value}` with string values, kept byte-exact (no whitespace trimming)."""

    def __init__(self, **kwargs):
        super().__init__(child=StrictCharField(allow_blank=True), **kwargs)


class AlertmanagerTime(serializers.DateTimeField):
    """RFC 3339 time; Go's zero time (`0001-01-01T00:00:00Z`) means "unset" → None."""

    def to_internal_value(self, value) -> datetime | None:  # type: ignore[override]
        parsed = super().to_internal_value(value)
        return None if parsed.year == GO_ZERO_YEAR else parsed


class WebhookAlert(serializers.Serializer):
    status = serializers.ChoiceField(choices=AlertStatus.choices)
    labels = LabelSet()
    annotations = LabelSet(required=False, default=dict)
    startsAt = AlertmanagerTime()  # noqa: N815 (Alertmanager's field names)
    endsAt = AlertmanagerTime(required=False, allow_null=True, default=None)  # noqa: N815
    generatorURL = StrictCharField(required=False, allow_blank=True, default="")  # noqa: N815
    fingerprint = StrictRegexField(r"^[0-9a-fA-F]{1,64}$", max_length=64, required=False)

    def validate_startsAt(self, value: datetime | None) -> datetime:  # noqa: N802
        if value is None:
            raise serializers.ValidationError("An alert needs a start time.")
        return value

    def validate(self, attrs: dict) -> dict:
        if "fingerprint" not in attrs:
            attrs["fingerprint"] = alertmanager_fingerprint(attrs["labels"])
        return attrs


class WebhookPayload(serializers.Serializer):
    version = StrictCharField()
    status = serializers.ChoiceField(choices=AlertStatus.choices)
    receiver = StrictCharField(allow_blank=True, max_length=200)
    alerts = WebhookAlert(many=True, allow_empty=True)
    groupKey = StrictCharField(required=False, allow_blank=True)  # noqa: N815
    groupLabels = LabelSet(required=False, default=dict)  # noqa: N815
    commonLabels = LabelSet(required=False, default=dict)  # noqa: N815
    commonAnnotations = LabelSet(required=False, default=dict)  # noqa: N815
    externalURL = StrictCharField(required=False, allow_blank=True)  # noqa: N815
    truncatedAlerts = StrictIntegerField(required=False, min_value=0, default=0)  # noqa: N815

    def validate_version(self, value: str) -> str:
        if value != "4":
            raise serializers.ValidationError(f"Unsupported webhook version {value!r}; expected '4'.")
        return value


class WebhookResult(serializers.Serializer):
    created = serializers.IntegerField(help_text="Alert states stored for the first time.")
    updated = serializers.IntegerField(help_text="Repeat notifications of alert states already stored.")
