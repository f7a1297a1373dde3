"""/api/v1/traces/ mismatch routes ({id}/mismatch, {id}/mismatches, resolve, bulk-report)."""

from django.urls import path

import aosproject.converters  # noqa: F401  (registers <segment:>)
from triage import api

urlpatterns = [
    path("mismatches/bulk-report", api.MismatchBulkReportView.as_view(), name="mismatch-bulk-report"),
    path("<segment:trace_id>/mismatch", api.MismatchReportView.as_view(), name="trace-mismatch-report"),
    path("<segment:trace_id>/mismatches", api.TraceMismatchListView.as_view(), name="trace-mismatch-list"),
    path(
        "<segment:trace_id>/mismatches/<uuid:mismatch_id>/resolve",
        api.MismatchResolveView.as_view(),
        name="trace-mismatch-resolve",
    ),
]
