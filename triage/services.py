"""Recording, resolving and bulk-reporting replay mismatches (PRODUCT.md §6).

Notification is scheduled after commit; the pipeline itself is `traces/notify.py`.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import Tenant
from aos_sdk.hashing import H
from aosproject.metrics import NOTIFICATIONS, REPLAY_MISMATCHES
from traces.models import Trace
from triage.github import GitHubClient, IssueRef
from triage.groups import group_join
from triage.issue_text import bulk_issue_body, bulk_issue_title, resolution_comment
from triage.issues import LABELS
from triage.models import Mismatch, MismatchSource, NotificationChannel, NotificationState


def mismatch_fingerprint(*, tenant_id: int, plan_hash: str, step_index: int, skill_id: str, reason: str) -> str:
    """Same fingerprint = same determinism failure: one GitHub issue, later ones comment on it."""
    return H(
        {"tenant": tenant_id, "plan_hash": plan_hash, "step_index": step_index, "skill": skill_id, "reason": reason}
    )


def mismatch_record(
    *,
    trace: Trace,
    step_index: int,
    reason: str,
    reported_by: str,
    skill_id: str = "",
    expected_hash: str = "",
    actual_hash: str = "",
    details: dict[str, Any] | None = None,
    source: str = MismatchSource.REPLAY,
) -> Mismatch:
    """Creates the mismatch (pending notification) in its group. The caller's transaction decides when it lands.

    A mismatch joining a group resolved as anything but `fixed` is recorded resolved and is not
    notified (the group only counts it); see `triage.groups.group_join`.
    """
    if not skill_id:
        step = trace.steps.filter(index=step_index).only("skill_id").first()
        skill_id = step.skill_id if step else ""
    with transaction.atomic():  # the mismatch and its group's counters land together
        mismatch = _mismatch_create(
            trace=trace,
            step_index=step_index,
            reason=reason,
            reported_by=reported_by,
            skill_id=skill_id,
            expected_hash=expected_hash,
            actual_hash=actual_hash,
            details=details,
            source=source,
        )
        group_join(mismatch=mismatch)
    REPLAY_MISMATCHES.labels(reason=reason).inc()
    if not mismatch.resolved:
        _schedule_notification(mismatch)
    return mismatch


def _mismatch_create(
    *,
    trace: Trace,
    step_index: int,
    reason: str,
    reported_by: str,
    skill_id: str,
    expected_hash: str,
    actual_hash: str,
    details: dict[str, Any] | None,
    source: str,
) -> Mismatch:
    return Mismatch.objects.create(
        trace=trace,
        source=source,
        tenant_id=trace.tenant_id,
        reported_by=reported_by,
        step_index=step_index,
        skill_id=skill_id,
        reason=reason,
        expected_hash=expected_hash,
        actual_hash=actual_hash,
        details=details or {},
        fingerprint=mismatch_fingerprint(
            tenant_id=trace.tenant_id,
            plan_hash=trace.plan_hash,
            step_index=step_index,
            skill_id=skill_id,
            reason=reason,
        ),
    )


def _schedule_notification(mismatch: Mismatch) -> None:
    """After commit, a Celery task notifies (never inside the request, never for a rolled-back row)."""
    from triage.tasks import mismatch_notify_task  # tasks import services, not the other way

    mismatch_id = str(mismatch.pk)
    # robust: a broker outage must not fail the request; the row stays pending for notify_pending.
    transaction.on_commit(lambda: mismatch_notify_task.delay(mismatch_id), robust=True)


class AlreadyResolved(Exception):
    pass


def mismatch_resolve(*, mismatch: Mismatch, who: str, note: str = "") -> Mismatch:
    """Resolves; a linked GitHub issue gets `Resolved by <who>` + note (and is closed) after commit."""
    from triage.tasks import mismatch_resolution_push_task

    with transaction.atomic():
        updated = Mismatch.objects.filter(pk=mismatch.pk, resolved=False).update(
            resolved=True, resolved_at=timezone.now(), resolved_by=who[:200], resolution_note=note
        )
        if not updated:
            raise AlreadyResolved(str(mismatch.pk))
        if mismatch.issue_number:
            mismatch_id = str(mismatch.pk)
            transaction.on_commit(lambda: mismatch_resolution_push_task.delay(mismatch_id), robust=True)
    mismatch.refresh_from_db()
    return mismatch


def mismatch_resolution_push(*, mismatch_id) -> None:
    """Comments the resolution on the linked issue; closes it when no other open mismatch shares it."""
    mismatch = Mismatch.objects.select_related("tenant").get(pk=mismatch_id)
    client = GitHubClient.for_tenant(mismatch.tenant)
    if client is None or not mismatch.issue_number or not mismatch.resolved:
        return
    client.issue_comment(
        mismatch.issue_number, resolution_comment(who=mismatch.resolved_by, note=mismatch.resolution_note)
    )
    others_open = Mismatch.objects.filter(issue_url=mismatch.issue_url, resolved=False).exclude(pk=mismatch.pk).exists()
    if settings.GITHUB_CLOSE_ON_RESOLVE and not others_open:
        client.issue_close(mismatch.issue_number)


class GitHubNotConfigured(Exception):
    pass


def mismatch_bulk_report(*, tenant: Tenant | None, mismatches: list[Mismatch], reported_by: str) -> IssueRef:
    """One GitHub issue (label bulk-report) listing the mismatches grouped by trace; all get its URL.

    Raises GitHubNotConfigured or GitHubError. `tenant` picks the repository (None: each from settings).
    """
    client = GitHubClient.for_tenant(tenant or mismatches[0].tenant)
    if client is None:
        raise GitHubNotConfigured("GitHub is not configured (GITHUB_TOKEN and a repository).")
    ref = client.issue_create(
        title=bulk_issue_title(mismatches),
        body=bulk_issue_body(mismatches, reported_by=reported_by),
        labels=[*LABELS, "bulk-report"],
    )
    NOTIFICATIONS.labels(channel="github", result="sent").inc()
    Mismatch.objects.filter(pk__in=[m.pk for m in mismatches]).update(
        issue_url=ref.url,
        issue_number=ref.number,
        notification_state=NotificationState.SENT,
        notification_channel=NotificationChannel.GITHUB,
        notification_next_attempt_at=None,
    )
    return ref
