"""Mismatch notification pipeline (PRODUCT.md §6): GitHub issue first, Slack as the fallback.

Exactly-once guard without extra columns: a worker *claims* a pending mismatch with one
conditional UPDATE that bumps `notification_attempts` and sets `notification_next_attempt_at`
to a lease. Nobody else can claim it until the lease (or the backoff written after a transient
failure) has passed, and the result is only written while the row is still pending.
`notification_channel` is `slack` on a pending row once GitHub has been given up on.

A mismatch in a group files (or comments on, or reopens) the group's one issue (`triage.issues`).
No channel configured is not a failure: the row stays `pending` with NO_CHANNEL as its last error
and its attempts reset, so `notify_pending` sends it once GITHUB_TOKEN or SLACK_MISMATCH_WEBHOOK
is set. A resolved mismatch is never notified.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from aosproject.metrics import NOTIFICATIONS
from triage.github import GitHubClient, GitHubError, IssueRef
from triage.issue_text import issue_body, issue_marker, issue_title, recurrence_comment, slack_text
from triage.issues import LABELS, group_issue_file
from triage.models import Mismatch, MismatchGroup, NotificationChannel, NotificationState
from triage.slack import SlackError, slack_post

logger = logging.getLogger(__name__)

NO_CHANNEL = "No notification channel configured (GITHUB_TOKEN + repository, or SLACK_MISMATCH_WEBHOOK)."
MAX_ATTEMPTS = 8  # backoff 10 s .. 21 min in total, then Slack / failed
BACKOFF_BASE_SECONDS = 10
BACKOFF_CAP_SECONDS = 30 * 60
LOOKUP_CLOCK_SKEW = timedelta(minutes=10)
# A later mismatch of a group tries again once the earlier one is due, and at least this often: the
# earlier one's due time may be a 120 s lease on an attempt that takes a second.
GROUP_POLL_SECONDS = 10.0


@dataclass(frozen=True)
class NotifyResult:
    outcome: str  # sent | retry | failed | no_channel | not_due | skipped
    channel: str = NotificationChannel.NONE
    retry_in: float | None = None
    issue_url: str = ""
    error: str = ""


def lease_seconds() -> float:
    """How long one attempt holds its mismatch (MISMATCH_NOTIFY_LEASE_SECONDS, default 120)."""
    return float(settings.MISMATCH_NOTIFY_LEASE_SECONDS)


def backoff_seconds(attempt: int) -> float:
    """Exponential backoff after the `attempt`-th failed attempt (1-based)."""
    return float(min(BACKOFF_BASE_SECONDS * 2 ** max(attempt - 1, 0), BACKOFF_CAP_SECONDS))


def _wait(retry_after: float | None, attempt: int) -> float:
    """The vendor's Retry-After when it sent one (GitHub's rule), else exponential backoff."""
    return retry_after if retry_after is not None else backoff_seconds(attempt)


def _claim(mismatch_id, now: datetime) -> tuple[Mismatch | None, NotifyResult | None]:
    due = Q(notification_next_attempt_at__isnull=True) | Q(notification_next_attempt_at__lte=now)
    claimed = (
        Mismatch.objects.filter(pk=mismatch_id, notification_state=NotificationState.PENDING, resolved=False)
        .filter(due)
        .update(
            notification_attempts=F("notification_attempts") + 1,
            notification_next_attempt_at=now + timedelta(seconds=lease_seconds()),
        )
    )
    if claimed:
        return Mismatch.objects.select_related("trace", "tenant").get(pk=mismatch_id), None
    row = Mismatch.objects.filter(pk=mismatch_id).values("notification_state", "notification_next_attempt_at").first()
    if row and row["notification_state"] == NotificationState.PENDING and row["notification_next_attempt_at"]:
        wait = (row["notification_next_attempt_at"] - now).total_seconds()
        return None, NotifyResult("not_due", retry_in=max(wait, 1.0))
    return None, NotifyResult("skipped")


def _still_claimed(mismatch: Mismatch):
    return Mismatch.objects.filter(pk=mismatch.pk, notification_state=NotificationState.PENDING)


def _finish_sent(mismatch: Mismatch, *, channel: str, ref: IssueRef | None = None, error: str = "") -> NotifyResult:
    fields: dict = {
        "notification_state": NotificationState.SENT,
        "notification_channel": channel,
        "notification_next_attempt_at": None,
    }
    # Sent through the fallback: keep why GitHub was not used; sent directly: no error is left over.
    fields["notification_last_error"] = error[:2000]
    if ref is not None:
        fields.update(issue_url=ref.url, issue_number=ref.number)
    _still_claimed(mismatch).update(**fields)
    return NotifyResult("sent", channel=channel, issue_url=ref.url if ref else "")


def _finish_retry(mismatch: Mismatch, *, channel: str, error: str, wait: float) -> NotifyResult:
    _still_claimed(mismatch).update(
        notification_channel=channel,
        notification_last_error=error[:2000],
        notification_next_attempt_at=timezone.now() + timedelta(seconds=wait),
    )
    return NotifyResult("retry", channel=channel, retry_in=wait, error=error)


def _finish_failed(mismatch: Mismatch, *, channel: str, error: str) -> NotifyResult:
    _still_claimed(mismatch).update(
        notification_state=NotificationState.FAILED,
        notification_channel=channel,
        notification_last_error=error[:2000],
        notification_next_attempt_at=None,
    )
    return NotifyResult("failed", channel=channel, error=error)


def _finish_no_channel(mismatch: Mismatch) -> NotifyResult:
    """Nothing to send through: stays pending, attempts reset, picked up once a channel is set."""
    _still_claimed(mismatch).update(
        notification_channel=NotificationChannel.NONE,
        notification_attempts=0,
        notification_last_error=NO_CHANNEL,
        notification_next_attempt_at=None,
    )
    return NotifyResult("no_channel", error=NO_CHANNEL)


def open_issue_for_fingerprint(client: GitHubClient, mismatch: Mismatch) -> IssueRef | None:
    """The still-open issue of an earlier, unresolved mismatch with the same fingerprint."""
    earlier = (
        Mismatch.objects.filter(
            tenant_id=mismatch.tenant_id,
            fingerprint=mismatch.fingerprint,
            resolved=False,
            issue_number__isnull=False,
            issue_url__contains=f"/{client.repo_name}/issues/",
        )
        .exclude(pk=mismatch.pk)
        .order_by("created_at")
        .first()
    )
    if earlier is None or earlier.issue_number is None:
        return None
    ref = client.issue_get(earlier.issue_number)
    return ref if ref.state == "open" else None


def github_issue_file(client: GitHubClient, mismatch: Mismatch) -> IssueRef:
    """The group's issue (see `triage.issues`); ungrouped rows: the fingerprint's open issue or a new one.

    A retry (not the first attempt) first looks for what an earlier attempt wrote before its answer
    was lost (worker killed mid-request, timeout after GitHub's write): GitHub has no idempotency key
    for issues, so the body and the comment carry `issue_marker` and a retry finds them by it
    (decision 0053). The first attempt costs no extra request.
    """
    retry = mismatch.notification_attempts > 1
    marker = issue_marker(mismatch)
    since = mismatch.created_at - LOOKUP_CLOCK_SKEW  # GitHub's clock, not ours, stamps `updated_at`
    if retry:
        lost = client.issue_find(marker=marker, label=LABELS[0], since=since)
        if lost is not None:
            logger.info("mismatch %s: issue #%s of an earlier attempt found, not filed again", mismatch.pk, lost.number)
            if mismatch.group_id is not None:  # the attempt died before it recorded the group's issue
                MismatchGroup.objects.filter(pk=mismatch.group_id, issue_number__isnull=True).update(
                    issue_url=lost.url, issue_number=lost.number, issue_lease_until=None
                )
            return lost
    if mismatch.group_id is not None:
        return group_issue_file(client, mismatch)
    existing = open_issue_for_fingerprint(client, mismatch)
    if existing is not None:
        if not (retry and client.comment_exists(existing.number, marker=marker, since=since)):
            client.issue_comment(existing.number, recurrence_comment(mismatch))
        NOTIFICATIONS.labels(channel="github", result="deduplicated").inc()
        return existing
    return client.issue_create(title=issue_title(mismatch), body=issue_body(mismatch), labels=LABELS)


def _earlier_of_its_group(mismatch_id, now: datetime) -> NotifyResult | None:
    """not_due while an earlier, unresolved mismatch with the same fingerprint is still pending.

    The group's first mismatch opens the issue and the later ones comment on it; sent at once (a
    backlog after a GitHub outage, each with its own due retry) by concurrent workers, each would
    find no issue yet and open its own. So a later one waits for the earlier one's attempt
    (nothing is claimed or counted meanwhile). A resolved one is never sent (nor swept), so
    waiting for it would hold back the group's regression for good.
    """
    row = Mismatch.objects.filter(pk=mismatch_id).values("tenant_id", "fingerprint", "created_at").first()
    if row is None or not row["fingerprint"]:
        return None
    earlier = (
        Mismatch.objects.filter(
            tenant_id=row["tenant_id"],
            fingerprint=row["fingerprint"],
            notification_state=NotificationState.PENDING,
            resolved=False,
        )
        .filter(Q(created_at__lt=row["created_at"]) | Q(created_at=row["created_at"], pk__lt=mismatch_id))
        .values_list("notification_next_attempt_at", flat=True)[:20]
    )
    due_times = list(earlier)
    if not due_times:
        return None
    soonest = min((t for t in due_times if t is not None), default=now)
    return NotifyResult("not_due", retry_in=min(max((soonest - now).total_seconds(), 1.0), GROUP_POLL_SECONDS))


def mismatch_notify(*, mismatch_id, now: datetime | None = None) -> NotifyResult:
    """One notification attempt for a pending mismatch (a no-op when someone else holds it)."""
    now = now or timezone.now()
    if (deferred := _earlier_of_its_group(mismatch_id, now)) is not None:
        return deferred
    mismatch, skipped = _claim(mismatch_id, now)
    if mismatch is None:
        assert skipped is not None
        return skipped
    attempts_left = mismatch.notification_attempts < MAX_ATTEMPTS
    errors: list[str] = []
    client = (
        None if mismatch.notification_channel == NotificationChannel.SLACK else GitHubClient.for_tenant(mismatch.tenant)
    )
    if client is not None:
        try:
            ref = github_issue_file(client, mismatch)
        except GitHubError as exc:
            errors.append(str(exc))
            if exc.retryable and attempts_left:
                NOTIFICATIONS.labels(channel="github", result="retry").inc()
                wait = _wait(exc.retry_after, mismatch.notification_attempts)
                return _finish_retry(mismatch, channel=NotificationChannel.NONE, error=str(exc), wait=wait)
            NOTIFICATIONS.labels(channel="github", result="failed").inc()
            logger.warning("mismatch %s: GitHub gave up: %s", mismatch.pk, exc)
        else:
            NOTIFICATIONS.labels(channel="github", result="sent").inc()
            return _finish_sent(mismatch, channel=NotificationChannel.GITHUB, ref=ref)

    webhook = settings.SLACK_MISMATCH_WEBHOOK
    if webhook:
        try:
            slack_post(webhook_url=webhook, text=slack_text(mismatch, github_error=errors[0] if errors else ""))
        except SlackError as exc:
            errors.append(str(exc))
            if exc.retryable and attempts_left:
                NOTIFICATIONS.labels(channel="slack", result="retry").inc()
                wait = _wait(exc.retry_after, mismatch.notification_attempts)
                return _finish_retry(mismatch, channel=NotificationChannel.SLACK, error="; ".join(errors), wait=wait)
            NOTIFICATIONS.labels(channel="slack", result="failed").inc()
        else:
            NOTIFICATIONS.labels(channel="slack", result="sent").inc()
            return _finish_sent(mismatch, channel=NotificationChannel.SLACK, error="; ".join(errors))

    if client is None and not webhook and not errors:
        NOTIFICATIONS.labels(channel="none", result="no_channel").inc()
        return _finish_no_channel(mismatch)
    return _finish_failed(mismatch, channel=NotificationChannel.NONE, error="; ".join(errors))


def notification_requeue(*, mismatch_ids) -> list:
    """Puts unresolved failed/pending mismatches back to a fresh pending state (the admin's "Retry notification").

    Resolved and already sent mismatches are left alone; returns the ids requeued.
    """
    qs = Mismatch.objects.filter(pk__in=list(mismatch_ids), resolved=False).exclude(
        notification_state=NotificationState.SENT
    )
    ids = list(qs.values_list("pk", flat=True))
    Mismatch.objects.filter(pk__in=ids).update(
        notification_state=NotificationState.PENDING,
        notification_channel=NotificationChannel.NONE,
        notification_attempts=0,
        notification_next_attempt_at=None,
    )
    return ids


def notify_pending_sweep(
    *, now: datetime | None = None, limit: int = 500, on_retry: Callable[[object, float], None] | None = None
) -> Counter:
    """Sends every pending mismatch whose next attempt is due; returns outcome counts."""
    now = now or timezone.now()
    due = Q(notification_next_attempt_at__isnull=True) | Q(notification_next_attempt_at__lte=now)
    ids = list(
        Mismatch.objects.pending_notification()
        .filter(due, resolved=False)
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
    counts: Counter = Counter(due=len(ids))
    for mismatch_id in ids:
        result = mismatch_notify(mismatch_id=mismatch_id, now=now)
        counts[result.outcome] += 1
        if result.outcome == "retry" and on_retry is not None and result.retry_in is not None:
            on_retry(mismatch_id, result.retry_in)
    return counts


def mismatch_issue_file(*, mismatch_id, now: datetime | None = None) -> NotifyResult:
    """The admin's "File GitHub issue": now, through GitHub only (also after a Slack notification).

    Skipped when the mismatch already has an issue or another worker holds or has scheduled it.
    """
    now = now or timezone.now()
    mismatch = Mismatch.objects.select_related("tenant").get(pk=mismatch_id)
    if mismatch.resolved:
        return NotifyResult("skipped", error="The mismatch is resolved.")
    client = GitHubClient.for_tenant(mismatch.tenant)
    if client is None:
        return NotifyResult("failed", error="GitHub is not configured (GITHUB_TOKEN and a repository).")
    busy = Q(notification_state=NotificationState.PENDING, notification_next_attempt_at__gt=now)
    claimed = (
        Mismatch.objects.filter(pk=mismatch_id, issue_number__isnull=True)
        .exclude(busy)
        .update(
            notification_state=NotificationState.PENDING,
            notification_channel=NotificationChannel.NONE,
            notification_attempts=F("notification_attempts") + 1,
            notification_next_attempt_at=now + timedelta(seconds=lease_seconds()),
        )
    )
    if not claimed:
        return NotifyResult("skipped")
    mismatch = Mismatch.objects.select_related("trace", "tenant").get(pk=mismatch_id)
    try:
        ref = github_issue_file(client, mismatch)
    except GitHubError as exc:
        NOTIFICATIONS.labels(channel="github", result="retry" if exc.retryable else "failed").inc()
        if exc.retryable:
            return _finish_retry(
                mismatch, channel=NotificationChannel.NONE, error=str(exc), wait=_wait(exc.retry_after, 1)
            )
        return _finish_failed(mismatch, channel=NotificationChannel.NONE, error=str(exc))
    NOTIFICATIONS.labels(channel="github", result="sent").inc()
    return _finish_sent(mismatch, channel=NotificationChannel.GITHUB, ref=ref)
