"""Replay mismatches, their notification state and GitHub webhook deliveries (PRODUCT.md §6)."""

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
    GITHUB = "github"
    SLACK = "slack"
    NONE = "none"


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
    step_index = models.PositiveIntegerField()
    skill_id = models.CharField(max_length=100, blank=True, default="")
    reason = models.CharField(max_length=32, choices=MismatchReason.choices)
    expected_hash = models.CharField(max_length=64, blank=True, default="")
    actual_hash = models.CharField(max_length=64, blank=True, default="")
    details = models.JSONField(default=dict, blank=True)
    fingerprint = models.CharField(max_length=64, db_index=True)
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
