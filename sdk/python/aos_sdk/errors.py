"""Exceptions carrying the server's error envelope `{"error", "message", "fields"?}` (PRODUCT.md §9)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Any


class AOSError(Exception):
    """Any failed call. `code` is the envelope's `error`, `envelope` the whole decoded body."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        code: str = "error",
        envelope: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.code = code
        self.envelope: dict[str, Any] = dict(envelope or {})
        self.headers: dict[str, str] = dict(headers or {})

    def __str__(self) -> str:
        prefix = f"{self.status_code} {self.code}" if self.status_code is not None else self.code
        return f"{prefix}: {self.message}"


class AOSConnectionError(AOSError):
    """The server could not be reached (or dropped the connection) on every attempt."""


class ValidationError(AOSError):
    """400: the request was refused; `fields` maps each offending field to its messages."""

    @property
    def fields(self) -> dict[str, list[str]]:
        raw = self.envelope.get("fields") or {}
        return {str(k): [str(m) for m in (v if isinstance(v, list) else [v])] for k, v in dict(raw).items()}


class AuthenticationError(AOSError):
    """401: no credentials, or credentials the server does not accept."""


class PermissionDeniedError(AOSError):
    """403: the credentials' role or tenant does not allow this."""


class NotFoundError(AOSError):
    """404: no such object in your tenant (another tenant's objects are 404 too)."""


class ConflictError(AOSError):
    """409 (conflict, idempotency key in flight) or 422 (idempotency key reused with another payload)."""


class RateLimitError(AOSError):
    """429: over the tenant's rate or concurrency limit; `retry_after` is in seconds (or None)."""

    @property
    def retry_after(self) -> float | None:
        value = self.envelope.get("retry_after")
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        return parse_retry_after(self.headers.get("retry-after"))


class ServerError(AOSError):
    """5xx: the server failed; retrying later may help."""


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds from a `Retry-After` header: delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


_BY_STATUS: dict[int, type[AOSError]] = {
    400: ValidationError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: ConflictError,
    429: RateLimitError,
}


def error_for(status_code: int, body: Any, headers: Mapping[str, str]) -> AOSError:
    """The exception for a non-2xx answer, keeping its envelope (or the raw text when not JSON)."""
    envelope: dict[str, Any] = dict(body) if isinstance(body, Mapping) else {"message": str(body or "")}
    code = str(envelope.get("error") or f"http_{status_code}")
    message = str(envelope.get("message") or envelope.get("detail") or f"HTTP {status_code}")
    cls = _BY_STATUS.get(status_code)
    if cls is None:
        cls = ServerError if status_code >= 500 else AOSError
    return cls(message, status_code=status_code, code=code, envelope=envelope, headers=headers)
