# ruff: noqa: F811  (pytest fixtures imported from tests.triage.github_standin)
"""The list's "Resolve with note…" resolves open groups once each, lone mismatches alone (decisions 0057, 0072)."""

from __future__ import annotations

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME

from tests.triage.github_standin import REPO, github, github_on, make_trace  # noqa: F401
from triage.groups import group_resolve
from triage.models import GroupEventKind, Mismatch, MismatchGroup
from triage.services import mismatch_record

LIST = "/admin/triage/mismatch/"


def add(trace, step_index=1):
    return mismatch_record(
        trace=trace,
        step_index=step_index,
        reason="output_mismatch",
        reported_by="replay",
        details={"expected": {"n": 1}, "actual": {"n": 2}},
    )


def post(client, mismatches, url=LIST, **extra):
    data = {"action": "resolve_with_note", ACTION_CHECKBOX_NAME: [str(m.pk) for m in mismatches], "index": 0, **extra}
    return client.post(url, data, follow=True)


@pytest.fixture
def two_groups_and_a_lone_one(github_on, tenant_a, django_capture_on_commit_callbacks):
    """Group A (step 1) and group B (step 2) with two mismatches each, all notified; one lone mismatch."""
    with django_capture_on_commit_callbacks(execute=True):
        a1, a2 = add(make_trace(tenant_a, "a1")), add(make_trace(tenant_a, "a2"))
        b1, b2 = add(make_trace(tenant_a, "b1"), step_index=2), add(make_trace(tenant_a, "b2"), step_index=2)
        lone = add(make_trace(tenant_a, "lone"), step_index=0)
    Mismatch.objects.filter(pk=lone.pk).update(group=None)  # its group deleted (SET_NULL)
    assert a1.group_id == a2.group_id != b1.group_id == b2.group_id
    return a1, a2, b1, b2, lone


def comments(github, mismatch) -> list[str]:
    mismatch.refresh_from_db()
    return list(github.issues[(REPO, mismatch.group.issue_number)]["comments"])


def test_the_page_says_how_many_groups_and_lone_mismatches_it_resolves(
    two_groups_and_a_lone_one, alice, client, django_assert_max_num_queries
):
    a1, a2, b1, _, lone = two_groups_and_a_lone_one
    client.force_login(alice)
    with django_assert_max_num_queries(16):  # the changelist's own 13, then the selection, the counts: 3
        page = client.post(LIST, {"action": "resolve_with_note", ACTION_CHECKBOX_NAME: [a1.pk, a2.pk, b1.pk, lone.pk]})
    html = page.content.decode()
    assert page.status_code == 200 and 'id="resolve-form"' in html
    assert "Resolves 2 groups (with their 4 unresolved mismatches) and 1 lone mismatch." in html
    assert '<option value="flaky_skill">Flaky skill</option>' in html
    assert f"in group #{a1.group_id}" in html and f"Group #{b1.group_id}</a>" in html
    assert not Mismatch.objects.filter(resolved=True).exists()  # the page alone changes nothing


@pytest.mark.parametrize("data", [{"note": "no kind"}, {"kind": "fixed"}, {"kind": "wontfix", "note": "x"}])
def test_it_resolves_nothing_without_a_kind_and_a_note(two_groups_and_a_lone_one, alice, client, data):
    a1, _, _, _, lone = two_groups_and_a_lone_one
    client.force_login(alice)
    response = post(client, [a1, lone], apply="1", **data)
    assert response.status_code == 200 and 'id="resolve-form"' in response.content.decode()
    assert response.context["form"].errors  # shown again, with the error
    assert not Mismatch.objects.filter(resolved=True).exists()
    assert not MismatchGroup.objects.filter(status="resolved").exists()


def test_it_resolves_each_open_group_once_and_lone_mismatches_alone(
    two_groups_and_a_lone_one, github_on, alice, client, django_capture_on_commit_callbacks
):
    a1, a2, b1, b2, lone = two_groups_and_a_lone_one
    before_a, before_b = comments(github_on, a1), comments(github_on, b1)
    client.force_login(alice)
    with django_capture_on_commit_callbacks(execute=True):  # b2 is not selected: its group takes it along
        response = post(client, [a1, a2, b1, lone], apply="1", kind="flaky_skill", note="The mock server flaps.")
    assert (
        "Resolved 2 groups (with their 4 unresolved mismatches) and 1 lone mismatch as flaky skill."
        in response.content.decode()
    )
    for mismatch in (a1, a2, b1, b2, lone):
        mismatch.refresh_from_db()
        assert mismatch.resolved and mismatch.resolved_by == "alice", mismatch.trace_id
        assert mismatch.resolution_note == "Flaky skill: The mock server flaps.", mismatch.trace_id
    for mismatch, before in ((a1, before_a), (b1, before_b)):
        group = mismatch.group
        assert (group.status, group.resolution_kind) == ("resolved", "flaky_skill")
        assert group.events.filter(kind=GroupEventKind.RESOLVED).count() == 1
        issue = github_on.issues[(REPO, group.issue_number)]
        # One comment per group, however many of its mismatches were selected, and the issue closed.
        assert issue["comments"] == [*before, "Resolved by alice as **Flaky skill**\n\nThe mock server flaps."]
        assert issue["state"] == "closed"
    # Again, from the list of every mismatch (the default list shows unresolved ones): nothing posted twice.
    with django_capture_on_commit_callbacks(execute=True):
        again = post(client, [a1, b1], url=LIST + "?status=all", apply="1", kind="fixed", note="again")
    assert "Resolved nothing; 2 were already resolved." in again.content.decode()
    assert comments(github_on, a1)[-1] == "Resolved by alice as **Flaky skill**\n\nThe mock server flaps."


def test_a_mismatch_of_a_resolved_group_counts_as_already_resolved(two_groups_and_a_lone_one, alice, client):
    a1, _, b1, _, _ = two_groups_and_a_lone_one
    group_resolve(group=a1.group, kind="fixed", note="done", who="bob")
    client.force_login(alice)
    page = client.post(LIST + "?status=all", {"action": "resolve_with_note", ACTION_CHECKBOX_NAME: [a1.pk, b1.pk]})
    assert "Resolves 1 group (with its 2 unresolved mismatches); 1 selected mismatch is already resolved." in (
        page.content.decode()
    )


def test_another_tenants_rows_are_skipped(github_on, tenant_a, tenant_b, dana, carol, client):
    ours = add(make_trace(tenant_a, "ours"))
    theirs = add(make_trace(tenant_b, "theirs"))  # dana is only a viewer in tenant B
    client.force_login(carol)  # an operator of B only: A's rows are not even hers to select
    post(client, [ours], apply="1", kind="fixed", note="not mine")
    ours.refresh_from_db()
    assert not ours.resolved and ours.group.status == "unresolved"
    client.force_login(dana)
    response = post(client, [ours, theirs], apply="1", kind="duplicate", note="Same as #1.")
    html = response.content.decode()
    assert "Skipped 1 selected object: your role in their tenant does not allow this." in html
    assert "Resolved 1 group (with its 1 unresolved mismatch) as duplicate." in html
    ours.refresh_from_db()
    theirs.refresh_from_db()
    assert ours.resolved and ours.group.status == "resolved"
    assert not theirs.resolved and theirs.group.status == "unresolved"


def test_a_viewer_resolves_nothing(two_groups_and_a_lone_one, vic, client):
    a1, _, _, _, lone = two_groups_and_a_lone_one
    client.force_login(vic)
    post(client, [a1, lone], apply="1", kind="fixed", note="x")
    assert not Mismatch.objects.filter(resolved=True).exists()
    assert not MismatchGroup.objects.filter(status="resolved").exists()
