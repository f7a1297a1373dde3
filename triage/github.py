"""GitHub issues through PyGithub: the one place that talks to GitHub (PRODUCT.md §6).

The client turns PyGithub's objects and exceptions into our small types (`IssueRef`,
`GitHubError`), so nothing else depends on the vendor's shapes. PyGithub's own retry is off:
retries are the Celery task's job, with backoff that honours `Retry-After`.
"""

from __future__ import annotations

import itertools
import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import requests
from django.conf import settings
from github import Auth, Github, GithubException

from accounts.models import github_repo_allowed

logger = logging.getLogger(__name__)

# Seconds; GitHub answers issue calls in well under a second, a hung connection must not hold a worker.
TIMEOUT_SECONDS = 10
# Without a Retry-After, GitHub documents "wait at least one minute" for secondary rate limits.
SECONDARY_RATE_LIMIT_WAIT = 60
# How many of the newest issues (or comments) a retry reads looking for what a lost attempt wrote.
MARKER_LOOKUP_LIMIT = 100


@dataclass(frozen=True)
class IssueRef:
    number: int
    url: str  # html_url, what humans open
    state: str  # "open" | "closed"


class GitHubError(Exception):
    """A failed GitHub call. `retryable` says whether trying again later can help."""

    def __init__(self, message: str, *, retryable: bool, status: int | None = None, retry_after: float | None = None):
        super().__init__(message)
        self.retryable = retryable
        self.status = status
        self.retry_after = retry_after


def _header(headers: dict[str, Any] | None, name: str) -> str | None:
    for key, value in (headers or {}).items():
        if key.lower() == name:
            return str(value)
    return None


def _rate_limit_wait(status: int, headers: dict[str, Any] | None, message: str) -> float | None:
    """Seconds to wait when the response is a (primary or secondary) rate limit, else None."""
    if status not in (403, 429):
        return None
    retry_after = _header(headers, "retry-after")
    if retry_after is not None:
        try:
            return max(float(retry_after), 0.0)
        except ValueError:
            return float(SECONDARY_RATE_LIMIT_WAIT)
    if _header(headers, "x-ratelimit-remaining") == "0":
        reset = _header(headers, "x-ratelimit-reset")
        try:
            return max(float(reset) - time.time(), 1.0) if reset else float(SECONDARY_RATE_LIMIT_WAIT)
        except ValueError:
            return float(SECONDARY_RATE_LIMIT_WAIT)
    if status == 429 or "rate limit" in message.lower():
        return float(SECONDARY_RATE_LIMIT_WAIT)
    return None


def error_from_exception(exc: Exception) -> GitHubError:
    """Classifies a PyGithub/requests failure (used by the client; public for tests)."""
    if isinstance(exc, GithubException):
        data = exc.data if isinstance(exc.data, dict) else {}
        message = str(data.get("message") or exc.message or exc)
        wait = _rate_limit_wait(exc.status, exc.headers, message)
        if wait is not None:
            return GitHubError(
                f"GitHub rate limit ({exc.status}): {message}", retryable=True, status=exc.status, retry_after=wait
            )
        # 5xx and 408 are the server's trouble; 401/403/404/410/422 will not change by waiting.
        retryable = exc.status >= 500 or exc.status == 408
        return GitHubError(f"GitHub {exc.status}: {message}", retryable=retryable, status=exc.status)
    if isinstance(exc, requests.RequestException):
        return GitHubError(f"GitHub unreachable: {type(exc).__name__}: {exc}", retryable=True)
    return GitHubError(f"GitHub call failed: {type(exc).__name__}: {exc}", retryable=False)


class GitHubClient:
    """Issues in one repository."""

    def __init__(self, *, token: str, repo: str, base_url: str, write_interval: float = 1.0) -> None:
        self.repo_name = repo
        self._github = Github(
            auth=Auth.Token(token),
            base_url=base_url.rstrip("/"),
            timeout=TIMEOUT_SECONDS,
            retry=None,
            seconds_between_requests=None,
            # GitHub asks integrations to pace writes (secondary rate limits); 0 in tests.
            seconds_between_writes=write_interval or None,
            user_agent="aos-control-plane",
            # Lazy objects: commenting on or closing issue N is one request, not GET + write.
            lazy=True,
        )
        self._repo: Any = None

    @classmethod
    def for_tenant(cls, tenant: Any) -> GitHubClient | None:
        """The client for the tenant's repository (or GITHUB_REPO); None when GitHub is not configured."""
        repo = (getattr(tenant, "github_repo", "") or settings.GITHUB_REPO or "").strip()
        if not settings.GITHUB_TOKEN or not repo:
            return None
        if not github_repo_allowed(repo):  # set before the allow-list existed, or the list shrank
            logger.warning("tenant %s: github_repo %s is not in GITHUB_REPO_ALLOWLIST; not filing there", tenant, repo)
            return None
        return cls(
            token=settings.GITHUB_TOKEN,
            repo=repo,
            base_url=settings.GITHUB_API_URL,
            write_interval=settings.GITHUB_WRITE_INTERVAL_SECONDS,
        )

    def _call(self, fn):
        try:
            return fn()
        except GitHubError:
            raise
        except Exception as exc:  # PyGithub raises its own and requests' exceptions
            raise error_from_exception(exc) from exc

    def _repository(self):
        if self._repo is None:
            self._repo = self._github.get_repo(self.repo_name)  # lazy: no GET /repos/{owner}/{name}
        return self._repo

    @staticmethod
    def _ref(issue: Any) -> IssueRef:
        return IssueRef(number=issue.number, url=issue.html_url, state=issue.state)

    def issue_create(self, *, title: str, body: str, labels: list[str]) -> IssueRef:
        return self._call(lambda: self._ref(self._repository().create_issue(title=title, body=body, labels=labels)))

    def issue_get(self, number: int) -> IssueRef:
        return self._call(lambda: self._ref(self._repository().get_issue(number)))

    def issue_comment(self, number: int, body: str) -> None:
        self._call(lambda: self._repository().get_issue(number).create_comment(body))

    def issue_close(self, number: int) -> None:
        self._call(lambda: self._repository().get_issue(number).edit(state="closed"))

    def issue_find(self, *, marker: str, label: str, since: datetime) -> IssueRef | None:
        """The newest issue (open or closed) with `label`, updated since `since`, whose body holds `marker`.

        The list endpoint, not search: search is eventually consistent, the list is not.
        """

        def find() -> IssueRef | None:
            issues = self._repository().get_issues(
                state="all", labels=[label], since=since, sort="created", direction="desc"
            )
            for issue in itertools.islice(issues, MARKER_LOOKUP_LIMIT):
                if marker in (issue.body or ""):
                    return self._ref(issue)
            return None

        return self._call(find)

    def comment_exists(self, number: int, *, marker: str, since: datetime) -> bool:
        """Whether a comment on issue `number` made since `since` holds `marker`."""

        def find() -> bool:
            comments = self._repository().get_issue(number).get_comments(since=since)
            return any(marker in (c.body or "") for c in itertools.islice(comments, MARKER_LOOKUP_LIMIT))

        return self._call(find)

    def issue_reopen(self, number: int) -> None:
        self._call(lambda: self._repository().get_issue(number).edit(state="open"))
