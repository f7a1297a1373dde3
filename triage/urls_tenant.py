"""Tenant-wide routes under /api/v1/: mismatches list, GitHub webhook."""

from django.urls import path

from triage import api

urlpatterns = [
    path("mismatches", api.MismatchListView.as_view(), name="mismatch-list"),
    path("integrations/github/webhook", api.GitHubWebhookView.as_view(), name="github-webhook"),
]
