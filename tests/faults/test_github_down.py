"""GitHub down for the whole run (issue 17, fault injection): nothing lost, nothing duplicated.

A real Celery worker (prefork, 2 children, a redis-server of this test's own as broker) gets the
on-commit notification of four mismatches while every GitHub call answers 503: three share a
fingerprint (one issue and two comments are due), one has its own. Each stays `pending` (the later
ones of a group wait for the first); when GitHub returns, the workers' own retries (Celery
countdowns) send them, racing each other, and the sweep and `notify_pending` find nothing left. Extends the in-process
test_it_keeps_the_mismatch_pending_while_github_is_unreachable (tests/triage/test_notify.py).
"""

from __future__ import annotations

import threading
import time

import pytest
from django.core.management import call_command
from django.db import connection

from tests.faults.stack import child_env, needs_redis_server, worker
from tests.triage.github_standin import REPO, TOKEN, GitHubStandin, github, github_on, make_trace  # noqa: F401
from triage.models import Mismatch, NotificationState
from triage.notify import mismatch_notify
from triage.services import mismatch_record

pytestmark = needs_redis_server

ISSUES = r"/repos/acme/agents/issues"


def _down(standin: GitHubStandin) -> dict:
    state = {"down": True}
    original = standin.server.handle

    def handle(method, path, headers, body):
        if state["down"]:
            return 503, {}, {"message": "GitHub is down"}
        return original(method, path, headers, body)

    standin.server.handle = handle
    return state


def _until(predicate, timeout: float, log) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(log())
        time.sleep(0.2)


def test_it_sends_each_mismatch_once_after_github_was_down_for_the_whole_run(
    broker,
    own_redis,
    tmp_path,
    tenant_a,
    settings,
    capsys,
):
    with GitHubStandin() as standin:
        github = _down(standin)
        env = child_env(
            REDIS_URL=own_redis.url,
            CELERY_TASK_ALWAYS_EAGER="0",
            GITHUB_TOKEN=TOKEN,
            GITHUB_REPO=REPO,
            GITHUB_API_URL=standin.url,
            GITHUB_WRITE_INTERVAL_SECONDS="0",
            AOS_BASE_URL="https://aos.example",
        )
        with worker(tmp_path, env, concurrency=2) as consumer:
            same = [make_trace(tenant_a, f"trace-{i}") for i in range(3)]
            mismatches = [
                mismatch_record(trace=t, step_index=1, reason="output_mismatch", reported_by="replay") for t in same
            ]
            mismatches.append(
                mismatch_record(trace=same[0], step_index=2, reason="output_mismatch", reported_by="replay")
            )
            rows = Mismatch.objects.filter(pk__in=[m.pk for m in mismatches])
            # The first of each fingerprint tries (and fails); the later ones of the group wait for it.
            firsts = rows.filter(pk__in=[mismatches[0].pk, mismatches[3].pk])
            _until(lambda: all(m.notification_attempts >= 1 for m in firsts.all()), 30, consumer.log)
            assert set(rows.values_list("notification_state", flat=True)) == {NotificationState.PENDING}
            assert standin.created_issues() == []

            refused = len(standin.requests)
            github["down"] = False  # back; the retries are due 10 s after the first attempts
            _until(lambda: not rows.filter(notification_state=NotificationState.PENDING).exists(), 60, consumer.log)
            broker.send_task("traces.mismatch_notify_sweep")
            time.sleep(1)
        settings.GITHUB_TOKEN, settings.GITHUB_REPO, settings.GITHUB_API_URL = TOKEN, REPO, standin.url
        capsys.readouterr()
        call_command("notify_pending")
        assert "0 due" in capsys.readouterr().out

        issues = standin.created_issues()
        print(f"after the outage: {len(issues)} issues, comments {[len(i['comments']) for i in issues]}")
        assert set(rows.values_list("notification_state", flat=True)) == {NotificationState.SENT}
        assert len(issues) == 2, [i["title"] for i in issues]
        assert sorted(len(i["comments"]) for i in issues) == [0, 2]
        after = [r for r in standin.requests[refused:] if r["method"] == "POST"]
        assert sorted(r["path"].count("/comments") for r in after) == [0, 0, 1, 1]  # 2 issues, 2 comments
        numbers = dict(rows.values_list("pk", "issue_number"))
        assert numbers[mismatches[0].pk] == numbers[mismatches[1].pk] == numbers[mismatches[2].pk]
        assert numbers[mismatches[3].pk] != numbers[mismatches[0].pk]


@pytest.mark.django_db(transaction=True)
def test_it_opens_one_issue_when_workers_send_a_fingerprints_backlog_at_once(github_on, tenant_a):  # noqa: F811
    """In-process and deterministic (both backends): two due mismatches of one fingerprint sent by two
    threads at once, the first POST held 0.3 s. Before the group rule both opened an issue."""
    first, second = (
        Mismatch.objects.create(
            trace=make_trace(tenant_a, f"t-{i}"), tenant=tenant_a, reported_by="x", step_index=0,
            reason="output_mismatch", fingerprint="f" * 64,
        )
        for i in range(2)
    )  # fmt: skip
    original = github_on.server.handle

    def slow(method, path, headers, body):
        if method == "POST":
            time.sleep(0.3)
        return original(method, path, headers, body)

    github_on.server.handle = slow
    barrier = threading.Barrier(2)
    outcomes: dict = {}

    def send(mismatch) -> None:
        try:
            barrier.wait()
            if mismatch is second:
                time.sleep(0.05)  # the first one has claimed and is talking to GitHub
            outcomes[mismatch.pk] = mismatch_notify(mismatch_id=mismatch.pk).outcome
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(m,)) for m in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes == {first.pk: "sent", second.pk: "not_due"}
    assert mismatch_notify(mismatch_id=second.pk).outcome == "sent"  # once the first one is sent: a comment
    assert len(github_on.created_issues()) == 1
    assert len(github_on.issues[(REPO, 1)]["comments"]) == 1
