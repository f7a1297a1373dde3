"""manage.py prune_traces and the retention task."""

from __future__ import annotations

import datetime as dt
import io
import threading

import psycopg
import pytest
import time_machine
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from prometheus_client import REGISTRY

from tests.traces.tracebuild import store
from traces.models import RetentionRun, Trace, TraceStep
from traces.retention import ADVISORY_LOCK_KEY, CACHE_LOCK_KEY, RetentionLocked, prune_traces, retention_lock
from traces.tasks import prune_traces_task
from triage.models import Mismatch

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)


def at(days_ago: float):
    return time_machine.travel(NOW - dt.timedelta(days=days_ago), tick=False)


def prune(*args: str) -> str:
    out = io.StringIO()
    with time_machine.travel(NOW, tick=False):
        call_command("prune_traces", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def deleted_total() -> float:
    return REGISTRY.get_sample_value("aos_retention_deleted_total") or 0.0


def remaining() -> set[str]:
    return set(Trace.objects.values_list("trace_id", flat=True))


@pytest.mark.django_db
def test_it_deletes_old_traces_keeping_pinned_and_mismatched(aged):
    before = deleted_total()
    out = prune()
    assert remaining() == {"a-new", "a-pinned", "a-mismatch", "b-new"}
    assert TraceStep.objects.count() == 4 * 3
    assert not Mismatch.objects.filter(resolved=True).exists()
    assert Mismatch.objects.filter(resolved=False).count() == 1
    assert deleted_total() == before + 4
    run = RetentionRun.objects.get()
    assert (run.traces_deleted, run.steps_deleted, run.traces_kept) == (4, 12, 2)
    assert run.status == "succeeded" and not run.dry_run and run.finished_at is not None
    assert out.count("\n") == 1 and "deleted 4 traces and 12 steps" in out and "kept 2" in out


@pytest.mark.django_db
def test_it_honours_each_tenants_retention_days(aged, tenant_b):
    prune("--tenant", tenant_b.slug)
    # B keeps 7 days: its 10-day trace goes; A's traces are untouched, whatever their age.
    assert remaining() == set(aged) - {"b-10d"}
    assert RetentionRun.objects.get().tenant == tenant_b


@pytest.mark.django_db
def test_it_overrides_the_age_with_days(aged):
    prune("--days", "60")
    assert remaining() == {"a-new", "a-old", "a-pinned", "a-mismatch", "b-new", "b-10d"}
    assert RetentionRun.objects.get().days == 60


@pytest.mark.django_db
def test_it_keeps_tenants_with_zero_retention_days_forever(aged, tenant_a):
    tenant_a.retention_days = 0
    tenant_a.save()
    prune()
    assert {"a-old", "a-older", "a-resolved"} <= remaining()
    assert "b-10d" not in remaining()


@pytest.mark.django_db
def test_it_deletes_nothing_on_a_dry_run(aged):
    before = (Trace.objects.count(), TraceStep.objects.count(), deleted_total())
    out = prune("--dry-run")
    assert (Trace.objects.count(), TraceStep.objects.count(), deleted_total()) == before
    run = RetentionRun.objects.get()
    assert run.dry_run and run.status == "dry_run"
    assert (run.traces_deleted, run.steps_deleted) == (4, 12)
    assert "(dry run): would delete 4 traces" in out


@pytest.mark.django_db
def test_it_deletes_in_batches(aged):
    batches: list[int] = []
    with time_machine.travel(NOW, tick=False):
        run = prune_traces(batch_size=1, on_batch=batches.append)
    assert batches == [1, 1, 1, 1]
    assert run.traces_deleted == 4


@pytest.mark.django_db
def test_it_unlinks_replays_of_deleted_traces(aged):
    Trace.objects.filter(pk=aged["a-new"].pk).update(replay_of=aged["a-old"])
    prune()
    assert Trace.objects.get(trace_id="a-new").replay_of is None


@pytest.mark.django_db
def test_it_refuses_to_start_while_another_run_holds_the_lock(aged):
    if connection.vendor == "postgresql":
        # The other run is another session holding the advisory lock.
        other = psycopg.connect(
            dbname=connection.settings_dict["NAME"],
            user=connection.settings_dict["USER"],
            host=connection.settings_dict["HOST"],
            port=connection.settings_dict["PORT"] or 5432,
            password=connection.settings_dict["PASSWORD"] or None,
            autocommit=True,
        )
        other.execute("SELECT pg_advisory_lock(%s)", [ADVISORY_LOCK_KEY])
    else:
        cache.add(CACHE_LOCK_KEY, "other-run", 60)
    try:
        with pytest.raises(CommandError, match="refused: another prune_traces run holds") as exc:
            prune()
        assert exc.value.returncode == 2
        assert prune_traces_task.delay().get()["skipped"].startswith("another prune_traces run")
        assert Trace.objects.count() == len(aged)
        assert not RetentionRun.objects.exists()
    finally:
        if connection.vendor == "postgresql":
            # Unlock before closing: the server ends a closed session (and drops its locks) only
            # after close() returns, so the next run could still find the lock held.
            other.execute("SELECT pg_advisory_unlock(%s)", [ADVISORY_LOCK_KEY])
            other.close()
        else:
            cache.delete(CACHE_LOCK_KEY)
    # Once the other run is gone, the next run proceeds.
    prune()
    assert "a-old" not in remaining()


@pytest.mark.django_db(transaction=True)
def test_it_lets_only_one_of_two_concurrent_holders_in():
    entered = threading.Event()
    release = threading.Event()
    errors: list[Exception] = []

    def hold():
        try:
            with retention_lock():
                entered.set()
                release.wait(5)
        except Exception as exc:
            errors.append(exc)
            entered.set()
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    assert entered.wait(5)
    with pytest.raises(RetentionLocked):
        with retention_lock():
            pass
    release.set()
    holder.join(5)
    assert errors == []
    with retention_lock():
        pass


@pytest.mark.django_db
def test_it_runs_from_celery_beat(aged, settings):
    assert settings.CELERY_BEAT_SCHEDULE["prune-traces-daily"]["task"] == "traces.prune_traces"
    with time_machine.travel(NOW, tick=False):
        result = prune_traces_task.delay().get()
    assert result["traces_deleted"] == 4
    assert "a-old" not in remaining()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "args",
    [["--batch-size", "0"], ["--days", "-1"], ["--days", "0"], ["--days", "x"], ["--force"], ["--tenant", "nope"]],
)
def test_it_refuses_bad_arguments(args, tenant_a):
    with pytest.raises(CommandError):
        prune(*args)
    assert not RetentionRun.objects.exists()


@pytest.mark.django_db
def test_it_shows_a_progress_bar_only_on_a_terminal(aged, capsys):
    class Tty(io.StringIO):
        def isatty(self):
            return True

    err = Tty()
    out = Tty()
    with time_machine.travel(NOW, tick=False):
        call_command("prune_traces", stdout=out, stderr=err)
    assert "prune_traces:" in out.getvalue()
    assert "4/4" in err.getvalue()  # tqdm drew its bar on stderr

    plain_err = io.StringIO()
    with time_machine.travel(NOW, tick=False):
        call_command("prune_traces", "--days", "1", stdout=io.StringIO(), stderr=plain_err)
    assert plain_err.getvalue() == ""


@pytest.mark.django_db
def test_it_refuses_days_zero_which_would_delete_every_trace(aged):
    """Finding 9: `--days 0` deleted everything (0 is "keep forever" in a tenant's retention_days)."""
    with pytest.raises(CommandError, match="0 would delete every trace"):
        prune("--days", "0")
    assert remaining() == set(aged)
    with pytest.raises(ValueError):
        prune_traces(days=0)


@pytest.mark.django_db
def test_it_leaves_keep_forever_tenants_alone_with_days_unless_forced(aged, tenant_a):
    """Finding 9: `--days` overrode tenants set to keep forever."""
    tenant_a.retention_days = 0
    tenant_a.save()
    prune("--days", "5")
    assert {"a-old", "a-older", "a-resolved", "a-new"} <= remaining()
    assert "b-10d" not in remaining()
    prune("--days", "5", "--tenant", tenant_a.slug)
    assert {"a-old", "a-older"} <= remaining()
    prune("--days", "30", "--force")
    assert not {"a-old", "a-older", "a-resolved"} & remaining()
    assert "a-new" in remaining()


@pytest.mark.django_db
def test_it_saves_the_runs_progress_after_every_batch(aged):
    """Finding 9: the RetentionRun row said 0 deleted until the very end."""
    seen: list[tuple[int, str]] = []

    def on_batch(n: int) -> None:
        row = RetentionRun.objects.get()  # what another session (the admin) reads meanwhile
        seen.append((row.traces_deleted, row.status))

    with time_machine.travel(NOW, tick=False):
        prune_traces(batch_size=1, on_batch=on_batch)
    assert seen == [(1, "running"), (2, "running"), (3, "running"), (4, "running")]


@pytest.mark.django_db(transaction=True)
def test_it_keeps_the_count_of_a_killed_run(tmp_path, tenant_a):
    """A run killed with SIGKILL (no `finally` runs) still shows what it deleted."""
    import subprocess
    import sys

    from tests.procs import ROOT, child_env

    for n in range(5):
        with at(90):
            store(tenant_a, trace_id=f"old-{n}", steps=2)
    script = (
        "import os, signal\n"
        "from traces.retention import prune_traces\n"
        "def on_batch(n, seen=[]):\n"
        "    seen.append(n)\n"
        "    if len(seen) == 3:\n"
        "        os.kill(os.getpid(), signal.SIGKILL)\n"
        "prune_traces(batch_size=1, on_batch=on_batch)\n"
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script], cwd=ROOT, env=child_env(), capture_output=True, timeout=60
    )
    assert result.returncode == -9, result.stderr
    run = RetentionRun.objects.get()
    assert (run.status, run.traces_deleted, run.steps_deleted) == ("running", 3, 6)
    assert Trace.objects.count() == 2
