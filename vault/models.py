"""Tenant secrets (PRODUCT.md §13). The value is stored only as a Fernet token (vault/crypto.py)."""

from __future__ import annotations

from django.core.validators import RegexValidator
from django.db import models

from accounts.models import Tenant
from vault.references import NAME_PATTERN

name_validator = RegexValidator(NAME_PATTERN, "Upper-case letters, digits and _, starting with a letter (at most 64).")


class SecretQuerySet(models.QuerySet):
    def for_tenant(self, tenant) -> SecretQuerySet:
        return self.filter(tenant=tenant)


class Secret(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="secrets")
    name = models.CharField(max_length=64, validators=[name_validator])
    # Fernet token (MultiFernet, first key of AOS_SECRETS_KEYS); never the clear value.
    value_encrypted = models.TextField(editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = SecretQuerySet.as_manager()

    class Meta:
        ordering = ["tenant__slug", "name"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="secret_tenant_name_unique")]

    def __str__(self) -> str:
        return self.name
