# ruff: noqa: F811  (pytest fixtures imported from tests.triage.github_standin)
"""One GitHub issue per group, resolutions on GitHub, regressions reopen (the stand-in, real PyGithub)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from tests.triage.github_standin import REPO, github, github_on, make_trace  # noqa: F401
from triage.groups import group_resolve
from triage.models import GroupStatus, Mismatch, MismatchGroup
from triage.notify import mismatch_notify, notify_pending_sweep
from triage.services import mismatch_record


def replay_mismatch(trace, callbacks_fixture):
    with callbacks_fixture(execute=True):
        mismatch = mismatch_record(
            trace=trace, step_index=1, reason="output_mismatch", reported_by="replay", details={"replay_run_id": "r"}
        )
    mismatch.refresh_from_db()
    return mismatch


def test_it_files_one_issue_per_group_and_comments_after(github_on, tenant_a, django_capture_on_commit_callbacks):
    first = replay_mismatch(make_trace(tenant_a, "trace-1"), django_capture_on_commit_callbacks)
    second = replay_mismatch(make_trace(tenant_a, "trace-2"), django_capture_on_commit_callbacks)
    group = MismatchGroup.objects.get()
    assert len(github_on.created_issues()) == 1
    assert group.issue_number == first.issue_number == second.issue_number == 1
    assert "trace-2" in github_on.issues[(REPO, 1)]["comments"][0]
    kinds = list(group.events.values_list("kind", flat=True))
    assert kinds == ["reported", "notified", "reported", "commented"]


def test_it_posts_the_kind_and_note_and_closes_the_issue(github_on, tenant_a, django_capture_on_commit_callbacks):
    mismatch = replay_mismatch(make_trace(tenant_a), django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        group_resolve(group=mismatch.group, kind="flaky_skill", note="The upstream API is flaky.", who="alice")
    issue = github_on.issues[(REPO, 1)]
    assert issue["state"] == "closed"
    assert issue["comments"][-1] == "Resolved by alice as **Flaky skill**\n\nThe upstream API is flaky."
    assert mismatch.group.events.last().kind == "commented"


def test_it_reopens_the_issue_with_a_comment_on_a_regression(github_on, tenant_a, django_capture_on_commit_callbacks):
    trace = make_trace(tenant_a)
    mismatch = replay_mismatch(trace, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        group_resolve(group=mismatch.group, kind="fixed", note="Pinned the clock.", who="alice")
    assert github_on.issues[(REPO, 1)]["state"] == "closed"

    again = replay_mismatch(trace, django_capture_on_commit_callbacks)
    group = MismatchGroup.objects.get()
    issue = github_on.issues[(REPO, 1)]
    assert group.status == GroupStatus.REGRESSED and again.issue_number == 1
    assert issue["state"] == "open" and len(github_on.created_issues()) == 1
    assert issue["comments"][-1].startswith("**Regression**: resolved as fixed by alice")
    kinds = list(group.events.values_list("kind", flat=True))
    assert kinds[-4:] == ["reported", "reopened", "reopened", "commented"]  # regression, then the GitHub reopen


def test_it_leaves_the_issue_closed_for_accepted_nondeterminism(
    github_on, tenant_a, django_capture_on_commit_callbacks
):
    trace = make_trace(tenant_a)
    mismatch = replay_mismatch(trace, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        group_resolve(group=mismatch.group, kind="accepted_nondeterminism", note="Timestamps differ.", who="alice")
    comments_before = len(github_on.issues[(REPO, 1)]["comments"])
    replay_mismatch(trace, django_capture_on_commit_callbacks)
    group = MismatchGroup.objects.get()
    assert (group.status, group.count) == (GroupStatus.RESOLVED, 2)
    assert github_on.issues[(REPO, 1)]["state"] == "closed"
    assert len(github_on.issues[(REPO, 1)]["comments"]) == comments_before


def test_it_notifies_a_regression_although_an_earlier_mismatch_was_resolved_while_pending(
    github_on, tenant_a, django_capture_on_commit_callbacks
):
    """An earlier mismatch resolved with its notification still pending is never sent: nothing waits for it."""
    trace = make_trace(tenant_a)
    first = replay_mismatch(trace, django_capture_on_commit_callbacks)
    stuck = mismatch_record(trace=trace, step_index=1, reason="output_mismatch", reported_by="replay")
    Mismatch.objects.filter(pk=stuck.pk).update(notification_state="pending", issue_url="", issue_number=None)
    with django_capture_on_commit_callbacks(execute=True):
        group_resolve(group=first.group, kind="fixed", note="Pinned the clock.", who="alice")
    assert Mismatch.objects.get(pk=stuck.pk).resolved  # resolved with the group, still pending

    again = replay_mismatch(trace, django_capture_on_commit_callbacks)

    assert (again.notification_state, again.issue_number) == ("sent", 1)
    issue = github_on.issues[(REPO, 1)]
    assert issue["state"] == "open" and issue["comments"][-1].startswith("**Regression**")
    assert Mismatch.objects.get(pk=stuck.pk).notification_state == "pending"  # resolved: never sent


needs_postgres = pytest.mark.skipif(
    "postgresql" not in __import__("django.conf").conf.settings.DATABASES["default"]["ENGINE"],
    reason="concurrent writers need PostgreSQL",
)


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_it_files_one_issue_when_two_workers_notify_one_new_group_at_once(github_on, tenant_a):
    """The bug of issue 19: two mismatches of one fingerprint, notified at the same moment, gave two issues."""
    trace = make_trace(tenant_a)
    ids = [
        mismatch_record(trace=trace, step_index=1, reason="output_mismatch", reported_by="replay").pk for _ in range(2)
    ]  # no on-commit capture here: notified below, both at once
    Mismatch.objects.update(
        notification_state="pending",
        notification_attempts=0,
        notification_next_attempt_at=None,
        issue_url="",
        issue_number=None,
    )
    MismatchGroup.objects.update(issue_url="", issue_number=None, issue_lease_until=None)
    github_on.issues.clear()
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def notify(mismatch_id) -> None:
        try:
            barrier.wait()
            outcomes.append(mismatch_notify(mismatch_id=mismatch_id).outcome)
        finally:
            connection.close()

    threads = [threading.Thread(target=notify, args=(pk,)) for pk in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(github_on.created_issues()) == 1
    # The loser waits for the winner's issue and comments on it at its next attempt.
    Mismatch.objects.update(notification_next_attempt_at=None)
    notify_pending_sweep()
    assert set(Mismatch.objects.values_list("notification_state", "issue_number")) == {("sent", 1)}
    assert len(github_on.created_issues()) == 1
