"""/api/v1/traces/ mismatch routes ({id}/mismatch, {id}/mismatches, resolve, bulk-report)."""

urlpatterns: list = []
