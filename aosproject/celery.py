"""Celery app. Broker is REDIS_URL in production; tasks run eagerly in the embedded default."""

import os

from celery import Celery

from aosproject import log_celery, metrics_worker

# First, before any metric exists: a worker serving its own /metrics needs file-backed values.
metrics_worker.ensure_multiprocess_dir()

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aosproject.settings")

app = Celery("aosproject")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
metrics_worker.connect_signals(app)
log_celery.connect_signals()
