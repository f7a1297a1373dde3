# ruff: noqa: F811  (pytest fixtures imported from tests.triage.github_standin)
"""Browser: headless Chromium (Playwright) triages mismatches in the admin against the GitHub stand-in."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from accounts.models import Membership, Role
from tests.browser import admin_page, needs_chromium, screenshots_publish
from tests.triage.github_standin import REPO, github, github_on, make_trace  # noqa: F401
from triage.models import Mismatch
from triage.services import mismatch_record

pytestmark = needs_chromium


def _seed(tenant_a, tenant_b) -> Mismatch:
    """A month of mismatches in two tenants; returns the one the test resolves."""
    rng = random.Random(7)  # fixed: the screenshots look the same on every run
    now = timezone.now()
    reasons = ["output_mismatch", "output_mismatch", "status_mismatch", "input_mismatch", "step_count_mismatch"]
    for day in range(29, -1, -1):
        for n in range(rng.choice([0, 1, 1, 2, 3])):
            tenant = tenant_a if rng.random() < 0.7 else tenant_b
            with time_machine.travel(now - timedelta(days=day, hours=n + 1), tick=False):
                trace = make_trace(tenant, f"run-{day:02d}-{n}", plan_hash=f"{day % 4:064x}")
                mismatch = mismatch_record(
                    trace=trace,
                    step_index=rng.randrange(3),
                    reason=rng.choice(reasons),
                    reported_by="replay",
                    expected_hash=f"{rng.getrandbits(256):064x}",
                    actual_hash=f"{rng.getrandbits(256):064x}",
                )
            if day > 6 and rng.random() < 0.6:
                Mismatch.objects.filter(pk=mismatch.pk).update(
                    resolved=True, resolved_by="alice", resolved_at=now - timedelta(days=day - 1)
                )
    # A few notifications still waiting or given up on, as on a real day.
    recent = list(Mismatch.objects.filter(created_at__gte=now - timedelta(days=2)).order_by("created_at"))
    Mismatch.objects.filter(pk__in=[m.pk for m in recent[:2]]).update(
        notification_state="pending", issue_url="", issue_number=None
    )
    Mismatch.objects.filter(pk__in=[m.pk for m in recent[2:3]]).update(
        notification_state="failed",
        issue_url="",
        issue_number=None,
        notification_last_error="GitHub 422: Validation Failed",
    )
    trace = make_trace(tenant_a, "checkout-agent-7f3a", steps=3)
    return mismatch_record(
        trace=trace,
        step_index=1,
        reason="output_mismatch",
        reported_by="replay",
        skill_id="http_call",
        expected_hash="9" * 64,
        actual_hash="4" * 64,
        details={
            "mode": "check",
            "expected": {"status": 200, "body": {"items": [1, 2, 3], "currency": "EUR", "total": 30}},
            "actual": {"status": 200, "body": {"items": [1, 2, 4], "currency": "EUR", "total": 31}},
        },
    )


@pytest.mark.django_db(transaction=True)
def test_it_triages_a_mismatch_in_the_browser(github_on, live_server, tenant_a, tenant_b, alice, tmp_path, monkeypatch):
    from playwright.sync_api import expect

    # Playwright's sync API runs an event loop in this thread; the ORM calls below are still sync.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    Membership.objects.create(user=alice, tenant=tenant_b, role=Role.VIEWER)  # sees B, acts on A only
    target = _seed(tenant_a, tenant_b)
    target.refresh_from_db()
    assert target.notification_state == "sent" and target.issue_number  # filed after commit, via PyGithub
    shots = {}
    # ORM work stays outside the Playwright block: inside it a running event loop gives the ORM
    # another connection context, which would be left open at teardown.
    expected_rows = Mismatch.objects.filter(resolved=False, reason="output_mismatch").count()

    with admin_page(live_server.url, username="alice", password="pw-alice") as page:
        expect(page.locator("#aos-dashboards")).to_be_visible()

        # The list opens on the unresolved ones; narrow it to output mismatches, then search the trace.
        page.locator("#content-main a[href='/admin/triage/mismatch/']").first.click()
        expect(page.locator("#changelist-filter li.selected", has_text="Unresolved")).to_have_count(1)
        page.locator("#changelist-filter").get_by_role("link", name="Output Mismatch", exact=True).click()
        expect(page.locator("#changelist-filter")).to_contain_text("Output Mismatch")
        assert "reason__exact=output_mismatch" in page.url
        rows = page.locator("#result_list tbody tr")
        expect(rows).to_have_count(expected_rows)
        shots["mismatch-list.png"] = tmp_path / "mismatch-list.png"
        page.screenshot(path=shots["mismatch-list.png"], full_page=True)

        page.fill("#searchbar", "checkout-agent-7f3a")
        page.press("#searchbar", "Enter")
        expect(rows).to_have_count(1)
        expect(rows.first.locator("a.issue-link")).to_have_attribute("href", target.issue_url)

        # The mismatch page: expected vs actual side by side, differences highlighted, its own buttons.
        rows.first.locator("th a").click()
        expect(page.locator("#mismatch-resolve-form")).to_be_visible()
        expect(page.locator("#mismatch-links a.group-link")).to_be_visible()
        expect(page.locator("#mismatch-sides")).to_be_visible()
        expect(page.locator(".expected .changed").first).to_be_visible()
        assert page.locator(".actual .changed").count() == 2  # items[2] and total
        shots["mismatch-page.png"] = tmp_path / "mismatch-page.png"
        page.locator("#mismatch-sides").scroll_into_view_if_needed()
        page.screenshot(path=shots["mismatch-page.png"], full_page=True)
        page.go_back()

        # "Resolve with note…": intermediate form (kind and note), the group resolved, its issue commented.
        page.locator("#result_list tbody tr").first.locator("input.action-select").check()
        page.select_option("select[name=action]", "resolve_with_note")
        page.click("button[name=index]")
        expect(page.locator("#resolve-form")).to_be_visible()
        expect(page.locator("#resolve-plan")).to_have_text("Resolves 1 group (with its 1 unresolved mismatch).")
        page.select_option("#id_kind", "fixed")
        page.fill("#id_note", "Pinned the exchange-rate fixture; replays are deterministic again.")
        page.click("#resolve-form input[type=submit]")
        expect(page.locator("ul.messagelist")).to_contain_text(
            "Resolved 1 group (with its 1 unresolved mismatch) as fixed."
        )

        page.goto(f"{live_server.url}/admin/triage/mismatch/dashboard/")
        expect(page.locator("#mismatch-dashboard svg rect.bar")).to_have_count(30)
        shots["mismatch-dashboard.png"] = tmp_path / "mismatch-dashboard.png"
        page.screenshot(path=shots["mismatch-dashboard.png"], full_page=True)

    target.refresh_from_db()
    assert target.resolved and target.resolved_by == "alice"
    issue = github_on.issues[(REPO, target.issue_number)]
    assert (
        issue["comments"][-1]
        == "Resolved by alice as **Fixed**\n\nPinned the exchange-rate fixture; replays are deterministic again."
    )
    assert issue["state"] == "closed"
    screenshots_publish(shots)
