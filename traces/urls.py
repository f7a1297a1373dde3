"""/api/v1/traces/ routes: mismatch routes first (more specific), then trace routes."""

from traces.urls_mismatches import urlpatterns as mismatch_patterns
from traces.urls_traces import urlpatterns as trace_patterns

urlpatterns = [*mismatch_patterns, *trace_patterns]
