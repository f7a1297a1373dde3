"""Configuration mistakes at the tenant boundary and the authentication edges (called by aosproject/checks.py)."""

from __future__ import annotations

import re

from django.conf import settings
from django.core.checks import CheckMessage, Error

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
    return problems
