"""Tenant-wide routes under /api/v1/: mismatches list, GitHub webhook."""

urlpatterns: list = []
