"""Runtime API input and output shapes (PRODUCT.md §4). Inputs are strict: unknown fields → 400."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from aosproject.api import (
    DB_INT_MAX,
    MoneyField,
    PrototypeFields,
    StrictBooleanField,
    StrictCharField,
    StrictIntegerField,
    StrictSerializer,
)
from aosproject.datetimes import parse_rfc3339
from runtime.plans import PlanInvalid, plan_validate
from traces.models import Trace
from traces.serializers import PARITY_HELP, TraceStepSerializer  # one step shape for runs and traces

MAX_SAFE_INT = 2**53 - 1  # canonical JSON (RFC 8785) numbers are IEEE doubles


@extend_schema_field(OpenApiTypes.DATETIME)
class TimestampField(StrictCharField):
    """An RFC 3339 date-time, kept as the exact string given (it is hashed into the root)."""

    def __init__(self, **kwargs):
        super().__init__(max_length=40, **kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        try:
            parse_rfc3339(value)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from exc
        return value


class PlanInputSerializer(StrictSerializer):
    # Any JSON here: the plan validator names the bad step and field (the schema types it per skill).
    plan = serializers.JSONField(help_text="Ordered steps: {skill, params, replay?, retry?, on_error?, fallback?}.")
    seed = StrictIntegerField(required=False, default=0, min_value=-MAX_SAFE_INT, max_value=MAX_SAFE_INT)
    timestamp = TimestampField(required=False, help_text="Frozen timestamp (RFC 3339); default: now (UTC).")
    budget_cents = StrictIntegerField(
        required=False, min_value=0, max_value=DB_INT_MAX, help_text="Default: the tenant's budget."
    )
    allow_unknown_skills = False  # simulate reports unknown skills as unavailable; runs refuse them

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        """One validation pass: a bad top-level field does not hide the plan's problems (or the reverse)."""
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError as exc:
            errors = dict(exc.detail) if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
            if isinstance(data, dict) and "plan" in data and "plan" not in errors:
                try:
                    plan_validate(
                        data["plan"],
                        max_steps=settings.AOS_MAX_PLAN_STEPS,
                        allow_unknown_skills=self.allow_unknown_skills,
                    )
                except PlanInvalid as invalid:
                    errors.update(invalid.fields)
            raise serializers.ValidationError(errors) from exc


class SimulateInputSerializer(PlanInputSerializer):
    save_trace = StrictBooleanField(required=False, default=False)
    allow_unknown_skills = True


class RunInputSerializer(PlanInputSerializer):
    input = serializers.JSONField(required=False, default=None, allow_null=True)
    agent_id = StrictCharField(required=False, default="", allow_blank=True, max_length=200)
    metadata = serializers.DictField(required=False, default=dict)
    wait = StrictBooleanField(required=False, default=False)


class ReplayInputSerializer(StrictSerializer):
    mode = serializers.ChoiceField(choices=["recorded", "live"], required=False, default="recorded")
    dry_run = StrictBooleanField(required=False, default=False)


# --- output (explicit fields; also what /api/docs/ shows) -------------------------------------


class RunSerializer(PrototypeFields, serializers.ModelSerializer):
    timestamp = serializers.CharField(source="frozen_timestamp")
    replay_of = serializers.SerializerMethodField()
    total_cost_cents = MoneyField()

    class Meta:
        model = Trace
        fields = [
            "run_id",
            "trace_id",
            "source",
            "status",
            "agent_id",
            "plan_hash",
            "root_hash",
            "seed",
            "timestamp",
            "budget_cents",
            "error_code",
            "error_message",
            "total_steps",
            "total_cost_cents",
            "total_duration_ms",
            "replay_of",
            "parity",
            "metadata",
            "created_at",
            "finished_at",
        ]
        # Output only. Writable model integer fields would carry the database's integer range as
        # min/max validators (int32 on PostgreSQL, int64 on SQLite), so the served schema, and the
        # clients generated from it (sdk/js/src/schema.ts), would depend on the backend.
        extra_kwargs = {
            "parity": {"help_text": PARITY_HELP},
            "budget_cents": {"read_only": True},
            "total_steps": {"read_only": True},
        }

    def get_replay_of(self, trace: Trace) -> str | None:
        """The id replay answered as `original_run_id`: the run id, or the trace id of an ingested trace."""
        original = trace.replay_of if trace.replay_of_id else None
        return (original.run_id or original.trace_id) if original else None


class RunDetailSerializer(RunSerializer):
    steps = TraceStepSerializer(many=True, read_only=True)

    class Meta(RunSerializer.Meta):
        fields = [*RunSerializer.Meta.fields, "plan", "input", "steps"]


class _RiskSerializer(serializers.Serializer):
    step_index = serializers.IntegerField()
    skill_id = serializers.CharField()
    risk_type = serializers.CharField()
    probability = serializers.FloatField()
    mitigation = serializers.CharField()


class _EstimateSerializer(serializers.Serializer):
    step_index = serializers.IntegerField()
    skill_id = serializers.CharField()
    estimated_cost_cents = serializers.FloatField()
    estimated_latency_ms = serializers.FloatField()


class SimulateOutputSerializer(serializers.Serializer):
    feasible = serializers.BooleanField()
    status = serializers.ChoiceField(
        choices=[
            "feasible",
            "budget_insufficient",
            "permission_denied",
            "skill_unavailable",
            "risk_too_high",
            "invalid_plan",
        ]
    )
    estimated_cost_cents = serializers.FloatField()
    estimated_duration_ms = serializers.FloatField()
    budget_remaining_cents = serializers.FloatField()
    budget_sufficient = serializers.BooleanField()
    cumulative_risk = serializers.FloatField()
    permission_gaps = serializers.ListField(child=serializers.DictField())
    risks = _RiskSerializer(many=True)
    step_estimates = _EstimateSerializer(many=True)
    alternatives = serializers.ListField(child=serializers.DictField())
    warnings = serializers.ListField(child=serializers.CharField())
    seed = serializers.IntegerField()
    trace_id = serializers.CharField(allow_null=True)
    root_hash = serializers.CharField(allow_null=True)


class RunQueuedSerializer(serializers.Serializer):
    run_id = serializers.CharField()
    trace_id = serializers.CharField()
    status = serializers.CharField()
    url = serializers.CharField()


class DivergenceSerializer(serializers.Serializer):
    step_index = serializers.IntegerField()
    reason = serializers.ChoiceField(
        choices=["output_mismatch", "input_mismatch", "status_mismatch", "skill_mismatch", "step_count_mismatch"]
    )
    expected_hash = serializers.CharField()
    actual_hash = serializers.CharField()
    expected = serializers.JSONField()
    actual = serializers.JSONField()
    diff = serializers.ListField(child=serializers.DictField())


class ReplayOutputSerializer(serializers.Serializer):
    parity = serializers.BooleanField()
    replay_run_id = serializers.CharField(allow_null=True)
    original_run_id = serializers.CharField()
    mode = serializers.CharField()
    dry_run = serializers.BooleanField()
    root_hash = serializers.CharField()
    original_root_hash = serializers.CharField()
    divergence = DivergenceSerializer(allow_null=True)
    mismatch_id = serializers.CharField(allow_null=True)
    served_redacted_steps = serializers.ListField(
        child=serializers.IntegerField(),
        help_text="Steps of a redacted (ingested) trace served from the recording instead of re-executed.",
    )


class SkillSerializer(serializers.Serializer):
    id = serializers.CharField()
    version = serializers.CharField()
    description = serializers.CharField()
    params_schema = serializers.DictField()
    cost_model = serializers.DictField()
    latency_model = serializers.DictField()
    failure_modes = serializers.ListField(child=serializers.DictField())
    constraints = serializers.ListField(child=serializers.CharField())
    side_effects = serializers.BooleanField()
    external = serializers.BooleanField()
    default_replay = serializers.CharField()


class CapabilitiesSerializer(serializers.Serializer):
    tenant = serializers.CharField()
    budget_cents = serializers.IntegerField()
    allowed_skills = serializers.ListField(child=serializers.CharField())
    skills = serializers.ListField(child=serializers.CharField())
    rate_limit = serializers.DictField()
    limits = serializers.DictField()
    roles = serializers.ListField(child=serializers.CharField())
