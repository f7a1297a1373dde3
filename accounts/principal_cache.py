"""Principals of API keys (and tenants of JWTs) kept in process, invalidated by a version in the cache.

Issue 15, docs/decisions/0040-principal-cache.md. A warm credential costs no SQL and no Redis call of
its own:

- Each process keeps `key hash → Principal` (and `tenant slug → Tenant` for bearer tokens) for at most
  AOS_PRINCIPAL_CACHE_SECONDS (default 5): the bound for any change, even one made with raw SQL or a
  queryset `update()` no signal sees, or while Redis is down.
- A save or delete of an ApiKey or a Tenant (revocation, role, tier, budget, skills...) replaces
  the *principal version*, one random token in the default cache (Redis), after its transaction
  commits, and empties this process's entries at once. Every process reads that version at most
  every AOS_PRINCIPAL_VERSION_POLL_SECONDS (default 1); an entry loaded under another version is
  loaded again. With Redis, the rate limiter's counting script returns the version in the same
  round trip (accounts/ratelimit_cache.py), so a counted request never needs a read of its own.
  Without Redis (the embedded local-memory cache) the version is per process: other processes see
  a change within AOS_PRINCIPAL_CACHE_SECONDS.

Bounds: a change saved through the models takes effect within AOS_PRINCIPAL_VERSION_POLL_SECONDS in
every process (at once in the process that made it); any other change within AOS_PRINCIPAL_CACHE_SECONDS.
A cold key costs one SELECT (the key with its tenant); `last_used_at` is written at most once a
minute per key and process, as before (the first request of a key idle for a minute: two queries).
"""

from __future__ import annotations

import logging
import math
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache, caches
from django.db import transaction
from django.utils import timezone

from accounts.models import ApiKey, Tenant, hash_api_key
from accounts.principal import Principal
from aosproject.log_throttle import LogThrottle

logger = logging.getLogger(__name__)
_unreachable_warning = LogThrottle()

VERSION_KEY = "principal-version"
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass
class _Entry:
    value: Any  # a Principal (API keys) or a Tenant (JWT tenant slugs)
    version: str | None
    loaded_at: float  # _clock()
    key_pk: int = 0  # API keys only
    last_used_at: datetime | None = None


@dataclass
class _Version:
    value: str | None = None
    checked_at: float = -math.inf


_clock = time.monotonic  # tests move it
_entries: dict[tuple[str, str], _Entry] = {}
_version = _Version()
_touch_lock = threading.Lock()


def reset() -> None:
    """Forgets every entry and the version seen (tests; a process that wants a cold start)."""
    _entries.clear()
    _version.value, _version.checked_at = None, -math.inf


def _raw_redis() -> Any | None:
    from aosproject.redis_client import raw_redis

    return raw_redis()


def version_key() -> str:
    """The version's full key in the default cache (prefix and key version applied)."""
    return caches["default"].make_key(VERSION_KEY)


def _decoded(raw: Any) -> str | None:
    return raw.decode() if isinstance(raw, bytes) else raw


def observe_version(raw: Any) -> None:
    """The version as read in another round trip (the rate limiter's script): no read of our own needed."""
    _version.value, _version.checked_at = _decoded(raw), _clock()


def _current_version(now: float) -> str | None:
    if now - _version.checked_at < settings.AOS_PRINCIPAL_VERSION_POLL_SECONDS:
        return _version.value
    try:
        redis = _raw_redis()
        value = _decoded(redis.get(version_key()) if redis is not None else cache.get(VERSION_KEY))
    except Exception as exc:  # Redis down: entries stay valid until AOS_PRINCIPAL_CACHE_SECONDS
        if _unreachable_warning.ready():
            logger.warning("principal version unreadable, cached principals expire by age only: %s", exc)
        value = _version.value
    _version.value, _version.checked_at = value, now
    return value


def _bump() -> None:
    token = uuid.uuid4().hex
    try:
        redis = _raw_redis()
        if redis is not None:
            redis.set(version_key(), token)
        else:
            cache.set(VERSION_KEY, token, None)
    except Exception as exc:  # every process still drops its entries within AOS_PRINCIPAL_CACHE_SECONDS
        logger.warning("principal version not replaced, other processes catch up by age: %s", exc)
    _entries.clear()


def invalidate() -> None:
    """Call after changing keys or tenants without saving the models (a queryset `update()`)."""
    _entries.clear()  # this process: at once (also inside the transaction that made the change)
    transaction.on_commit(_bump)  # every process: once the change is visible to their queries


def _fresh(entry: _Entry, version: str | None, now: float) -> bool:
    return entry.version == version and now - entry.loaded_at < _ttl()


def _ttl() -> float:
    return settings.AOS_PRINCIPAL_CACHE_SECONDS


def api_key_principal(raw_key: str) -> Principal | None:
    """The principal of an active API key, or None (unknown or revoked keys are never cached)."""
    slot = ("key", hash_api_key(raw_key))
    now = _clock()
    version = _current_version(now)
    entry = _entries.get(slot)
    if entry is None or not _fresh(entry, version, now):
        key = ApiKey.objects.select_related("tenant").filter(key_hash=slot[1], revoked_at__isnull=True).first()
        if key is None:
            _entries.pop(slot, None)
            return None
        principal = Principal(
            subject=f"api_key:{key.prefix}",
            tenant=key.tenant,
            roles=frozenset({key.role}),
            tier=key.tenant.tier,
            method="api_key",
        )
        entry = _Entry(principal, version, now, key_pk=key.pk, last_used_at=key.last_used_at)
        if _ttl() > 0:
            _entries[slot] = entry
    _touch(entry)
    return entry.value


def _touch(entry: _Entry) -> None:
    """`last_used_at` at most once a minute per key and process, not once per request."""
    now = timezone.now()
    with _touch_lock:  # one thread writes; the others see the new time
        due = entry.last_used_at is None or now - entry.last_used_at > LAST_USED_RESOLUTION
        if due:
            entry.last_used_at = now
    if due:
        ApiKey.objects.filter(pk=entry.key_pk).update(last_used_at=now)


def tenant_by_slug(slug: str) -> Tenant | None:
    """The tenant a bearer token names (JWTs carry the slug), cached like API-key principals."""
    slot = ("tenant", slug)
    now = _clock()
    version = _current_version(now)
    entry = _entries.get(slot)
    if entry is not None and _fresh(entry, version, now):
        return entry.value
    tenant = Tenant.objects.filter(slug=slug).first()
    if tenant is None:
        _entries.pop(slot, None)
        return None
    if _ttl() > 0:
        _entries[slot] = _Entry(tenant, version, now)
    return tenant


def _on_change(sender, instance, created: bool = False, **kwargs) -> None:
    if not created:  # a new key or tenant was in no entry (misses are never cached)
        invalidate()


def connect_signals() -> None:
    from django.db.models.signals import post_delete, post_save

    for model in (ApiKey, Tenant):
        post_save.connect(_on_change, sender=model, dispatch_uid=f"aos-principal-cache-save-{model.__name__}")
        post_delete.connect(_on_change, sender=model, dispatch_uid=f"aos-principal-cache-delete-{model.__name__}")
