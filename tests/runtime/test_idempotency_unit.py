"""`@idempotent` on a counting endpoint: replay, 422, released failures, TTL, tenant scope."""

import logging

import pytest
import time_machine
from django.core.cache import cache
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from aosproject import idempotency
from aosproject.idempotency import _cache_key, _Claim, _db_claim, _request_hash
from aosproject.models import IdempotencyRecord
from tests.runtime import idem_urls

pytestmark = pytest.mark.urls("tests.runtime.idem_urls")


@pytest.fixture(autouse=True)
def _reset():
    idem_urls.EXECUTIONS.clear()


def post(client, body, key="k-1"):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return client.post("/idem", body, format="json", **headers)


def test_it_replays_the_stored_response_for_the_same_key_and_payload(api_a):
    first = post(api_a, {"x": 1})
    second = post(api_a, {"x": 1})
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert len(idem_urls.EXECUTIONS) == 1


def test_it_refuses_a_reused_key_with_a_different_payload(api_a):
    post(api_a, {"x": 1})
    response = post(api_a, {"x": 2})
    assert response.status_code == 422
    assert response.json()["error"] == "idempotency_key_reused"
    assert len(idem_urls.EXECUTIONS) == 1


def test_it_executes_every_request_without_the_header(api_a):
    post(api_a, {"x": 1}, key=None)
    post(api_a, {"x": 1}, key=None)
    assert len(idem_urls.EXECUTIONS) == 2
    assert not IdempotencyRecord.objects.exists()


def test_it_scopes_keys_to_the_tenant(api_a, api_b):
    post(api_a, {"x": 1})
    response = post(api_b, {"x": 1})
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response
    assert len(idem_urls.EXECUTIONS) == 2


def test_it_answers_409_while_the_first_request_is_in_flight(api_a, tenant_a):
    # Hold the claim the way a first, still-running request would (same request hash).
    raw = APIRequestFactory().post("/idem", {"x": 1}, format="json")
    request_hash = _request_hash(Request(raw, parsers=[JSONParser()]))
    claim = _Claim(_cache_key(tenant_a.pk, "k-1"), request_hash)
    assert claim.try_acquire() is None
    owned, _ = _db_claim(tenant=tenant_a, key="k-1", request_hash=request_hash, method="POST", path="/idem")
    assert owned
    response = post(api_a, {"x": 1})
    assert response.status_code == 409
    assert response.json()["error"] == "idempotency_in_progress"
    assert idem_urls.EXECUTIONS == []


def test_it_releases_the_key_after_a_failed_first_attempt(api_a, client):
    api_a.raise_request_exception = True
    with pytest.raises(RuntimeError):
        post(api_a, {"fail": "boom"})
    assert not IdempotencyRecord.objects.exists()
    bad = post(api_a, {"fail": "400"})
    assert bad.status_code == 400
    assert not IdempotencyRecord.objects.exists()
    ok = post(api_a, {"x": 1})
    assert ok.status_code == 201
    assert len(idem_urls.EXECUTIONS) == 3


def test_it_forgets_keys_after_the_retention_period(api_a, settings):
    with time_machine.travel("2026-01-01T00:00:00Z", tick=False):
        post(api_a, {"x": 1})
    with time_machine.travel("2026-01-01T23:59:00Z", tick=False):
        assert post(api_a, {"x": 1})["Idempotent-Replayed"] == "true"
    cache.clear()  # the cache entry would have expired by itself; the DB row's expiry is what we test
    with time_machine.travel("2026-01-02T00:00:01Z", tick=False):
        again = post(api_a, {"x": 2})
    assert again.status_code == 201
    assert "Idempotent-Replayed" not in again
    assert len(idem_urls.EXECUTIONS) == 2
    assert IdempotencyRecord.objects.count() == 1


def test_it_refuses_an_overlong_key(api_a):
    response = post(api_a, {"x": 1}, key="k" * 300)
    assert response.status_code == 400
    assert response.json()["error"] == "validation_error"


def test_it_falls_back_to_the_database_when_redis_is_down(api_a, settings, caplog):
    # A port nothing listens on: every Redis call fails fast; the unique row still decides.
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
        }
    }
    settings.RATELIMIT_ENABLE = False
    idempotency._degraded_warning.reset()  # another test may have warned within the minute
    with caplog.at_level(logging.WARNING, logger="runtime.idempotency"):
        first = post(api_a, {"x": 1})
        second = post(api_a, {"x": 1})
        reused = post(api_a, {"x": 2})
    assert first.status_code == 201
    assert second["Idempotent-Replayed"] == "true"
    assert reused.status_code == 422
    assert len(idem_urls.EXECUTIONS) == 1
    # One degraded-mode warning for the outage, not one (or more) per request.
    assert len([r for r in caplog.records if "idempotency cache unavailable" in r.getMessage()]) == 1


def test_it_purges_expired_records(api_a):
    from runtime.tasks import idempotency_purge_task

    with time_machine.travel("2026-01-01T00:00:00Z", tick=False):
        post(api_a, {"x": 1}, key="old")
    post(api_a, {"x": 1}, key="fresh")
    assert idempotency_purge_task() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["fresh"]
