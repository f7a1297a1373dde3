"""Replay mismatches, their groups (the triage unit), notification state and GitHub webhook deliveries.

PRODUCT.md §6 and §15.
"""

from __future__ import annotations

import uuid

from django.db import models

from accounts.models import Tenant
from traces.models import Trace


class MismatchReason(models.TextChoices):
    OUTPUT_MISMATCH = "output_mismatch"
    INPUT_MISMATCH = "input_mismatch"
    STATUS_MISMATCH = "status_mismatch"
    SKILL_MISMATCH = "skill_mismatch"
    STEP_COUNT_MISMATCH = "step_count_mismatch"


class NotificationState(models.TextChoices):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class NotificationChannel(models.TextChoices):
    GITHUB = "github", "GitHub"
    SLACK = "slack", "Slack"
    NONE = "none", "None"


class MismatchSource(models.TextChoices):
    """Where a mismatch came from: one of our replays, or a report via the API."""

    REPLAY = "replay", "Replay"
    API = "api", "API"


class MismatchQuerySet(models.QuerySet):
    def for_tenant(self, tenant) -> MismatchQuerySet:
        return self.filter(tenant=tenant)

    def unresolved(self) -> MismatchQuerySet:
        return self.filter(resolved=False)

    def pending_notification(self) -> MismatchQuerySet:
        return self.filter(notification_state=NotificationState.PENDING)


class Mismatch(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    trace = models.ForeignKey(Trace, on_delete=models.CASCADE, related_name="mismatches")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="mismatches")
    reported_by = models.CharField(max_length=200)
    source = models.CharField(max_length=8, choices=MismatchSource.choices, default=MismatchSource.REPLAY)
    step_index = models.PositiveIntegerField()
    skill_id = models.CharField(max_length=100, blank=True, default="")
    reason = models.CharField(max_length=32, choices=MismatchReason.choices)
    expected_hash = models.CharField(max_length=64, blank=True, default="")
    actual_hash = models.CharField(max_length=64, blank=True, default="")
    details = models.JSONField(default=dict, blank=True)
    fingerprint = models.CharField(max_length=64, db_index=True)
    group = models.ForeignKey(
        "MismatchGroup", null=True, blank=True, on_delete=models.SET_NULL, related_name="mismatches"
    )
    notification_state = models.CharField(
        max_length=16, choices=NotificationState.choices, default=NotificationState.PENDING
    )
    notification_channel = models.CharField(
        max_length=16, choices=NotificationChannel.choices, default=NotificationChannel.NONE
    )
    notification_attempts = models.PositiveIntegerField(default=0)
    notification_last_error = models.TextField(blank=True, default="")
    notification_next_attempt_at = models.DateTimeField(null=True, blank=True)
    issue_url = models.URLField(max_length=500, blank=True, default="")
    issue_number = models.PositiveIntegerField(null=True, blank=True)
    resolved = models.BooleanField(default=False)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.CharField(max_length=200, blank=True, default="")
    resolution_note = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = MismatchQuerySet.as_manager()

    class Meta:
        db_table = "traces_mismatch"  # created by traces' migrations; moved here state-only (decision 0030)
        ordering = ["-created_at"]
        verbose_name_plural = "mismatches"
        indexes = [
            models.Index(fields=["tenant", "resolved", "-created_at"], name="mismatch_tenant_resolved"),
            models.Index(fields=["notification_state", "notification_next_attempt_at"], name="mismatch_notify"),
        ]

    def __str__(self) -> str:
        return f"{self.trace.trace_id} step {self.step_index}: {self.reason}"


class GroupStatus(models.TextChoices):
    UNRESOLVED = "unresolved"
    RESOLVED = "resolved"
    REGRESSED = "regressed"


class ResolutionKind(models.TextChoices):
    FIXED = "fixed", "Fixed"
    ACCEPTED_NONDETERMINISM = "accepted_nondeterminism", "Accepted non-determinism"
    FLAKY_SKILL = "flaky_skill", "Flaky skill"
    INFRASTRUCTURE = "infrastructure", "Infrastructure"
    DUPLICATE = "duplicate", "Duplicate"


class GroupEventKind(models.TextChoices):
    REPORTED = "reported"
    NOTIFIED = "notified"
    COMMENTED = "commented"
    RESOLVED = "resolved"
    REOPENED = "reopened"


class MismatchGroupQuerySet(models.QuerySet):
    def for_tenant(self, tenant) -> MismatchGroupQuerySet:
        return self.filter(tenant=tenant)

    def open(self) -> MismatchGroupQuerySet:
        return self.exclude(status=GroupStatus.RESOLVED)


class MismatchGroup(models.Model):
    """All mismatches of one fingerprint (tenant, plan hash, step, skill, reason): the triage unit.

    Counters are kept by `triage.groups.group_join` under a row lock, so concurrent reports of one
    fingerprint land in one group with the right count. One GitHub issue per group.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="mismatch_groups")
    fingerprint = models.CharField(max_length=64)
    plan_hash = models.CharField(max_length=64, blank=True, default="")
    step_index = models.PositiveIntegerField()
    skill_id = models.CharField(max_length=100, blank=True, default="")
    reason = models.CharField(max_length=32, choices=MismatchReason.choices)
    agent_id = models.CharField(max_length=200, blank=True, default="", help_text="The last mismatch's agent.")
    status = models.CharField(max_length=16, choices=GroupStatus.choices, default=GroupStatus.UNRESOLVED)
    count = models.PositiveIntegerField(default=0)
    affected_traces = models.PositiveIntegerField(default=0)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField(db_index=True)
    last_mismatch = models.ForeignKey("Mismatch", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    issue_url = models.URLField(max_length=500, blank=True, default="")
    issue_number = models.PositiveIntegerField(null=True, blank=True)
    # While set and in the future, one worker is filing the group's issue; the others wait for it.
    issue_lease_until = models.DateTimeField(null=True, blank=True)
    resolution_kind = models.CharField(max_length=32, choices=ResolutionKind.choices, blank=True, default="")
    resolution_note = models.TextField(blank=True, default="")
    resolved_by = models.CharField(max_length=200, blank=True, default="")
    resolved_at = models.DateTimeField(null=True, blank=True)

    objects = MismatchGroupQuerySet.as_manager()

    class Meta:
        ordering = ["-last_seen", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "fingerprint"], name="mismatchgroup_tenant_fingerprint_unique")
        ]
        indexes = [models.Index(fields=["tenant", "status", "-last_seen"], name="mismatchgroup_tenant_status")]

    def __str__(self) -> str:
        return f"step {self.step_index} {self.skill_id or '?'}: {self.reason} ×{self.count}"

    @property
    def resolution_kind_or_none(self) -> str | None:
        return self.resolution_kind or None


class MismatchGroupEvent(models.Model):
    """The group's timeline: reported, notified, commented, resolved, reopened."""

    group = models.ForeignKey(MismatchGroup, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16, choices=GroupEventKind.choices)
    mismatch = models.ForeignKey("Mismatch", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor = models.CharField(max_length=200, blank=True, default="")
    message = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["group", "created_at"], name="mismatchgroupevent_group")]

    def __str__(self) -> str:
        return f"{self.kind} {self.created_at:%Y-%m-%d %H:%M:%S}"


class WebhookDelivery(models.Model):
    """A GitHub webhook delivery already applied, so a replay is acknowledged and ignored.

    Keyed by `X-GitHub-Delivery` and by the body's hash: the signature covers only the body, so a
    replayed body under a new delivery id is the same delivery. Kept
    GITHUB_WEBHOOK_DELIVERY_RETENTION_DAYS (`traces.webhook_deliveries_purge`, the task's registered name kept).
    """

    delivery_id = models.CharField(max_length=100, unique=True, null=True, blank=True)
    body_sha256 = models.CharField(max_length=64, unique=True)
    event = models.CharField(max_length=100, blank=True)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        db_table = "traces_webhookdelivery"  # moved from traces state-only, like Mismatch
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return self.delivery_id or self.body_sha256[:12]
