"""Per-tenant rate limits by tier (PRODUCT.md §8), on django-ratelimit over the cache.

One bucket per tenant (django-ratelimit group `aos-api`, key = tenant slug), fixed 60 s
windows as django-ratelimit draws them (aligned to the epoch, shifted by a per-key jitter so
tenants do not all reset in the same second). The principal's tier (JWT `rate_limit_tier` claim
or the tenant's tier, see `accounts.principal.effective_tier`) decides the limit. The DRF throttle
runs after authentication, so the principal is known; `accounts.ratelimit_middleware` writes the
headers. Redis unreachable → the request is allowed (fail-open) and counted in a metric.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django_ratelimit.core import get_usage
from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import RedisError
from rest_framework.throttling import BaseThrottle

from accounts.principal import Principal
from aosproject import metrics
from aosproject.errors import ApiError
from aosproject.log_throttle import LogThrottle

logger = logging.getLogger(__name__)

# Requests per fixed 60 s window; None = unlimited.
TIER_LIMITS: dict[str, int | None] = {"free": 60, "dev": 300, "pro": 1200, "enterprise": 6000, "unlimited": None}
WINDOW_SECONDS = 60
GROUP = "aos-api"
# django-ratelimit writes the rate into the cache key. One nominal rate for every tier keeps
# one bucket per tenant even when a JWT claims another tier than the tenant's API keys have;
# the tier's limit is applied to the count it returns.
_BUCKET_RATE = (1, WINDOW_SECONDS)
_CACHE_ERRORS = (ConnectionInterrupted, RedisError, OSError)
_fail_open_warning = LogThrottle()  # one warning a minute per process while the cache is down


@dataclass(frozen=True)
class RateLimitState:
    """One request's view of its tenant's bucket; `remaining is None` = not known (fail-open)."""

    tier: str
    limit: int | None
    remaining: int | None = None
    retry_after: int | None = None  # seconds until the next window starts
    reset_at: int | None = None  # epoch seconds at which the next window starts
    allowed: bool = True

    def headers(self) -> dict[str, str]:
        """`X-RateLimit-*` and the IETF `RateLimit-Policy` / `RateLimit` fields."""
        if self.limit is None:
            return {}  # unlimited: no quota to describe (docs/decisions/0006)
        headers = {"X-RateLimit-Limit": str(self.limit), "RateLimit-Policy": f"{self.limit};w={WINDOW_SECONDS}"}
        if self.remaining is not None and self.retry_after is not None and self.reset_at is not None:
            headers["X-RateLimit-Remaining"] = str(self.remaining)
            headers["X-RateLimit-Reset"] = str(self.reset_at)
            headers["RateLimit"] = f"limit={self.limit}, remaining={self.remaining}, reset={self.retry_after}"
        if not self.allowed and self.retry_after is not None:
            headers["Retry-After"] = str(self.retry_after)
        return headers


def tier_limit(tier: str) -> int | None:
    """Requests per window for a tier (settings.RATELIMIT_TIER_OVERRIDES first)."""
    overrides: dict[str, int] = getattr(settings, "RATELIMIT_TIER_OVERRIDES", {}) or {}
    if tier in overrides:
        return overrides[tier]
    return TIER_LIMITS.get(tier, TIER_LIMITS["free"])


def export_tier_limits() -> None:
    """Publishes `aos_rate_limit_tier_limit{tier}` (unlimited as +Inf)."""
    for tier in TIER_LIMITS:
        limit = tier_limit(tier)
        metrics.RATE_LIMIT_TIER_LIMIT.labels(tier=tier).set(math.inf if limit is None else limit)


def _warn_fail_open(exc: BaseException | None) -> None:
    if not _fail_open_warning.ready():
        return
    outcome = "allowing requests (fail-open)" if settings.RATELIMIT_FAIL_OPEN else "refusing requests (fail-closed)"
    logger.warning("Rate-limit cache unreachable, %s: %s", outcome, exc or "no count returned")


# What django-ratelimit's get_usage answers when its cache gave no count and RATELIMIT_FAIL_OPEN is off.
_NO_COUNT_FAIL_CLOSED = {"count": 0, "limit": 0, "should_limit": True, "time_left": -1}


def _usage(*, principal: Principal, increment: bool, request: Any = None) -> dict[str, Any] | None:
    """django-ratelimit's usage of the tenant's bucket; None when its cache gave no count.

    get_usage reads the clock twice: for the window the count goes to, then for `time_left`. A
    request counted in the last second of its window, with the clock ticking into the next second
    in between, gets `time_left` -1, which is also the value of its no-count answer: that request
    was counted, so it is a count (`_state` makes it retry in 1 s), and only the exact no-count
    answer is None.
    """
    usage = get_usage(
        request,
        group=GROUP,
        key=lambda _group, _request: principal.tenant.slug,
        rate=_BUCKET_RATE,
        increment=increment,
    )
    return None if usage == _NO_COUNT_FAIL_CLOSED else usage


def _state(*, tier: str, limit: int, count: int, time_left: int) -> RateLimitState:
    # django-ratelimit's window value is the last second inside the window.
    retry_after = max(1, time_left + 1)
    return RateLimitState(
        tier=tier,
        limit=limit,
        remaining=max(0, limit - count),
        retry_after=retry_after,
        reset_at=int(time.time()) + retry_after,
        allowed=count <= limit,
    )


def rate_limit_hit(*, principal: Principal, request: Any = None) -> RateLimitState | None:
    """Counts one request against the tenant's bucket; None when rate limiting is switched off."""
    if not settings.RATELIMIT_ENABLE:
        return None
    tier = principal.tier
    limit = tier_limit(tier)
    if limit is None:
        metrics.RATE_LIMIT_ALLOWED.labels(tier=tier).inc()
        return RateLimitState(tier=tier, limit=None)
    error: BaseException | None = None
    try:
        usage = _usage(principal=principal, increment=True, request=request)
    except _CACHE_ERRORS as exc:
        usage, error = None, exc
    # None: raised, or no count (django-ratelimit's RATELIMIT_FAIL_OPEN or fail-closed answer).
    if usage is None:
        _warn_fail_open(error)
        if not settings.RATELIMIT_FAIL_OPEN:  # an operator who prefers refusing to not counting
            metrics.RATE_LIMIT_BLOCKED.labels(tier=tier).inc()
            return RateLimitState(tier=tier, limit=limit, allowed=False, retry_after=1)
        metrics.RATE_LIMIT_FAIL_OPEN.inc()
        metrics.RATE_LIMIT_ALLOWED.labels(tier=tier).inc()
        return RateLimitState(tier=tier, limit=limit)
    state = _state(tier=tier, limit=limit, count=int(usage["count"]), time_left=int(usage["time_left"]))
    (metrics.RATE_LIMIT_ALLOWED if state.allowed else metrics.RATE_LIMIT_BLOCKED).labels(tier=tier).inc()
    return state


def rate_limit_peek(*, principal: Principal) -> RateLimitState | None:
    """The tenant's bucket as it stands, without counting a request."""
    if not settings.RATELIMIT_ENABLE:
        return None
    limit = tier_limit(principal.tier)
    if limit is None:
        return RateLimitState(tier=principal.tier, limit=None)
    try:
        usage = _usage(principal=principal, increment=False)
    except _CACHE_ERRORS as exc:
        usage = None
        _warn_fail_open(exc)
    if usage is None:
        return RateLimitState(tier=principal.tier, limit=limit)
    return _state(tier=principal.tier, limit=limit, count=int(usage["count"]), time_left=int(usage["time_left"]))


def peek_usage(principal, state: RateLimitState | None = None) -> dict[str, Any]:
    """The principal's tier, limit and remaining quota in the current window (no counting).

    `state` is this request's already-counted bucket (from the throttle), which saves a Redis read.
    """
    if state is None:
        state = rate_limit_peek(principal=principal)
    limit = tier_limit(principal.tier)
    if state is None:
        return {"tier": principal.tier, "limit": limit, "remaining": None, "reset": None}
    return {"tier": state.tier, "limit": state.limit, "remaining": state.remaining, "reset": state.reset_at}


class RateLimitExceeded(ApiError):
    def __init__(self, state: RateLimitState) -> None:
        super().__init__(
            "rate_limit_exceeded",
            f"Rate limit of {state.limit} requests per {WINDOW_SECONDS} s for tier '{state.tier}' exceeded; "
            f"retry in {state.retry_after} s.",
            429,
            tier=state.tier,
            limit=state.limit,
            retry_after=state.retry_after,
        )


class TenantRateThrottle(BaseThrottle):
    """DRF throttle (runs after authentication): one bucket per tenant, limit by tier."""

    def allow_request(self, request, view) -> bool:
        principal = request.auth
        if not isinstance(principal, Principal):
            return True  # unauthenticated requests are refused by the permission check
        state = rate_limit_hit(principal=principal, request=request)
        if state is None:
            return True
        request._request.aos_rate_limit = state  # read by RateLimitHeadersMiddleware
        if not state.allowed:
            raise RateLimitExceeded(state)
        return True

    def wait(self) -> float | None:
        return None
