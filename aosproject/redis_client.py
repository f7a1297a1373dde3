"""The raw Redis client behind the default cache, for the atomic scripts (admission, idempotency)."""

from __future__ import annotations

from typing import Any

from django.conf import settings


def raw_redis() -> Any | None:
    """django-redis's client for the `default` cache, or None when that cache is not django-redis."""
    if not str(settings.CACHES.get("default", {}).get("BACKEND", "")).startswith("django_redis"):
        return None
    from django_redis import get_redis_connection

    return get_redis_connection("default")
