"""Per-tenant rate limits by tier (PRODUCT.md §8). Implemented by the rate-limit issue."""

from __future__ import annotations

from typing import Any

# Requests per fixed 60 s window; None = unlimited.
TIER_LIMITS: dict[str, int | None] = {"free": 60, "dev": 300, "pro": 1200, "enterprise": 6000, "unlimited": None}
WINDOW_SECONDS = 60


def peek_usage(principal) -> dict[str, Any]:
    """The principal's tier, limit and remaining quota in the current window (no counting)."""
    limit = TIER_LIMITS.get(principal.tier)
    return {"tier": principal.tier, "limit": limit, "remaining": limit, "reset": None}
