"""Admission control (PRODUCT.md §14): at most `max_concurrent` runs in flight per tenant."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings

from runtime.admission import admission_acquire, admission_release
from tests.runtime.helpers import pure_plan, replay, run, transform

REDIS = "django_redis" in django_settings.CACHES["default"]["BACKEND"]


def _busy(tenant, n: int) -> list[str]:
    """`n` runs in flight elsewhere (another web or worker process holds their slots)."""
    tokens = [f"run_elsewhere_{i}" for i in range(n)]
    for token in tokens:
        admission_acquire(tenant=tenant, token=token)
    return tokens


def test_it_refuses_runs_and_replays_over_the_tenant_limit_with_429(api_a_dev, api_b, tenant_a, settings):
    settings.AOS_CONCURRENCY_RETRY_AFTER_SECONDS = 3
    done = run(api_a_dev, [transform(1, query="@")]).json()
    tenant_a.max_concurrent = 2
    tenant_a.save()
    tokens = _busy(tenant_a, 2)

    refused = run(api_a_dev, pure_plan(), input={"price": 1, "symbol": "X"})
    refused_replay = replay(api_a_dev, done["run_id"])
    other_tenant = run(api_b, [transform(1, query="@")])

    for response in (refused, refused_replay):
        assert response.status_code == 429
        assert response["Retry-After"] == "3"
        body = response.json()
        assert body["error"] == "concurrency_limit_exceeded"
        assert (body["limit"], body["retry_after"]) == (2, 3)
        assert "2 runs in flight" in body["message"]
    assert other_tenant.status_code == 201

    admission_release(tenant_id=tenant_a.pk, token=tokens[0])
    assert run(api_a_dev, [transform(1, query="@")]).status_code == 201
    assert replay(api_a_dev, done["run_id"]).status_code == 200


def test_it_uses_the_setting_when_the_tenant_has_no_limit(api_a_dev, tenant_a, settings):
    settings.AOS_MAX_CONCURRENT_RUNS = 3
    assert tenant_a.max_concurrent is None
    _busy(tenant_a, 3)
    assert run(api_a_dev, [transform(1, query="@")]).status_code == 429


def test_it_gives_the_slot_back_when_a_run_finishes_or_fails(api_a_dev, tenant_a):
    tenant_a.max_concurrent = 1
    tenant_a.save()
    statuses = [run(api_a_dev, [transform(i, query="@")]).status_code for i in range(3)]
    statuses.append(run(api_a_dev, [transform(1, query="a[")]).status_code)  # refused before it starts: 400
    statuses.append(run(api_a_dev, [{"skill": "json_transform", "params": {"payload": 1, "query": "x"}}]).status_code)
    assert statuses == [201, 201, 201, 400, 201]


@pytest.mark.skipif(not REDIS, reason="the embedded default counts in its one process; Redis counts across them")
def test_it_counts_slots_held_by_other_processes_in_redis(api_a_dev, tenant_a):
    import time

    from django.core.cache import cache
    from django_redis import get_redis_connection

    tenant_a.max_concurrent = 1
    tenant_a.save()
    key = cache.make_key(f"inflight:{tenant_a.pk}")
    other = get_redis_connection("default")
    other.zadd(key, {"run_in_a_worker": time.time() + 60})  # as another process's admission wrote it
    assert run(api_a_dev, [transform(1, query="@")]).status_code == 429
    other.zadd(key, {"run_in_a_worker": time.time() - 1})  # its lease lapsed (worker died)
    assert run(api_a_dev, [transform(1, query="@")]).status_code == 201
