"""Browser: an operator replays a run from its trace page, sees the divergence, opens the step, copies a hash."""

from __future__ import annotations

import pytest

from tests.browser import admin_page, needs_chromium, screenshots_publish
from tests.runtime.helpers import llm, run, transform
from traces.models import Trace, TraceSource

pytestmark = needs_chromium


def briefing_plan() -> list[dict]:
    """Eight pure steps: transforms and local LLM calls, each reading the one before."""
    plan = [transform("{{ input }}", mapping={"price": "price", "symbol": "symbol"})]
    for i in range(1, 8):
        if i % 2:
            plan.append(llm(f"Step {i}: summarise {{{{ steps[{i - 1}].output }}}}"))
        else:
            plan.append(transform({"summary": f"{{{{ steps[{i - 1}].output.content }}}}", "n": i}, query="@"))
    return plan


@pytest.mark.django_db(transaction=True)
def test_it_replays_and_shows_where_the_replay_diverged(live_server, api_a_dev, alice, tmp_path, monkeypatch):
    from playwright.sync_api import expect

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    body = run(api_a_dev, briefing_plan(), input={"price": 101.5, "symbol": "BTC"}).json()
    assert body["status"] == "succeeded", body
    original = Trace.objects.get(run_id=body["run_id"])
    step = original.steps.get(index=3)  # the recording was edited after the fact: a replay must notice
    step.output = {**step.output, "content": "BTC is down"}
    step.save(update_fields=["output"])
    path = f"/admin/traces/trace/{original.pk}/change/"

    with admin_page(live_server.url, username="alice", password="pw-alice", next_path=path) as page:
        page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
        expect(page.locator("#aos-links")).to_contain_text("Replays: none")
        page.uncheck("#id_dry_run")
        page.click("#aos-replay-form button[type=submit]")

        # The new replay's page: the message links it, the banner names the step.
        expect(page.locator(".messagelist")).to_contain_text("Replayed (recorded): diverged at step 3")
        banner = page.locator("#aos-divergence-banner")
        expect(banner).to_contain_text("Diverged at step 3 (output_mismatch)")
        expect(page.locator("#aos-links")).to_contain_text(original.trace_id)
        diverged = page.locator("details#step-3")
        expect(diverged).to_have_class("aos-step aos-step-succeeded aos-diverged")
        expect(page.locator("details.aos-diverged")).to_have_count(1)
        expect(diverged).not_to_have_attribute("open", "")

        diverged.locator("summary").click()
        expect(diverged).to_have_attribute("open", "")
        expect(diverged.locator("pre#output-3")).to_contain_text('"content"')
        shown_hash = diverged.locator("code.aos-hash").nth(2).inner_text()
        copy = diverged.locator("button.aos-copy[title='copy step hash']")
        copy.click()
        expect(copy).to_have_text("Copied")
        copied = page.evaluate("navigator.clipboard.readText()")
        replay_url = page.url
        shot = tmp_path / "trace-page.png"
        page.screenshot(path=shot, full_page=True)

        # The banner's link opens the step from a fresh load too (`?step=3#step-3`).
        banner.get_by_role("link", name="show step 3").click()
        expect(page.locator("details#step-3")).to_have_attribute("open", "")

        # The plan is not part of the page: opening its box loads it (trace_page.js).
        page.locator("fieldset.collapse > details > summary").click()
        page.locator("details.aos-lazy-json[data-src$='/json/plan/'] > summary").click()
        expect(page.locator("pre#trace-plan")).to_contain_text('"skill": "json_transform"')

    replay = Trace.objects.get(source=TraceSource.REPLAY)  # ORM outside the Playwright block
    assert replay_url.startswith(f"{live_server.url}/admin/traces/trace/{replay.pk}/change/")
    assert copied == shown_hash == replay.steps.get(index=3).step_hash
    screenshots_publish({"trace-page.png": shot})
