"""Admin for idempotency records (runs themselves are traces: see the traces admin)."""

from __future__ import annotations

from django.contrib import admin

from accounts.admin_scoping import TenantScopedAdminMixin
from aosproject.models import IdempotencyRecord


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(TenantScopedAdminMixin, admin.ModelAdmin):
    list_display = ("key", "tenant", "method", "path", "state", "response_status", "created_at", "expires_at")
    list_filter = ("state", "tenant")
    search_fields = ("key", "path")
    date_hierarchy = "created_at"
    list_select_related = ("tenant",)
    readonly_fields = [f.name for f in IdempotencyRecord._meta.fields]

    def has_change_permission(self, request, obj=None):
        return False  # a stored response is evidence; only deleting (to allow a retry) makes sense
