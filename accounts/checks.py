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
    return problems
