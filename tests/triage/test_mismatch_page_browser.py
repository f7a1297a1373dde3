# ruff: noqa: F811  (pytest fixtures imported from tests.triage.github_standin)
"""Browser: from the mismatch list to the replay at its step and back, copy an id, resolve the group on the page."""

from __future__ import annotations

import pytest

from tests.browser import admin_page, needs_chromium
from tests.triage.github_standin import REPO, github, github_on, make_trace  # noqa: F401
from traces.models import Trace
from triage.models import Mismatch
from triage.services import mismatch_record

pytestmark = needs_chromium


@pytest.mark.django_db(transaction=True)
def test_it_follows_the_links_copies_an_id_and_resolves_the_group(github_on, live_server, tenant_a, alice, monkeypatch):
    from playwright.sync_api import expect

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    original = make_trace(tenant_a, "tr_5e1f0c9a7b3d4e2f8a6b1c0d9e8f7a6b")
    replay = make_trace(tenant_a, "tr_9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d")
    Trace.objects.filter(pk=replay.pk).update(source="replay", replay_of=original, parity=False)
    mismatch = mismatch_record(
        trace=original,
        step_index=2,
        reason="output_mismatch",
        reported_by="replay",
        details={"replay_run_id": replay.run_id, "expected": {"n": 1}, "actual": {"n": 2}},
    )
    with admin_page(
        live_server.url, username="alice", password="pw-alice", next_path="/admin/triage/mismatch/"
    ) as page:
        page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
        row = page.locator("#result_list tbody tr").first
        row.locator("td.field-trace_link button.aos-copy").click()
        expect(row.locator("td.field-trace_link button.aos-copy")).to_have_class("aos-copy aos-copy-icon aos-copied")
        copied = page.evaluate("navigator.clipboard.readText()")

        row.locator("th a").click()
        page.click("#mismatch-links a.replay-link")
        expect(page.locator("#step-2")).to_have_attribute("open", "")
        assert "aos-focused" in (page.locator("#step-2").get_attribute("class") or "")
        page.go_back()

        expect(page.locator("#mismatch-resolve-scope")).to_contain_text("resolving resolves the group")
        page.select_option("#mismatch-resolve-form select[name=kind]", "accepted_nondeterminism")
        page.fill("#mismatch-resolve-form textarea[name=note]", "The price feed is live by design.")
        page.click("#mismatch-resolve-submit")
        expect(page.locator("ul.messagelist")).to_contain_text("as accepted non-determinism, with its 1 unresolved")
        expect(page.locator("#mismatch-resolve-form")).to_have_count(0)

    assert copied == "tr_5e1f0c9a7b3d4e2f8a6b1c0d9e8f7a6b"
    mismatch.refresh_from_db()
    group = mismatch.group
    assert mismatch.resolved and (group.status, group.resolution_kind) == ("resolved", "accepted_nondeterminism")
    issue = github_on.issues[(REPO, group.issue_number)]
    assert issue["comments"][-1].endswith("The price feed is live by design.") and issue["state"] == "closed"
    assert Mismatch.objects.filter(resolved=False).count() == 0
