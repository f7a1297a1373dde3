# ruff: noqa: F811  (pytest fixtures imported from tests.triage.github_standin)
"""Notification pipeline with the real PyGithub client against the local GitHub stand-in."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from aosproject.metrics import NOTIFICATIONS
from tests.triage.github_standin import (  # noqa: F401  (fixtures)
    REPO,
    closed_port_url,
    github,
    github_on,
    make_trace,
    slack,
)
from triage.models import Mismatch
from triage.notify import MAX_ATTEMPTS, NO_CHANNEL, backoff_seconds, mismatch_notify
from triage.services import mismatch_bulk_report, mismatch_record, mismatch_resolve

ISSUES = r"/repos/acme/agents/issues"
H1 = "a" * 64
H2 = "b" * 64


def record(trace, django_capture_on_commit_callbacks, step_index=1, reason="output_mismatch", **extra):
    with django_capture_on_commit_callbacks(execute=True):
        mismatch = mismatch_record(
            trace=trace,
            step_index=step_index,
            reason=reason,
            reported_by="replay",
            expected_hash=H1,
            actual_hash=H2,
            details={"diff": [{"path": "body.items[2]", "a": 1, "b": 9}], **extra},
        )
    mismatch.refresh_from_db()
    return mismatch


def counter(channel, result):
    return NOTIFICATIONS.labels(channel=channel, result=result)._value.get()


def test_it_files_an_issue_with_title_labels_and_body(github_on, tenant_a, django_capture_on_commit_callbacks):
    trace = make_trace(tenant_a, "trace-title")
    before = counter("github", "sent")
    mismatch = record(trace, django_capture_on_commit_callbacks, note="`````fence")

    [issue] = github_on.created_issues()
    assert issue["title"] == "[Replay Mismatch] trace:trace-title step:1"
    assert issue["labels"] == ["replay-mismatch", "aos", "automated"]
    body = issue["body"]
    assert f"https://aos.example/admin/traces/trace/{trace.pk}/change/" in body
    assert "`output_mismatch`" in body and H1 in body and H2 in body and "`http_call`" in body
    # details are a real JSON block (fence longer than any backtick run inside)
    block = body.split("``````json\n", 1)[1].split("\n``````", 1)[0]
    assert json.loads(block)["diff"][0]["path"] == "body.items[2]"
    assert mismatch.notification_state == "sent"
    assert mismatch.notification_channel == "github"
    assert mismatch.notification_attempts == 1
    assert mismatch.issue_url == "https://github.example/acme/agents/issues/1" and mismatch.issue_number == 1
    assert counter("github", "sent") == before + 1


def test_it_comments_on_the_open_issue_for_the_same_fingerprint(
    github_on, tenant_a, django_capture_on_commit_callbacks
):
    first = record(make_trace(tenant_a, "trace-1"), django_capture_on_commit_callbacks)
    # Another run of the same plan failing the same way: same fingerprint.
    second = record(make_trace(tenant_a, "trace-2"), django_capture_on_commit_callbacks)
    other_step = record(make_trace(tenant_a, "trace-3"), django_capture_on_commit_callbacks, step_index=2)

    assert first.fingerprint == second.fingerprint != other_step.fingerprint
    assert len(github_on.calls("POST", ISSUES)) == 2  # first and other_step
    assert second.issue_url == first.issue_url and second.notification_state == "sent"
    issue = github_on.issues[(REPO, first.issue_number)]
    assert len(issue["comments"]) == 1 and "trace-2" in issue["comments"][0]
    assert len(github_on.calls("GET", ISSUES + r"/1")) == 1  # the issue's state was checked


def test_it_reopens_the_groups_issue_when_it_was_closed_on_github(
    github_on, tenant_a, django_capture_on_commit_callbacks
):
    first = record(make_trace(tenant_a, "trace-1"), django_capture_on_commit_callbacks)
    github_on.issues[(REPO, first.issue_number)]["state"] = "closed"  # closed on GitHub, no webhook
    second = record(make_trace(tenant_a, "trace-2"), django_capture_on_commit_callbacks)
    # One issue per group: the same one, open again, with the recurrence as a comment.
    assert second.issue_number == first.issue_number and len(github_on.created_issues()) == 1
    issue = github_on.issues[(REPO, first.issue_number)]
    assert issue["state"] == "open"
    assert "trace-2" in issue["comments"][-1]


def test_it_retries_502_twice_then_files_one_issue(github_on, tenant_a, django_capture_on_commit_callbacks):
    github_on.fail_next(2, 502, method="POST")
    trace = make_trace(tenant_a)
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        mismatch = record(trace, django_capture_on_commit_callbacks)
        assert mismatch.notification_state == "pending"
        assert mismatch.notification_attempts == 1
        assert "502" in mismatch.notification_last_error
        assert mismatch.notification_next_attempt_at == start + timedelta(seconds=backoff_seconds(1))

        # Not due yet: nobody may send it (the eager Celery retry already tried and stood down).
        assert mismatch_notify(mismatch_id=mismatch.pk).outcome == "not_due"

        clock.shift(backoff_seconds(1))
        assert mismatch_notify(mismatch_id=mismatch.pk).outcome == "retry"
        mismatch.refresh_from_db()
        assert mismatch.notification_attempts == 2
        assert mismatch.notification_next_attempt_at == timezone.now() + timedelta(seconds=backoff_seconds(2))

        clock.shift(backoff_seconds(2))
        assert mismatch_notify(mismatch_id=mismatch.pk).outcome == "sent"
    mismatch.refresh_from_db()
    assert mismatch.notification_state == "sent" and mismatch.notification_attempts == 3
    assert len(github_on.calls("POST", ISSUES)) == 3 and len(github_on.created_issues()) == 1
    # Once sent, nothing sends it again.
    assert mismatch_notify(mismatch_id=mismatch.pk).outcome == "skipped"
    call_command("notify_pending")
    assert len(github_on.created_issues()) == 1


def test_it_honours_retry_after_on_a_secondary_rate_limit(github_on, tenant_a, django_capture_on_commit_callbacks):
    github_on.fail_next(
        1, 403, headers={"Retry-After": "90"}, body={"message": "You have exceeded a secondary rate limit."}
    )
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        mismatch = record(make_trace(tenant_a), django_capture_on_commit_callbacks)
        assert mismatch.notification_state == "pending"
        assert mismatch.notification_next_attempt_at == start + timedelta(seconds=90)
        clock.shift(89)
        call_command("notify_pending")  # not due: GitHub asked for 90 s
        assert github_on.created_issues() == []
        clock.shift(1)
        call_command("notify_pending")
    mismatch.refresh_from_db()
    assert mismatch.notification_state == "sent" and len(github_on.created_issues()) == 1


def test_it_treats_rate_limit_remaining_zero_as_retryable(github_on, tenant_a, django_capture_on_commit_callbacks):
    reset = int(timezone.now().timestamp()) + 300
    github_on.fail_next(
        1,
        403,
        headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)},
        body={"message": "API rate limit exceeded"},
    )
    mismatch = record(make_trace(tenant_a), django_capture_on_commit_callbacks)
    assert mismatch.notification_state == "pending"
    wait = (mismatch.notification_next_attempt_at - timezone.now()).total_seconds()
    assert 280 < wait <= 300


def test_it_keeps_the_mismatch_pending_while_github_is_unreachable(
    settings, github_on, tenant_a, django_capture_on_commit_callbacks, capsys
):
    settings.GITHUB_API_URL = closed_port_url()
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        mismatch = record(make_trace(tenant_a), django_capture_on_commit_callbacks)
        assert mismatch.notification_state == "pending"
        assert "unreachable" in mismatch.notification_last_error
        for attempt in range(2, 4):
            clock.shift(backoff_seconds(attempt - 1))
            call_command("notify_pending")
            mismatch.refresh_from_db()
            assert (mismatch.notification_state, mismatch.notification_attempts) == ("pending", attempt)
        # GitHub is back.
        settings.GITHUB_API_URL = github_on.url
        clock.shift(backoff_seconds(3))
        capsys.readouterr()
        call_command("notify_pending")
    assert capsys.readouterr().out.strip() == (
        "notify_pending: 1 due, 1 sent, 0 retry scheduled, 0 failed, 0 skipped, 0 waiting for a channel"
    )
    mismatch.refresh_from_db()
    assert mismatch.notification_state == "sent" and mismatch.notification_attempts == 4
    assert len(github_on.created_issues()) == 1


def test_it_falls_back_to_slack_when_github_refuses(
    settings, github_on, slack, tenant_a, django_capture_on_commit_callbacks
):
    settings.SLACK_MISMATCH_WEBHOOK = slack.url + "/services/T/B/X"
    github_on.fail_next(1, 422, body={"message": "Validation Failed"})
    mismatch = record(make_trace(tenant_a), django_capture_on_commit_callbacks)
    assert (mismatch.notification_state, mismatch.notification_channel) == ("sent", "slack")
    assert "GitHub 422" in mismatch.notification_last_error
    [post] = slack.requests
    text = json.loads(post["body"])["text"]
    assert "[Replay Mismatch] trace:trace-1 step:1" in text and "422" in text


def test_it_falls_back_to_slack_when_github_attempts_are_exhausted(
    settings, github_on, slack, tenant_a, django_capture_on_commit_callbacks
):
    settings.SLACK_MISMATCH_WEBHOOK = slack.url
    github_on.fail_next(MAX_ATTEMPTS, 503)
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        mismatch = record(make_trace(tenant_a), django_capture_on_commit_callbacks)
        for attempt in range(2, MAX_ATTEMPTS + 1):
            clock.shift(backoff_seconds(attempt - 1))
            mismatch_notify(mismatch_id=mismatch.pk)
    mismatch.refresh_from_db()
    assert (mismatch.notification_state, mismatch.notification_channel) == ("sent", "slack")
    assert mismatch.notification_attempts == MAX_ATTEMPTS and len(slack.requests) == 1
    assert github_on.created_issues() == []


def test_it_marks_failed_when_github_and_slack_both_refuse(
    settings, github_on, slack, tenant_a, django_capture_on_commit_callbacks
):
    settings.SLACK_MISMATCH_WEBHOOK = slack.url
    slack.holder["status"] = 404
    settings.GITHUB_TOKEN = "wrong-token"  # the stand-in answers 401 Bad credentials
    mismatch = record(make_trace(tenant_a), django_capture_on_commit_callbacks)
    assert (mismatch.notification_state, mismatch.notification_channel) == ("failed", "none")
    assert "401" in mismatch.notification_last_error and "Slack 404" in mismatch.notification_last_error


def test_it_retries_slack_later_without_asking_github_again(
    settings, github_on, slack, tenant_a, django_capture_on_commit_callbacks
):
    settings.SLACK_MISMATCH_WEBHOOK = slack.url
    slack.holder["status"] = 503
    github_on.fail_next(1, 404, body={"message": "Not Found"})
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        mismatch = record(make_trace(tenant_a), django_capture_on_commit_callbacks)
        assert (mismatch.notification_state, mismatch.notification_channel) == ("pending", "slack")
        slack.holder["status"] = 200
        clock.shift(backoff_seconds(1))
        call_command("notify_pending")
    mismatch.refresh_from_db()
    assert (mismatch.notification_state, mismatch.notification_channel) == ("sent", "slack")
    assert len(github_on.calls("POST", ISSUES)) == 1  # GitHub was not asked a second time


def test_it_keeps_a_mismatch_pending_while_no_channel_is_configured(
    settings, tenant_a, django_capture_on_commit_callbacks
):
    settings.GITHUB_TOKEN = ""
    settings.SLACK_MISMATCH_WEBHOOK = ""
    mismatch = record(make_trace(tenant_a), django_capture_on_commit_callbacks)
    assert (mismatch.notification_state, mismatch.notification_attempts) == ("pending", 0)
    assert mismatch.notification_last_error == NO_CHANNEL
    assert mismatch.notification_next_attempt_at is None  # due at once when a channel appears


def test_it_uses_the_tenants_repository(github_on, settings, tenant_a, django_capture_on_commit_callbacks):
    settings.GITHUB_REPO_ALLOWLIST = ["tenant-a"]
    tenant_a.github_repo = "tenant-a/ops"
    tenant_a.save()
    record(make_trace(tenant_a), django_capture_on_commit_callbacks)
    assert len(github_on.calls("POST", r"/repos/tenant-a/ops/issues")) == 1


def test_it_never_files_into_a_tenant_repository_off_the_allow_list(
    github_on, settings, tenant_a, django_capture_on_commit_callbacks
):
    settings.GITHUB_REPO_ALLOWLIST = []
    settings.SLACK_MISMATCH_WEBHOOK = ""
    tenant_a.github_repo = "someone-else/private-repo"  # stored before the allow-list existed
    tenant_a.save()
    mismatch = record(make_trace(tenant_a), django_capture_on_commit_callbacks)
    assert github_on.calls("POST", r"/repos/someone-else/private-repo/issues") == []
    assert (mismatch.notification_state, mismatch.notification_last_error) == ("pending", NO_CHANNEL)


def test_it_never_notifies_a_mismatch_twice_when_workers_race(github_on, tenant_a):
    mismatch = mismatch_record(trace=make_trace(tenant_a), step_index=0, reason="output_mismatch", reported_by="x")
    # The claim is one conditional UPDATE: whoever runs second finds nothing to claim.
    outcomes = [mismatch_notify(mismatch_id=mismatch.pk).outcome for _ in range(3)]
    assert outcomes == ["sent", "skipped", "skipped"]
    assert len(github_on.created_issues()) == 1


def test_it_comments_and_closes_on_resolve(github_on, tenant_a, django_capture_on_commit_callbacks):
    mismatch = record(make_trace(tenant_a), django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        mismatch_resolve(mismatch=mismatch, who="alice", note="Pinned the clock in the skill.")
    issue = github_on.issues[(REPO, mismatch.issue_number)]
    assert issue["comments"] == ["Resolved by alice\n\nPinned the clock in the skill."]
    assert issue["state"] == "closed"


def test_it_keeps_a_shared_issue_open_while_another_mismatch_is_unresolved(
    github_on, tenant_a, django_capture_on_commit_callbacks
):
    first = record(make_trace(tenant_a, "trace-1"), django_capture_on_commit_callbacks)
    second = record(make_trace(tenant_a, "trace-2"), django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        mismatch_resolve(mismatch=first, who="alice", note="")
    assert github_on.issues[(REPO, 1)]["state"] == "open"
    with django_capture_on_commit_callbacks(execute=True):
        mismatch_resolve(mismatch=second, who="alice", note="")
    assert github_on.issues[(REPO, 1)]["state"] == "closed"


def test_it_only_comments_when_close_on_resolve_is_off(
    settings, github_on, tenant_a, django_capture_on_commit_callbacks
):
    settings.GITHUB_CLOSE_ON_RESOLVE = False
    mismatch = record(make_trace(tenant_a), django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        mismatch_resolve(mismatch=mismatch, who="alice", note="n")
    assert github_on.issues[(REPO, 1)]["state"] == "open"
    assert github_on.calls("PATCH", ISSUES + r"/\d+") == []


def test_it_files_one_bulk_issue_linking_every_mismatch(github_on, tenant_a, django_capture_on_commit_callbacks):
    github_on.fail_next(3, 422)  # the individual notifications fail, so only the bulk issue exists
    t1, t2 = make_trace(tenant_a, "trace-1"), make_trace(tenant_a, "trace-2")
    mismatches = [
        record(t1, django_capture_on_commit_callbacks, step_index=0),
        record(t1, django_capture_on_commit_callbacks, step_index=2),
        record(t2, django_capture_on_commit_callbacks, step_index=1),
    ]
    ref = mismatch_bulk_report(tenant=tenant_a, mismatches=mismatches, reported_by="alice")
    [issue] = github_on.created_issues()
    assert issue["labels"] == ["replay-mismatch", "aos", "automated", "bulk-report"]
    assert issue["body"].count("### Trace") == 2 and "trace-1" in issue["body"] and "trace-2" in issue["body"]
    assert Mismatch.objects.filter(issue_url=ref.url, notification_state="sent").count() == 3


@pytest.mark.parametrize("status,retryable", [(401, False), (404, False), (422, False), (500, True), (502, True)])
def test_it_classifies_github_failures(github_on, status, retryable):
    from triage.github import GitHubClient, GitHubError

    github_on.fail_next(1, status)
    client = GitHubClient(token="ghp_standin_token", repo=REPO, base_url=github_on.url, write_interval=0)
    with pytest.raises(GitHubError) as caught:
        client.issue_create(title="t", body="b", labels=[])
    assert caught.value.retryable is retryable and caught.value.status == status


@pytest.mark.django_db(transaction=True)
def test_it_files_once_when_workers_race_for_real(github_on, tenant_a):
    import threading
    import time

    from django.db import connection

    # Created directly: mismatch_record would notify at once (autocommit runs on_commit immediately).
    trace = make_trace(tenant_a)
    mismatch = Mismatch.objects.create(
        trace=trace, tenant=tenant_a, reported_by="x", step_index=0, reason="output_mismatch", fingerprint="f" * 64
    )
    original = github_on.server.handle

    def slow(method, path, headers, body):  # hold the first claim open while the others arrive
        time.sleep(0.3)
        return original(method, path, headers, body)

    github_on.server.handle = slow
    barrier = threading.Barrier(4)
    outcomes = []

    def worker():
        try:
            barrier.wait()
            outcomes.append(mismatch_notify(mismatch_id=mismatch.pk).outcome)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["not_due", "not_due", "not_due", "sent"]
    assert len(github_on.created_issues()) == 1
    mismatch.refresh_from_db()
    assert mismatch.notification_state == "sent" and mismatch.notification_attempts == 1
