"""/api/v1/alerts/ routes (Alertmanager webhook)."""

from django.urls import path

from alerts.api import AlertWebhookView

urlpatterns = [path("alerts/webhook", AlertWebhookView.as_view(), name="alerts-webhook")]
