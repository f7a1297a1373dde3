"""Browser: headless Chromium (Playwright) searches, pins and compares traces in the admin."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.traces.tracebuild import build, store
from traces.models import Trace

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed"),
]


@pytest.mark.django_db(transaction=True)
def test_it_pins_and_compares_traces_in_the_browser(live_server, tenant_a, tenant_b, alice, tmp_path, monkeypatch):
    from playwright.sync_api import expect, sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    outputs = [{"price": 101.5, "currency": "EUR"}, {"ok": True}, {"text": "BTC is up"}, {"y": 3}, {"sent": True}]
    store(tenant_a, builder=build(trace_id="price-bot-run-1", steps=5, outputs=outputs))
    replay = [*outputs[:2], {"text": "BTC is down"}, {"y": 3}, {"sent": True}]
    store(tenant_a, builder=build(trace_id="price-bot-replay-1", steps=5, outputs=replay))
    store(tenant_b, trace_id="tenant-b-secret-trace")

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 1000})
        page.goto(f"{live_server.url}/admin/login/?next=/admin/traces/trace/")
        page.fill("#id_username", "alice")
        page.fill("#id_password", "pw-alice")
        page.click("input[type=submit]")

        rows = page.locator("#result_list tbody tr")
        expect(rows).to_have_count(2)  # tenant B's trace is not listed
        page.fill("#searchbar", "price-bot-run")
        page.press("#searchbar", "Enter")
        expect(rows).to_have_count(1)

        # Pin it with the action; retention will keep it.
        rows.first.locator("input.action-select").check()
        page.select_option("select[name=action]", "pin_selected")
        page.click("button[name=index]")
        expect(page.locator(".messagelist")).to_contain_text("Pinned 1 trace(s).")

        # The read-only trace page, then "Compare with…" the replay.
        page.locator("#result_list tbody tr th a").first.click()
        expect(page.locator(".inline-group")).to_contain_text("json_transform")
        page.click("a.aos-compare-link")
        page.fill("#id_with", "price-bot-replay-1")
        page.click(".aos-compare-form input[type=submit]")
        expect(page.locator("#first-divergence")).to_contain_text("step 2 (output_mismatch)")
        expect(page.locator("#step-2")).to_have_class("aos-step-head differs")
        expect(page.locator("#step-1")).to_have_class("aos-step-head")
        assert page.locator("table.aos-compare tr.differs td.b pre", has_text="BTC is down").count() == 1
        shot = tmp_path / "trace-compare.png"
        page.screenshot(path=shot, full_page=True)
        browser.close()

    # ORM checks stay outside the Playwright block: inside it, the running event loop gives the
    # ORM another connection context that stays open and blocks the test database's teardown.
    assert Trace.objects.get(trace_id="price-bot-run-1").pinned
    assert shot.stat().st_size > 10_000
    if os.environ.get("AOS_UPDATE_SCREENSHOTS"):  # refresh docs/screenshots only when asked
        DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, DOCS_SCREENSHOTS / "trace-compare.png")
