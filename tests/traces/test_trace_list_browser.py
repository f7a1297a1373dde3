"""Browser: the trace list fits 1400 px, every column visible, with long ids and agents (issue 19, item 4)."""

from __future__ import annotations

import pytest

from tests.browser import admin_page, list_edges, needs_chromium
from tests.traces.tracebuild import build, store
from traces.models import Trace

pytestmark = needs_chromium
WIDTH = 1400
COLUMNS = ["trace / run", "tenant", "status", "agent", "parity", "steps", "flags", "created"]


@pytest.mark.django_db(transaction=True)
def test_it_fits_the_trace_list_in_1400_px(live_server, tenant_a, alice, monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    tenant_a.slug = "acme-payments-production"
    tenant_a.save()
    for i in range(8):
        trace = store(
            tenant_a,
            builder=build(
                trace_id=f"tr_{i:02d}7f3a9b2c1d4e5f60a1b2c3d4e5f607",
                agent_id=f"checkout-orchestrator-agent-eu-west-{i}",
                steps=3,
            ),
        )
        changes = {
            "run_id": f"run_{i:02d}0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e",
            "pinned": i % 2 == 0,
            "redacted": i % 3 == 0,
        }
        if i % 2:
            changes.update(source="replay", parity=i % 4 == 1, status="failed", error_code="step_count_mismatch")
        Trace.objects.filter(pk=trace.pk).update(**changes)
    with admin_page(
        live_server.url, username="alice", password="pw-alice", next_path="/admin/traces/trace/", width=WIDTH
    ) as page:
        page.wait_for_selector("#result_list tbody tr")
        edges = list_edges(page)
    headers = [h["text"].lower() for h in edges["headers"][1:]]  # after the action checkbox
    assert headers == [c.lower() for c in COLUMNS]
    print(
        f"\ntrace list at {WIDTH} px: scrollWidth {edges['scrollWidth']}, last header right "
        f"{edges['headers'][-1]['right']}, widest cell right {max(c['right'] for c in edges['cells'])}"
    )
    assert edges["scrollWidth"] <= WIDTH and edges["resultsScroll"] <= 0, edges["resultsScroll"]
    assert all(h["right"] <= WIDTH and h["width"] > 0 for h in edges["headers"]), edges["headers"]
    assert len(edges["cells"]) >= 5 * len(edges["headers"])
    assert all(c["right"] <= WIDTH for c in edges["cells"]), [c for c in edges["cells"] if c["right"] > WIDTH]
