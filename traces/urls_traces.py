"""/api/v1/traces/ trace routes (ingest, list, detail, by-hash, compare, delete)."""

urlpatterns: list = []
