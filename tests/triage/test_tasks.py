"""Triage's Celery tasks keep the names they were registered under inside traces/."""

from __future__ import annotations

from django.conf import settings

from aosproject.celery import app

KEPT_NAMES = {
    "traces.mismatch_notify": "triage.tasks",
    "traces.mismatch_resolution_push": "triage.tasks",
    "traces.mismatch_notify_sweep": "triage.tasks",
    "traces.webhook_deliveries_purge": "triage.tasks",
    "traces.prune_traces": "traces.tasks",
}


def test_it_registers_the_moved_tasks_under_their_old_names():
    app.loader.import_default_modules()  # what a worker does at start: autodiscovers every app's tasks
    for name, module in KEPT_NAMES.items():
        assert app.tasks[name].__module__ == module, name


def test_it_resolves_every_beat_entry_to_a_registered_task():
    app.loader.import_default_modules()
    missing = {
        entry: spec["task"] for entry, spec in settings.CELERY_BEAT_SCHEDULE.items() if spec["task"] not in app.tasks
    }
    assert missing == {}
    assert settings.CELERY_BEAT_SCHEDULE["webhook-deliveries-purge-daily"]["task"] == "traces.webhook_deliveries_purge"
