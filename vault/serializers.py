"""Secret API shapes: the value goes in, never out."""

from __future__ import annotations

from rest_framework import serializers

from aosproject.api import StrictSerializer
from vault.models import Secret


class _StrictCharField(serializers.CharField):
    def to_internal_value(self, data):
        if not isinstance(data, str):  # DRF would turn 12345 into "12345"
            self.fail("invalid")
        return super().to_internal_value(data)


class SecretInputSerializer(StrictSerializer):
    value = _StrictCharField(
        trim_whitespace=False, write_only=True, help_text="The secret value (write-only; never returned)."
    )


class SecretSerializer(serializers.ModelSerializer):
    class Meta:
        model = Secret
        fields = ["name", "created_at", "updated_at", "last_used_at"]
        read_only_fields = fields
