"""Trace serializers: the ingest payload (input) and the trace/step representations (output)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from aosproject.api import (
    DB_INT_MAX,
    MoneyField,
    PrototypeFields,
    StrictBooleanField,
    StrictCharField,
    StrictFloatField,
    StrictIntegerField,
    StrictRegexField,
    StrictSerializer,
)
from aosproject.errors import ApiError
from aosproject.plurals import counted
from traces.models import ReplayBehaviour, StepStatus, Trace, TraceStatus, TraceStep

PARITY_HELP = "A replay's outcome: true matched its original, false diverged; null when not a replay."
TRACE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"


def _text(**kwargs: Any) -> serializers.CharField:
    # Hashed strings are taken byte for byte: DRF would otherwise strip their whitespace.
    return StrictCharField(**kwargs)


class IngestStepSerializer(StrictSerializer):
    index = StrictIntegerField(min_value=0, max_value=DB_INT_MAX)
    skill = _text(max_length=100)
    skill_version = _text(max_length=32, required=False, allow_blank=True, default="")
    params = serializers.DictField(required=False, default=dict)
    output = serializers.JSONField(required=False, allow_null=True, default=None)
    status = serializers.ChoiceField(choices=StepStatus.choices)
    error_code = _text(max_length=64, required=False, allow_blank=True, default="")
    error_message = _text(required=False, allow_blank=True, default="")
    input_hash = _text(max_length=64)
    output_hash = _text(max_length=64)
    step_hash = _text(max_length=64)
    cost_cents = StrictFloatField(min_value=0, required=False, default=0)
    duration_ms = StrictFloatField(min_value=0, required=False, default=0)
    retry_count = StrictIntegerField(min_value=0, max_value=DB_INT_MAX, required=False, default=0)
    idempotency_key = _text(max_length=200, required=False, allow_blank=True, default="")
    replay = serializers.ChoiceField(choices=ReplayBehaviour.choices, required=False, allow_blank=True, default="")


class TraceIngestSerializer(StrictSerializer):
    """`POST /api/v1/traces`: the SDK's `Trace.to_dict()` (PRODUCT.md §3 field names)."""

    trace_id = StrictRegexField(
        TRACE_ID_PATTERN,
        required=False,
        help_text="Generated (tr_<uuid>) when absent. Letters, digits, . _ : - ; at most 64.",
    )
    agent_id = _text(max_length=200, required=False, allow_blank=True, default="")
    plan = serializers.ListField(child=serializers.DictField(), allow_empty=True)
    plan_hash = _text(max_length=64)
    seed = StrictIntegerField()
    timestamp = _text(max_length=40)
    input = serializers.JSONField(required=False, allow_null=True, default=None)
    metadata = serializers.DictField(required=False, default=dict)
    status = serializers.ChoiceField(
        choices=[TraceStatus.SUCCEEDED, TraceStatus.FAILED], required=False, help_text="Derived from the steps."
    )
    root_hash = _text(max_length=64)
    steps = serializers.ListField(child=IngestStepSerializer(), allow_empty=True)
    overwrite = StrictBooleanField(required=False, default=False)

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        # Checked before the per-step validation, which would otherwise run over a huge list first.
        steps = data.get("steps") if isinstance(data, dict) else None
        limit = settings.AOS_MAX_TRACE_STEPS
        if isinstance(steps, list) and len(steps) > limit:
            raise ApiError(
                "validation_error",
                f"A trace may have at most {counted(limit, 'step')} (AOS_MAX_TRACE_STEPS); this one has {len(steps)}.",
                400,
                fields={"steps": [f"At most {counted(limit, 'step')}."]},
            )
        return super().to_internal_value(data)

    def validate_plan(self, plan: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for i, step in enumerate(plan):
            if not isinstance(step.get("skill"), str):
                raise serializers.ValidationError(f"plan[{i}] needs a string 'skill'.")
        return plan

    def validate_steps(self, steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for position, step in enumerate(steps):
            if step["index"] != position:
                raise ApiError(
                    "validation_error",
                    f"Steps out of order: steps[{position}] has index {step['index']} (expected {position}).",
                    400,
                    fields={f"steps[{position}].index": [f"Expected {position}."]},
                    step_index=position,
                )
        return steps


class TraceStepSerializer(PrototypeFields, serializers.ModelSerializer):
    skill = serializers.CharField(source="skill_id")
    replay = serializers.CharField(source="replay_behaviour")
    cost_cents = MoneyField()

    class Meta:
        model = TraceStep
        fields = [
            "index",
            "skill",
            "skill_version",
            "params",
            "output",
            "status",
            "error_code",
            "error_message",
            "input_hash",
            "output_hash",
            "step_hash",
            "cost_cents",
            "duration_ms",
            "retry_count",
            "idempotency_key",
            "replay",
        ]
        read_only_fields = fields


class TraceSerializer(serializers.ModelSerializer):
    """A trace without its plan and steps (lists). Reusable for any source (run, replay, ingest)."""

    tenant = serializers.SerializerMethodField()
    replay_of = serializers.SerializerMethodField()
    total_cost_cents = MoneyField()

    class Meta:
        model = Trace
        fields = [
            "trace_id",
            "run_id",
            "tenant",
            "source",
            "replay_of",
            "parity",
            "agent_id",
            "plan_hash",
            "seed",
            "frozen_timestamp",
            "status",
            "root_hash",
            "metadata",
            "pinned",
            "redacted",
            "error_code",
            "error_message",
            "total_steps",
            "total_cost_cents",
            "total_duration_ms",
            "created_at",
            "updated_at",
            "finished_at",
        ]
        read_only_fields = fields
        extra_kwargs = {"parity": {"help_text": PARITY_HELP}}

    def get_tenant(self, trace: Trace) -> str:
        # Annotated by the API querysets (no join per row); falls back for plain instances.
        slug = getattr(trace, "tenant_slug", None)
        return slug if slug is not None else trace.tenant.slug

    def get_replay_of(self, trace: Trace) -> str | None:
        if not trace.replay_of_id:
            return None
        annotated = getattr(trace, "replay_of_trace_id", None)
        return annotated if annotated is not None else trace.replay_of.trace_id


class TraceDetailSerializer(TraceSerializer):
    """A trace with plan, input and steps in order (`steps` prefetched, or read here)."""

    steps = serializers.SerializerMethodField()

    class Meta(TraceSerializer.Meta):
        fields = [*TraceSerializer.Meta.fields, "plan", "input", "budget_cents", "steps"]
        read_only_fields = fields

    @extend_schema_field(TraceStepSerializer(many=True))
    def get_steps(self, trace: Trace) -> list[dict[str, Any]]:
        steps = sorted(trace.steps.all(), key=lambda s: s.index)  # uses the prefetch cache when present
        return TraceStepSerializer(steps, many=True).data
