"""Configuration mistakes at the tenant boundary and the authentication edges (called by aosproject/checks.py)."""

from __future__ import annotations

import re

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning

_ALLOWLIST_ENTRY = re.compile(r"^[\w.-]+(/[\w.-]+)?$")


def boundary_problems() -> list[CheckMessage]:
    problems: list[CheckMessage] = []
    malformed = [entry for entry in settings.GITHUB_REPO_ALLOWLIST if not _ALLOWLIST_ENTRY.match(entry)]
    if malformed:
        problems.append(
            Error(
                f"GITHUB_REPO_ALLOWLIST has entries that are neither owner nor owner/name: {', '.join(malformed)}.",
                hint="For example GITHUB_REPO_ALLOWLIST=acme,globex/agents (no URLs, no wildcards).",
                id="aos.E020",
            )
        )
    if not settings.DEBUG and not settings.METRICS_BEARER_TOKEN and not settings.METRICS_ALLOWED_IPS:
        if settings.METRICS_OPEN:
            message = "/metrics is open to anyone (METRICS_OPEN=1 with DEBUG off); it shows spend per tier."
        else:
            message = "/metrics answers 403 to every scraper: no METRICS_BEARER_TOKEN or METRICS_ALLOWED_IPS."
        problems.append(
            Warning(
                message,
                hint="Set METRICS_BEARER_TOKEN (Prometheus: authorization credentials) or METRICS_ALLOWED_IPS.",
                id="aos.W020",
            )
        )
    if settings.AXES_FAILURE_LIMIT < 1 or settings.AXES_COOLOFF_TIME.total_seconds() <= 0:
        problems.append(
            Error(
                "LOGIN_FAILURE_LIMIT and LOGIN_COOLOFF_MINUTES must be at least 1.",
                hint="For example LOGIN_FAILURE_LIMIT=5 LOGIN_COOLOFF_MINUTES=15; AXES_ENABLED=0 turns throttling off.",
                id="aos.E021",
            )
        )
    ttl, poll = settings.AOS_PRINCIPAL_CACHE_SECONDS, settings.AOS_PRINCIPAL_VERSION_POLL_SECONDS
    if not 0 <= ttl <= 60 or poll <= 0 or (ttl > 0 and poll > ttl):
        problems.append(
            Error(
                f"AOS_PRINCIPAL_CACHE_SECONDS ({ttl:g}) must be from 0 to 60 and "
                f"AOS_PRINCIPAL_VERSION_POLL_SECONDS ({poll:g}) above 0 and at most the cache seconds.",
                hint="They bound how long a revoked API key or a changed tier keeps working; defaults 5 and 1.",
                id="aos.E075",
            )
        )
    if not settings.DEBUG and not settings.AXES_ENABLED:
        problems.append(Warning("Admin login throttling is off (AXES_ENABLED=0) with DEBUG off.", id="aos.W021"))
    return problems
