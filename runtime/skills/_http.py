"""Outbound HTTP for skills, in one place: destination policy, timeout, retries with backoff.

The destination is checked once per call by `egress.destination_check` (parse as the client will,
resolve once, every address globally routable unless allow-listed in HTTP_CALL_ALLOWED_HOSTS),
and every attempt connects to exactly the checked address (`_pinned`). Redirects are not followed
(a redirect could lead to a refused destination). When the run has a deadline
(`ctx.deadline`, monotonic seconds), no request timeout or backoff sleep goes past it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import requests
from django.conf import settings

from runtime.skills import egress
from runtime.skills._pinned import pinned_session
from runtime.skills.base import SkillError

MAX_BODY_CHARS = 65536
USER_AGENT = "aos-control-plane/1.0"
ERR_DEADLINE_EXCEEDED = "ERR_DEADLINE_EXCEEDED"


@dataclass(frozen=True)
class HttpResult:
    status_code: int
    body: Any  # parsed JSON when the response is JSON, else text (truncated)
    retries: int


def allow_list() -> egress.AllowList:
    return egress.AllowList.parse(settings.HTTP_CALL_ALLOWED_HOSTS)


def destination_check(url: str, *, resolver: egress.Resolver | None = None) -> egress.CheckedDestination:
    """Raises ERR_DESTINATION_REFUSED (naming the reason) unless the policy lets `url` be reached."""
    return egress.destination_check(url, allow=allow_list(), resolver=resolver or egress.system_resolver)


def _body(response: requests.Response) -> Any:
    if "json" in response.headers.get("Content-Type", ""):
        try:
            return response.json()
        except ValueError:
            pass
    return response.text[:MAX_BODY_CHARS]


def _time_left(deadline: float | None) -> float | None:
    return None if deadline is None else deadline - time.monotonic()


def send(
    *,
    method: str,
    url: str,
    headers: dict[str, str] | None,
    json_body: Any,
    timeout_s: float,
    retries: int,
    backoff_ms: int,
    has_body: bool,
    deadline: float | None = None,
    resolver: egress.Resolver | None = None,
    verify: bool | str = True,
) -> HttpResult:
    """One logical call: retried on 5xx and transport errors (with exponential backoff), never on 4xx."""
    destination = destination_check(url, resolver=resolver)
    merged = {"User-Agent": USER_AGENT, **(headers or {})}
    attempt = 0
    with pinned_session(destination) as session:
        while True:
            left = _time_left(deadline)
            if left is not None and left <= 0:
                raise SkillError(ERR_DEADLINE_EXCEEDED, "The run's deadline passed before the call.", retries=attempt)
            timeout = timeout_s if left is None else min(timeout_s, left)
            try:
                response = session.request(
                    method,
                    url,
                    headers=merged,
                    json=json_body if has_body else None,
                    timeout=timeout,
                    allow_redirects=False,
                    verify=verify,
                )
            except requests.Timeout as exc:
                error = SkillError("ERR_TIMEOUT", f"No response within {timeout:.3g}s: {exc}", retryable=True)
            except requests.RequestException as exc:
                error = SkillError("ERR_TRANSPORT", f"{type(exc).__name__}: {exc}", retryable=True)
            else:
                result = HttpResult(status_code=response.status_code, body=_body(response), retries=attempt)
                output = {"status_code": result.status_code, "body": result.body}
                if response.status_code < 400:
                    return result
                if response.status_code < 500:  # 4xx: the request itself is wrong; retrying cannot help
                    raise SkillError("ERR_HTTP_STATUS", f"HTTP {response.status_code}", output=output, retries=attempt)
                error = SkillError("ERR_HTTP_STATUS", f"HTTP {response.status_code}", retryable=True, output=output)
            error.retries = attempt
            if attempt >= retries:
                raise error
            delay = backoff_ms * (2**attempt) / 1000.0
            left = _time_left(deadline)
            if left is not None and delay >= left:
                # Sleeping would reach the deadline: stop now, and tell the engine not to retry either.
                error.retryable = False
                error.message += f" (not retried: the run's deadline is {max(left, 0):.3g}s away)"
                raise error
            time.sleep(delay)
            attempt += 1
