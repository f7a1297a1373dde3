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
    assert response.context["cl"].result_count == 33  # it opens on the unresolved ones
    assert "issues/4" not in html and "trace-list" in html
    everything = client.get(LIST + "?status=all")
    assert everything.context["cl"].result_count == 34
    assert 'href="https://github.example/acme/agents/issues/4"' in everything.content.decode()
    assert client.get(LIST + "?status=resolved").context["cl"].result_count == 1
    assert client.get(LIST + "?reason__exact=status_mismatch").context["cl"].result_count == 0
    assert client.get(LIST + "?reason__exact=status_mismatch&status=all").context["cl"].result_count == 1
    assert client.get(LIST + "?notification_state__exact=pending").context["cl"].result_count == 33
    assert client.get(LIST + "?q=trace-list").context["cl"].result_count == 3
    assert client.get(LIST + "?q=trace-list&status=all").context["cl"].result_count == 4
    assert client.get(LIST + "?q=" + "b" * 64 + "&status=all").context["cl"].result_count == 34
    since = (timezone.now() - timedelta(days=1)).strftime("%Y-%m-%d+%H:%M:%S%%2B00:00")
    assert client.get(LIST + f"?created_at__gte={since}&status=all").context["cl"].result_count == 34


def test_it_shows_only_the_users_tenants(tenant_a, tenant_b, alice, carol, admin_client_for):
    mine = add(make_trace(tenant_b, "trace-b"))
    theirs = add(make_trace(tenant_a, "trace-a"))
    client = admin_client_for(carol)
    html = client.get(LIST).content.decode()
    assert "trace-b" in html and "trace-a" not in html
    assert client.get(f"{LIST}{theirs.pk}/change/").status_code in (302, 404)
    assert client.get(f"{LIST}{mine.pk}/change/").status_code == 200
    act(client, "resolve_with_note", [theirs], apply="1", kind="fixed", note="not mine")
    theirs.refresh_from_db()
    assert not theirs.resolved
    dashboard = client.get(DASHBOARD)
    assert dashboard.context["totals"]["total"] == 1


def test_it_lets_viewers_look_but_not_act(tenant_a, vic, admin_client_for):
    mismatch = add(make_trace(tenant_a))
    client = admin_client_for(vic)
    assert client.get(LIST).status_code == 200
    act(client, "resolve_with_note", [mismatch], apply="1", kind="fixed", note="x")
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
        act(client, "resolve_with_note", [mismatch], apply="1", kind="fixed", note="Fixed the clock skew.")
    mismatch.refresh_from_db()
    assert mismatch.resolved and mismatch.resolved_by == "alice"
    assert mismatch.resolution_note == "Fixed: Fixed the clock skew."  # its group was resolved (decision 0072)
    issue = github_on.issues[(REPO, mismatch.issue_number)]
    assert issue["comments"] == ["Resolved by alice as **Fixed**\n\nFixed the clock skew."]
    assert issue["state"] == "closed"


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


def _filter_links(html: str, title: str) -> dict[str, str]:
    """{link text: href} of one sidebar filter (Django's `<details data-filter-title=...>` block)."""
    import re

    block = html.split(f'data-filter-title="{title}"', 1)[1].split("</details>", 1)[0]
    found = re.findall(r'<li( class="selected")?>\s*<a href="([^"]*)"[^>]*>([^<]*)</a>', block)
    return {
        text.strip(): href.replace("&amp;", "&") + (" (selected)" if selected else "") for selected, href, text in found
    }


def test_it_opens_on_unresolved_and_keeps_the_filter_links_right(tenant_a, alice, admin_client_for):
    trace = make_trace(tenant_a, "trace-filters")
    open_one = add(trace, step_index=0)
    done = add(trace, step_index=1, reason="status_mismatch")
    Mismatch.objects.filter(pk=done.pk).update(resolved=True)
    client = admin_client_for(alice)
    response = client.get(LIST)
    assert [m.pk for m in response.context["cl"].result_list] == [open_one.pk]
    assert _filter_links(response.content.decode(), "status") == {
        "Unresolved": "?status=unresolved (selected)",
        "Resolved": "?status=resolved",
        "All": "?status=all",
    }
    # Another filter keeps the status and the status links keep the other filter.
    narrowed = client.get(LIST + "?reason__exact=status_mismatch&status=all")
    assert [m.pk for m in narrowed.context["cl"].result_list] == [done.pk]
    links = _filter_links(narrowed.content.decode(), "status")
    assert links["All"] == "?reason__exact=status_mismatch&status=all (selected)"
    assert links["Unresolved"] == "?reason__exact=status_mismatch&status=unresolved"
    assert _filter_links(narrowed.content.decode(), "reason")["Output Mismatch"] == (
        "?reason__exact=output_mismatch&status=all"
    )
    assert client.get(LIST + "?status=bogus")["Location"].endswith("?e=1")  # the admin's error page, not a 500


def test_it_shortens_ids_with_the_whole_id_on_hover_and_a_copy_button(tenant_a, alice, admin_client_for):
    from traces.models import Trace

    trace_id = "tr_7f3a9b2c1d4e5f60a1b2c3d4e5f60718"
    agent = "checkout-orchestrator-agent-eu-west-1"
    trace = make_trace(tenant_a, trace_id)
    Trace.objects.filter(pk=trace.pk).update(agent_id=agent)
    add(trace)
    html = admin_client_for(alice).get(LIST).content.decode()
    assert f'<span class="aos-id" title="{trace_id}">{trace_id[:10]}…</span>' in html
    assert f'<span class="aos-id" title="{agent}">{agent[:16]}…</span>' in html
    assert f'data-copy="{trace_id}"' in html and 'class="aos-copy aos-copy-icon"' in html
    table = html.split('id="result_list"', 1)[1].split("</table>", 1)[0]
    assert f">{trace_id}<" not in table and f">{agent}<" not in table  # never a whole long id as a cell's text
    assert "traces/trace_page.js" in html and "triage/mismatch.css" in html  # the copy buttons' script and icon


def test_it_shows_list_times_to_the_second_in_utc(tenant_a, alice, admin_client_for):
    from datetime import UTC, datetime

    with time_machine.travel(datetime(2026, 12, 1, 13, 22, 4, tzinfo=UTC), tick=False):
        mismatch = add(make_trace(tenant_a))
    client = admin_client_for(alice)
    assert 'title="2026-12-01 13:22:04 UTC">2026-12-01<br>13:22:04</span>' in client.get(LIST).content.decode()
    assert "2026-12-01 13:22:04 UTC" in client.get(f"{LIST}{mismatch.pk}/change/").content.decode()


def test_it_searches_and_filters_by_agent_skill_and_source(tenant_a, tenant_b, alice, admin_client_for):
    from traces.models import Trace

    def on(tenant, trace_id, agent, skill, source="replay"):
        trace = make_trace(tenant, trace_id)
        Trace.objects.filter(pk=trace.pk).update(agent_id=agent)
        trace.agent_id = agent
        return mismatch_record(
            trace=trace, step_index=0, reason="output_mismatch", reported_by="r", skill_id=skill, source=source
        )

    pricing = on(tenant_a, "t-price", "pricing-agent", "http_call")
    support = on(tenant_a, "t-support", "support-agent", "llm_invoke", source="api")
    on(tenant_b, "t-other", "tenant-b-secret-agent", "webhook_send")
    client = admin_client_for(alice)

    def listed(query):
        return {m.pk for m in client.get(LIST + query).context["cl"].result_list}

    assert listed("?q=pricing-agent") == {pricing.pk}
    assert listed("?q=llm_invoke") == {support.pk}
    assert listed(f"?q={str(pricing.pk)[:13]}") == {pricing.pk}  # the beginning of a copied id
    assert listed("?agent=support-agent") == {support.pk}
    assert listed("?skill=http_call") == {pricing.pk}
    assert listed("?source__exact=api") == {support.pk}
    assert listed("?agent=tenant-b-secret-agent") == set()
    html = client.get(LIST).content.decode()
    assert set(_filter_links(html, "agent")) == {"All", "pricing-agent", "support-agent"}  # only alice's tenants
    assert set(_filter_links(html, "skill")) == {"All", "http_call", "llm_invoke"}
    assert "tenant-b-secret-agent" not in html and "webhook_send" not in html


def test_it_lists_one_row_and_thirty_in_the_same_number_of_queries(
    tenant_a, alice, admin_client_for, django_assert_max_num_queries
):
    add(make_trace(tenant_a, "only-one"))
    client = admin_client_for(alice)
    with django_assert_max_num_queries(20) as one:
        assert client.get(LIST).context["cl"].result_count == 1
    for i in range(29):
        add(make_trace(tenant_a, f"one-of-thirty-{i}"), step_index=i % 3)
    with django_assert_max_num_queries(len(one.captured_queries)) as thirty:
        assert client.get(LIST).context["cl"].result_count == 30
    assert len(thirty.captured_queries) == len(one.captured_queries)


def test_it_links_the_dashboard_cards_to_lists_with_the_same_counts(tenant_a, alice, admin_client_for):
    import re

    trace = make_trace(tenant_a, "trace-cards")
    open_one, done, failed = add(trace, step_index=0), add(trace, step_index=1), add(trace, step_index=2)
    Mismatch.objects.filter(pk=done.pk).update(resolved=True, notification_state="failed")
    Mismatch.objects.filter(pk=failed.pk).update(notification_state="failed")
    client = admin_client_for(alice)
    html = client.get(DASHBOARD).content.decode()
    totals = client.get(DASHBOARD).context["totals"]
    for card, key in (("card-unresolved", "unresolved"), ("card-failed", "failed")):
        href = re.search(rf'id="{card}"><a href="([^"]+)"', html).group(1).replace("&amp;", "&")
        assert client.get(href).context["cl"].result_count == totals[key], card
    assert (totals["unresolved"], totals["failed"]) == (2, 2)
    assert open_one.pk in {m.pk for m in client.get(LIST + "?status=unresolved").context["cl"].result_list}
