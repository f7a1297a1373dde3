"""Helpers shared by the contract tests: hostile JSON bodies and the error-envelope assertion."""

from __future__ import annotations

from tests.runtime.helpers import transform

NESTED = 1000


def nested(depth: int) -> str:
    """`[[[...]]]` as JSON text (json.dumps itself recurses too deep for a thousand levels)."""
    return "[" * depth + "]" * depth


def plan_with(payload) -> list:
    return [transform(payload, query="@")]


def assert_envelope(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["error"] == code, body
    return body
