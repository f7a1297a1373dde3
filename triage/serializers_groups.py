"""Mismatch group API serializers (PRODUCT.md §15). Fields listed explicitly."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from aosproject.api import BlankAsNullURLField, StrictRegexField, StrictSerializer
from triage.models import MismatchGroup, MismatchGroupEvent, MismatchSource, ResolutionKind
from triage.serializers import MismatchSerializer


class MismatchGroupSerializer(serializers.ModelSerializer):
    tenant = serializers.CharField(source="tenant.slug", read_only=True)
    last_trace_id = serializers.CharField(
        source="last_mismatch.trace.trace_id", read_only=True, default=None, allow_null=True
    )
    issue_url = BlankAsNullURLField(read_only=True, help_text="null until an issue is filed.")
    resolution_kind = serializers.ChoiceField(
        choices=ResolutionKind.choices, read_only=True, allow_null=True, source="resolution_kind_or_none"
    )

    class Meta:
        model = MismatchGroup
        fields = [
            "id",
            "tenant",
            "fingerprint",
            "status",
            "count",
            "affected_traces",
            "first_seen",
            "last_seen",
            "agent_id",
            "plan_hash",
            "step_index",
            "skill_id",
            "reason",
            "last_trace_id",
            "issue_url",
            "issue_number",
            "resolution_kind",
            "resolution_note",
            "resolved_by",
            "resolved_at",
        ]
        read_only_fields = fields


class MismatchGroupEventSerializer(serializers.ModelSerializer):
    mismatch_id = serializers.UUIDField(read_only=True, allow_null=True)

    class Meta:
        model = MismatchGroupEvent
        fields = ["id", "kind", "created_at", "actor", "message", "mismatch_id"]
        read_only_fields = fields


class DiffLineSerializer(serializers.Serializer):
    text = serializers.CharField()
    changed = serializers.BooleanField()


class DifferenceSerializer(serializers.Serializer):
    path = serializers.CharField()
    a = serializers.CharField(help_text="Expected (recorded) value, as JSON.")
    b = serializers.CharField(help_text="Actual value, as JSON.")


class LatestDiffSerializer(serializers.Serializer):
    """The latest mismatch's expected vs actual output of the diverging step."""

    reported_via = serializers.ChoiceField(
        source="source", choices=MismatchSource.choices, help_text="api: reported via the API (no replayed side)."
    )
    expected_lines = DiffLineSerializer(many=True)
    actual_lines = DiffLineSerializer(many=True, allow_null=True, help_text="null when reported via the API.")
    differences = DifferenceSerializer(many=True)
    identical = serializers.BooleanField()


class MismatchGroupDetailSerializer(MismatchGroupSerializer):
    latest_mismatch = MismatchSerializer(source="last_mismatch", read_only=True, allow_null=True)
    latest_diff = serializers.SerializerMethodField()
    events = serializers.SerializerMethodField(help_text="The timeline, oldest first (the latest 200).")

    class Meta(MismatchGroupSerializer.Meta):
        fields = [*MismatchGroupSerializer.Meta.fields, "latest_mismatch", "latest_diff", "events"]
        read_only_fields = fields

    @extend_schema_field(LatestDiffSerializer(allow_null=True))
    def get_latest_diff(self, obj):
        from triage.presentation import mismatch_sides

        if obj.last_mismatch is None:
            return None
        return LatestDiffSerializer(mismatch_sides(obj.last_mismatch)).data

    @extend_schema_field(MismatchGroupEventSerializer(many=True))
    def get_events(self, obj):
        events = self.context.get("events")
        if events is None:
            events = list(obj.events.order_by("-created_at", "-id")[:200])[::-1]
        return MismatchGroupEventSerializer(events, many=True).data


class GroupResolveInput(StrictSerializer):
    kind = serializers.ChoiceField(choices=ResolutionKind.choices)
    note = StrictRegexField(
        r"\S",
        max_length=10000,
        error_messages={
            "invalid": "A note is required (shown on GitHub with the kind).",
            "blank": "A note is required.",
        },
    )
