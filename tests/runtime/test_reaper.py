"""The reaper (PRODUCT.md §14; issue 21 finding 2): a killed run ends failed, not `running` forever."""

from __future__ import annotations

from datetime import timedelta

from django.core.management import call_command
from django.utils import timezone

from aos_sdk import hashing
from aosproject.celery import app
from runtime.services import run_create
from tests.runtime.helpers import replay, transform
from traces.models import Trace, TraceStatus


def _aged(trace: Trace, *, status: str, seconds: float) -> None:
    """The row a killed worker leaves: `updated_at` of a running trace is its start time."""
    then = timezone.now() - timedelta(seconds=seconds)
    Trace.objects.filter(pk=trace.pk).update(status=status, updated_at=then, created_at=then)


def test_it_ends_a_killed_run_failed_and_replayable(api_a_dev, tenant_a, tenant_b, settings, capsys):
    settings.AOS_RUN_DEADLINE_SECONDS, settings.AOS_RUN_REAP_GRACE_SECONDS = 10, 5
    killed = run_create(tenant=tenant_a, plan=[transform(1, query="@")])
    _aged(killed, status=TraceStatus.RUNNING, seconds=16)
    fresh = run_create(tenant=tenant_b, plan=[transform(1, query="@")])
    _aged(fresh, status=TraceStatus.RUNNING, seconds=14)  # within deadline + grace: left alone

    call_command("reap_runs")

    assert capsys.readouterr().out.strip() == "reap_runs: 1 abandoned, 0 re-sent"
    killed.refresh_from_db()
    assert (killed.status, killed.error_code) == (TraceStatus.FAILED, "ERR_ABANDONED")
    assert killed.finished_at is not None
    assert killed.root_hash == hashing.root_zero(
        plan_hash=killed.plan_hash, seed=killed.seed, timestamp=killed.frozen_timestamp
    )
    assert Trace.objects.get(pk=fresh.pk).status == TraceStatus.RUNNING
    response = replay(api_a_dev, killed.run_id)
    assert response.status_code == 200
    assert response.json()["divergence"]["reason"] == "step_count_mismatch"


def test_it_resends_a_queued_run_and_abandons_one_never_started(tenant_a, settings, capsys):
    settings.AOS_RUN_DEADLINE_SECONDS, settings.AOS_RUN_REAP_GRACE_SECONDS = 10, 5
    settings.AOS_RUN_REDISPATCH_SECONDS = 3
    lost = run_create(tenant=tenant_a, plan=[transform(1, query="@")])  # its message never reached a worker
    _aged(lost, status=TraceStatus.QUEUED, seconds=4)
    ancient = run_create(tenant=tenant_a, plan=[transform(2, query="@")])
    _aged(ancient, status=TraceStatus.QUEUED, seconds=60)
    just_queued = run_create(tenant=tenant_a, plan=[transform(3, query="@")])

    call_command("reap_runs")  # eager tasks here: the re-sent run executes inline

    assert capsys.readouterr().out.strip() == "reap_runs: 1 abandoned, 1 re-sent"
    assert Trace.objects.get(pk=lost.pk).status == TraceStatus.SUCCEEDED
    assert Trace.objects.get(pk=ancient.pk).error_code == "ERR_ABANDONED"
    assert Trace.objects.get(pk=just_queued.pk).status == TraceStatus.QUEUED


def test_it_schedules_the_reaper_on_celery_beat(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["reap-runs"]
    assert entry["task"] == "runtime.reap_runs"
    assert entry["task"] in app.tasks
