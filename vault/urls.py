from django.urls import path

import aosproject.converters  # noqa: F401  (registers <segment:>)
from vault import api

urlpatterns = [
    path("secrets", api.SecretListView.as_view(), name="secret-list"),
    path("secrets/<segment:name>", api.SecretDetailView.as_view(), name="secret-detail"),
]
