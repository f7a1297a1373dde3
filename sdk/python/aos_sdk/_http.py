"""One HTTP exchange with retries: 429/502/503/504 and connection errors, `Retry-After`, jitter.

A POST carries one `Idempotency-Key` on every attempt (generated when the caller gives none), so
when the server committed but the answer was lost, the retry gets the stored answer instead of
executing again (PRODUCT.md §7).
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from aos_sdk.errors import AOSConnectionError, AOSError, error_for, parse_retry_after

RETRY_STATUSES = frozenset({429, 502, 503, 504})


@dataclass
class RetryPolicy:
    """How often and how long to wait. `sleep`, `clock` and `rand` are injectable for tests."""

    max_retries: int = 3
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    # A Retry-After longer than this is not waited for: the error is raised at once.
    max_retry_after: float = 120.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.time
    rand: Callable[[], float] = field(default_factory=lambda: random.random)

    def backoff(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2**attempt)]."""
        return self.rand() * min(self.backoff_cap, self.backoff_base * (2.0**attempt))


def decode(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return response.text


def send(
    http: httpx.Client,
    policy: RetryPolicy,
    method: str,
    url: str,
    *,
    json: Any = None,
    params: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    idempotency_key: str | None = None,
    on_retry: Callable[[int, float, str], None] | None = None,
) -> httpx.Response:
    """The first 2xx/3xx answer, else the error it maps to; retries what is safe to retry."""
    sent_headers = dict(headers or {})
    if method.upper() == "POST":
        sent_headers["Idempotency-Key"] = idempotency_key or f"sdk-{uuid.uuid4().hex}"
    clean_params = {k: _param(v) for k, v in (params or {}).items() if v is not None}
    attempt = 0
    while True:
        try:
            response = http.request(method, url, json=json, params=clean_params or None, headers=sent_headers)
        except httpx.TransportError as exc:
            if attempt >= policy.max_retries:
                target = http.build_request(method, url).url
                message = f"{method} {target}: {type(exc).__name__}: {exc}"
                raise AOSConnectionError(message, code="connection_error") from exc
            delay = policy.backoff(attempt)
            reason = type(exc).__name__
        else:
            if response.status_code < 400:
                return response
            # httpx.Headers already hands its keys over lower-cased.
            error = error_for(response.status_code, decode(response), dict(response.headers))
            if not _retryable(response.status_code, error, attempt) or attempt >= policy.max_retries:
                raise error
            wait = parse_retry_after(response.headers.get("retry-after"), now=policy.clock())
            if wait is not None and wait > policy.max_retry_after:
                raise error
            delay = wait if wait is not None else policy.backoff(attempt)
            reason = f"HTTP {response.status_code}"
        if on_retry is not None:
            on_retry(attempt + 1, delay, reason)
        policy.sleep(delay)
        attempt += 1


def _retryable(status: int, error: AOSError, attempt: int) -> bool:
    if status in RETRY_STATUSES:
        return True
    # Our own earlier attempt may still be executing on the server: wait for its stored answer.
    return attempt > 0 and error.code == "idempotency_in_progress"


def _param(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value
