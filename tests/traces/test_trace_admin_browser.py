"""Browser: headless Chromium (Playwright) searches, pins and compares traces in the admin."""

from __future__ import annotations

import pytest

from tests.browser import admin_page, needs_chromium, screenshots_publish
from tests.traces.tracebuild import build, store
from traces.models import Trace

pytestmark = needs_chromium


@pytest.mark.django_db(transaction=True)
def test_it_pins_and_compares_traces_in_the_browser(live_server, tenant_a, tenant_b, alice, tmp_path, monkeypatch):
    from playwright.sync_api import expect

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    outputs = [{"price": 101.5, "currency": "EUR"}, {"ok": True}, {"text": "BTC is up"}, {"y": 3}, {"sent": True}]
    store(tenant_a, builder=build(trace_id="price-bot-run-1", steps=5, outputs=outputs))
    replay = [*outputs[:2], {"text": "BTC is down"}, {"y": 3}, {"sent": True}]
    store(tenant_a, builder=build(trace_id="price-bot-replay-1", steps=5, outputs=replay))
    store(tenant_b, trace_id="tenant-b-secret-trace")

    with admin_page(live_server.url, username="alice", password="pw-alice", next_path="/admin/traces/trace/") as page:
        rows = page.locator("#result_list tbody tr")
        expect(rows).to_have_count(2)  # tenant B's trace is not listed
        page.fill("#searchbar", "price-bot-run")
        page.press("#searchbar", "Enter")
        expect(rows).to_have_count(1)

        # Pin it with the action; retention will keep it.
        rows.first.locator("input.action-select").check()
        page.select_option("select[name=action]", "pin_selected")
        page.click("button[name=index]")
        expect(page.locator(".messagelist")).to_contain_text("Pinned 1 trace.")

        # The read-only trace page, then "Compare with…" the replay.
        page.locator("#result_list tbody tr th a").first.click()
        expect(page.locator("#aos-timeline")).to_contain_text("json_transform")
        page.click("a.aos-compare-link")
        page.fill("#id_with", "price-bot-replay-1")
        page.click(".aos-compare-form input[type=submit]")
        expect(page.locator("#first-divergence")).to_contain_text("step 2 (output_mismatch)")
        expect(page.locator("#step-2")).to_have_class("aos-step-head differs")
        expect(page.locator("#step-1")).to_have_class("aos-step-head")
        assert page.locator("table.aos-compare tr.differs td.b pre", has_text="BTC is down").count() == 1
        shot = tmp_path / "trace-compare.png"
        page.screenshot(path=shot, full_page=True)

    assert Trace.objects.get(trace_id="price-bot-run-1").pinned  # ORM outside the Playwright block
    screenshots_publish({"trace-compare.png": shot})
