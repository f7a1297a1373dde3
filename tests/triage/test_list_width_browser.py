"""Browser: the mismatch list fits 1400 px with long ids, agents and every column (issue 19, item 4)."""

from __future__ import annotations

import pytest

from tests.browser import admin_page, list_edges, needs_chromium
from tests.triage.github_standin import make_trace
from traces.models import Trace
from triage.models import Mismatch
from triage.services import mismatch_record

pytestmark = needs_chromium
WIDTH = 1400


def _seed(tenant) -> None:
    """Rows as wide as real ones: 40-character trace ids, long agents and skills, every state of a notification."""
    tenant.slug = "acme-payments-production"
    tenant.save()
    reasons = ["step_count_mismatch", "output_mismatch", "status_mismatch", "input_mismatch", "skill_mismatch"]
    states = [
        (
            "pending",
            "none",
            "No notification channel configured (GITHUB_TOKEN + repository, or SLACK_MISMATCH_WEBHOOK).",
        ),
        ("sent", "github", ""),
        ("failed", "none", "GitHub 422: Validation Failed"),
        ("sent", "slack", "GitHub 502"),
        ("pending", "none", ""),
    ]
    for i in range(8):
        trace = make_trace(tenant, f"checkout-orchestrator-2026-12-01-{i:08x}-7f3a9b2c", plan_hash=f"{i:064x}")
        Trace.objects.filter(pk=trace.pk).update(agent_id=f"checkout-orchestrator-agent-eu-west-{i}")
        trace.agent_id = f"checkout-orchestrator-agent-eu-west-{i}"
        mismatch = mismatch_record(
            trace=trace,
            step_index=i % 3,
            reason=reasons[i % len(reasons)],
            reported_by="replay",
            skill_id="llm_invoke_with_retries" if i % 2 else "http_call",
        )
        state, channel, error = states[i % len(states)]
        issue = {"issue_url": f"https://github.com/acme/agents/issues/{12000 + i}", "issue_number": 12000 + i}
        Mismatch.objects.filter(pk=mismatch.pk).update(
            notification_state=state,
            notification_channel=channel,
            notification_last_error=error,
            **(issue if state == "sent" else {"issue_url": "", "issue_number": None}),
        )


@pytest.mark.django_db(transaction=True)
def test_it_fits_the_mismatch_list_in_1400_px(live_server, tenant_a, alice, monkeypatch, settings):
    settings.GITHUB_TOKEN = ""
    settings.SLACK_MISMATCH_WEBHOOK = ""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    _seed(tenant_a)
    with admin_page(
        live_server.url, username="alice", password="pw-alice", next_path="/admin/triage/mismatch/", width=WIDTH
    ) as page:
        page.wait_for_selector("#result_list tbody tr")
        edges = list_edges(page)
        copy = page.locator("#result_list tbody tr").first.locator("button.aos-copy").first
        copied = copy.get_attribute("data-copy")
        trace_cell = page.locator("#result_list tbody tr").first.locator("td.field-trace_link a .aos-id")
        title = trace_cell.get_attribute("title")
        page.goto(f"{live_server.url}/admin/triage/mismatch/?status=all")
        page.wait_for_selector("#result_list tbody tr")
        everything = list_edges(page)
    headers = [h["text"] for h in edges["headers"]]
    assert headers[-1].lower() == "tenant" and "issue" in [h.lower() for h in headers], headers
    print(
        f"\nmismatch list at {WIDTH} px: scrollWidth {edges['scrollWidth']}, last header right "
        f"{edges['headers'][-1]['right']}, widest cell right {max(c['right'] for c in edges['cells'])}"
    )
    for seen in (edges, everything):  # the default (unresolved) and "All"
        assert seen["scrollWidth"] <= WIDTH and seen["resultsScroll"] <= 0, seen["resultsScroll"]
        assert all(h["right"] <= WIDTH and h["width"] > 0 for h in seen["headers"]), seen["headers"]
        assert len(seen["cells"]) >= 5 * len(headers)
        assert all(c["right"] <= WIDTH for c in seen["cells"]), [c for c in seen["cells"] if c["right"] > WIDTH]
    assert copied == title and copied.startswith("checkout-orchestrator-2026")  # the whole id, on hover and copied
