"""Traces, their steps and retention runs (PRODUCT.md §3, §5). Mismatches are `triage.models`."""

from __future__ import annotations

from django.apps import apps
from django.db import models

from accounts.models import Tenant


class TraceSource(models.TextChoices):
    RUN = "run"
    SIMULATE = "simulate"
    REPLAY = "replay"
    INGEST = "ingest"


class TraceStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SIMULATED = "simulated"


class StepStatus(models.TextChoices):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"


class ReplayBehaviour(models.TextChoices):
    CHECK = "check"
    EXECUTE = "execute"
    SKIP = "skip"


class TraceQuerySet(models.QuerySet):
    def for_tenant(self, tenant) -> TraceQuerySet:
        return self.filter(tenant=tenant)

    def lookup(self, identifier: str) -> TraceQuerySet:
        """By trace_id or run_id."""
        return self.filter(models.Q(trace_id=identifier) | models.Q(run_id=identifier))

    def retained(self) -> TraceQuerySet:
        """Traces retention must keep whatever their age: pinned, or with an unresolved mismatch."""
        return self.filter(models.Q(pinned=True) | models.Exists(_unresolved_mismatches()))

    def expired(self, cutoff) -> TraceQuerySet:
        """Created before `cutoff` and not retained: what retention may delete."""
        return self.filter(created_at__lt=cutoff, pinned=False).exclude(models.Exists(_unresolved_mismatches()))


def _unresolved_mismatches():
    # By name: triage depends on traces, never the other way round.
    mismatch = apps.get_model("triage", "Mismatch")
    return mismatch.objects.filter(trace=models.OuterRef("pk"), resolved=False)


class Trace(models.Model):
    trace_id = models.CharField(max_length=64)
    run_id = models.CharField(max_length=64, null=True, blank=True)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="traces")
    source = models.CharField(max_length=16, choices=TraceSource.choices)
    replay_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replays")
    agent_id = models.CharField(max_length=200, blank=True, default="")
    plan = models.JSONField(default=list)
    plan_hash = models.CharField(max_length=64)
    input = models.JSONField(null=True, blank=True)
    seed = models.BigIntegerField(default=0)
    frozen_timestamp = models.CharField(max_length=40)
    status = models.CharField(max_length=16, choices=TraceStatus.choices, default=TraceStatus.QUEUED)
    root_hash = models.CharField(max_length=64, blank=True, default="")
    metadata = models.JSONField(default=dict, blank=True)
    # A replay's outcome: True when it matched its original, False when it diverged; None for
    # anything that is not a replay (runs, simulations, ingested traces).
    parity = models.BooleanField(null=True, blank=True)
    budget_cents = models.IntegerField(null=True, blank=True)
    error_code = models.CharField(max_length=64, blank=True, default="")
    error_message = models.TextField(blank=True, default="")
    pinned = models.BooleanField(default=False)
    redacted = models.BooleanField(default=False)
    total_steps = models.PositiveIntegerField(default=0)
    total_cost_cents = models.FloatField(default=0)
    total_duration_ms = models.FloatField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = TraceQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "trace_id"], name="trace_tenant_trace_id_unique"),
            models.UniqueConstraint(
                fields=["tenant", "run_id"], condition=models.Q(run_id__isnull=False), name="trace_tenant_run_id_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "-created_at", "-id"], name="trace_tenant_created"),
            models.Index(fields=["tenant", "root_hash"], name="trace_tenant_root_hash"),
            models.Index(fields=["tenant", "plan_hash"], name="trace_tenant_plan_hash"),
            models.Index(fields=["created_at", "pinned"], name="trace_retention"),
            # The list filters (`?status=`, `?parity=`) keep the newest-first cursor order.
            models.Index(fields=["tenant", "status", "-created_at", "-id"], name="trace_tenant_status"),
            models.Index(fields=["tenant", "parity", "-created_at", "-id"], name="trace_tenant_parity"),
        ]

    def __str__(self) -> str:
        return self.trace_id


class TraceStep(models.Model):
    trace = models.ForeignKey(Trace, on_delete=models.CASCADE, related_name="steps")
    index = models.PositiveIntegerField()
    skill_id = models.CharField(max_length=100)
    skill_version = models.CharField(max_length=32, blank=True, default="")
    params = models.JSONField(default=dict, blank=True)  # resolved params (what input_hash covers)
    output = models.JSONField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=StepStatus.choices)
    error_code = models.CharField(max_length=64, blank=True, default="")
    error_message = models.TextField(blank=True, default="")
    input_hash = models.CharField(max_length=64)
    output_hash = models.CharField(max_length=64)
    step_hash = models.CharField(max_length=64)
    cost_cents = models.FloatField(default=0)
    duration_ms = models.FloatField(default=0)
    retry_count = models.PositiveIntegerField(default=0)
    idempotency_key = models.CharField(max_length=200, blank=True, default="")
    replay_behaviour = models.CharField(max_length=16, choices=ReplayBehaviour.choices, blank=True, default="")

    class Meta:
        ordering = ["trace_id", "index"]
        constraints = [models.UniqueConstraint(fields=["trace", "index"], name="tracestep_trace_index_unique")]
        indexes = [models.Index(fields=["skill_id"], name="tracestep_skill")]

    def __str__(self) -> str:
        return f"{self.trace_id}#{self.index} {self.skill_id}"


class RetentionRun(models.Model):
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    dry_run = models.BooleanField(default=False)
    days = models.PositiveIntegerField(null=True, blank=True, help_text="Override; empty = each tenant's own.")
    tenant = models.ForeignKey(Tenant, null=True, blank=True, on_delete=models.SET_NULL)
    traces_deleted = models.PositiveIntegerField(default=0)
    steps_deleted = models.PositiveIntegerField(default=0)
    traces_kept = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=16, default="running")

    class Meta:
        ordering = ["-started_at"]
