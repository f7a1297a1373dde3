"""Tenant-wide routes under /api/v1/: mismatches, mismatch groups, GitHub webhook."""

from django.urls import path

from triage import api, api_groups

urlpatterns = [
    path("mismatches", api.MismatchListView.as_view(), name="mismatch-list"),
    path("mismatch-groups", api_groups.MismatchGroupListView.as_view(), name="mismatch-group-list"),
    path("mismatch-groups/<int:group_id>", api_groups.MismatchGroupDetailView.as_view(), name="mismatch-group-detail"),
    path(
        "mismatch-groups/<int:group_id>/resolve",
        api_groups.MismatchGroupResolveView.as_view(),
        name="mismatch-group-resolve",
    ),
    path("integrations/github/webhook", api.GitHubWebhookView.as_view(), name="github-webhook"),
]
