"""Trace list filters by agent and error code, bounded on a large table (issue 19, item 8)."""

from __future__ import annotations

from django.contrib import admin

from traces.models import Trace


class RecentValuesListFilter(admin.SimpleListFilter):
    """The values of one column among the user's latest RECENT traces, at most SHOWN of them.

    Listing every distinct agent of a table of millions would scan it on each page view; the recent
    traces come from the (tenant, created) index, and a value not offered is one search away.
    """

    field = ""
    RECENT = 5000
    SHOWN = 30

    def lookups(self, request, model_admin):
        recent = model_admin.get_queryset(request).order_by("-created_at", "-id").values("pk")[: self.RECENT]
        values = (
            Trace.objects.filter(pk__in=recent)
            .exclude(**{self.field: ""})
            .order_by(self.field)
            .values_list(self.field, flat=True)
            .distinct()[: self.SHOWN]
        )
        return [(value, value) for value in values]

    def queryset(self, request, queryset):
        value = self.value()
        return queryset if value is None else queryset.filter(**{self.field: value})


class AgentListFilter(RecentValuesListFilter):
    title = "agent"
    parameter_name = "agent"
    field = "agent_id"


class ErrorCodeListFilter(RecentValuesListFilter):
    title = "error code"
    parameter_name = "error_code"
    field = "error_code"
