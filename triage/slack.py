"""Slack incoming webhook: the fallback channel for mismatch notifications (PRODUCT.md §6)."""

from __future__ import annotations

import requests

TIMEOUT_SECONDS = 10


class SlackError(Exception):
    """A failed Slack post. `retryable` says whether trying again later can help."""

    def __init__(self, message: str, *, retryable: bool, retry_after: float | None = None):
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after


def slack_post(*, webhook_url: str, text: str) -> None:
    """Posts `text` (Slack mrkdwn) to the incoming webhook; raises SlackError on failure."""
    try:
        response = requests.post(webhook_url, json={"text": text}, timeout=TIMEOUT_SECONDS)
    except requests.RequestException as exc:
        raise SlackError(f"Slack unreachable: {type(exc).__name__}: {exc}", retryable=True) from exc
    if 200 <= response.status_code < 300:
        return
    retry_after = response.headers.get("Retry-After")
    wait = None
    if retry_after:
        try:
            wait = float(retry_after)
        except ValueError:
            wait = None
    # Slack answers 400/403/404/410 for a bad payload, revoked or unknown webhook: waiting won't help.
    retryable = response.status_code >= 500 or response.status_code == 429
    raise SlackError(f"Slack {response.status_code}: {response.text[:200]}", retryable=retryable, retry_after=wait)
