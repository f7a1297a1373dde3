"""/api/v1/traces/ trace routes (detail, by-hash, compare, delete; the list is /api/v1/traces).

The mismatch routes under /api/v1/traces/ are `triage/urls.py`, included before these."""

from django.urls import path

import aosproject.converters  # noqa: F401  (registers <segment:>)
from traces.api import TraceByHashView, TraceCompareView, TraceDetailView

urlpatterns: list = [
    path("by-hash/<segment:root_hash>", TraceByHashView.as_view(), name="trace-by-hash"),
    path("compare/<segment:a>/<segment:b>", TraceCompareView.as_view(), name="trace-compare"),
    path("<segment:trace_id>", TraceDetailView.as_view(), name="trace-detail"),
]
