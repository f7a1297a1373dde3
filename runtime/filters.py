"""Query filters for `GET /api/v1/runtime/runs` (django-filter): only values a run can have."""

from __future__ import annotations

import django_filters

from aosproject.filters import ChoiceFilter, ParityFilter
from traces.models import Trace, TraceSource, TraceStatus

RUN_SOURCES = [(TraceSource.RUN.value, "run"), (TraceSource.REPLAY.value, "replay")]


class RunFilter(django_filters.FilterSet):
    status = ChoiceFilter(choices=[c for c in TraceStatus.choices if c[0] != TraceStatus.SIMULATED])
    source = ChoiceFilter(choices=RUN_SOURCES)
    parity = ParityFilter()
    agent_id = django_filters.CharFilter()

    class Meta:
        model = Trace
        fields: list[str] = []
