# ruff: noqa: F811  (pytest fixtures imported from tests.triage.github_standin)
"""Mismatch triage admin: list, filters, search, counts, actions, mismatch page, dashboard, scoping."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.utils import timezone

from tests.triage.github_standin import REPO, github, github_on, make_trace  # noqa: F401
from triage.models import Mismatch
from triage.services import mismatch_record

LIST = "/admin/triage/mismatch/"
DASHBOARD = "/admin/triage/mismatch/dashboard/"


def add(trace, step_index=1, reason="output_mismatch", **details):
    return mismatch_record(
        trace=trace,
        step_index=step_index,
        reason=reason,
        reported_by="replay",
        expected_hash="a" * 64,
        actual_hash="b" * 64,
        details=details,
    )


@pytest.fixture
def admin_client_for(client):
    def login(user):
        client.force_login(user)
        return client

    return login


def act(client, action, mismatches, **extra):
    data = {"action": action, ACTION_CHECKBOX_NAME: [str(m.pk) for m in mismatches], "index": 0, **extra}
    return client.post(LIST, data, follow=True)


def test_it_lists_with_counts_links_and_filters(
    github_on, tenant_a, alice, admin_client_for, django_assert_max_num_queries
):
    trace = make_trace(tenant_a, "trace-list")
    for i in range(3):
        add(trace, step_index=i)
    resolved = add(trace, step_index=0, reason="status_mismatch")
    Mismatch.objects.filter(pk=resolved.pk).update(
        resolved=True,
        notification_state="sent",
        issue_url="https://github.example/acme/agents/issues/4",
        issue_number=4,
    )
    for i in range(30):  # enough rows to expose an N+1
        add(make_trace(tenant_a, f"bulk-{i}"), step_index=0)
    client = admin_client_for(alice)
    with django_assert_max_num_queries(14):
        response = client.get(LIST)
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="mismatch-counts"' in html and "<strong>34</strong> mismatches" in html
    assert "<strong>33</strong> unresolved" in html
    assert 'href="https://github.example/acme/agents/issues/4"' in html and "trace-list" in html
    assert client.get(LIST + "?resolved__exact=1").context["cl"].result_count == 1
    assert client.get(LIST + "?reason__exact=status_mismatch").context["cl"].result_count == 1
    assert client.get(LIST + "?notification_state__exact=pending").context["cl"].result_count == 33
    assert client.get(LIST + "?q=trace-list").context["cl"].result_count == 4
    assert client.get(LIST + "?q=" + "b" * 64).context["cl"].result_count == 34
    since = (timezone.now() - timedelta(days=1)).strftime("%Y-%m-%d+%H:%M:%S%%2B00:00")
    assert client.get(LIST + f"?created_at__gte={since}").context["cl"].result_count == 34


def test_it_shows_only_the_users_tenants(tenant_a, tenant_b, alice, carol, admin_client_for):
    mine = add(make_trace(tenant_b, "trace-b"))
    theirs = add(make_trace(tenant_a, "trace-a"))
    client = admin_client_for(carol)
    html = client.get(LIST).content.decode()
    assert "trace-b" in html and "trace-a" not in html
    assert client.get(f"{LIST}{theirs.pk}/change/").status_code in (302, 404)
    assert client.get(f"{LIST}{mine.pk}/change/").status_code == 200
    act(client, "resolve_with_note", [theirs], apply="1", note="not mine")
    theirs.refresh_from_db()
    assert not theirs.resolved
    dashboard = client.get(DASHBOARD)
    assert dashboard.context["totals"]["total"] == 1


def test_it_lets_viewers_look_but_not_act(tenant_a, vic, admin_client_for):
    mismatch = add(make_trace(tenant_a))
    client = admin_client_for(vic)
    assert client.get(LIST).status_code == 200
    act(client, "resolve_with_note", [mismatch], apply="1", note="x")
    mismatch.refresh_from_db()
    assert not mismatch.resolved


def test_it_resolves_with_a_note_through_an_intermediate_form(
    github_on, tenant_a, alice, admin_client_for, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        mismatch = add(make_trace(tenant_a))
    client = admin_client_for(alice)
    page = client.post(LIST, {"action": "resolve_with_note", ACTION_CHECKBOX_NAME: [str(mismatch.pk)]})
    assert page.status_code == 200 and 'id="resolve-form"' in page.content.decode()
    mismatch.refresh_from_db()
    assert not mismatch.resolved  # the form page alone changes nothing
    with django_capture_on_commit_callbacks(execute=True):
        act(client, "resolve_with_note", [mismatch], apply="1", note="Fixed the clock skew.")
    mismatch.refresh_from_db()
    assert mismatch.resolved and mismatch.resolved_by == "alice" and mismatch.resolution_note == "Fixed the clock skew."
    issue = github_on.issues[(REPO, mismatch.issue_number)]
    assert issue["comments"] == ["Resolved by alice\n\nFixed the clock skew."] and issue["state"] == "closed"


def test_it_files_github_issues_from_the_list(github_on, tenant_a, alice, admin_client_for, settings):
    settings.GITHUB_TOKEN = ""  # recorded while GitHub was not configured: failed
    first, second = add(make_trace(tenant_a, "t1")), add(make_trace(tenant_a, "t2"), step_index=2)
    Mismatch.objects.update(notification_state="failed")
    settings.GITHUB_TOKEN = "ghp_standin_token"
    response = act(admin_client_for(alice), "file_github_issue", [first, second])
    assert "Filed 2 GitHub issues;" in response.content.decode()
    assert len(github_on.created_issues()) == 2
    assert set(Mismatch.objects.values_list("notification_state", "notification_channel")) == {("sent", "github")}
    # A second click does not file again.
    act(admin_client_for(alice), "file_github_issue", [first, second])
    assert len(github_on.created_issues()) == 2


def test_it_files_one_issue_for_the_selection(github_on, tenant_a, alice, admin_client_for):
    selected = [add(make_trace(tenant_a, f"t{i}"), step_index=i) for i in range(3)]
    response = act(admin_client_for(alice), "file_one_issue_for_selected", selected)
    assert "Filed <a href=" in response.content.decode()
    [issue] = github_on.created_issues()
    assert "bulk-report" in issue["labels"]
    assert Mismatch.objects.filter(issue_number=1).count() == 3


def test_it_retries_failed_notifications(
    github_on, tenant_a, alice, admin_client_for, django_capture_on_commit_callbacks
):
    mismatch = add(make_trace(tenant_a))
    Mismatch.objects.filter(pk=mismatch.pk).update(notification_state="failed", notification_attempts=8)
    with django_capture_on_commit_callbacks(execute=True):
        response = act(admin_client_for(alice), "retry_notification", [mismatch])
    assert "Queued 1 notification." in response.content.decode()
    mismatch.refresh_from_db()
    assert (mismatch.notification_state, mismatch.notification_attempts) == ("sent", 1)
    assert len(github_on.created_issues()) == 1


def test_it_shows_expected_and_actual_side_by_side(tenant_a, alice, admin_client_for):
    expected = {"status": 200, "body": {"items": [1, 2, 3], "name": "same"}}
    actual = {"status": 200, "body": {"items": [1, 2, 4], "name": "same"}}
    mismatch = add(make_trace(tenant_a), expected=expected, actual=actual)
    html = admin_client_for(alice).get(f"{LIST}{mismatch.pk}/change/").content.decode()
    assert 'id="mismatch-sides"' in html
    assert '<span class="line changed">      3</span>' in html  # expected side, highlighted
    assert '<span class="line changed">      4</span>' in html  # actual side, highlighted
    assert '<span class="line">    &quot;name&quot;: &quot;same&quot;</span>' in html  # equal line, plain
    assert "<td>body.items[2]</td><td>3</td><td>4</td>" in html


def test_it_falls_back_to_the_recorded_and_replayed_steps(tenant_a, alice, admin_client_for):
    original = make_trace(tenant_a, "orig")
    replay = make_trace(tenant_a, "replay")
    replay.steps.filter(index=1).update(output={"status": 500})
    mismatch = add(original, replay_run_id=replay.run_id)
    html = admin_client_for(alice).get(f"{LIST}{mismatch.pk}/change/").content.decode()
    assert "<td>status</td><td>200</td><td>500</td>" in html


def test_it_counts_on_the_dashboard_linked_from_the_index(
    tenant_a, tenant_b, alice, admin_client_for, django_user_model
):
    now = timezone.now()
    trace_a, trace_b = make_trace(tenant_a), make_trace(tenant_b)
    with time_machine.travel(now - timedelta(days=3), tick=False):
        add(trace_a, step_index=0)
    with time_machine.travel(now - timedelta(hours=5), tick=False):
        add(trace_a, step_index=1)
    with time_machine.travel(now - timedelta(days=40), tick=False):
        add(trace_a, step_index=2)  # outside the 30-day chart
    fresh = add(trace_a, step_index=0)
    Mismatch.objects.filter(pk=fresh.pk).update(resolved=True, notification_state="sent")
    add(trace_b)
    root = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    client = admin_client_for(root)
    assert 'href="/admin/triage/mismatch/dashboard/"' in client.get("/admin/").content.decode()
    with time_machine.travel(now, tick=False):
        response = client.get(DASHBOARD)
    totals = response.context["totals"]
    assert (totals["last_hour"], totals["last_day"], totals["unresolved"], totals["total"]) == (2, 3, 4, 5)
    assert totals["pending"] == 4
    per_tenant = {row["tenant__slug"]: row for row in response.context["per_tenant"]}
    assert per_tenant["tenant-a"]["total"] == 4 and per_tenant["tenant-b"]["total"] == 1
    chart = response.context["chart"]
    assert (
        len(chart["bars"]) == 30
        and chart["total"] == 4
        and chart["bars"][-1]["n"] == 2 + (1 if (now - timedelta(hours=5)).date() == now.date() else 0)
    )
    html = response.content.decode()
    assert "<svg" in html and html.count('<rect class="bar"') == 30 and "cdn" not in html.lower()


def test_it_spells_github_with_a_capital_h(tenant_a, alice, admin_client_for):
    mismatch = add(make_trace(tenant_a, "trace-gh"))
    Mismatch.objects.filter(pk=mismatch.pk).update(notification_state="sent", notification_channel="github")
    client = admin_client_for(alice)
    listing = client.get(LIST).content.decode()
    page = client.get(f"{LIST}{mismatch.pk}/change/").content.decode()
    assert "sent</span> · GitHub" in listing and ">GitHub</a>" in listing  # the column and the filter
    assert "GitHub" in page
    for html in (listing, page):
        assert "Github" not in html
