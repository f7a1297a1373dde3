# ruff: noqa: F811  (pytest fixtures imported from tests.triage.github_standin)
"""Mismatch group admin: the unresolved list first, O(1) queries, the group page and its Resolve form."""

from __future__ import annotations

import pytest

from tests.triage.github_standin import REPO, github, github_on, make_trace  # noqa: F401
from triage.groups import group_resolve
from triage.models import GroupStatus, MismatchGroup
from triage.services import mismatch_record

LIST = "/admin/triage/mismatchgroup/"


def add(trace, step_index=1, reason="output_mismatch"):
    details = {"replay_run_id": "r", "expected": {"n": 1}, "actual": {"n": 2}}
    return mismatch_record(trace=trace, step_index=step_index, reason=reason, reported_by="replay", details=details)


@pytest.fixture
def quiet(settings):
    settings.GITHUB_TOKEN = ""
    settings.SLACK_MISMATCH_WEBHOOK = ""


@pytest.fixture
def login(client):
    def as_user(user):
        client.force_login(user)
        return client

    return as_user


def test_it_opens_on_unresolved_groups(tenant_a, alice, login, quiet):
    open_group = add(make_trace(tenant_a, "t-open")).group
    done = add(make_trace(tenant_a, "t-done"), step_index=2).group
    group_resolve(group=done, kind="fixed", note="Done.", who="alice")
    html = login(alice).get(LIST).content.decode()
    assert f"/admin/triage/mismatchgroup/{open_group.pk}/change/" in html
    assert f"/admin/triage/mismatchgroup/{done.pk}/change/" not in html
    assert "group-status-unresolved" in html and "Step 1 · http_call" in html and "Output Mismatch" in html
    assert '<li class="selected">\n    <a href="?status=open">Unresolved or regressed</a>' in html
    everything = login(alice).get(LIST + "?status=all").content.decode()
    assert f"/admin/triage/mismatchgroup/{done.pk}/change/" in everything


def test_it_shows_only_the_users_tenants(tenant_a, tenant_b, alice, login, quiet):
    mine = add(make_trace(tenant_a, "t-a")).group
    theirs = add(make_trace(tenant_b, "t-b")).group
    client = login(alice)
    html = client.get(LIST).content.decode()
    assert f"{mine.pk}/change/" in html and f"{theirs.pk}/change/" not in html


@pytest.mark.parametrize("object_id", ["theirs", "999999", "not-a-number"])
def test_it_answers_404_for_another_tenants_or_no_group(tenant_a, tenant_b, alice, login, quiet, object_id):
    theirs = add(make_trace(tenant_b, "t-b")).group
    url = f"{LIST}{theirs.pk if object_id == 'theirs' else object_id}/change/"
    client = login(alice)
    assert client.get(url).status_code == 404  # not the admin's redirect: nothing says it exists
    response = client.post(url, {"resolve": "1", "kind": "fixed", "note": "Not mine."})
    assert response.status_code == 404
    assert MismatchGroup.objects.get(pk=theirs.pk).status == GroupStatus.UNRESOLVED


def test_it_lists_in_a_constant_number_of_queries(tenant_a, alice, login, quiet, django_assert_max_num_queries):
    for i in range(3):
        add(make_trace(tenant_a, f"t-{i}"), step_index=i)
    client = login(alice)
    client.get(LIST)  # warm the session and permission caches
    with django_assert_max_num_queries(12) as few:
        client.get(LIST)
    for i in range(3, 30):
        add(make_trace(tenant_a, f"t-{i}"), step_index=i % 10, reason=["output_mismatch", "status_mismatch"][i % 2])
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(LIST)
    assert response.status_code == 200


def test_it_shows_events_the_latest_diff_and_the_timeline(tenant_a, alice, login, quiet):
    group = add(make_trace(tenant_a)).group
    html = login(alice).get(f"{LIST}{group.pk}/change/").content.decode()
    assert 'id="group-resolve-form"' in html and 'name="kind"' in html and 'name="note"' in html
    assert 'id="group-latest-diff"' in html and '<span class="line changed">  &quot;n&quot;: 2</span>' in html
    assert 'id="group-timeline"' in html and "event-reported" in html
    assert 'id="group-mismatches"' in html and "trace-1" in html


def test_it_resolves_from_the_form_and_tells_github(
    github_on, tenant_a, alice, login, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        group = add(make_trace(tenant_a)).group
    client = login(alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"{LIST}{group.pk}/change/",
            {"resolve": "1", "kind": "infrastructure", "note": "Provider outage."},
            follow=True,
        )
    assert "Resolved the group as infrastructure." in response.content.decode()
    group.refresh_from_db()
    assert (group.status, group.resolution_kind, group.resolved_by) == (GroupStatus.RESOLVED, "infrastructure", "alice")
    issue = github_on.issues[(REPO, group.issue_number)]
    assert issue["state"] == "closed" and "**Infrastructure**\n\nProvider outage." in issue["comments"][-1]
    assert 'id="group-resolve-form"' not in response.content.decode()  # resolved: no form any more


def test_it_refuses_a_resolution_without_a_note(tenant_a, alice, login, quiet):
    group = add(make_trace(tenant_a)).group
    response = login(alice).post(
        f"{LIST}{group.pk}/change/", {"resolve": "1", "kind": "fixed", "note": " "}, follow=True
    )
    assert "Not resolved: note:" in response.content.decode()
    assert MismatchGroup.objects.get(pk=group.pk).status == GroupStatus.UNRESOLVED


@pytest.mark.parametrize(
    "data,field",
    [
        ({"kind": "", "note": "Pinned the clock."}, "kind"),
        ({"kind": "wontfix", "note": "Pinned the clock."}, "kind"),
        ({"note": "Pinned the clock."}, "kind"),
        ({"kind": "fixed", "note": ""}, "note"),
        ({"kind": "fixed", "note": "x" * 10001}, "note"),
    ],
    ids=["blank kind", "unknown kind", "no kind", "blank note", "note too long"],
)
def test_it_shows_the_resolve_forms_errors_next_to_its_fields(tenant_a, alice, login, quiet, data, field):
    group = add(make_trace(tenant_a)).group
    response = login(alice).post(f"{LIST}{group.pk}/change/", {"resolve": "1", **data})
    html = response.content.decode()
    assert response.status_code == 200  # the page again, not a redirect that loses the note
    assert f'<div class="form-row errors"><ul class="errorlist" id="id_{field}_error">' in html
    assert f"Not resolved: {field}:" in html
    if data.get("note") == "Pinned the clock.":
        assert "Pinned the clock.</textarea>" in html  # what was typed is kept
    assert MismatchGroup.objects.get(pk=group.pk).status == GroupStatus.UNRESOLVED
    assert not group.events.filter(kind="resolved").exists()


def test_it_preselects_no_resolution_kind(tenant_a, alice, login, quiet):
    group = add(make_trace(tenant_a)).group
    html = login(alice).get(f"{LIST}{group.pk}/change/").content.decode()
    assert '<option value="" selected>Choose a kind…</option>' in html


def test_it_links_the_diverging_step_to_the_replays_trace_page(tenant_a, alice, login, quiet):
    trace = make_trace(tenant_a, "t-original")
    replay = make_trace(tenant_a, "t-replay")
    mismatch = mismatch_record(
        trace=trace,
        step_index=2,
        reason="output_mismatch",
        reported_by="replay",
        details={"replay_run_id": replay.run_id, "expected": {"n": 1}, "actual": {"n": 2}},
    )
    html = login(alice).get(f"{LIST}{mismatch.group_id}/change/").content.decode()
    assert 'id="group-diverging-step"' in html and "step 2</span>" in html
    assert f'href="/admin/traces/trace/{replay.pk}/change/?step=2#step-2" class="group-replay-step"' in html
    assert f'href="/admin/traces/trace/{trace.pk}/change/?step=2#step-2" class="group-original-step"' in html
    assert f"/admin/traces/trace/{replay.pk}/compare/?with_pk={trace.pk}" in html


def test_it_links_only_the_recorded_trace_for_an_api_report_or_another_tenants_run_id(
    tenant_a, tenant_b, alice, login, quiet
):
    trace = make_trace(tenant_a, "t-original")
    theirs = make_trace(tenant_b, "t-theirs")  # a run id of another tenant never links
    mismatch = mismatch_record(
        trace=trace,
        step_index=1,
        reason="output_mismatch",
        reported_by="api_key:1",
        source="api",
        details={"replay_run_id": theirs.run_id},
    )
    html = login(alice).get(f"{LIST}{mismatch.group_id}/change/").content.decode()
    assert 'class="group-replay-step"' not in html and f"/admin/traces/trace/{theirs.pk}/" not in html
    assert f'href="/admin/traces/trace/{trace.pk}/change/?step=1#step-1" class="group-original-step"' in html


def test_it_shows_the_summary_and_the_resolution(tenant_a, alice, login, quiet):
    group = add(make_trace(tenant_a, "t-1")).group
    second = make_trace(tenant_a, "t-2")
    add(second)
    add(second)
    group_resolve(group=group, kind="flaky_skill", note="The upstream API is flaky.", who="alice")
    html = login(alice).get(f"{LIST}{group.pk}/change/").content.decode()
    assert 'class="group-status group-status-resolved"' in html
    assert '<strong class="group-count">3 mismatches</strong>\n    in 2 traces' in html
    assert "Resolved as\n    <strong>Flaky skill</strong> by alice" in html and "The upstream API is flaky." in html


def test_it_opens_the_group_page_in_a_bounded_number_of_queries(
    tenant_a, alice, login, quiet, django_assert_max_num_queries
):
    group = add(make_trace(tenant_a, "t-0")).group
    client = login(alice)
    client.get(f"{LIST}{group.pk}/change/")
    with django_assert_max_num_queries(30) as few:
        client.get(f"{LIST}{group.pk}/change/")
    for i in range(1, 25):
        add(make_trace(tenant_a, f"t-{i}"))
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(f"{LIST}{group.pk}/change/")
    assert response.status_code == 200 and "25 mismatches" in response.content.decode()


def test_it_lets_only_operators_resolve(tenant_a, bob, login, quiet):
    group = add(make_trace(tenant_a)).group
    client = login(bob)  # developer: may look, may not resolve
    html = client.get(f"{LIST}{group.pk}/change/").content.decode()
    assert 'id="group-resolve-form"' not in html
    response = client.post(f"{LIST}{group.pk}/change/", {"resolve": "1", "kind": "fixed", "note": "x"})
    assert response.status_code == 403
    assert MismatchGroup.objects.get(pk=group.pk).status == GroupStatus.UNRESOLVED
