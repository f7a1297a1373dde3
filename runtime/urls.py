"""/api/v1/runtime/ routes (PRODUCT.md §4)."""

from django.urls import path

import aosproject.converters  # noqa: F401  (registers <segment:>)
from runtime import api

urlpatterns = [
    path("simulate", api.SimulateView.as_view(), name="runtime-simulate"),
    path("runs", api.RunListCreateView.as_view(), name="runtime-runs"),
    path("runs/<segment:run_id>", api.RunDetailView.as_view(), name="runtime-run-detail"),
    path("replay/<segment:run_id>", api.ReplayView.as_view(), name="runtime-replay"),
    path("skills", api.SkillListView.as_view(), name="runtime-skills"),
    path("skills/<segment:skill_id>", api.SkillDetailView.as_view(), name="runtime-skill-detail"),
    path("capabilities", api.CapabilitiesView.as_view(), name="runtime-capabilities"),
]
