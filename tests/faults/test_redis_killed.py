"""Redis killed (kill -9) during a burst against the real web tier (issue 17, fault injection).

gunicorn (deploy/gunicorn.conf.py, 2 workers x 8 threads) uses a redis-server of this test's own
as cache, rate-limit store and idempotency claim store; tasks run in the request (eager), so the
broker plays no part here (tests/faults/test_broker_down.py). PRODUCT.md §8: with Redis down the
rate limit fails open; §7: the idempotency claim falls back to the unique IdempotencyRecord row.
In-process variants of both (a dead port, not a kill mid-burst) are in
tests/accounts/test_ratelimit_redis.py and tests/runtime/test_idempotency_unit.py.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

import requests

from accounts.models import Role
from aosproject.models import IdempotencyRecord
from tests.conftest import client_with_key
from tests.faults.stack import child_env, needs_redis_server, web
from tests.runtime.helpers import RUNS, SIMULATE, pure_plan
from traces.models import Trace, TraceSource

pytestmark = needs_redis_server

LIMIT = 5  # tenant A's tier ("pro") per minute, so the limit is reached within the test


def _burst(url: str, calls: list, *, threads: int) -> tuple[list[threading.Thread], list[tuple]]:
    """Each thread walks the calls round-robin; returns (start, status-or-exception, label)."""
    results: list[tuple] = []
    lock = threading.Lock()
    queue = list(calls)

    def run() -> None:
        while True:
            with lock:
                if not queue:
                    return
                method, path, headers, body = queue.pop(0)
            started = time.monotonic()
            try:
                status = requests.request(method, url + path, headers=headers, json=body, timeout=15).status_code
            except requests.RequestException as exc:
                status = exc
            with lock:
                results.append((started, status, path))

    pool = [threading.Thread(target=run) for _ in range(threads)]
    for thread in pool:
        thread.start()
    return pool, results


def _until_limited(url: str, headers: dict) -> list[int]:
    """GETs until the first 429; at most two windows' worth (a window may roll over meanwhile)."""
    statuses: list[int] = []
    while 429 not in statuses and len(statuses) < 2 * LIMIT + 2:
        statuses.append(requests.get(url, headers=headers, timeout=5).status_code)
    return statuses


def _fire_same_key(url: str, headers: dict, body: dict, n: int) -> list:
    barrier = threading.Barrier(n)
    out: list = [None] * n

    def hit(i: int) -> None:
        barrier.wait()
        try:
            out[i] = requests.post(url, json=body, headers=headers, timeout=30)
        except requests.RequestException as exc:
            out[i] = exc

    threads = [threading.Thread(target=hit, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return out


def test_it_fails_open_and_runs_once_when_redis_is_killed_mid_burst(
    transactional_db, tmp_path, own_redis, tenant_a, tenant_b
):
    tenant_b.tier = "enterprise"
    tenant_b.save()
    viewer_a = {"Authorization": f"Bearer {client_with_key(tenant_a, Role.VIEWER).raw_key}"}
    dev_b = {"Authorization": f"Bearer {client_with_key(tenant_b, Role.DEVELOPER).raw_key}"}
    env = child_env(
        REDIS_URL=own_redis.url,
        CELERY_TASK_ALWAYS_EAGER="1",
        RATELIMIT_TIER_OVERRIDES=f"pro={LIMIT}",
        LOG_LEVEL="WARNING",
    )
    simulate = {"plan": pure_plan()}
    with web(tmp_path, env) as live:
        me = f"{live.url}/api/v1/me"
        # Redis up: the limit holds.
        before = _until_limited(me, viewer_a)
        assert before[-1] == 429 and set(before[:-1]) == {200}, before

        calls = [("GET", "/api/v1/me", viewer_a, None), ("POST", SIMULATE, dev_b, simulate)] * 40
        pool, results = _burst(live.url, calls, threads=8)
        while len(results) < 16:
            time.sleep(0.01)
        own_redis.kill()
        killed_at = time.monotonic()
        for thread in pool:
            thread.join(60)

        statuses = Counter(s if isinstance(s, int) else type(s).__name__ for _, s, _ in results)
        print(f"burst of {len(results)} across the kill: {dict(statuses)}")
        assert len(results) == 80
        assert set(statuses) <= {200, 429}, statuses  # no 5xx, no dropped connection
        after = [s for started, s, path in results if started > killed_at + 0.05 and path == "/api/v1/me"]
        assert after and set(after) == {200}, after  # over the limit, yet allowed: fail-open
        assert requests.get(me, headers=viewer_a, timeout=5).status_code == 200

        # Still down: N concurrent identical POSTs with one key execute once (the unique row decides).
        body = {"plan": pure_plan(), "input": {"price": 1, "symbol": "X"}, "seed": 3, "wait": True}
        outage = _fire_same_key(f"{live.url}{RUNS}", {**dev_b, "Idempotency-Key": "outage-1"}, body, 12)
        codes = Counter(r.status_code if isinstance(r, requests.Response) else repr(r) for r in outage)
        print(f"12 identical POST /runs during the outage: {dict(codes)}")
        assert set(codes) <= {201, 409, 200} and codes[201] == 1, codes
        runs = Trace.objects.filter(tenant=tenant_b, source=TraceSource.RUN)
        assert runs.count() == 1
        again = requests.post(
            f"{live.url}{RUNS}", json=body, headers={**dev_b, "Idempotency-Key": "outage-1"}, timeout=10
        )
        assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
        assert again.json()["run_id"] == runs.get().run_id
        ready = requests.get(f"{live.url}/ready", timeout=10)
        assert ready.status_code == 503 and ready.json()["failed"] == {"cache": "ConnectionError"}, ready.text

        # Redis is back (empty, as after a restart without persistence): limits and claims use it again.
        own_redis.start()
        assert requests.get(f"{live.url}/ready", timeout=10).status_code == 200
        back = _until_limited(me, viewer_a)
        assert back[-1] == 429 and set(back[:-1]) == {200}, back
        fresh = requests.post(
            f"{live.url}{RUNS}", json=body, headers={**dev_b, "Idempotency-Key": "after-1"}, timeout=10
        )
        assert fresh.status_code == 201
        assert any(b"idem:" in key for key in own_redis.client.keys("*"))  # the claim is in Redis again
    assert runs.count() == 2
    assert IdempotencyRecord.objects.filter(tenant=tenant_b).count() == 2
