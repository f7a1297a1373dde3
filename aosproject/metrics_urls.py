"""`/metrics` (django-prometheus exporter). Access control lives in `aosproject.metrics`."""

from django.urls import path

from aosproject.metrics import metrics_view

urlpatterns = [path("metrics", metrics_view, name="metrics")]
