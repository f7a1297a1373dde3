"""Celery discovers tasks here; they live in one module per concern."""

from traces.tasks_notify import *  # noqa: F403
from traces.tasks_retention import *  # noqa: F403
