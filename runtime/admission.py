"""Admission control (PRODUCT.md §14): at most `max_concurrent` runs in flight per tenant.

A run or replay holds a slot from admission until it finishes. Slots are members of a Redis
sorted set per tenant, scored by when they lapse (the run's deadline plus the reaper's grace),
so a slot whose worker died frees itself; the check-and-take is one Lua script, atomic across
every web and worker process. Without Redis (the embedded default, where tasks run inline in
the web process) the same structure lives in this process behind a lock. Redis down: admitted
(fail-open, like the rate limit), with a warning.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

from accounts.models import Tenant
from aosproject.errors import ApiError
from aosproject.log_throttle import LogThrottle
from aosproject.plurals import counted
from aosproject.redis_client import raw_redis
from runtime.policy import run_lease_seconds

logger = logging.getLogger(__name__)
# Redis down: one warning a minute, not two per run (as the rate limit and idempotency do).
_degraded_warning = LogThrottle()

# KEYS[1] the tenant's set; ARGV: now, limit, lapse-at, token, key ttl. 1 = admitted.
_ACQUIRE_LUA = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZSCORE', KEYS[1], ARGV[4]) == false and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return 0
end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
"""

_local_lock = threading.Lock()
_local: dict[int, dict[str, float]] = {}


@dataclass(frozen=True)
class Slot:
    tenant_id: int
    token: str


def concurrency_limit(tenant: Tenant) -> int:
    return tenant.max_concurrent if tenant.max_concurrent is not None else settings.AOS_MAX_CONCURRENT_RUNS


def _key(tenant_id: int) -> str:
    return cache.make_key(f"inflight:{tenant_id}")


def _local_take(tenant_id: int, token: str, limit: int | None, lapse_at: float, now: float) -> bool:
    with _local_lock:
        slots = {t: at for t, at in _local.get(tenant_id, {}).items() if at > now}
        if limit is not None and token not in slots and len(slots) >= limit:
            _local[tenant_id] = slots
            return False
        slots[token] = lapse_at
        _local[tenant_id] = slots
        return True


def _take(tenant_id: int, token: str, limit: int | None) -> bool:
    now = time.time()
    lapse_at = now + run_lease_seconds()
    try:
        client = raw_redis()
        if client is None:
            return _local_take(tenant_id, token, limit, lapse_at, now)
        ttl = run_lease_seconds() + 60
        top = limit if limit is not None else 2**31
        return bool(client.eval(_ACQUIRE_LUA, 1, _key(tenant_id), now, top, lapse_at, token, ttl))
    except Exception as exc:  # Redis down: admitted, as rate limits fail open
        if _degraded_warning.ready():
            logger.warning("admission control unavailable, admitting: %s", exc)
        return True


def admission_acquire(*, tenant: Tenant, token: str) -> Slot:
    """Takes a slot for `token` or raises 429 `concurrency_limit_exceeded`."""
    limit = concurrency_limit(tenant)
    if not _take(tenant.pk, token, limit):
        retry_after = settings.AOS_CONCURRENCY_RETRY_AFTER_SECONDS
        raise ApiError(
            "concurrency_limit_exceeded",
            f"Tenant {tenant.slug} already has {counted(limit, 'run')} in flight; retry when one finishes.",
            429,
            headers={"Retry-After": str(retry_after)},
            limit=limit,
            retry_after=retry_after,
        )
    return Slot(tenant.pk, token)


def admission_renew(*, tenant_id: int, token: str) -> None:
    """Restarts a held slot's lease (a queued run starting now has its whole deadline ahead)."""
    _take(tenant_id, token, None)


def admission_release(*, tenant_id: int, token: str) -> None:
    try:
        client = raw_redis()
        if client is None:
            with _local_lock:
                _local.get(tenant_id, {}).pop(token, None)
            return
        client.zrem(_key(tenant_id), token)
    except Exception as exc:  # the slot lapses by itself at its deadline plus grace
        if _degraded_warning.ready():
            logger.warning("admission release failed (slot lapses by itself): %s", exc)


def admission_reset() -> None:
    """Forgets this process's slots (tests; the Redis sets live in the cache and are cleared with it)."""
    with _local_lock:
        _local.clear()
