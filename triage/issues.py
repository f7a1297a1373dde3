"""One GitHub issue per mismatch group: filed once, commented on after, reopened on a regression.

Filing is claimed on the group row with one conditional UPDATE (`issue_lease_until`), like the
notification claim in `triage.notify`: two workers notifying two mismatches of one new group
never both create an issue; the loser retries shortly and comments on the winner's issue.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from aosproject.metrics import NOTIFICATIONS
from triage.github import GitHubClient, GitHubError, IssueRef
from triage.groups import group_event_add
from triage.issue_text import (
    group_resolution_comment,
    issue_body,
    issue_title,
    recurrence_comment,
    regression_comment,
)
from triage.models import GroupEventKind, GroupStatus, Mismatch, MismatchGroup

LABELS = ["replay-mismatch", "aos", "automated"]
BUSY_RETRY_SECONDS = 5.0


def file_lease_seconds() -> float:
    """How long filing a group's first issue is claimed: as long as one notification attempt holds its row.

    A worker killed mid-filing leaves the claim behind; the redelivered attempt may file once it has passed.
    """
    return float(settings.MISMATCH_NOTIFY_LEASE_SECONDS)


def _in_repo(client: GitHubClient, group: MismatchGroup) -> bool:
    return bool(group.issue_number) and f"/{client.repo_name}/issues/" in group.issue_url


def _file_new(client: GitHubClient, group: MismatchGroup, mismatch: Mismatch) -> IssueRef:
    now = timezone.now()
    free = Q(issue_lease_until__isnull=True) | Q(issue_lease_until__lte=now)
    claimed = (
        MismatchGroup.objects.filter(pk=group.pk)
        .filter(free)
        .filter(Q(issue_number__isnull=True) | ~Q(issue_url__contains=f"/{client.repo_name}/issues/"))
        .update(issue_lease_until=now + timedelta(seconds=file_lease_seconds()))
    )
    if not claimed:  # someone is filing it right now (or just did): comment on theirs shortly
        raise GitHubError(
            "Another worker is filing this group's GitHub issue.", retryable=True, retry_after=BUSY_RETRY_SECONDS
        )
    try:
        ref = client.issue_create(title=issue_title(mismatch), body=issue_body(mismatch), labels=LABELS)
    except GitHubError:
        MismatchGroup.objects.filter(pk=group.pk).update(issue_lease_until=None)
        raise
    MismatchGroup.objects.filter(pk=group.pk).update(issue_url=ref.url, issue_number=ref.number, issue_lease_until=None)
    group_event_add(
        group=group,
        kind=GroupEventKind.NOTIFIED,
        mismatch=mismatch,
        actor="aos",
        message=f"GitHub issue #{ref.number} filed.",
    )
    return ref


def group_issue_file(client: GitHubClient, mismatch: Mismatch) -> IssueRef:
    """The group's issue for this mismatch: filed, commented on, or reopened. Raises GitHubError."""
    assert mismatch.group_id is not None, "only grouped mismatches have a group issue"
    group = MismatchGroup.objects.get(pk=mismatch.group_id)
    if not _in_repo(client, group):
        return _file_new(client, group, mismatch)
    assert group.issue_number is not None
    number = group.issue_number
    ref = client.issue_get(number)
    if ref.state == "closed" and group.status != GroupStatus.RESOLVED:
        client.issue_reopen(number)
        comment = (
            regression_comment(mismatch, group)
            if group.status == GroupStatus.REGRESSED
            else recurrence_comment(mismatch)
        )
        client.issue_comment(number, comment)
        group_event_add(
            group=group,
            kind=GroupEventKind.REOPENED,
            mismatch=mismatch,
            actor="aos",
            message=f"GitHub issue #{number} reopened.",
        )
        ref = IssueRef(number=ref.number, url=ref.url, state="open")
    else:
        client.issue_comment(number, recurrence_comment(mismatch))
        NOTIFICATIONS.labels(channel="github", result="deduplicated").inc()
    group_event_add(
        group=group,
        kind=GroupEventKind.COMMENTED,
        mismatch=mismatch,
        actor="aos",
        message=f"Commented on GitHub issue #{number}.",
    )
    return ref


def group_resolution_push(*, group_id, close: bool) -> bool:
    """Posts the group's resolution (kind and note) on its issue and closes it. False: nothing to do."""
    group = MismatchGroup.objects.select_related("tenant").get(pk=group_id)
    client = GitHubClient.for_tenant(group.tenant)
    if client is None or group.status != GroupStatus.RESOLVED or not _in_repo(client, group):
        return False
    assert group.issue_number is not None
    client.issue_comment(group.issue_number, group_resolution_comment(group))
    message = f"Resolution posted on GitHub issue #{group.issue_number}"
    if close:
        client.issue_close(group.issue_number)
        message += " and the issue closed"
    group_event_add(group=group, kind=GroupEventKind.COMMENTED, actor="aos", message=message + ".")
    return True
