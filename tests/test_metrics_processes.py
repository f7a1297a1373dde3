"""Metrics whatever runs where (issue 16): zeros from start, gunicorn hooks, manage.py, DB gauges."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from aosproject import metrics_worker
from tests.procs import GUNICORN_BIN, ROOT, child_env, free_port, running, wait_for
from tests.test_metrics import exposed, families, scrape
from traces.models import RetentionRun, Trace, TraceSource, TraceStatus


@pytest.mark.django_db
def test_it_exports_every_labelled_counter_at_zero_from_start():
    """Finding 3: the idempotency panel was empty and rate()/absent() misbehaved until a first event."""
    from aosproject.metrics import ALERTS_RECEIVED, IDEMPOTENCY, NOTIFICATIONS, TRACES_STORED

    for counter in (ALERTS_RECEIVED, IDEMPOTENCY, NOTIFICATIONS, TRACES_STORED):
        counter.clear()  # as after a restart
    fams = families(scrape())

    def labels(family: str) -> set[tuple]:
        return {tuple(sorted(s.labels.items())) for s in fams[family].samples if s.name.endswith("_total")}

    assert {dict(x)["result"] for x in labels("aos_idempotency")} == {
        "new",
        "replayed",
        "in_progress",
        "mismatch",
        "released",
    }
    assert {dict(x)["status"] for x in labels("aos_alerts_received")} == {"firing", "resolved"}
    assert {dict(x)["source"] for x in labels("aos_traces_stored")} == set(TraceSource.values)
    notifications = {(dict(x)["channel"], dict(x)["result"]) for x in labels("aos_notifications")}
    assert {("github", "sent"), ("github", "failed"), ("slack", "sent"), ("none", "no_channel")} <= notifications
    assert exposed(fams, "aos_idempotency_total", result="replayed") == 0


def test_it_exports_at_zero_every_label_value_the_code_uses():
    """The zero list cannot drift from the code: every literal label value bumped is in it."""
    import re

    from aosproject.metrics import IDEMPOTENCY_RESULTS, NOTIFICATION_RESULTS

    idempotency = (ROOT / "aosproject/idempotency.py").read_text() + (ROOT / "runtime/idempotency.py").read_text()
    used_results = set(re.findall(r'IDEMPOTENCY\.labels\(result="(\w+)"\)', idempotency))
    assert used_results == set(IDEMPOTENCY_RESULTS)
    text = (ROOT / "triage/notify.py").read_text() + (ROOT / "triage/services.py").read_text()
    pairs = set(re.findall(r'NOTIFICATIONS\.labels\(channel="(\w+)", result="(\w+)"\)', text))
    pairs |= {("github", "retry"), ("github", "failed")}  # `"retry" if exc.retryable else "failed"`
    assert pairs == {(c, r) for c, results in NOTIFICATION_RESULTS.items() for r in results}


@pytest.mark.django_db
def test_it_reads_runs_in_progress_and_the_last_retention_success_from_the_database(tenant_a, tenant_b):
    def make(tenant, n, status, created):
        trace = Trace.objects.create(
            tenant=tenant, trace_id=f"r{n}", run_id=f"run-{n}", source=TraceSource.RUN, plan_hash="p" * 64,
            frozen_timestamp="0", status=status,
        )  # fmt: skip
        Trace.objects.filter(pk=trace.pk).update(created_at=created)

    old = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    make(tenant_a, 1, TraceStatus.QUEUED, old)
    make(tenant_b, 2, TraceStatus.QUEUED, old + dt.timedelta(hours=1))
    make(tenant_a, 3, TraceStatus.RUNNING, old)
    make(tenant_a, 4, TraceStatus.SUCCEEDED, old - dt.timedelta(days=1))
    fams = families(scrape())
    assert exposed(fams, "aos_runs_in_progress", status="queued") == 2
    assert exposed(fams, "aos_runs_in_progress", status="running") == 1
    assert exposed(fams, "aos_runs_oldest_queued_timestamp_seconds") == old.timestamp()
    assert exposed(fams, "aos_retention_last_success_timestamp_seconds") == 0  # never

    finished = dt.datetime(2026, 2, 1, 3, 0, tzinfo=dt.UTC)
    RetentionRun.objects.create(status="succeeded", finished_at=finished)
    RetentionRun.objects.create(status="failed", finished_at=finished + dt.timedelta(days=1))
    RetentionRun.objects.create(status="dry_run", dry_run=True, finished_at=finished + dt.timedelta(days=2))
    Trace.objects.filter(status=TraceStatus.QUEUED).update(status=TraceStatus.FAILED)
    fams = families(scrape())
    assert exposed(fams, "aos_retention_last_success_timestamp_seconds") == finished.timestamp()
    assert exposed(fams, "aos_runs_in_progress", status="queued") == 0
    assert exposed(fams, "aos_runs_oldest_queued_timestamp_seconds") == 0


@pytest.mark.django_db
def test_it_drops_only_the_database_gauges_when_the_database_fails(monkeypatch):
    from django.db import DatabaseError
    from django.db.models.query import QuerySet

    def broken(self, *args, **kwargs):
        raise DatabaseError("connection lost")

    monkeypatch.setattr(QuerySet, "aggregate", broken)
    text = scrape()
    assert "aos_runs_total" in text
    assert "aos_runs_in_progress{" not in text
    assert "aos_retention_last_success_timestamp_seconds " not in text


def test_it_keeps_manage_py_commands_out_of_the_multiprocess_directory(tmp_path):
    """Finding 2: every manage.py run left its files in gunicorn's directory (272 after 25 minutes)."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert list(tmp_path.iterdir()) == []


def test_it_gives_a_metrics_serving_worker_its_own_clean_multiprocess_directory(tmp_path):
    argv = ["celery", "-A", "aosproject", "worker"]
    assert metrics_worker.ensure_multiprocess_dir(environ={}, argv=argv) is None  # no port: nothing to serve
    assert (
        metrics_worker.ensure_multiprocess_dir(environ={"AOS_WORKER_METRICS_PORT": "9"}, argv=["celery", "beat"])
        is None
    )
    made = metrics_worker.ensure_multiprocess_dir(environ={"AOS_WORKER_METRICS_PORT": "9"}, argv=argv)
    assert made and Path(made).is_dir() and not list(Path(made).iterdir())
    (tmp_path / "counter_12345.db").write_bytes(b"stale")
    (tmp_path / "keep.txt").write_text("not ours")
    environ = {"AOS_WORKER_METRICS_PORT": "9", "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    assert metrics_worker.ensure_multiprocess_dir(environ=environ, argv=argv) == str(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


def _children(pid: int) -> set[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return {int(p) for p in path.read_text().split()} if path.exists() else set()


@pytest.mark.django_db(transaction=True)
def test_it_exports_one_tier_limit_per_tier_from_gunicorn_workers_after_a_reload(tmp_path):
    """Finding 2: `aos_rate_limit_tier_limit` came once per worker pid, stale pids stayed after `kill -HUP`."""
    multiproc = tmp_path / "multiproc"
    multiproc.mkdir()
    (multiproc / "gauge_livemax_99999.db").write_bytes(b"\0" * 8)  # left by an earlier run: removed at start
    (multiproc / "gauge_all_99998.db").write_bytes(b"\0" * 8)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = [GUNICORN_BIN, "-c", "deploy/gunicorn.conf.py", "aosproject.wsgi", "--bind", f"127.0.0.1:{port}"]
    args += ["--workers", "2"]
    env = child_env(PROMETHEUS_MULTIPROC_DIR=str(multiproc))
    with running(args, log_path=tmp_path / "gunicorn.log", env=env) as web:
        master = web.process.pid
        first = wait_for(lambda: len(_children(master)) == 2 and _children(master), timeout=30, what="2 workers")
        wait_for(lambda: requests.get(f"{url}/metrics", timeout=2).ok, timeout=30, what="/metrics", log=web.log_path)
        assert not (multiproc / "gauge_all_99998.db").exists()
        os.kill(master, signal.SIGHUP)  # graceful reload: new workers, old ones exit
        wait_for(
            lambda: len(_children(master)) == 2 and not (_children(master) & first),
            timeout=30,
            what="reloaded workers",
            log=web.log_path,
        )
        for _ in range(4):  # whichever worker answers
            text = wait_for(lambda: requests.get(f"{url}/metrics", timeout=2).text, timeout=10, what="scrape")
            series = [
                s
                for f in text_string_to_metric_families(text)
                if f.name == "aos_rate_limit_tier_limit"
                for s in f.samples
            ]
            tiers = [s.labels["tier"] for s in series]
            assert sorted(tiers) == sorted(set(tiers)) and len(tiers) == 5, series
            assert all("pid" not in s.labels for s in series), series
        pids = {int(p.stem.rsplit("_", 1)[1]) for p in multiproc.glob("gauge_livemax_*.db")}
        assert pids <= _children(master), (pids, _children(master))  # dead workers' gauge files are gone
