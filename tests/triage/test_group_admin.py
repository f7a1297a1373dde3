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
    assert "group-status-unresolved" in html and "Step 1 · output_mismatch" in html
    everything = login(alice).get(LIST + "?status=all").content.decode()
    assert f"/admin/triage/mismatchgroup/{done.pk}/change/" in everything


def test_it_shows_only_the_users_tenants(tenant_a, tenant_b, alice, login, quiet):
    mine = add(make_trace(tenant_a, "t-a")).group
    theirs = add(make_trace(tenant_b, "t-b")).group
    client = login(alice)
    html = client.get(LIST).content.decode()
    assert f"{mine.pk}/change/" in html and f"{theirs.pk}/change/" not in html
    assert client.get(f"{LIST}{theirs.pk}/change/").status_code in (302, 404)


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


def test_it_lets_only_operators_resolve(tenant_a, bob, login, quiet):
    group = add(make_trace(tenant_a)).group
    client = login(bob)  # developer: may look, may not resolve
    html = client.get(f"{LIST}{group.pk}/change/").content.decode()
    assert 'id="group-resolve-form"' not in html
    response = client.post(f"{LIST}{group.pk}/change/", {"resolve": "1", "kind": "fixed", "note": "x"})
    assert response.status_code == 403
    assert MismatchGroup.objects.get(pk=group.pk).status == GroupStatus.UNRESOLVED
