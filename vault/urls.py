from django.urls import path

from vault import api

urlpatterns = [
    path("secrets", api.SecretListView.as_view(), name="secret-list"),
    path("secrets/<str:name>", api.SecretDetailView.as_view(), name="secret-detail"),
]
