# ruff: noqa: F811  (pytest fixtures imported from tests.triage.github_standin)
"""Issue 19 items 9 and 10: retrying, API-reported mismatches, and mismatches with no channel yet."""

from __future__ import annotations

from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.management import call_command

from tests.triage.github_standin import REPO, TOKEN, github, github_on, make_trace  # noqa: F401
from triage.issue_text import issue_body, slack_text
from triage.models import Mismatch
from triage.notify import NO_CHANNEL
from triage.presentation import mismatch_sides
from triage.services import mismatch_record

LIST = "/admin/triage/mismatch/"


def retry(client, mismatches):
    data = {"action": "retry_notification", ACTION_CHECKBOX_NAME: [str(m.pk) for m in mismatches], "index": 0}
    # Posted from the list the user is looking at: "All", since the default hides resolved mismatches.
    return client.post(LIST + "?status=all", data, follow=True).content.decode()


def test_it_never_retries_a_resolved_mismatch(github_on, tenant_a, alice, client, django_capture_on_commit_callbacks):
    mismatch = mismatch_record(trace=make_trace(tenant_a), step_index=1, reason="output_mismatch", reported_by="replay")
    Mismatch.objects.filter(pk=mismatch.pk).update(notification_state="failed", resolved=True, issue_number=None)
    client.force_login(alice)
    with django_capture_on_commit_callbacks(execute=True):
        html = retry(client, [mismatch])
    assert "Queued 0 notifications; 1 resolved mismatch was not notified" in html
    assert github_on.created_issues() == [] and Mismatch.objects.get().notification_state == "failed"


def test_it_clears_the_last_error_and_counts_right_after_a_retry(
    github_on, tenant_a, alice, client, django_capture_on_commit_callbacks
):
    github_on.fail_next(1, 401, method="POST")
    with django_capture_on_commit_callbacks(execute=True):
        failed = mismatch_record(trace=make_trace(tenant_a), step_index=1, reason="output_mismatch", reported_by="x")
    failed.refresh_from_db()
    assert failed.notification_state == "failed" and "401" in failed.notification_last_error
    client.force_login(alice)
    with django_capture_on_commit_callbacks(execute=True):
        html = retry(client, [failed])
    assert "Queued 1 notification." in html and "already" not in html  # the one it just sent is not "already sent"
    failed.refresh_from_db()
    assert (failed.notification_state, failed.notification_last_error) == ("sent", "")


def test_it_says_reported_via_api_for_an_api_report(github_on, tenant_a, api_a_dev, django_capture_on_commit_callbacks):
    make_trace(tenant_a)
    with django_capture_on_commit_callbacks(execute=True):
        response = api_a_dev.post(
            "/api/v1/traces/trace-1/mismatch", {"step_index": 1, "reason": "output_mismatch"}, format="json"
        )
    mismatch = Mismatch.objects.select_related("trace", "tenant").get(pk=response.json()["mismatch_id"])
    assert mismatch.source == "api"
    body = github_on.issues[(REPO, 1)]["body"]
    assert body == issue_body(mismatch)
    assert "reported via the API by" in body and "A replay of this trace diverged" not in body
    assert "reported via API" in slack_text(mismatch)
    sides = mismatch_sides(mismatch)
    assert sides["source"] == "api" and sides["actual_lines"] is None  # not "<missing>"
    listed = api_a_dev.get("/api/v1/mismatches").json()["results"][0]
    assert listed["reported_via"] == "api" and listed["group_id"] == mismatch.group_id


def test_it_shows_an_api_report_without_a_replay_side_in_the_admin(tenant_a, alice, client, settings):
    settings.GITHUB_TOKEN = ""
    mismatch = mismatch_record(
        trace=make_trace(tenant_a), step_index=1, reason="output_mismatch", reported_by="api_key:1", source="api"
    )
    client.force_login(alice)
    html = client.get(f"{LIST}{mismatch.pk}/change/").content.decode()
    assert 'id="mismatch-reported-via-api"' in html
    assert "Actual (replay)" not in html and "&lt;missing&gt;" not in html


def test_it_sends_what_waited_for_a_channel_once_one_is_set(
    github, tenant_a, settings, capsys, alice, client, django_capture_on_commit_callbacks
):
    settings.GITHUB_TOKEN = ""
    settings.SLACK_MISMATCH_WEBHOOK = ""
    with django_capture_on_commit_callbacks(execute=True):
        mismatch = mismatch_record(trace=make_trace(tenant_a), step_index=1, reason="output_mismatch", reported_by="r")
    mismatch.refresh_from_db()
    assert (mismatch.notification_state, mismatch.notification_last_error) == ("pending", NO_CHANNEL)
    call_command("notify_pending")
    assert "1 waiting for a channel" in capsys.readouterr().out
    client.force_login(alice)
    assert "pending · no channel configured" in client.get(LIST).content.decode()

    settings.GITHUB_TOKEN, settings.GITHUB_REPO, settings.GITHUB_API_URL = TOKEN, REPO, github.url
    settings.GITHUB_WRITE_INTERVAL_SECONDS = 0
    call_command("notify_pending")
    assert "1 sent" in capsys.readouterr().out
    mismatch.refresh_from_db()
    assert (mismatch.notification_state, mismatch.notification_last_error, mismatch.issue_number) == ("sent", "", 1)
