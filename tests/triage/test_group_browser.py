# ruff: noqa: F811  (pytest fixtures imported from tests.triage.github_standin)
"""Browser: an operator triages a mismatch group made by real diverged replays, against the GitHub stand-in.

Traces are ingested and replayed through the Python SDK against `live_server`, so the replay
service records the mismatches, the groups join them and the notifications (eager Celery, after
commit) reach the stand-in through the real PyGithub client.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from accounts.models import Role
from accounts.services import api_key_create
from aos_sdk import AOSClient
from aos_sdk.trace import Trace as TraceBuilder
from tests.browser import admin_page, needs_chromium, screenshots_publish
from tests.triage.github_standin import REPO, github, github_on  # noqa: F401
from triage.groups import group_resolve
from triage.models import GroupStatus, MismatchGroup

pytestmark = needs_chromium

GROUPS = "/admin/triage/mismatchgroup/"
TS = "2026-11-30T09:00:00Z"
CART = {"currency": "EUR", "items": [{"sku": "A-1", "price": 10}, {"sku": "B-7", "price": 20}]}


def checkout_plan() -> list[dict[str, Any]]:
    """Three pure steps; the second one's recorded output (a fee added by an older build) no longer computes."""
    return [
        {"skill": "json_transform", "params": {"payload": CART, "query": "items[].sku"}},
        {
            "skill": "json_transform",
            "params": {
                "payload": CART,
                "mapping": {"currency": "currency", "items": "length(items)", "total": "sum(items[].price)"},
            },
        },
        {"skill": "json_transform", "params": {"payload": {"ok": True}, "query": "ok"}},
    ]


def ingest(client: AOSClient, trace_id: str, *, agent_id: str = "checkout-agent", diverging: bool = True) -> str:
    """An agent's recorded run; with `diverging`, step 1 recorded a total the skill no longer computes."""
    plan = checkout_plan()
    builder = TraceBuilder(plan=plan, seed=7, timestamp=TS, trace_id=trace_id, agent_id=agent_id)
    recorded = [
        ["A-1", "B-7"],
        {"currency": "EUR", "items": 2, "total": 31.5 if diverging else 30},
        True,
    ]
    for step, output in zip(plan, recorded, strict=True):
        builder.add_step(skill=step["skill"], params=step["params"], output=output, duration_ms=2)
    client.ingest_trace(builder.finalise())
    return trace_id


def one_step_ingest(client: AOSClient, trace_id: str, *, agent_id: str, usd: int) -> str:
    """Another plan diverging at step 0: other groups, so the list holds more than one."""
    params = {"payload": {"price": {"usd": usd}}, "mapping": {"usd": "price.usd"}}
    builder = TraceBuilder(
        plan=[{"skill": "json_transform", "params": params}],
        seed=42,
        timestamp=TS,
        trace_id=trace_id,
        agent_id=agent_id,
    )
    builder.add_step(skill="json_transform", params=params, output={"usd": usd - 500}, duration_ms=3)
    client.ingest_trace(builder.finalise())
    return trace_id


def diverge(client: AOSClient, trace_id: str) -> str:
    """Replays the trace (recorded mode, stored), which diverges; returns the replay's run id."""
    result = client.replay(trace_id)
    assert result.parity is False and result.divergence is not None and result.mismatch_id
    return str(result.replay_run_id)


@pytest.fixture
def sdk(live_server, tenant_a, tenant_b):
    clients = {}
    for name, tenant in (("a", tenant_a), ("b", tenant_b)):
        _, raw = api_key_create(tenant=tenant, role=Role.OPERATOR)
        clients[name] = AOSClient(live_server.url, api_key=raw)
    yield clients
    for client in clients.values():
        client.close()


@pytest.fixture
def browser_env(monkeypatch):
    # Playwright's sync API runs an event loop in this thread; the ORM calls of the test stay sync.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.mark.django_db(transaction=True)
def test_it_triages_a_group_and_reopens_it_on_a_regression(
    github_on, live_server, sdk, browser_env, alice, carol, tmp_path
):
    from playwright.sync_api import expect

    a, b = sdk["a"], sdk["b"]
    for n in (1, 2, 3):
        diverge(a, ingest(a, f"checkout-run-{n}"))
    diverge(a, one_step_ingest(a, "pricing-run-1", agent_id="pricing-agent", usd=97000))
    diverge(a, one_step_ingest(a, "quote-run-1", agent_id="quote-agent", usd=42000))
    diverge(b, ingest(b, "checkout-run-b"))  # tenant B's own group of the same plan
    group = MismatchGroup.objects.get(tenant__slug="tenant-a", step_index=1)
    done = MismatchGroup.objects.get(tenant__slug="tenant-a", agent_id="quote-agent")
    group_resolve(group=done, kind="duplicate", note="Same cause as the pricing group.", who="dana")
    theirs = MismatchGroup.objects.get(tenant__slug="tenant-b")
    assert (group.count, group.affected_traces, group.issue_number) == (3, 3, 1)
    # One issue per group (A's three, B's one), never one per mismatch.
    assert len(github_on.created_issues()) == 4
    issue = github_on.issues[(REPO, group.issue_number)]
    assert len(issue["comments"]) == 2  # the 2nd and 3rd replays commented on the first one's issue
    latest_replay = group.last_mismatch.details["replay_run_id"]
    group_url = f"{GROUPS}{group.pk}/change/"
    shots = {"group-list.png": tmp_path / "group-list.png", "group-page.png": tmp_path / "group-page.png"}
    note = "Rounded the fee before summing (checkout 2.4.1); replays match the recording again."

    with admin_page(live_server.url, username="alice", password="pw-alice") as page:
        # The list opens on what needs triage: unresolved and regressed groups, with their counts.
        page.locator("#content-main").get_by_role("link", name="Mismatch groups").first.click()
        expect(page.locator("#changelist-filter li.selected").first).to_contain_text("Unresolved or regressed")
        rows = page.locator("#result_list tbody tr")
        expect(rows).to_have_count(2)
        row = rows.filter(has_text="Step 1")
        expect(row.locator("td.field-count")).to_have_text("3")
        expect(row.locator("td.field-affected_traces")).to_have_text("3")
        expect(row.locator(".group-status-unresolved")).to_be_visible()
        expect(row.locator("a.issue-link")).to_have_text(f"#{group.issue_number}")
        page.screenshot(path=shots["group-list.png"], full_page=True)

        # The group: the latest diff and the diverging step, linked to the replay's trace page.
        row.locator("th a").click()
        expect(page.locator("#group-latest-diff")).to_be_visible()
        expect(page.locator("#group-latest-diff .actual .changed")).to_contain_text("30")
        expect(page.locator("#group-latest-diff .expected .changed")).to_contain_text("31.5")
        step = page.locator("#group-diverging-step")
        expect(step).to_contain_text("Diverged at step 1")
        expect(step).to_contain_text("json_transform")
        page.screenshot(path=shots["group-page.png"], full_page=True)
        step.locator("a.group-replay-step").click()
        expect(page.locator("#aos-divergence-banner")).to_contain_text("Diverged at step 1")
        expect(page.locator("#step-1")).to_have_class(re.compile(r"\baos-diverged\b"))
        assert latest_replay in page.content()
        page.go_back()

        # Resolve as fixed with a note, from the group page's form.
        page.select_option("#group-resolve-form select[name=kind]", "fixed")
        page.fill("#group-resolve-form textarea[name=note]", note)
        page.click("#group-resolve-submit")
        expect(page.locator("ul.messagelist")).to_contain_text("Resolved the group as fixed.")
        expect(page.locator(".group-status-resolved").first).to_be_visible()
        expect(page.locator("#group-timeline li.event-resolved")).to_contain_text(note)
        assert issue["state"] == "closed"
        assert "**Fixed**" in issue["comments"][-1] and note in issue["comments"][-1]

        # A new divergence of the same fingerprint: the group regresses, the issue reopens.
        diverge(a, "checkout-run-2")
        page.reload()
        expect(page.locator(".group-status-regressed").first).to_be_visible()
        expect(page.locator("#group-timeline li.event-reopened").first).to_contain_text("Regression")
        page.goto(f"{live_server.url}{GROUPS}")
        regressed = page.locator("#result_list tbody tr").filter(has_text="Step 1")
        expect(regressed.locator(".group-status-regressed")).to_be_visible()
        expect(regressed.locator("td.field-count")).to_have_text("4")
        page.goto(f"{live_server.url}{GROUPS}?status=all")
        expect(page.locator("#result_list tbody tr")).to_have_count(3)

    assert issue["state"] == "open"
    assert issue["comments"][-1].startswith("**Regression**: resolved as fixed by alice")
    group.refresh_from_db()
    assert (group.status, group.count) == (GroupStatus.REGRESSED, 4)
    assert len(github_on.created_issues()) == 4  # reopened, not filed again

    # Tenant B's operator: A's group does not exist for them; their own does.
    with admin_page(live_server.url, username="carol", password="pw-carol") as page:
        response = page.goto(f"{live_server.url}{group_url}")
        assert response is not None and response.status == 404
        response = page.goto(f"{live_server.url}{GROUPS}{theirs.pk}/change/")
        assert response is not None and response.status == 200
    screenshots_publish(shots)


@pytest.mark.django_db(transaction=True)
def test_it_keeps_a_group_resolved_as_accepted_nondeterminism_and_counts(
    github_on, live_server, sdk, browser_env, alice
):
    from playwright.sync_api import expect

    a = sdk["a"]
    for n in (1, 2):
        diverge(a, ingest(a, f"checkout-run-{n}"))
    group = MismatchGroup.objects.get()
    issue = github_on.issues[(REPO, group.issue_number)]
    note = "The fee is rounded per request upstream; accepted, the rest of the run is checked."

    with admin_page(
        live_server.url, username="alice", password="pw-alice", next_path=f"{GROUPS}{group.pk}/change/"
    ) as page:
        # An empty note is refused next to the field, and the kind chosen is kept.
        page.select_option("#group-resolve-form select[name=kind]", "accepted_nondeterminism")
        page.click("#group-resolve-submit")  # the browser's own `required` check stops it first
        expect(page.locator("#group-resolve-form")).to_be_visible()
        page.locator("#group-resolve-form textarea[name=note]").evaluate("el => el.removeAttribute('required')")
        page.fill("#group-resolve-form textarea[name=note]", "   ")
        page.click("#group-resolve-submit")
        expect(page.locator("#group-resolve-form .form-row.errors")).to_contain_text("This field is required.")
        expect(page.locator("ul.messagelist")).to_contain_text("Not resolved: note:")
        expect(page.locator("#group-resolve-form select[name=kind]")).to_have_value("accepted_nondeterminism")

        page.fill("#group-resolve-form textarea[name=note]", note)
        page.click("#group-resolve-submit")
        expect(page.locator("ul.messagelist")).to_contain_text("Resolved the group as accepted non-determinism.")
        assert issue["state"] == "closed" and "**Accepted non-determinism**" in issue["comments"][-1]
        comments = len(issue["comments"])

        diverge(a, "checkout-run-1")  # seen again: counted, the group stays resolved
        page.reload()
        expect(page.locator("#group-summary .group-status-resolved")).to_be_visible()
        expect(page.locator("#group-summary .group-count")).to_have_text("3 mismatches")
        counted = page.locator("#group-timeline li.event-reported").last
        expect(counted).to_contain_text("Mismatch on trace checkout-run-1")
        expect(counted).to_contain_text("Counted only: the group is resolved as accepted non-determinism.")
        expect(page.locator("#group-timeline li.event-reopened")).to_have_count(0)
        expect(page.locator("#group-resolve-form")).to_have_count(0)
        page.goto(f"{live_server.url}{GROUPS}")
        expect(page.locator("#result_list tbody tr")).to_have_count(0)  # nothing left to triage

    group.refresh_from_db()
    assert (group.status, group.count, group.resolution_kind) == (GroupStatus.RESOLVED, 3, "accepted_nondeterminism")
    assert issue["state"] == "closed" and len(issue["comments"]) == comments
    assert group.mismatches.filter(resolved=False).count() == 0
