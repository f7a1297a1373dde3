"""Trace list filters by agent and error code, bounded on a large table (issue 19, item 8)."""

from __future__ import annotations

from aosproject.admin_filters import ColumnValuesListFilter
from traces.models import Trace


class RecentValuesListFilter(ColumnValuesListFilter):
    """The values of one column among the user's latest RECENT traces, at most SHOWN of them.

    Listing every distinct agent of a table of millions would scan it on each page view; the recent
    traces come from the (tenant, created) index, and a value not offered is one search away.
    """

    RECENT = 5000

    def values_source(self, request, model_admin):
        recent = model_admin.get_queryset(request).order_by("-created_at", "-id").values("pk")[: self.RECENT]
        return Trace.objects.filter(pk__in=recent)


class AgentListFilter(RecentValuesListFilter):
    title = "agent"
    parameter_name = "agent"
    field = "agent_id"


class ErrorCodeListFilter(RecentValuesListFilter):
    title = "error code"
    parameter_name = "error_code"
    field = "error_code"
