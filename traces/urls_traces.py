"""/api/v1/traces/ trace routes (ingest, list, detail, by-hash, compare, delete)."""

from django.urls import path

from traces.api import TraceByHashView, TraceCompareView, TraceDetailView, TraceListCreateView

urlpatterns: list = [
    path("", TraceListCreateView.as_view(), name="trace-list"),
    path("by-hash/<str:root_hash>", TraceByHashView.as_view(), name="trace-by-hash"),
    path("compare/<str:a>/<str:b>", TraceCompareView.as_view(), name="trace-compare"),
    path("<str:trace_id>", TraceDetailView.as_view(), name="trace-detail"),
]
