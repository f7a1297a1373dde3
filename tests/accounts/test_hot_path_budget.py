"""Issue 15's budget per authenticated request: at most one SQL query and one Redis round trip,
no SQL when the credential is warm (decision 0040; the bounds on revocation are in
test_principal_cache.py). Counted for `GET /api/v1/me` and `POST simulate`, cold and warm.

Cold = a key this process has not cached (a key it has not seen, or whose entry expired) while it
serves others, so it knows the principal version. The key was used within the minute, so
`last_used_at` needs no write; a key's first use in a minute costs that one UPDATE more, and a
process's very first request reads the version alone first (decision 0040; both asserted at the end).
"""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from accounts import principal_cache
from accounts.models import ApiKey, Role, Tier
from tests.accounts.test_principal_cache import PLAN, CountingRedis
from tests.conftest import client_with_key

needs_redis = pytest.mark.skipif(not django_settings.REDIS_URL, reason="needs Redis (REDIS_URL)")

CALLS = {
    "me": lambda client: client.get("/api/v1/me"),
    "simulate": lambda client: client.post("/api/v1/runtime/simulate", {"plan": PLAN, "seed": 1}, format="json"),
}


@pytest.fixture
def clients(tenant_a):
    """(a key the process has seen, a key it has not), both used within the minute."""
    tenant_a.tier = Tier.PRO  # a counted tier: the rate limiter runs on every request
    tenant_a.save()
    seen, unseen = client_with_key(tenant_a, Role.DEVELOPER), client_with_key(tenant_a, Role.DEVELOPER)
    ApiKey.objects.filter(tenant=tenant_a).update(last_used_at=timezone.now())
    assert seen.get("/api/v1/me").status_code == 200
    return seen, unseen


def _client(clients, state: str):
    seen, unseen = clients
    return seen if state == "warm" else unseen


@pytest.mark.parametrize("endpoint", sorted(CALLS))
@pytest.mark.parametrize("state", ["cold", "warm"])
def test_it_spends_at_most_one_query_and_none_when_warm(clients, endpoint, state, django_assert_num_queries):
    client = _client(clients, state)
    with django_assert_num_queries(1 if state == "cold" else 0):  # cold: the key with its tenant
        response = CALLS[endpoint](client)
    assert response.status_code == 200, response.content


@pytest.mark.redis
@needs_redis
@pytest.mark.parametrize("endpoint", sorted(CALLS))
@pytest.mark.parametrize("state", ["cold", "warm"])
def test_it_makes_one_redis_round_trip(clients, endpoint, state, monkeypatch):
    client = _client(clients, state)
    counted = CountingRedis(monkeypatch)
    response = CALLS[endpoint](client)
    assert response.status_code == 200, response.content
    assert counted.commands == ["EVALSHA"]  # the rate limit count, with the principal version in it


@pytest.mark.redis
@needs_redis
def test_a_process_reads_the_version_alone_once_at_its_first_request(clients, monkeypatch):
    seen, _ = clients
    principal_cache.reset()  # a new process
    counted = CountingRedis(monkeypatch)
    assert CALLS["me"](seen).status_code == 200
    assert counted.commands == ["GET", "EVALSHA"]
    assert CALLS["simulate"](seen).status_code == 200
    assert counted.commands == ["GET", "EVALSHA", "EVALSHA"]


def test_a_keys_first_use_in_a_minute_adds_its_last_used_write(clients, tenant_a, django_assert_num_queries):
    _, unseen = clients
    ApiKey.objects.filter(tenant=tenant_a).update(last_used_at=None)
    with django_assert_num_queries(2):  # the key with its tenant, then last_used_at
        assert CALLS["me"](unseen).status_code == 200
    with django_assert_num_queries(0):
        assert CALLS["me"](unseen).status_code == 200
