# ruff: noqa: F811  (pytest fixtures imported from tests.triage.github_standin)
"""The mismatch page (issue 19, items 5, 6 and 9): its actions, its links, and what it shares with the group page."""

from __future__ import annotations

import pytest

from tests.triage.github_standin import REPO, github, github_on, make_trace  # noqa: F401
from triage.models import Mismatch
from triage.services import mismatch_record

LIST = "/admin/triage/mismatch/"
GROUPS = "/admin/triage/mismatchgroup/"
SIDES = "admin/triage/includes/sides.html"


@pytest.fixture
def quiet(settings):
    settings.GITHUB_TOKEN = ""
    settings.SLACK_MISMATCH_WEBHOOK = ""


def diverged(trace, step_index=1, **details):
    details = {"expected": {"n": 1}, "actual": {"n": 2}, **details}
    return mismatch_record(
        trace=trace, step_index=step_index, reason="output_mismatch", reported_by="replay", details=details
    )


@pytest.mark.parametrize("source", ["replay", "api"])
def test_it_draws_both_pages_expected_vs_actual_from_one_include(tenant_a, alice, client, quiet, source):
    details = {"expected": {"n": 1}, "actual": {"n": 2}} if source == "replay" else {}
    mismatch = mismatch_record(
        trace=make_trace(tenant_a),
        step_index=1,
        reason="output_mismatch",
        reported_by="r",
        source=source,
        details=details,
    )
    client.force_login(alice)
    for url, prefix in (
        (f"{LIST}{mismatch.pk}/change/", "mismatch"),
        (f"{GROUPS}{mismatch.group_id}/change/", "group"),
    ):
        response = client.get(url)
        html = response.content.decode()
        assert SIDES in [t.name for t in response.templates], url
        assert "triage/sides.css" in html and ".aos-sides {" not in html, url  # one stylesheet, no copy inline
        if source == "api":
            assert f'id="{prefix}-reported-via-api"' in html and "Actual (replay)" not in html, url
        else:
            assert "Actual (replay)" in html and '<span class="line changed">  &quot;n&quot;: 2</span>' in html, url


def replayed(tenant, original, *, step_index=1):
    """A diverged replay of `original` and the mismatch the runtime records for it (as runtime.services does)."""
    from traces.models import Trace

    replay = make_trace(tenant, f"{original.trace_id}-replay")
    Trace.objects.filter(pk=replay.pk).update(source="replay", replay_of=original, parity=False)
    mismatch = diverged(original, step_index=step_index, replay_run_id=replay.run_id)
    return replay, mismatch


def page(client, mismatch):
    return client.get(f"{LIST}{mismatch.pk}/change/")


def post(client, mismatch, what, **data):
    return client.post(f"{LIST}{mismatch.pk}/{what}/", data, follow=True)


def test_it_links_the_replay_at_its_step_the_compare_view_and_the_group(tenant_a, alice, client, quiet):
    original = make_trace(tenant_a, "orig")
    replay, mismatch = replayed(tenant_a, original, step_index=2)
    client.force_login(alice)
    html = page(client, mismatch).content.decode()
    replay_url = f"/admin/traces/trace/{replay.pk}/change/?step=2#step-2"
    assert f'class="replay-link" href="{replay_url}"' in html
    compare_url = f"/admin/traces/trace/{original.pk}/compare/?with_pk={replay.pk}#step-2"
    assert f'class="compare-link" href="{compare_url}"' in html
    assert f'class="group-link" href="/admin/triage/mismatchgroup/{mismatch.group_id}/change/"' in html
    assert f'class="original-link" href="/admin/traces/trace/{original.pk}/change/?step=2#step-2"' in html
    # The replay's page opens on that step, highlighted; the compare view has the step's anchor.
    replay_page = client.get(replay_url.split("#")[0]).content.decode()
    assert 'id="step-2" open' in replay_page and "aos-focused" in replay_page
    assert 'id="step-2"' in client.get(compare_url.split("#")[0]).content.decode()


def test_it_offers_no_replay_for_an_api_report(tenant_a, alice, client, quiet):
    mismatch = mismatch_record(
        trace=make_trace(tenant_a), step_index=1, reason="output_mismatch", reported_by="api_key:1", source="api"
    )
    client.force_login(alice)
    html = page(client, mismatch).content.decode()
    assert 'id="mismatch-no-replay"' in html and "replay-link" not in html and "compare-link" not in html
    assert "Actual (replay)" not in html and "&lt;missing&gt;" not in html


def test_it_resolves_the_group_from_a_mismatch_page_and_says_so_first(
    github_on, tenant_a, alice, client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = diverged(make_trace(tenant_a, "t1"))
        second = diverged(make_trace(tenant_a, "t2"))
    assert first.group_id == second.group_id
    client.force_login(alice)
    html = page(client, first).content.decode()
    assert 'id="mismatch-resolve-form"' in html and 'value="Resolve the group"' in html
    assert "resolving resolves the group and its 2 unresolved mismatches" in html
    assert '<option value="accepted_nondeterminism">Accepted non-determinism</option>' in html
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, first, "resolve", kind="fixed", note="Pinned the clock.")
    assert f"Resolved group #{first.group_id} as fixed, with its 2 unresolved mismatches." in response.content.decode()
    first.refresh_from_db()
    second.refresh_from_db()
    group = first.group
    assert (group.status, group.resolution_kind, group.resolution_note) == ("resolved", "fixed", "Pinned the clock.")
    assert first.resolved and second.resolved and second.resolution_note == "Fixed: Pinned the clock."
    issue = github_on.issues[(REPO, group.issue_number)]
    assert issue["comments"][-1] == "Resolved by alice as **Fixed**\n\nPinned the clock." and issue["state"] == "closed"
    # Resolved: the page offers neither Resolve nor Retry any more.
    html = page(client, first).content.decode()
    assert "mismatch-resolve-form" not in html and "mismatch-retry" not in html


def test_it_resolves_only_a_mismatch_without_a_group(tenant_a, alice, client, quiet):
    mismatch = diverged(make_trace(tenant_a))
    Mismatch.objects.filter(pk=mismatch.pk).update(group=None)
    client.force_login(alice)
    html = page(client, mismatch).content.decode()
    assert "Resolves only this mismatch" in html and 'value="Resolve"' in html
    response = post(client, mismatch, "resolve", kind="flaky_skill", note="The mock server flaps.")
    assert "Resolved this mismatch as flaky skill." in response.content.decode()
    mismatch.refresh_from_db()
    assert mismatch.resolved and mismatch.resolution_note == "Flaky skill: The mock server flaps."


@pytest.mark.parametrize("data", [{"kind": "fixed"}, {"note": "no kind"}, {"kind": "wontfix", "note": "x"}])
def test_it_resolves_nothing_without_a_kind_and_a_note(tenant_a, alice, client, quiet, data):
    mismatch = diverged(make_trace(tenant_a))
    client.force_login(alice)
    assert "Not resolved:" in post(client, mismatch, "resolve", **data).content.decode()
    mismatch.refresh_from_db()
    assert not mismatch.resolved and mismatch.group.status == "unresolved"


def test_it_retries_a_failed_notification_from_the_page_and_clears_the_error(
    github_on, tenant_a, alice, client, django_capture_on_commit_callbacks
):
    github_on.fail_next(1, 401, method="POST")
    with django_capture_on_commit_callbacks(execute=True):
        mismatch = diverged(make_trace(tenant_a))
    mismatch.refresh_from_db()
    assert mismatch.notification_state == "failed" and "401" in mismatch.notification_last_error
    client.force_login(alice)
    assert 'id="mismatch-retry"' in page(client, mismatch).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        html = post(client, mismatch, "retry").content.decode()
    assert "Queued 1 notification." in html and "already" not in html
    mismatch.refresh_from_db()
    assert (mismatch.notification_state, mismatch.notification_last_error) == ("sent", "")
    assert len(github_on.created_issues()) == 1
    assert 'id="mismatch-retry"' not in page(client, mismatch).content.decode()  # sent: nothing to retry


def test_it_never_offers_nor_performs_a_retry_for_a_resolved_mismatch(
    github_on, tenant_a, alice, client, django_capture_on_commit_callbacks
):
    github_on.fail_next(1, 401, method="POST")
    with django_capture_on_commit_callbacks(execute=True):
        mismatch = diverged(make_trace(tenant_a))
    Mismatch.objects.filter(pk=mismatch.pk).update(resolved=True)
    client.force_login(alice)
    html = page(client, mismatch).content.decode()
    assert "mismatch-retry" not in html and "mismatch-file-issue" not in html
    with django_capture_on_commit_callbacks(execute=True):
        refused = post(client, mismatch, "retry").content.decode()
        post(client, mismatch, "file-issue")
    assert "Not retried: resolved mismatches are never notified." in refused
    mismatch.refresh_from_db()
    assert mismatch.notification_state == "failed" and github_on.created_issues() == []


def test_it_files_a_github_issue_from_the_page(github_on, tenant_a, alice, client, settings):
    settings.GITHUB_TOKEN = ""  # recorded while GitHub was not configured
    mismatch = diverged(make_trace(tenant_a))
    settings.GITHUB_TOKEN = "ghp_standin_token"
    client.force_login(alice)
    assert 'id="mismatch-file-issue"' in page(client, mismatch).content.decode()
    html = post(client, mismatch, "file-issue").content.decode()
    [issue] = github_on.created_issues()
    mismatch.refresh_from_db()
    assert f'Filed <a href="{mismatch.issue_url}">GitHub issue #{mismatch.issue_number}</a>.' in html
    assert (
        mismatch.notification_state == "sent" and "mismatch-file-issue" not in page(client, mismatch).content.decode()
    )


@pytest.mark.parametrize("what", ["resolve", "retry", "file-issue"])
def test_it_answers_404_for_another_tenants_mismatch(github_on, tenant_a, carol, client, what):
    mismatch = diverged(make_trace(tenant_a))
    Mismatch.objects.filter(pk=mismatch.pk).update(notification_state="failed")
    client.force_login(carol)
    assert page(client, mismatch).status_code == 404
    response = client.post(f"{LIST}{mismatch.pk}/{what}/", {"kind": "fixed", "note": "not mine"})
    assert response.status_code == 404
    mismatch.refresh_from_db()
    assert not mismatch.resolved and mismatch.notification_state == "failed"
    assert client.get(f"{LIST}not-a-uuid/change/").status_code == 404


@pytest.mark.parametrize("what", ["resolve", "retry", "file-issue"])
def test_it_lets_a_viewer_look_but_not_act(github_on, tenant_a, vic, client, what):
    mismatch = diverged(make_trace(tenant_a))
    Mismatch.objects.filter(pk=mismatch.pk).update(notification_state="failed", issue_url="", issue_number=None)
    client.force_login(vic)
    html = page(client, mismatch).content.decode()
    assert 'id="mismatch-links"' in html
    assert not any(hook in html for hook in ("mismatch-resolve-form", "mismatch-retry", "mismatch-file-issue"))
    response = client.post(f"{LIST}{mismatch.pk}/{what}/", {"kind": "fixed", "note": "x"})
    assert response.status_code == 403
    mismatch.refresh_from_db()
    assert not mismatch.resolved and mismatch.notification_state == "failed"
    assert github_on.created_issues() == []


def test_it_shows_the_page_in_a_bounded_number_of_queries(
    tenant_a, alice, client, quiet, django_assert_max_num_queries
):
    original = make_trace(tenant_a, "orig")
    _, mismatch = replayed(tenant_a, original)
    client.force_login(alice)
    with django_assert_max_num_queries(20):
        assert page(client, mismatch).status_code == 200
