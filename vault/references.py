"""`{{ secrets.NAME }}` references in plan params (PRODUCT.md §13). Pure: no database.

A reference stays as written everywhere the plan is hashed, stored or shown; only the params
handed to the skill carry the value (runtime/plans.py `resolve(..., secret=...)`).
"""

from __future__ import annotations

import re
from typing import Any

NAME_PATTERN = r"^[A-Z][A-Z0-9_]{0,63}$"
ERR_SECRET_NOT_FOUND = "ERR_SECRET_NOT_FOUND"
ERR_SECRET_UNREADABLE = "ERR_SECRET_UNREADABLE"

_EXPRESSION = re.compile(r"secrets\.([A-Za-z0-9_]+)")
_REFERENCE = re.compile(r"\{\{\s*secrets\.([A-Za-z0-9_]+)\s*\}\}")
_NAME = re.compile(NAME_PATTERN)


class SecretError(Exception):
    """A step cannot get its secret: `code` is stored on the step, the message names the secret."""

    def __init__(self, code: str, message: str, name: str):
        super().__init__(message)
        self.code = code
        self.message = message
        self.name = name


def secret_name(expression: str) -> str | None:
    """The NAME of a `secrets.NAME` expression (the text inside `{{ }}`), else None."""
    match = _EXPRESSION.fullmatch(expression.strip())
    return match.group(1) if match else None


def name_problem(name: str) -> str | None:
    if _NAME.fullmatch(name):
        return None
    return f"Secret name {name!r} is invalid: names match {NAME_PATTERN} (e.g. GITHUB_TOKEN)."


def secret_names(value: Any) -> set[str]:
    """Every secret name referenced inside a JSON value."""
    if isinstance(value, str):
        return set(_REFERENCE.findall(value)) if "secrets." in value else set()
    if isinstance(value, dict):
        return set().union(*(secret_names(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(secret_names(v) for v in value)) if value else set()
    return set()


def has_secret_reference(value: Any) -> bool:
    return bool(secret_names(value))


class NoSecrets:
    """For executions without a tenant store: every reference fails the step, nothing is masked."""

    def value(self, name: str) -> str:
        raise SecretError(ERR_SECRET_NOT_FOUND, f"Secret {name!r} is not available here.", name)

    def mask(self, value: Any) -> Any:
        return value
