"""Liveness and readiness probes."""

from __future__ import annotations

import logging
import uuid

from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse

logger = logging.getLogger(__name__)


def health(request):
    return JsonResponse({"status": "ok"})


def ready(request):
    """503 naming what failed when the database or the cache is unreachable."""
    failed: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # any driver error means not ready
        failed["database"] = type(exc).__name__
    try:
        probe = f"ready:{uuid.uuid4().hex}"
        cache.set(probe, "1", 5)
        if cache.get(probe) != "1":
            failed["cache"] = "read-back mismatch"
        cache.delete(probe)
    except Exception as exc:
        failed["cache"] = type(exc).__name__
    if failed:
        logger.warning("not ready: %s", failed)
        names = ", ".join(sorted(failed))
        return JsonResponse(
            {"status": "unavailable", "error": "not_ready", "message": f"Unreachable: {names}.", "failed": failed},
            status=503,
        )
    return JsonResponse({"status": "ready", "checks": {"database": "ok", "cache": "ok"}})
