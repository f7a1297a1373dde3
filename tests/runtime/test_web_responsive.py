"""The web tier stays responsive whatever plans are submitted (issue 21 finding 2).

Found: 28 `wait: true` runs of an http_call retried with 60 s backoffs left GET /health
unanswered for more than 45 s. Here the same burst goes to a real multi-threaded server (8
workers, like gunicorn threads) with a slow loopback stand-in; /health is polled throughout.
Deadlines end the slow runs, and admission control keeps one tenant from taking every thread.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

import requests

from accounts.models import Role
from tests.conftest import client_with_key
from tests.runtime.helpers import RUNS
from tests.runtime.pooled_server import PooledLiveServer
from tests.servers import LocalServer


def _slow_failure(method, path, headers, body):
    time.sleep(0.3)
    return 503, {}, {"error": "busy"}


def test_it_answers_health_while_a_burst_of_slow_wait_runs_is_in_flight(transactional_db, tenant_a, settings):
    settings.HTTP_CALL_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.AOS_RUN_DEADLINE_SECONDS = 2
    raw = client_with_key(tenant_a, Role.DEVELOPER).raw_key
    headers = {"Authorization": f"Bearer {raw}"}
    with LocalServer(_slow_failure) as slow, PooledLiveServer(workers=8) as live:
        step = {
            "skill": "http_call",
            "params": {"url": f"{slow.url}/price", "retries": 0, "timeout": 5},
            "retry": {"max_attempts": 10, "backoff_ms": 60000},
        }
        body = {"plan": [step], "wait": True}
        statuses: list[int] = []
        health: list[tuple[int, float]] = []
        done = threading.Event()

        def submit() -> None:
            response = requests.post(f"{live.url}{RUNS}", json=body, headers=headers, timeout=60)
            statuses.append(response.status_code)

        def poll_health() -> None:
            while not done.is_set():
                started = time.monotonic()
                response = requests.get(f"{live.url}/health", timeout=3)
                health.append((response.status_code, time.monotonic() - started))
                time.sleep(0.05)

        poller = threading.Thread(target=poll_health)
        poller.start()
        burst = [threading.Thread(target=submit) for _ in range(28)]
        for thread in burst:
            thread.start()
        for thread in burst:
            thread.join(60)
        done.set()
        poller.join(10)

    counts = Counter(statuses)
    print(f"runs={dict(counts)} health n={len(health)} max={max(s for _, s in health):.3f}s")
    assert set(counts) <= {201, 429} and counts[201] >= 1 and counts[429] >= 1, counts
    assert health and all(code == 200 for code, _ in health)
    assert len(slow.requests) == counts[201]  # one attempt each: no backoff slept past the deadline
