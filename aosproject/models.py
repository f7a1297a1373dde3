"""Idempotency records (PRODUCT.md §7): the durable backstop behind the atomic Redis claim."""

from __future__ import annotations

from django.db import models

from accounts.models import Tenant


class IdempotencyRecord(models.Model):
    class State(models.TextChoices):
        IN_PROGRESS = "in_progress"
        COMPLETED = "completed"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="idempotency_records")
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=500)
    state = models.CharField(max_length=16, choices=State.choices, default=State.IN_PROGRESS)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    # The run (or replay) this request started: once set, execution may have begun, so the claim
    # is never released and a repeat is answered from the run (PRODUCT.md §14).
    run_id = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        db_table = "runtime_idempotencyrecord"  # created by runtime's migrations; moved state-only (decision 0031)
        constraints = [models.UniqueConstraint(fields=["tenant", "key"], name="idempotency_tenant_key_unique")]

    def __str__(self) -> str:
        return f"{self.tenant}:{self.key}"
