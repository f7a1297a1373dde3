"""API-key principals cached per process (accounts/principal_cache.py, docs/decisions/0040).

A warm key costs no SQL; a saved change (revocation, role, tier) takes effect at once in this process
and within the poll interval in others (through the version in Redis); a change no signal sees
(a queryset `update()`) within AOS_PRINCIPAL_CACHE_SECONDS.
"""

from __future__ import annotations

import time

import pytest
import redis
import requests
from django.conf import settings as django_settings
from django.utils import timezone

from accounts import principal_cache
from accounts.models import ApiKey, Role, Tier
from tests.conftest import client_with_key
from tests.procs import GUNICORN_BIN, child_env, free_port, running, wait_for

PLAN = [
    {"skill": "json_transform", "params": {"payload": {"price": 1}, "mapping": {"p": "price"}}},
    {"skill": "json_transform", "params": {"payload": "{{ steps[0].output }}", "query": "p"}},
]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    fake = Clock()
    monkeypatch.setattr(principal_cache, "_clock", fake)
    return fake


def warm(client) -> None:
    """Two requests: the first loads the key (and writes last_used_at), the second finds it cached."""
    assert client.get("/api/v1/me").status_code == 200
    assert client.get("/api/v1/me").status_code == 200


def test_it_answers_a_warm_key_without_sql(tenant_a, django_assert_num_queries):
    client = client_with_key(tenant_a, Role.DEVELOPER)
    with django_assert_num_queries(2):  # the key with its tenant, then last_used_at (never used before)
        assert client.get("/api/v1/me").status_code == 200
    with django_assert_num_queries(0):
        assert client.get("/api/v1/me").status_code == 200
    with django_assert_num_queries(0):
        response = client.post("/api/v1/runtime/simulate", {"plan": PLAN}, format="json")
    assert response.status_code == 200, response.content


def test_it_loads_a_recently_used_key_with_one_query(tenant_a, django_assert_num_queries):
    client = client_with_key(tenant_a, Role.DEVELOPER)
    warm(client)
    principal_cache.reset()  # another process, or this one after the cache expired
    with django_assert_num_queries(1):  # the key with its tenant; last_used_at is less than a minute old
        assert client.get("/api/v1/me").status_code == 200


def test_it_refuses_a_revoked_key_on_the_next_request(tenant_a):
    client = client_with_key(tenant_a, Role.DEVELOPER)
    warm(client)
    ApiKey.objects.get(tenant=tenant_a).revoke()
    assert client.get("/api/v1/me").status_code == 401


def test_it_answers_a_changed_role_and_tier_on_the_next_request(tenant_a):
    client = client_with_key(tenant_a, Role.VIEWER)
    warm(client)
    assert client.post("/api/v1/runtime/simulate", {"plan": PLAN}, format="json").status_code == 403
    key = ApiKey.objects.get(tenant=tenant_a)
    key.role = Role.DEVELOPER
    key.save()
    tenant_a.tier = Tier.FREE
    tenant_a.save()
    assert client.post("/api/v1/runtime/simulate", {"plan": PLAN}, format="json").status_code == 200
    assert client.get("/api/v1/me").json()["tier"] == "free"


def test_it_keeps_a_change_no_signal_saw_at_most_the_cache_seconds(settings, clock, tenant_a):
    settings.AOS_PRINCIPAL_CACHE_SECONDS = 5
    client = client_with_key(tenant_a, Role.DEVELOPER)
    warm(client)
    ApiKey.objects.filter(tenant=tenant_a).update(revoked_at=timezone.now())  # no post_save
    clock.now += 4.9
    assert client.get("/api/v1/me").status_code == 200  # still within the bound
    clock.now += 0.2
    assert client.get("/api/v1/me").status_code == 401


def test_it_reloads_when_the_version_changed_elsewhere(settings, clock, tenant_a):
    """Another process saved a change: it replaced the version; this one sees it at its next poll."""
    settings.AOS_PRINCIPAL_CACHE_SECONDS = 60
    settings.AOS_PRINCIPAL_VERSION_POLL_SECONDS = 1
    client = client_with_key(tenant_a, Role.DEVELOPER)
    warm(client)
    ApiKey.objects.filter(tenant=tenant_a).update(revoked_at=timezone.now())  # made "elsewhere": no signal
    other_process_token = "v-from-another-process"
    redis_client = principal_cache._raw_redis()
    if redis_client is not None:
        redis_client.set(principal_cache.version_key(), other_process_token)
    else:
        from django.core.cache import cache

        cache.set(principal_cache.VERSION_KEY, other_process_token, None)
    clock.now += 0.5
    assert client.get("/api/v1/me").status_code == 200  # not polled yet
    clock.now += 0.6
    assert client.get("/api/v1/me").status_code == 401


def test_it_caches_the_tenant_a_bearer_token_names(tenant_a, django_assert_num_queries):
    assert principal_cache.tenant_by_slug("tenant-a") == tenant_a
    with django_assert_num_queries(0):
        assert principal_cache.tenant_by_slug("tenant-a") == tenant_a
    tenant_a.tier = Tier.DEV
    tenant_a.save()
    assert principal_cache.tenant_by_slug("tenant-a").tier == Tier.DEV
    assert principal_cache.tenant_by_slug("no-such-tenant") is None


def test_it_caches_nothing_with_zero_cache_seconds(settings, tenant_a, django_assert_num_queries):
    settings.AOS_PRINCIPAL_CACHE_SECONDS = 0
    client = client_with_key(tenant_a, Role.DEVELOPER)
    warm(client)
    with django_assert_num_queries(1):
        assert client.get("/api/v1/me").status_code == 200


class CountingRedis:
    """Counts redis-py commands (each is one round trip: no pipelines on this path)."""

    def __init__(self, monkeypatch) -> None:
        self.commands: list[str] = []
        original = redis.Redis.execute_command

        def counting(client, *args, **options):
            self.commands.append(str(args[0]).upper())
            return original(client, *args, **options)

        monkeypatch.setattr(redis.Redis, "execute_command", counting)


needs_redis = pytest.mark.skipif(not django_settings.REDIS_URL, reason="needs Redis (REDIS_URL)")


@pytest.mark.redis
@needs_redis
@pytest.mark.parametrize("tier", [Tier.PRO, Tier.UNLIMITED])
def test_it_makes_at_most_one_redis_round_trip_per_request(tier, settings, clock, monkeypatch, tenant_a):
    settings.AOS_PRINCIPAL_VERSION_POLL_SECONDS = 1
    tenant_a.tier = tier
    tenant_a.save()
    client = client_with_key(tenant_a, Role.DEVELOPER)
    warm(client)
    counted = CountingRedis(monkeypatch)
    per_request = []
    for _ in range(20):
        clock.now += 0.25  # 20 requests over 5 s: the version is due 4-5 times
        before = len(counted.commands)
        assert client.post("/api/v1/runtime/simulate", {"plan": PLAN}, format="json").status_code == 200
        per_request.append(len(counted.commands) - before)
    if tier == Tier.PRO:
        # The rate limiter's one script counts the request and returns the version with the count.
        assert per_request == [1] * 20
        assert set(counted.commands) == {"EVALSHA"}
    else:
        # Unlimited: nothing to count; the version is read once a second, alone.
        assert set(per_request) == {0, 1}
        assert 4 <= sum(per_request) <= 6
        assert set(counted.commands) == {"GET"}


@pytest.fixture
def two_workers(tmp_path, transactional_db):
    """A real gunicorn (deploy/gunicorn.conf.py), two worker processes, on this test's database."""

    def start(**env: str):
        port = free_port()
        args = [GUNICORN_BIN, "-c", "deploy/gunicorn.conf.py", "aosproject.wsgi", "--bind", f"127.0.0.1:{port}"]
        args += ["--workers", "2", "--threads", "2"]
        return running(args, log_path=tmp_path / "gunicorn.log", env=child_env(**env), url=f"http://127.0.0.1:{port}")

    return start


def until(predicate, *, within: float) -> float:
    """Seconds until `predicate()` held, failing past `within`."""
    started = time.monotonic()
    wait_for(predicate, timeout=within, what="the change to take effect")
    return time.monotonic() - started


def test_it_takes_a_saved_change_to_every_process(two_workers, tenant_a):
    """With Redis the version reaches the other processes within the poll (the cache would keep
    entries 60 s); in the embedded default each process only has its own version, so the bound there
    is AOS_PRINCIPAL_CACHE_SECONDS (set to 2 s)."""
    bound = {"AOS_PRINCIPAL_CACHE_SECONDS": "60" if django_settings.REDIS_URL else "2"}
    with two_workers(AOS_PRINCIPAL_VERSION_POLL_SECONDS="0.2", **bound) as web:
        wait_for(lambda: requests.get(f"{web.url}/health", timeout=2).ok, timeout=30, what="gunicorn", log=web.log_path)
        client = client_with_key(tenant_a, Role.DEVELOPER)
        headers = {"Authorization": f"Bearer {client.raw_key}"}

        def me() -> requests.Response:
            return requests.get(f"{web.url}/api/v1/me", headers=headers, timeout=5)

        assert all(me().json()["tier"] == "pro" for _ in range(20))  # both workers hold the key now
        tenant_a.tier = Tier.FREE
        tenant_a.save()
        until(lambda: all(me().json()["tier"] == "free" for _ in range(10)), within=8)

        ApiKey.objects.get(tenant=tenant_a).revoke()
        until(lambda: all(me().status_code == 401 for _ in range(10)), within=8)


def test_it_refuses_keys_revoked_by_the_admin_action(admin_client, tenant_a):
    client = client_with_key(tenant_a, Role.DEVELOPER)
    warm(client)
    key = ApiKey.objects.get(tenant=tenant_a)
    response = admin_client.post("/admin/accounts/apikey/", {"action": "revoke_selected", "_selected_action": [key.pk]})
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.revoked
    assert client.get("/api/v1/me").status_code == 401  # a queryset update(): invalidated explicitly
