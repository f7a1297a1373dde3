"""Query filters for `GET /api/v1/traces` (django-filter)."""

from __future__ import annotations

import django_filters
from django.db.models import Exists, OuterRef, QuerySet

from aosproject.filters import BooleanFilter, ChoiceFilter, DateTimeFilter, ParityFilter
from traces.models import Trace, TraceSource, TraceStatus, TraceStep


class TraceFilter(django_filters.FilterSet):
    status = ChoiceFilter(choices=TraceStatus.choices)
    source = ChoiceFilter(choices=TraceSource.choices)
    parity = ParityFilter()
    agent_id = django_filters.CharFilter()
    root_hash = django_filters.CharFilter()
    plan_hash = django_filters.CharFilter()
    run_id = django_filters.CharFilter()
    pinned = BooleanFilter()
    redacted = BooleanFilter()
    skill = django_filters.CharFilter(method="filter_skill", help_text="Traces with at least one step of this skill.")
    created_after = DateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = DateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Trace
        fields: list[str] = []

    def filter_skill(self, queryset: QuerySet[Trace], name: str, value: str) -> QuerySet[Trace]:
        # EXISTS rather than a join: a trace with many steps of the skill is still listed once,
        # and no DISTINCT is needed (which would fight the cursor pagination's ORDER BY).
        return queryset.filter(Exists(TraceStep.objects.filter(trace=OuterRef("pk"), skill_id=value)))
