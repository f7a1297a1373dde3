"""A Celery worker killed mid-notification (issue 17, fault injection): notified exactly once.

A real `celery worker` (prefork) with a redis-server of this test's own as broker takes the
on-commit `traces.mismatch_notify` task and calls the GitHub stand-in (PyGithub), which holds the
POST open; the test kills the worker's whole process group (kill -9) while it waits, then lets the
stand-in finish: either GitHub created the issue (its answer went to a dead socket) or it did not.
A new worker gets the unacknowledged message back (acks_late, CELERY_VISIBILITY_TIMEOUT_SECONDS)
once the attempt's lease (MISMATCH_NOTIFY_LEASE_SECONDS) has passed; the beat sweep races it.
Exactly one issue exists at the end and the mismatch is `sent` with it (decisions 0010, 0053).
Both scaled-down settings are the production code paths with shorter waits (3600 s and 120 s).
"""

from __future__ import annotations

import threading
import time

import pytest
import time_machine
from django.utils import timezone

from tests.faults.stack import child_env, kill, needs_redis_server, worker
from tests.triage.github_standin import REPO, TOKEN, GitHubStandin, github, github_on, make_trace  # noqa: F401
from triage.models import Mismatch, NotificationState
from triage.notify import backoff_seconds, mismatch_notify
from triage.services import mismatch_record

VISIBILITY = 3  # seconds
LEASE = 2


def _held_post(standin: GitHubStandin, *, create: bool):
    """The first POST of an issue waits until released; then it is created (or not) and answered."""
    arrived, release, done = threading.Event(), threading.Event(), threading.Event()
    original = standin.server.handle

    def handle(method, path, headers, body):
        if method != "POST" or not path.endswith("/issues") or arrived.is_set():
            return original(method, path, headers, body)
        arrived.set()
        release.wait(30)
        try:
            if not create:
                return 502, {}, {"message": "the request never reached the issue store"}
            return original(method, path, headers, body)
        finally:
            done.set()

    standin.server.handle = handle
    return arrived, release, done


@needs_redis_server
@pytest.mark.parametrize("github_created", [True, False], ids=["issue-created", "issue-not-created"])
def test_it_notifies_exactly_once_when_the_worker_is_killed_mid_notification(
    broker, own_redis, tmp_path, tenant_a, settings, github_created
):
    with GitHubStandin() as standin:
        arrived, release, done = _held_post(standin, create=github_created)
        env = child_env(
            REDIS_URL=own_redis.url,
            CELERY_TASK_ALWAYS_EAGER="0",
            GITHUB_TOKEN=TOKEN,
            GITHUB_REPO=REPO,
            GITHUB_API_URL=standin.url,
            GITHUB_WRITE_INTERVAL_SECONDS="0",
            CELERY_VISIBILITY_TIMEOUT_SECONDS=str(VISIBILITY),
            MISMATCH_NOTIFY_LEASE_SECONDS=str(LEASE),
            AOS_BASE_URL="https://aos.example",
        )
        with worker(tmp_path, env, name="worker-1") as first:
            # The product's path: recorded, then the on-commit task goes to the broker.
            mismatch = mismatch_record(
                trace=make_trace(tenant_a), step_index=0, reason="output_mismatch", reported_by="replay"
            )
            delivered = time.monotonic()
            assert arrived.wait(30), first.log()
            kill(first)  # kill -9 while PyGithub waits for GitHub's answer
        release.set()  # GitHub finishes (or not); nobody reads the answer
        assert done.wait(10)
        mismatch.refresh_from_db()
        assert (mismatch.notification_state, mismatch.notification_attempts) == ("pending", 1)
        assert len(standin.created_issues()) == (1 if github_created else 0)

        time.sleep(max(0.0, delivered + VISIBILITY + 0.5 - time.monotonic()))  # the message is due again
        with worker(tmp_path, env, name="worker-2") as second:
            broker.send_task("traces.mismatch_notify_sweep")  # what beat sends every 5 minutes
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                mismatch.refresh_from_db()
                if mismatch.notification_state != NotificationState.PENDING:
                    break
                time.sleep(0.1)
            time.sleep(1)  # let the redelivered task and the sweep both finish
            log = second.log_path.read_text(errors="replace")
        mismatch.refresh_from_db()
        assert mismatch.notification_state == "sent", log[-3000:]
        issues = standin.created_issues()
        print(f"github_created={github_created}: issues={len(issues)} attempts={mismatch.notification_attempts}")
        assert len(issues) == 1 and mismatch.issue_number == issues[0]["number"]
        assert len(standin.calls("POST", r"/repos/acme/agents/issues")) == (1 if github_created else 2)
        assert "traces.mismatch_notify[" in log  # the unacknowledged task was redelivered to the new worker
        assert "traces.mismatch_notify_sweep[" in log


def test_it_finds_the_issue_of_an_attempt_whose_answer_was_lost(github_on, tenant_a):  # noqa: F811
    """In-process counterpart (both backends, no processes): GitHub wrote, the answer was lost."""
    trace = make_trace(tenant_a)
    mismatch = Mismatch.objects.create(
        trace=trace, tenant=tenant_a, reported_by="x", step_index=0, reason="output_mismatch", fingerprint="f" * 64
    )
    original = github_on.server.handle

    def lost(method, path, headers, body):
        status, extra, payload = original(method, path, headers, body)
        return (504, {}, {"message": "gateway timeout"}) if method == "POST" else (status, extra, payload)

    github_on.server.handle = lost
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        assert mismatch_notify(mismatch_id=mismatch.pk).outcome == "retry"
        github_on.server.handle = original
        clock.shift(backoff_seconds(1))
        assert mismatch_notify(mismatch_id=mismatch.pk).outcome == "sent"
    mismatch.refresh_from_db()
    assert len(github_on.created_issues()) == 1 and mismatch.issue_number == 1
    assert len(github_on.calls("POST", r"/repos/acme/agents/issues")) == 1  # not filed a second time


def test_it_does_not_comment_twice_when_the_comments_answer_was_lost(github_on, tenant_a):  # noqa: F811
    first = Mismatch.objects.create(
        trace=make_trace(tenant_a, "t-1"), tenant=tenant_a, reported_by="x", step_index=0, reason="output_mismatch",
        fingerprint="f" * 64,
    )  # fmt: skip
    assert mismatch_notify(mismatch_id=first.pk).outcome == "sent"
    second = Mismatch.objects.create(
        trace=make_trace(tenant_a, "t-2"), tenant=tenant_a, reported_by="x", step_index=0, reason="output_mismatch",
        fingerprint="f" * 64,
    )  # fmt: skip
    original = github_on.server.handle

    def lost(method, path, headers, body):
        status, extra, payload = original(method, path, headers, body)
        if method == "POST" and path.endswith("/comments"):
            return 504, {}, {"message": "gateway timeout"}
        return status, extra, payload

    github_on.server.handle = lost
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        assert mismatch_notify(mismatch_id=second.pk).outcome == "retry"
        github_on.server.handle = original
        clock.shift(backoff_seconds(1))
        assert mismatch_notify(mismatch_id=second.pk).outcome == "sent"
    assert len(github_on.issues[(REPO, 1)]["comments"]) == 1
