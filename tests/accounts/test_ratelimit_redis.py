"""Rate limits against a real Redis this test starts on its own port (both backends run these).

Concurrency (exactly `limit` of N concurrent requests allowed), one round trip per request,
and fail-open when that Redis is stopped mid-test.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import time_machine
from django.db import connection
from prometheus_client import REGISTRY

from accounts.models import Role
from accounts.principal import Principal
from accounts.ratelimit import rate_limit_hit
from tests.conftest import client_with_key
from tests.faults.stack import OwnRedis, needs_redis_server
from tests.procs import free_port

FUSED = "accounts.ratelimit_cache.FusedCounterRedisCache"
STOCK = "django_redis.cache.RedisCache"

pytestmark = needs_redis_server


@pytest.fixture(autouse=True)
def _one_window():
    """Wall-clock time stands still, so a 60 s window can never roll over in the middle of a test
    (that made the exact-count assertions flaky about once in fifty runs)."""
    with time_machine.travel(1_800_000_000, tick=False):
        yield


@pytest.fixture
def own_redis(tmp_path):
    """A throwaway redis-server on a free port; `stop()` kills it (the fault under test)."""
    server = OwnRedis(tmp_path)
    yield server
    server.kill()


def use_ratelimit_redis(settings, url: str, backend: str = FUSED) -> None:
    settings.CACHES = {
        **settings.CACHES,
        "ratelimit": {
            "BACKEND": backend,
            "LOCATION": url,
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5},
        },
    }
    settings.RATELIMIT_USE_CACHE = "ratelimit"


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.mark.parametrize("backend", [FUSED, STOCK])
def test_it_allows_exactly_the_limit_of_50_concurrent_requests(backend, settings, own_redis, tenant_a):
    use_ratelimit_redis(settings, own_redis.url, backend)
    settings.RATELIMIT_TIER_OVERRIDES = {"pro": 30}
    principal = Principal(subject="s", tenant=tenant_a, roles=frozenset({"viewer"}), tier="pro", method="api_key")
    start = threading.Barrier(50, timeout=20)

    def one_request(_):
        start.wait()  # all 50 hit Redis together
        return rate_limit_hit(principal=principal).allowed

    with ThreadPoolExecutor(max_workers=50) as pool:
        outcomes = list(pool.map(one_request, range(50)))
    assert outcomes.count(True) == 30
    assert outcomes.count(False) == 20
    counter_keys = own_redis.client.keys("*rl:*")
    assert len(counter_keys) == 1  # one bucket for the tenant
    assert int(own_redis.client.get(counter_keys[0])) == 50
    assert 0 < own_redis.client.ttl(counter_keys[0]) <= 65


def test_it_allows_exactly_the_limit_of_50_concurrent_http_requests(transactional_db, settings, own_redis, tenant_a):
    use_ratelimit_redis(settings, own_redis.url)
    settings.RATELIMIT_TIER_OVERRIDES = {"pro": 30}
    client = client_with_key(tenant_a, Role.VIEWER)
    client.get("/api/v1/me")  # the first request of the window creates the bucket
    start = threading.Barrier(49, timeout=20)

    def one_request(_):
        start.wait()  # one thread per request: all 49 are in flight together
        try:
            return client.get("/api/v1/me").status_code
        finally:
            connection.close()  # each thread opened its own database connection

    with ThreadPoolExecutor(max_workers=49) as pool:
        statuses = [200] + list(pool.map(one_request, range(49)))
    assert statuses.count(200) == 30
    assert statuses.count(429) == 20


def test_it_makes_one_redis_round_trip_per_counted_request(settings, own_redis, tenant_a):
    use_ratelimit_redis(settings, own_redis.url)
    principal = Principal(subject="s", tenant=tenant_a, roles=frozenset(), tier="pro", method="api_key")
    rate_limit_hit(principal=principal)  # loads the script, creates the key
    own_redis.client.config_resetstat()
    for _ in range(100):
        rate_limit_hit(principal=principal)
    client_commands = {
        name.removeprefix("cmdstat_"): stats["calls"]
        for name, stats in own_redis.client.info("commandstats").items()
        if name not in {"cmdstat_info", "cmdstat_config|resetstat", "cmdstat_incr", "cmdstat_expire"}
    }
    # Each request is one EVALSHA; INCR runs inside it (and is counted by Redis separately).
    assert client_commands == {"evalsha": 100}
    assert own_redis.calls("incr") == 100


def test_it_fails_open_when_redis_stops(settings, own_redis, tenant_a, caplog):
    use_ratelimit_redis(settings, own_redis.url)
    settings.RATELIMIT_TIER_OVERRIDES = {"pro": 3}
    client = client_with_key(tenant_a, Role.VIEWER)
    assert [client.get("/api/v1/me").status_code for _ in range(3)] == [200, 200, 200]
    assert client.get("/api/v1/me").status_code == 429

    own_redis.stop()
    fail_open_before = sample("aos_rate_limit_fail_open_total")
    with caplog.at_level(logging.WARNING, logger="accounts.ratelimit"):
        from accounts import ratelimit

        ratelimit._fail_open_warning.reset()  # another test may have warned within the minute
        responses = [client.get("/api/v1/me") for _ in range(5)]
    assert [r.status_code for r in responses] == [200] * 5
    assert sample("aos_rate_limit_fail_open_total") == fail_open_before + 5
    # The quota is unknown: the limit and policy are sent, remaining/reset are not.
    assert responses[-1]["X-RateLimit-Limit"] == "3"
    assert responses[-1]["RateLimit-Policy"] == "3;w=60"
    assert "X-RateLimit-Remaining" not in responses[-1]
    warnings = [r for r in caplog.records if "fail-open" in r.getMessage()]
    assert len(warnings) == 1  # at most once a minute, not once per request


def test_it_fails_open_when_redis_is_not_listening_at_all(settings, tenant_a):
    use_ratelimit_redis(settings, f"redis://127.0.0.1:{free_port()}/0", STOCK)
    settings.RATELIMIT_TIER_OVERRIDES = {"pro": 1}
    client = client_with_key(tenant_a, Role.VIEWER)
    before = sample("aos_rate_limit_fail_open_total")
    assert [client.get("/api/v1/me").status_code for _ in range(3)] == [200, 200, 200]
    assert sample("aos_rate_limit_fail_open_total") == before + 3


def test_it_keeps_stock_cache_behaviour_for_other_values(settings, own_redis):
    use_ratelimit_redis(settings, own_redis.url)
    from django.core.cache import caches

    cache = caches["ratelimit"]
    assert cache.add("plain", "text", 30) is True
    assert cache.add("plain", "other", 30) is False
    assert cache.get("plain") == "text"
    cache.set("n", 5, 30)
    assert cache.incr("n") == 6  # no pending count from add: a real INCR
    assert cache.add("counter", 1, 30) is True
    assert cache.add("counter", 1, 30) is False
    assert cache.incr("counter") == 2  # the count the script produced, not a second INCR
    assert cache.get("counter") == 2
    assert own_redis.client.ttl(cache.make_key("counter")) == 30
    assert cache.add("forever", 1, None) is True  # no expiry: the stock SET NX path
    assert own_redis.client.ttl(cache.make_key("forever")) == -1


@pytest.mark.parametrize("backend", [FUSED, STOCK])
def test_it_fails_closed_only_when_configured_to(backend, settings, tenant_a):
    use_ratelimit_redis(settings, f"redis://127.0.0.1:{free_port()}/0", backend)
    settings.RATELIMIT_FAIL_OPEN = False
    client = client_with_key(tenant_a, Role.VIEWER)
    before = sample("aos_rate_limit_blocked_total", tier="pro")
    response = client.get("/api/v1/me")
    assert response.status_code == 429
    assert response.json()["retry_after"] == 1
    assert response["Retry-After"] == "1"
    assert sample("aos_rate_limit_blocked_total", tier="pro") == before + 1
