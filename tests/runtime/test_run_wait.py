"""`wait: true` is woken by the worker (runtime.lifecycle.run_wait, decision 0066), not by polling.

The waiting thread blocks on the run's Redis list (BLPOP) in chunks; the worker pushes to it once
the finished run is committed. Here a chunk lasts 3 s (WAKE_CHUNK_SECONDS, with a 5 s socket
timeout), so an answer well under 3 s can only come from the signal, and one at ~3 s from the
database check between chunks (a lost signal). A redis-server of the test's own plays the cache
(and, for the real worker, the broker); with Redis down the wait polls the database instead.
"""

from __future__ import annotations

import os
import threading
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from runtime import lifecycle
from runtime.lifecycle import run_finished_signal, run_wait
from runtime.services import run_create
from tests.conftest import client_with_key
from tests.faults.stack import OwnRedis, celery_sending_to, child_env, needs_redis_server, worker
from tests.procs import free_port
from tests.runtime.helpers import pure_plan, run
from traces.models import Trace, TraceStatus

CHUNK = 3.0


def _redis_cache(location: str) -> dict:
    return {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": location,
        "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "aos"),  # as the worker's settings make it
        "OPTIONS": {
            "CLIENT_CLASS": "django_redis.client.DefaultClient",
            "SOCKET_CONNECT_TIMEOUT": 1,
            "SOCKET_TIMEOUT": CHUNK + 2,
        },
    }


@pytest.fixture
def own_redis(tmp_path):
    server = OwnRedis(tmp_path)
    yield server
    server.kill()


@pytest.fixture
def redis_cache(settings, own_redis, monkeypatch):
    settings.CACHES = {**settings.CACHES, "default": _redis_cache(own_redis.url)}
    monkeypatch.setattr(lifecycle, "WAKE_CHUNK_SECONDS", CHUNK)
    return own_redis


def _queued(tenant) -> Trace:
    return run_create(tenant=tenant, plan=pure_plan(), run_input={"price": 1, "symbol": "X"})


def _finish_later(trace: Trace, *, after: float, signal: bool) -> threading.Thread:
    """Another thread (a worker's stand-in) ends the run after `after` seconds, signalling or not."""

    def finish() -> None:
        try:
            time.sleep(after)
            Trace.objects.filter(pk=trace.pk).update(status=TraceStatus.SUCCEEDED)
            if signal:
                run_finished_signal(trace_pk=trace.pk)
        finally:
            connection.close()

    thread = threading.Thread(target=finish)
    thread.start()
    return thread


def _timed_wait(trace: Trace, seconds: float) -> tuple[bool, float]:
    started = time.monotonic()
    finished = run_wait(trace=trace, seconds=seconds)
    return finished, time.monotonic() - started


pytestmark = needs_redis_server


def test_it_wakes_the_waiting_request_when_the_run_is_signalled(transactional_db, redis_cache, tenant_a):
    trace = _queued(tenant_a)
    finisher = _finish_later(trace, after=1.0, signal=True)
    with CaptureQueriesContext(connection) as queries:
        finished, elapsed = _timed_wait(trace, 10)
    finisher.join(10)
    print(f"woken after {elapsed:.3f} s (run finished at 1.0 s; next database check at {CHUNK} s)")
    assert finished
    assert 0.9 <= elapsed < CHUNK - 0.5
    assert len(queries) == 1  # the look before waiting; no polling


def test_it_sees_a_run_whose_signal_was_lost_at_the_next_database_check(transactional_db, redis_cache, tenant_a):
    trace = _queued(tenant_a)
    finisher = _finish_later(trace, after=0.5, signal=False)
    finished, elapsed = _timed_wait(trace, 10)
    finisher.join(10)
    assert finished
    assert CHUNK - 0.1 <= elapsed < CHUNK + 1.5


def test_it_stops_waiting_at_the_bound(transactional_db, redis_cache, tenant_a):
    trace = _queued(tenant_a)
    finished, elapsed = _timed_wait(trace, 1.0)
    assert not finished
    assert 0.95 <= elapsed < 1.8
    assert Trace.objects.get(pk=trace.pk).status == TraceStatus.QUEUED


def test_it_leaves_a_finished_runs_signal_to_expire(transactional_db, redis_cache, tenant_a, settings):
    trace = _queued(tenant_a)
    run_finished_signal(trace_pk=trace.pk)
    keys = redis_cache.client.keys("*run-done*")
    assert len(keys) == 1
    assert 0 < redis_cache.client.ttl(keys[0]) <= int(settings.AOS_RUN_WAIT_SECONDS) + 60


def test_it_polls_the_database_when_redis_is_down(transactional_db, settings, tenant_a):
    settings.CACHES = {**settings.CACHES, "default": _redis_cache(f"redis://127.0.0.1:{free_port()}/0")}
    trace = _queued(tenant_a)
    run_finished_signal(trace_pk=trace.pk)  # the worker's side: logged, not raised
    finisher = _finish_later(trace, after=0.5, signal=True)
    finished, elapsed = _timed_wait(trace, 10)
    finisher.join(10)
    assert finished
    assert 0.45 <= elapsed < 1.6  # polling every 50 ms doubling to 500 ms

    never = _queued(tenant_a)
    finished, elapsed = _timed_wait(never, 1.0)
    assert not finished
    assert 0.95 <= elapsed < 1.8


@pytest.fixture
def broker(transactional_db, own_redis):
    """This process sends tasks to the test's own redis-server (not eager)."""
    with celery_sending_to(own_redis.url) as app:
        yield app


def test_a_real_worker_wakes_the_waiting_request(broker, redis_cache, tmp_path, tenant_a, settings):
    settings.AOS_RUN_WAIT_SLOTS = 4
    api = client_with_key(tenant_a, Role.DEVELOPER)
    env = child_env(REDIS_URL=redis_cache.url, CELERY_TASK_ALWAYS_EAGER="0")
    with worker(tmp_path, env, name="wake-worker", concurrency=1) as proc:
        run(api, pure_plan(), input={"price": 1, "symbol": "X"})  # the worker's first task warms it up
        timings, polls = [], []
        for price in (2, 3, 4):
            started = time.monotonic()
            with CaptureQueriesContext(connection) as queries:
                response = run(api, pure_plan(), input={"price": price, "symbol": "X"})
            timings.append(time.monotonic() - started)
            polls.append(sum('"status" IN' in q["sql"] for q in queries.captured_queries))
            assert response.status_code == 201, (response.json(), proc.log())
            body = response.json()
            assert body["status"] == "succeeded" and len(body["steps"]) == 3
            assert body["steps"][0]["output"]["price"] == price
    print("wait: true answered after " + ", ".join(f"{t:.3f}" for t in timings) + " s")
    assert max(timings) < CHUNK - 0.5  # never the database check at the chunk's end: the signal woke it
    assert polls == [1, 1, 1]  # the look before waiting, then woken: no polling
