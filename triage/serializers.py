"""Mismatch API input/output serializers (PRODUCT.md §6). Fields listed explicitly."""

from __future__ import annotations

import re

from rest_framework import serializers

from aosproject.api import (
    DB_INT_MAX,
    BlankAsNullURLField,
    StrictBooleanField,
    StrictCharField,
    StrictIntegerField,
    StrictRegexField,
    StrictSerializer,
)
from triage.models import Mismatch, MismatchReason, MismatchSource

HASH_RE = re.compile(r"^[0-9a-f]{64}$")


def _hash_field() -> serializers.CharField:
    return StrictRegexField(
        HASH_RE, required=False, allow_blank=True, default="", error_messages={"invalid": "Expected 64 hex chars."}
    )


class MismatchReportInput(StrictSerializer):
    step_index = StrictIntegerField(min_value=0, max_value=DB_INT_MAX)
    reason = serializers.ChoiceField(choices=MismatchReason.choices)
    skill_id = StrictCharField(required=False, allow_blank=True, default="", max_length=100)
    expected_hash = _hash_field()
    actual_hash = _hash_field()
    details = serializers.DictField(required=False, default=dict)


class MismatchResolveInput(StrictSerializer):
    note = StrictCharField(required=False, allow_blank=True, default="", max_length=10000)


class BulkReportInput(StrictSerializer):
    mismatch_ids = serializers.ListField(child=serializers.UUIDField(), min_length=1, max_length=200)
    github_issue = StrictBooleanField(required=False, default=True)


class BulkReportOutput(serializers.Serializer):
    issue_url = serializers.URLField()
    issue_number = serializers.IntegerField()
    mismatch_count = serializers.IntegerField()
    trace_count = serializers.IntegerField()


class MismatchReportedSerializer(serializers.Serializer):
    """The 201 answer of POST traces/{id}/mismatch."""

    mismatch_id = serializers.UUIDField(source="pk")
    trace_id = serializers.CharField(source="trace.trace_id")
    status = serializers.SerializerMethodField()
    notified = serializers.SerializerMethodField()
    issue_url = BlankAsNullURLField(help_text="null until an issue is filed.")

    def get_status(self, obj) -> str:
        return "recorded"

    def get_notified(self, obj) -> bool:
        return obj.notification_state == "sent"


class MismatchSerializer(serializers.ModelSerializer):
    trace_id = serializers.CharField(source="trace.trace_id", read_only=True)
    tenant = serializers.CharField(source="tenant.slug", read_only=True)
    notified = serializers.SerializerMethodField()
    issue_url = BlankAsNullURLField(read_only=True, help_text="null until an issue is filed.")
    reported_via = serializers.ChoiceField(
        source="source", choices=MismatchSource.choices, read_only=True, help_text="api: reported via the API."
    )
    group_id = serializers.IntegerField(read_only=True, allow_null=True, help_text="Its mismatch group.")

    class Meta:
        model = Mismatch
        fields = [
            "id",
            "trace_id",
            "tenant",
            "reported_by",
            "reported_via",
            "step_index",
            "skill_id",
            "reason",
            "expected_hash",
            "actual_hash",
            "details",
            "fingerprint",
            "group_id",
            "notified",
            "notification_state",
            "notification_channel",
            "notification_attempts",
            "notification_last_error",
            "notification_next_attempt_at",
            "issue_url",
            "resolved",
            "resolved_at",
            "resolved_by",
            "resolution_note",
            "created_at",
        ]
        read_only_fields = fields

    def get_notified(self, obj) -> bool:
        return obj.notification_state == "sent"
