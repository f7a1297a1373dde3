"""Tenant-wide routes under /api/v1/: mismatches list, GitHub webhook."""

from django.urls import path

from traces import mismatch_api

urlpatterns = [
    path("mismatches", mismatch_api.MismatchListView.as_view(), name="mismatch-list"),
    path("integrations/github/webhook", mismatch_api.GitHubWebhookView.as_view(), name="github-webhook"),
]
