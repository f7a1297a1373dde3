"""Shared by the browser tests: Debian's Chromium through Playwright, signed in to the admin."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DOCS_SCREENSHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"

needs_chromium = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed"),
]


@contextlib.contextmanager
def admin_page(
    base_url: str, *, username: str, password: str, next_path: str = "/admin/", width: int = 1440, height: int = 1000
) -> Iterator:
    """A Chromium page signed in to the admin as `username`, landed on `next_path`.

    Keep ORM calls outside this block: inside it Playwright's running event loop gives the ORM
    another connection context, which stays open and blocks the test database's teardown.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.goto(f"{base_url}/admin/login/?next={next_path}")
            page.fill("#id_username", username)
            page.fill("#id_password", password)
            page.click("input[type=submit]")
            yield page
        finally:
            browser.close()


def screenshots_publish(shots: dict[str, Path]) -> None:
    """Copies `{name: file}` into docs/screenshots, only when AOS_UPDATE_SCREENSHOTS is set."""
    for shot in shots.values():
        assert shot.stat().st_size > 10_000  # a real rendering, not a blank page
    if os.environ.get("AOS_UPDATE_SCREENSHOTS"):
        DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for name, shot in shots.items():
            shutil.copyfile(shot, DOCS_SCREENSHOTS / name)


# The right edges of a change list's header cells and of every cell of its first rows, and the page's
# scroll width: a list "fits" when none is past the viewport (Django's `.results` box would otherwise
# scroll sideways inside a page that itself does not).
LIST_EDGES_JS = """(rows) => {
  const right = (el) => Math.ceil(el.getBoundingClientRect().right);
  const heads = [...document.querySelectorAll('#result_list thead th')];
  const body = [...document.querySelectorAll('#result_list tbody tr')].slice(0, rows);
  return {
    scrollWidth: document.documentElement.scrollWidth,
    resultsScroll: document.querySelector('.results').scrollWidth - document.querySelector('.results').clientWidth,
    headers: heads.map((th) => ({
      text: th.innerText.trim(), right: right(th), width: th.getBoundingClientRect().width,
    })),
    cells: body.flatMap((tr, i) => [...tr.children].map((td, j) => ({ row: i, col: j, right: right(td) }))),
  };
}"""


def list_edges(page, *, rows: int = 5) -> dict:
    """LIST_EDGES_JS measured on the current change list page."""
    return page.evaluate(LIST_EDGES_JS, rows)
