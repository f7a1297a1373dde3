"""N concurrent identical requests through a real server → exactly one run (PRODUCT.md §7).

Client threads hit a real HTTP server in this process (`PooledLiveServer`: 16 workers, like
gunicorn workers × threads). On PostgreSQL + Redis (DATABASE_URL/REDIS_URL set) the claim is
Redis `SET NX`; on the embedded default it is locmem `cache.add`, with the database unique
constraint behind both. In-memory SQLite shares one connection, so there the server has one
worker: the burst is 40 and 200 concurrent clients, but requests are processed one at a time.
"""

import threading
from collections import Counter

import pytest
import requests

from accounts.models import Role
from aosproject.models import IdempotencyRecord
from tests.conftest import client_with_key
from tests.runtime.helpers import pure_plan
from tests.runtime.pooled_server import PooledLiveServer
from traces.models import Trace, TraceSource


def _fire(url: str, headers: dict, body: dict, n: int) -> list[requests.Response]:
    barrier = threading.Barrier(n)
    responses: list = [None] * n

    def hit(i: int) -> None:
        barrier.wait()
        try:
            responses[i] = requests.post(url, json=body, headers=headers, timeout=60)
        except requests.RequestException as exc:  # kept, so the assertion shows it
            responses[i] = exc

    threads = [threading.Thread(target=hit, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return responses


@pytest.fixture
def live(transactional_db):
    with PooledLiveServer(workers=16) as server:
        yield server


@pytest.mark.parametrize("n", [40, 200])
def test_it_executes_concurrent_identical_requests_once(live, tenant_a, n):
    raw = client_with_key(tenant_a, Role.DEVELOPER).raw_key
    headers = {"Authorization": f"Bearer {raw}", "Idempotency-Key": f"burst-{n}"}
    body = {"plan": pure_plan(), "input": {"price": 1, "symbol": "X"}, "seed": 1, "wait": True}
    responses = _fire(f"{live.url}/api/v1/runtime/runs", headers, body, n)

    errors = [r for r in responses if not isinstance(r, requests.Response)]
    assert not errors, errors[:3]
    statuses = Counter(r.status_code for r in responses)
    print(f"n={n} workers={live.workers} statuses={dict(statuses)}")
    assert set(statuses) <= {201, 409}, statuses
    assert Trace.objects.filter(source=TraceSource.RUN).count() == 1
    run_id = Trace.objects.get(source=TraceSource.RUN).run_id
    created = [r for r in responses if r.status_code == 201]
    assert {r.json()["run_id"] for r in created} == {run_id}
    assert sum(1 for r in created if "Idempotent-Replayed" not in r.headers) == 1
    in_flight = [r for r in responses if r.status_code == 409]
    assert all(r.json()["error"] == "idempotency_in_progress" for r in in_flight)

    # Once finished, a repeat is replayed and a different payload with the same key is refused.
    again = requests.post(f"{live.url}/api/v1/runtime/runs", json=body, headers=headers, timeout=30)
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["run_id"] == run_id
    changed = requests.post(f"{live.url}/api/v1/runtime/runs", json={**body, "seed": 2}, headers=headers, timeout=30)
    assert changed.status_code == 422
    assert changed.json()["error"] == "idempotency_key_reused"
    assert IdempotencyRecord.objects.get().state == IdempotencyRecord.State.COMPLETED
    assert Trace.objects.filter(source=TraceSource.RUN).count() == 1
