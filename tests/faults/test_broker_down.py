"""The broker killed under the real web tier and worker (issue 17, fault injection).

Extends tests/runtime/test_broker_outage.py (in-process, a broker that was never up) with what it
cannot show: gunicorn and a Celery worker that were using a broker (its own redis-server) when it
was killed -9, so the web's pooled broker connections are stale; the cache (a second redis-server)
stays up, so the concurrency slot taken in Redis must be given back. POST /runs answers 503
`service_unavailable` with Retry-After within a bounded time; every run it accepted is `failed`
(`ERR_BROKER_UNAVAILABLE`), none queued or running, no slot held; when the broker returns the same
Idempotency-Key starts a run that the same worker executes, with no restart.
"""

from __future__ import annotations

import time

import requests
from django.core.management import call_command

from accounts.models import Role
from tests.conftest import client_with_key
from tests.faults.stack import OwnRedis, child_env, needs_redis_server, web, worker
from tests.runtime.helpers import RUNS, pure_plan
from traces.models import Trace, TraceSource, TraceStatus

pytestmark = needs_redis_server


def test_it_answers_503_and_orphans_nothing_when_the_broker_is_killed(transactional_db, tmp_path, own_redis, tenant_a):
    tenant_a.max_concurrent = 1  # a slot that was not given back would refuse the next run with 429
    tenant_a.save()
    broker = OwnRedis(tmp_path)
    headers = {"Authorization": f"Bearer {client_with_key(tenant_a, Role.DEVELOPER).raw_key}"}
    body = {"plan": pure_plan(), "input": {"price": 1, "symbol": "X"}, "seed": 5}
    env = child_env(REDIS_URL=own_redis.url, CELERY_BROKER_URL=broker.url, CELERY_TASK_ALWAYS_EAGER="0")
    try:
        with web(tmp_path, env) as live, worker(tmp_path, env) as consumer:
            url = f"{live.url}{RUNS}"
            ok = requests.post(url, json={**body, "wait": True}, headers=headers, timeout=30)
            assert ok.status_code == 201, ok.text  # executed by the worker through the broker

            broker.kill()
            answers, seconds = [], []
            for wait, key in [(False, "k-async"), (True, "k-wait"), (False, None)]:
                started = time.monotonic()
                extra = {"Idempotency-Key": key} if key else {}
                answers.append(
                    requests.post(url, json={**body, "wait": wait}, headers={**headers, **extra}, timeout=30)
                )
                seconds.append(time.monotonic() - started)
            print(f"broker down: {[r.status_code for r in answers]} in {[round(s, 2) for s in seconds]} s")
            for response in answers:
                assert response.status_code == 503, response.text
                assert response.json()["error"] == "service_unavailable" and response.headers["Retry-After"] == "5"
            assert max(seconds) < 10  # connect timeout and publish retries are bounded
            runs = Trace.objects.filter(tenant=tenant_a, source=TraceSource.RUN)
            failed = runs.filter(error_code="ERR_BROKER_UNAVAILABLE")
            assert failed.count() == 3 and set(failed.values_list("status", flat=True)) == {TraceStatus.FAILED}
            assert not runs.filter(status__in=(TraceStatus.QUEUED, TraceStatus.RUNNING)).exists()
            inflight = [k for k in own_redis.client.keys("*inflight:*")]
            assert all(own_redis.client.zcard(k) == 0 for k in inflight)  # the slot was given back
            call_command("reap_runs")  # nothing left to re-send or abandon

            broker.start()  # same port: the web and the worker reconnect by themselves
            again = requests.post(url, json={**body, "wait": False}, headers={**headers, "Idempotency-Key": "k-async"})
            assert again.status_code == 202, again.text  # the key was released: a fresh run
            run_id = again.json()["run_id"]
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                status = Trace.objects.get(run_id=run_id).status
                if status == TraceStatus.SUCCEEDED:
                    break
                time.sleep(0.2)
            assert status == TraceStatus.SUCCEEDED, consumer.log()
    finally:
        broker.kill()
    assert not Trace.objects.filter(status__in=(TraceStatus.QUEUED, TraceStatus.RUNNING)).exists()
