"""Per-tenant rate limits by tier (PRODUCT.md §8) through GET /api/v1/me, time frozen with time-machine."""

from __future__ import annotations

import logging
import zlib
from datetime import UTC, datetime

import pytest
import time_machine
from prometheus_client import REGISTRY
from rest_framework.test import APIClient

from accounts.models import Role
from accounts.principal import Principal
from accounts.ratelimit import TIER_LIMITS, peek_usage, rate_limit_hit
from tests.conftest import client_with_key

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 2, 9, 30, 7, tzinfo=UTC)


def window_end(slug: str, now: int) -> int:
    """First second of the next window, drawn independently of the code under test (epoch-aligned
    60 s windows shifted by crc32(key) % 60, as django-ratelimit documents)."""
    last = now - now % 60 + zlib.crc32(slug.encode()) % 60
    if last < now:
        last += 60
    return last + 1


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def me_with_token(token: str):
    response = APIClient().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200
    return response


def assert_quota_headers(response, *, limit: int, remaining: int, reset_at: int, now: int) -> None:
    assert response["X-RateLimit-Limit"] == str(limit)
    assert response["X-RateLimit-Remaining"] == str(remaining)
    assert response["X-RateLimit-Reset"] == str(reset_at)
    assert response["RateLimit-Policy"] == f"{limit};w=60"
    assert response["RateLimit"] == f"limit={limit}, remaining={remaining}, reset={reset_at - now}"


@pytest.mark.parametrize("tier", ["free", "dev", "pro", "enterprise"])
def test_it_refuses_the_request_after_the_tier_limit_until_the_next_window(tier, tenant_a):
    tenant_a.tier = tier
    tenant_a.save()
    limit = TIER_LIMITS[tier]
    client = client_with_key(tenant_a, Role.VIEWER)
    blocked_before = sample("aos_rate_limit_blocked_total", tier=tier)
    with time_machine.travel(START, tick=False) as traveller:
        now = int(START.timestamp())
        reset_at = window_end(tenant_a.slug, now)
        # The bulk of the window through the throttle's own counting call (same bucket, no HTTP
        # overhead: 6000 requests through the test client would take ~10 s), the rest over HTTP.
        principal = Principal(subject="bulk", tenant=tenant_a, roles=frozenset(), tier=tier, method="api_key")
        assert all(rate_limit_hit(principal=principal).allowed for _ in range(limit - 10))
        for _ in range(9):
            assert client.get("/api/v1/me").status_code == 200
        last = client.get("/api/v1/me")
        assert last.status_code == 200
        assert_quota_headers(last, limit=limit, remaining=0, reset_at=reset_at, now=now)

        refused = client.get("/api/v1/me")
        assert refused.status_code == 429
        assert refused.json() == {
            "error": "rate_limit_exceeded",
            "message": refused.json()["message"],
            "tier": tier,
            "limit": limit,
            "retry_after": reset_at - now,
        }
        assert str(limit) in refused.json()["message"]
        assert refused["Retry-After"] == str(reset_at - now)
        assert_quota_headers(refused, limit=limit, remaining=0, reset_at=reset_at, now=now)
        assert sample("aos_rate_limit_blocked_total", tier=tier) == blocked_before + 1

        traveller.move_to(datetime.fromtimestamp(reset_at - 1, UTC))  # last second of the window
        assert client.get("/api/v1/me").status_code == 429

        traveller.move_to(datetime.fromtimestamp(reset_at, UTC))  # the next window
        again = client.get("/api/v1/me")
        assert again.status_code == 200
        assert_quota_headers(again, limit=limit, remaining=limit - 1, reset_at=reset_at + 60, now=reset_at)


def test_it_keeps_one_bucket_per_tenant(settings, tenant_a, tenant_b):
    settings.RATELIMIT_TIER_OVERRIDES = {"pro": 3}
    client_a, client_b = client_with_key(tenant_a, Role.VIEWER), client_with_key(tenant_b, Role.VIEWER)
    other_key_a = client_with_key(tenant_a, Role.OPERATOR)
    with time_machine.travel(START, tick=False):
        assert [client_a.get("/api/v1/me").status_code for _ in range(3)] == [200, 200, 200]
        assert other_key_a.get("/api/v1/me").status_code == 429  # same tenant, another key
        response_b = client_b.get("/api/v1/me")
        assert response_b.status_code == 200
        assert response_b["X-RateLimit-Remaining"] == "2"


def test_it_shares_the_bucket_between_api_keys_and_jwts_of_a_tenant(settings, idp, tenant_a):
    settings.RATELIMIT_TIER_OVERRIDES = {"pro": 4, "enterprise": 6}
    client = client_with_key(tenant_a, Role.VIEWER)
    with time_machine.travel(START, tick=False):
        token = idp.token(tenant_id="tenant-a", roles=["viewer"])
        claimed = idp.token(tenant_id="tenant-a", roles=["viewer"], rate_limit_tier="enterprise")
        by_jwt, by_claim = APIClient(), APIClient()
        by_jwt.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        by_claim.credentials(HTTP_AUTHORIZATION=f"Bearer {claimed}")
        assert client.get("/api/v1/me").status_code == 200
        assert by_jwt.get("/api/v1/me").json()["method"] == "jwt"
        shared = by_jwt.get("/api/v1/me")
        assert shared["X-RateLimit-Remaining"] == "1"  # 3 of 4 used, by both credentials
        # A token claiming another tier counts in the same bucket, against its own limit.
        bigger = by_claim.get("/api/v1/me")
        assert (bigger.status_code, bigger["X-RateLimit-Limit"], bigger["X-RateLimit-Remaining"]) == (200, "6", "2")
        assert client.get("/api/v1/me").status_code == 429
        assert by_jwt.get("/api/v1/me").status_code == 429


def test_it_takes_the_tier_from_a_valid_rate_limit_tier_claim_only(idp, tenant_a):
    free = idp.token(tenant_id="tenant-a", roles=["viewer"], rate_limit_tier="free")
    bogus = idp.token(tenant_id="tenant-a", roles=["viewer"], rate_limit_tier="platinum")
    assert me_with_token(free)["X-RateLimit-Limit"] == "60"
    assert me_with_token(bogus)["X-RateLimit-Limit"] == "1200"  # the tenant's tier (pro)


def test_it_never_limits_the_unlimited_tier_and_sends_no_quota_headers(settings, tenant_a):
    settings.RATELIMIT_TIER_OVERRIDES = {"pro": 2}  # proves the unlimited path ignores other limits
    tenant_a.tier = "unlimited"
    tenant_a.save()
    client = client_with_key(tenant_a, Role.VIEWER)
    allowed_before = sample("aos_rate_limit_allowed_total", tier="unlimited")
    with time_machine.travel(START, tick=False):
        responses = [client.get("/api/v1/me") for _ in range(25)]
    assert {r.status_code for r in responses} == {200}
    assert not any(name in responses[-1] for name in ("X-RateLimit-Limit", "RateLimit", "RateLimit-Policy"))
    assert sample("aos_rate_limit_allowed_total", tier="unlimited") == allowed_before + 25


def test_it_puts_the_headers_on_errors_raised_after_authentication(api_a):
    response = api_a.post("/api/v1/me", {}, format="json")  # 405 from the view, after throttling
    assert response.status_code == 405
    assert response["X-RateLimit-Limit"] == "1200"
    assert response["X-RateLimit-Remaining"] == "1199"


def test_it_sends_no_headers_without_a_principal(db):
    response = APIClient().get("/api/v1/me", HTTP_AUTHORIZATION="Bearer aos_not-a-key")
    assert response.status_code == 401
    assert "X-RateLimit-Limit" not in response


def test_it_counts_allowed_requests_by_tier(api_a):
    before = sample("aos_rate_limit_allowed_total", tier="pro")
    for _ in range(3):
        api_a.get("/api/v1/me")
    assert sample("aos_rate_limit_allowed_total", tier="pro") == before + 3


def test_it_exports_the_limit_of_every_tier(client):
    client.get("/health")  # the middleware chain (and its start-up export) is built
    for tier, limit in TIER_LIMITS.items():
        expected = float("inf") if limit is None else float(limit)
        assert REGISTRY.get_sample_value("aos_rate_limit_tier_limit", {"tier": tier}) == expected


def test_it_peeks_at_the_quota_without_counting(tenant_a, api_a):
    principal = Principal(subject="s", tenant=tenant_a, roles=frozenset({"viewer"}), tier="pro", method="api_key")
    with time_machine.travel(START, tick=False):
        assert peek_usage(principal)["remaining"] == 1200
        for _ in range(3):
            api_a.get("/api/v1/me")
        first, second = peek_usage(principal), peek_usage(principal)
        assert (
            first
            == second
            == {
                "tier": "pro",
                "limit": 1200,
                "remaining": 1197,
                "reset": window_end(tenant_a.slug, int(START.timestamp())),
            }
        )
        assert api_a.get("/api/v1/me")["X-RateLimit-Remaining"] == "1196"


def test_it_reports_an_unlimited_quota_as_none(tenant_a):
    principal = Principal(subject="s", tenant=tenant_a, roles=frozenset(), tier="unlimited", method="jwt")
    assert peek_usage(principal) == {"tier": "unlimited", "limit": None, "remaining": None, "reset": None}


def test_it_does_nothing_when_rate_limiting_is_switched_off(settings, tenant_a):
    settings.RATELIMIT_ENABLE = False
    settings.RATELIMIT_TIER_OVERRIDES = {"pro": 1}
    client = client_with_key(tenant_a, Role.VIEWER)
    responses = [client.get("/api/v1/me") for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert "X-RateLimit-Limit" not in responses[-1]
    principal = Principal(subject="s", tenant=tenant_a, roles=frozenset(), tier="pro", method="jwt")
    assert rate_limit_hit(principal=principal) is None


def test_it_shows_the_real_quota_in_capabilities(api_a):
    with time_machine.travel(START, tick=False):
        api_a.get("/api/v1/me")
        body = api_a.get("/api/v1/runtime/capabilities").json()
        # Two requests counted (me, capabilities itself); the peek inside does not count.
        assert body["rate_limit"] == {
            "tier": "pro",
            "limit": 1200,
            "remaining": 1198,
            "reset": window_end("tenant-a", int(START.timestamp())),
        }


def test_it_puts_headers_on_a_permission_403_without_counting_it(api_a_viewer):
    with time_machine.travel(START, tick=False):
        api_a_viewer.get("/api/v1/me")
        refused = api_a_viewer.post("/api/v1/runtime/runs", {"plan": []}, format="json")
        assert refused.status_code == 403  # viewers may not run: refused before the throttle
        assert refused["X-RateLimit-Remaining"] == "1199"
        assert api_a_viewer.get("/api/v1/me")["X-RateLimit-Remaining"] == "1198"


def test_it_leaves_the_github_webhook_out_of_rate_limiting(settings, api_a):
    settings.RATELIMIT_TIER_OVERRIDES = {"pro": 1}
    settings.GITHUB_WEBHOOK_SECRET = "whsec"
    api_a.get("/api/v1/me")  # the tenant's bucket is now full
    responses = [api_a.post("/api/v1/integrations/github/webhook", {}, format="json") for _ in range(3)]
    assert [r.status_code for r in responses] == [401, 401, 401]  # its own signature check, never 429
    assert all("X-RateLimit-Limit" not in r for r in responses)
    assert api_a.get("/api/v1/me").status_code == 429


def test_it_parses_tier_overrides_and_reports_malformed_ones(monkeypatch):
    from aosproject import settings as settings_module

    monkeypatch.setattr(settings_module, "INVALID_ENV", [])
    monkeypatch.setenv("AOS_TEST_LIMITS", "free=120, pro=2000")
    assert settings_module.env_tier_limits("AOS_TEST_LIMITS") == {"free": 120, "pro": 2000}
    assert settings_module.INVALID_ENV == []
    monkeypatch.setenv("AOS_TEST_LIMITS", "free=lots,=5,dev=10")
    assert settings_module.env_tier_limits("AOS_TEST_LIMITS") == {"dev": 10}
    assert settings_module.INVALID_ENV == ["AOS_TEST_LIMITS"]  # reported once by system check aos.E005


def test_it_logs_a_refused_request_at_info_not_warning(settings, tenant_a, caplog):
    settings.RATELIMIT_TIER_OVERRIDES = {"pro": 1}
    client = client_with_key(tenant_a, Role.VIEWER)
    with caplog.at_level(logging.INFO, logger="django.request"):
        assert [client.get("/api/v1/me").status_code for _ in range(3)] == [200, 429, 429]
    refused = [r for r in caplog.records if r.name == "django.request" and "Too Many Requests" in r.getMessage()]
    assert [r.levelno for r in refused] == [logging.INFO, logging.INFO]


class _TickingClock:
    """django-ratelimit's clock for one test: each get_usage reads it twice (the window, then
    `time_left`); here the second reading is always one second later than the first."""

    def __init__(self, first: int) -> None:
        self.first, self.calls = first, 0

    def time(self) -> float:
        value = self.first + self.calls % 2
        self.calls += 1
        return float(value)


def test_it_counts_a_request_whose_window_ends_while_it_is_being_counted(settings, tenant_a, monkeypatch, caplog):
    """Seen under load: a request counted in the last second of its window, the clock ticking over before
    django-ratelimit computed `time_left` (-1), was taken for a cache without a count: let through over
    the limit (fail-open) with a "Rate-limit cache unreachable" warning."""
    import django_ratelimit.core

    settings.RATELIMIT_TIER_OVERRIDES = {"pro": 2}
    now = int(START.timestamp())
    last_second = window_end(tenant_a.slug, now) - 1
    monkeypatch.setattr(django_ratelimit.core, "time", _TickingClock(last_second))
    principal = Principal(subject="edge", tenant=tenant_a, roles=frozenset(), tier="pro", method="api_key")
    fail_open_before = sample("aos_rate_limit_fail_open_total")
    with caplog.at_level(logging.WARNING, logger="accounts.ratelimit"):
        states = [rate_limit_hit(principal=principal) for _ in range(3)]
    assert [s.allowed for s in states] == [True, True, False]
    assert [s.remaining for s in states] == [1, 0, 0]
    assert states[2].retry_after == 1  # the next window starts in the second that began meanwhile
    assert sample("aos_rate_limit_fail_open_total") == fail_open_before
    assert "unreachable" not in caplog.text
