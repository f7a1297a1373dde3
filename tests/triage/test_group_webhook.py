# ruff: noqa: F811  (pytest fixtures imported from tests.triage.github_standin)
"""GitHub webhook → mismatch groups: an issue closed or reopened on GitHub moves its group and all its mismatches."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid

import pytest
from rest_framework.test import APIClient

from tests.triage.github_standin import REPO, github, github_on, make_trace  # noqa: F401
from triage.groups import group_resolve
from triage.models import GroupStatus, Mismatch, MismatchGroup
from triage.notify import notify_pending_sweep
from triage.services import mismatch_record

URL = "/api/v1/integrations/github/webhook"
SECRET = "whsec-test"  # github_on's GITHUB_WEBHOOK_SECRET


def send(action: str, issue_url: str, *, login: str = "octocat", secret: str = SECRET, delivery: str | None = None):
    body = json.dumps({"action": action, "issue": {"number": 1, "html_url": issue_url}, "sender": {"login": login}})
    signature = "sha256=" + hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()
    return APIClient().post(
        URL,
        body,
        content_type="application/json",
        HTTP_X_GITHUB_EVENT="issues",
        HTTP_X_GITHUB_DELIVERY=delivery or str(uuid.uuid4()),
        HTTP_X_HUB_SIGNATURE_256=signature,
    )


@pytest.fixture
def report(django_capture_on_commit_callbacks):
    """Records a replay mismatch at step 1 of `trace`, notified (after commit) through the stand-in."""

    def record(trace):
        with django_capture_on_commit_callbacks(execute=True):
            mismatch = mismatch_record(trace=trace, step_index=1, reason="output_mismatch", reported_by="replay")
        mismatch.refresh_from_db()
        return mismatch

    return record


@pytest.fixture
def group(github_on, tenant_a, report):
    """Tenant A's group of three mismatches with GitHub issue #1; the third never notified (still pending)."""
    report(make_trace(tenant_a, "trace-1"))
    report(make_trace(tenant_a, "trace-2"))
    pending = mismatch_record(
        trace=make_trace(tenant_a, "trace-3"), step_index=1, reason="output_mismatch", reported_by="r"
    )
    Mismatch.objects.filter(pk=pending.pk).update(notification_state="pending", issue_url="", issue_number=None)
    found = MismatchGroup.objects.get(tenant=tenant_a)
    assert (found.count, found.issue_number) == (3, 1)
    return found


def issue_url(github_on, number=1, repo=REPO) -> str:
    return f"https://github.example/{repo}/issues/{number}"


def mismatch_states(group) -> list[tuple[bool, str]]:
    return sorted(Mismatch.objects.filter(group=group).values_list("resolved", "resolved_by"))


def events(group) -> list[tuple[str, str, str]]:
    return list(group.events.order_by("created_at", "id").values_list("kind", "actor", "message"))


def test_it_resolves_the_group_and_all_its_mismatches_when_the_issue_is_closed(github_on, group):
    comments = len(github_on.issues[(REPO, 1)]["comments"])
    response = send("closed", issue_url(github_on))
    assert response.status_code == 200 and response.json()["updated"] == 3  # two linked, one never notified
    group.refresh_from_db()
    assert (group.status, group.resolution_kind, group.resolved_by) == (GroupStatus.RESOLVED, "fixed", "octocat")
    assert group.resolution_note == "Issue closed on GitHub." and group.resolved_at is not None
    assert mismatch_states(group) == [(True, "octocat")] * 3
    assert events(group)[-1] == ("resolved", "octocat", "Issue closed on GitHub.")
    assert len(github_on.issues[(REPO, 1)]["comments"]) == comments  # GitHub knows already: nothing posted


def test_it_unresolves_the_group_and_all_its_mismatches_when_the_issue_is_reopened(github_on, group, report):
    send("closed", issue_url(github_on))
    response = send("reopened", issue_url(github_on), login="hubot")
    assert response.status_code == 200 and response.json()["updated"] == 3
    group.refresh_from_db()
    assert group.status == GroupStatus.UNRESOLVED
    assert mismatch_states(group) == [(False, "")] * 3
    assert not Mismatch.objects.filter(group=group).exclude(resolution_note="").exists()
    assert events(group)[-1] == ("reopened", "hubot", "Issue reopened on GitHub.")


def test_it_reopens_a_group_resolved_as_accepted_nondeterminism_with_its_counted_mismatches(
    github_on, tenant_a, group, report, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        group_resolve(group=group, kind="accepted_nondeterminism", note="Timestamps differ.", who="alice")
    counted = report(make_trace(tenant_a, "trace-4"))
    assert counted.resolved and counted.resolved_by == "aos"  # counted only, never notified
    assert github_on.issues[(REPO, 1)]["state"] == "closed"

    response = send("reopened", issue_url(github_on), login="hubot")
    github_on.issues[(REPO, 1)]["state"] = "open"  # what the reopen on GitHub did to the issue

    assert response.json()["updated"] == 4
    group.refresh_from_db()
    assert (group.status, group.count) == (GroupStatus.UNRESOLVED, 4)
    assert mismatch_states(group) == [(False, "")] * 4
    # Unresolved now: the sweep sends what the issue never heard of (trace-3 was pending, trace-4
    # only counted), and the next mismatch comments on the issue as usual.
    assert notify_pending_sweep()["sent"] == 2
    report(make_trace(tenant_a, "trace-5"))
    comments = github_on.issues[(REPO, 1)]["comments"]
    assert ["trace-3" in comments[-3], "trace-4" in comments[-2], "trace-5" in comments[-1]] == [True] * 3


def test_it_ignores_the_echo_of_its_own_close_and_reopen(
    github_on, tenant_a, group, report, django_capture_on_commit_callbacks
):
    """GitHub reports back what AOS did itself: closing on resolve, reopening on a regression."""
    with django_capture_on_commit_callbacks(execute=True):
        group_resolve(group=group, kind="fixed", note="Pinned the clock.", who="alice")
    before = events(group)
    assert send("closed", issue_url(github_on), login="aos-bot").json()["updated"] == 0
    assert events(group) == before  # one resolution, by alice

    report(make_trace(tenant_a, "trace-4"))  # a regression: AOS reopens the issue
    group.refresh_from_db()
    assert group.status == GroupStatus.REGRESSED and github_on.issues[(REPO, 1)]["state"] == "open"
    before = events(group)
    send("reopened", issue_url(github_on), login="aos-bot")
    group.refresh_from_db()
    assert group.status == GroupStatus.REGRESSED and events(group) == before


def test_it_treats_a_close_on_github_as_fixed_so_the_next_mismatch_is_a_regression(github_on, tenant_a, group, report):
    send("closed", issue_url(github_on))
    github_on.issues[(REPO, 1)]["state"] = "closed"  # what the close on GitHub did to the issue
    report(make_trace(tenant_a, "trace-4"))
    group.refresh_from_db()
    assert group.status == GroupStatus.REGRESSED
    issue = github_on.issues[(REPO, 1)]
    assert issue["state"] == "open" and issue["comments"][-1].startswith("**Regression**: resolved as fixed by octocat")


@pytest.mark.parametrize("secret", ["wrong-secret", ""])
def test_it_moves_no_group_on_a_bad_signature(github_on, group, secret):
    response = send("closed", issue_url(github_on), secret=secret)
    assert response.status_code == 401
    group.refresh_from_db()
    assert group.status == GroupStatus.UNRESOLVED and mismatch_states(group) == [(False, "")] * 3
    assert [kind for kind, _, _ in events(group)].count("resolved") == 0


def test_it_applies_a_redelivered_close_once(github_on, group):
    assert send("closed", issue_url(github_on), delivery="d-1").json()["updated"] == 3
    send("reopened", issue_url(github_on), delivery="d-2")
    again = send("closed", issue_url(github_on), delivery="d-1")
    assert again.json()["duplicate"] is True
    group.refresh_from_db()
    assert group.status == GroupStatus.UNRESOLVED
    assert [kind for kind, _, _ in events(group)].count("resolved") == 1


def test_it_leaves_another_tenants_group_alone(github_on, group, tenant_b):
    """Tenant B's group: the same issue number in another repository, and an issue of its own."""
    same_number = mismatch_record(
        trace=make_trace(tenant_b, "b-1"), step_index=1, reason="output_mismatch", reported_by="r"
    )
    own = mismatch_record(
        trace=make_trace(tenant_b, "b-2", plan_hash="q" * 64), step_index=1, reason="output_mismatch", reported_by="r"
    )
    other_repo = issue_url(github_on, repo="acme-b/agents")
    MismatchGroup.objects.filter(pk=same_number.group_id).update(issue_url=other_repo, issue_number=1)
    Mismatch.objects.filter(pk=same_number.pk).update(issue_url=other_repo, issue_number=1)
    MismatchGroup.objects.filter(pk=own.group_id).update(
        issue_url=issue_url(github_on, 2, "acme-b/agents"), issue_number=2
    )

    assert send("closed", issue_url(github_on)).json()["updated"] == 3
    assert send("reopened", issue_url(github_on)).json()["updated"] == 3
    assert send("closed", issue_url(github_on), login="hubot").json()["updated"] == 3  # a new body: not a replay

    theirs = MismatchGroup.objects.filter(tenant=tenant_b)
    assert set(theirs.values_list("status", flat=True)) == {GroupStatus.UNRESOLVED}
    assert not Mismatch.objects.filter(tenant=tenant_b, resolved=True).exists()
    assert not theirs.first().events.exclude(kind="reported").exists()
    group.refresh_from_db()
    assert group.status == GroupStatus.RESOLVED


def test_it_resolves_a_regressed_group_when_its_issue_is_closed_again(
    github_on, tenant_a, group, report, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        group_resolve(group=group, kind="fixed", note="Pinned the clock.", who="alice")
    regression = report(make_trace(tenant_a, "trace-4"))
    group.refresh_from_db()
    assert group.status == GroupStatus.REGRESSED and not regression.resolved

    assert send("closed", issue_url(github_on), login="hubot").json()["updated"] == 1  # the regression

    group.refresh_from_db()
    assert (group.status, group.resolved_by, group.resolution_note) == (
        GroupStatus.RESOLVED,
        "hubot",
        "Issue closed on GitHub.",
    )
    assert Mismatch.objects.get(pk=regression.pk).resolved
