"""Browser: the admin index as an operator first sees it (issue 19, items 1 and 8)."""

from __future__ import annotations

import pytest

from tests.browser import admin_page, needs_chromium, screenshots_publish

pytestmark = needs_chromium


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [1400, 1024, 800])
def test_it_renders_the_dashboards_box_on_one_line_per_link(
    live_server, django_user_model, monkeypatch, tmp_path, width
):
    from playwright.sync_api import expect

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    django_user_model.objects.create_superuser("root", "root@example.com", "pw-root")
    with admin_page(live_server.url, username="root", password="pw-root", width=width, height=900) as page:
        expect(page).to_have_title("Site administration | AOS Control Plane")
        expect(page.locator("#site-name")).to_have_text("AOS Control Plane")
        link = page.locator("#aos-dashboards a").first
        expect(link).to_be_visible()
        line = page.evaluate(
            "() => parseFloat(getComputedStyle(document.querySelector('#aos-dashboards a')).lineHeight)"
        )
        box = link.bounding_box()
        assert box is not None and box["height"] <= 2 * line, (width, box)  # was ~280 px: letters stacked
        assert box["width"] >= 150, (width, box)
        module = page.locator("#aos-dashboards").bounding_box()
        assert module is not None and module["height"] < 200, (width, module)
        shot = tmp_path / "admin-index.png"
        page.screenshot(path=shot, full_page=True)
    if width == 1400:
        screenshots_publish({"admin-index.png": shot})
