"""In Chromium: the main navigation fits the screen, in Arabic and English, at 1366×900 and on a phone (issue 19).

At 1366 px the Arabic tabs used to overflow ("إدار…" at the edge); on a phone the row scrolled sideways with the
active tab off-screen and no menu button. Now, on a wide screen every tab is on screen and whole; below 768 px a
real ``<button>`` (``aria-expanded``, static nav.js under the CSP) names the current section and opens the
navigation, where the active tab is visible. The document never scrolls sideways.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.browser_pages import LOCALES, signed_in_page

pytestmark = pytest.mark.browser

SHOTS = os.environ.get("ATLAS_SCREENSHOTS")  # a folder: save screenshots there while developing
VIEWPORTS = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}
SECTION = {"ar": "السياسات", "en": "Policies"}

# The document's and the navigation's overflow, and each tab's box and whether its text is cut.
LAYOUT = """() => {
  const nav = document.querySelector('[data-main-nav]');
  return {
    docOverflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
    navOverflow: nav.scrollWidth - nav.clientWidth,
    links: [...nav.querySelectorAll('.nav-link')].map(a => {
      const r = a.getBoundingClientRect();
      return {text: a.textContent.trim(), left: r.left, right: r.right, top: Math.round(r.top), width: r.width,
              cut: a.scrollWidth > a.clientWidth + 1, active: a.classList.contains('is-active')};
    }),
  };
}"""


@pytest.fixture(scope="module")
def admin(atlas) -> Any:
    client, _ = atlas.new_tenant()
    return client


def _open(atlas: Any, browser: Any, admin: Any, lang: str, viewport: str) -> tuple[Any, Any]:
    context, tab = signed_in_page(
        browser, atlas.base_url, admin, lang=lang, locale=LOCALES[lang], viewport=VIEWPORTS[viewport]
    )
    tab.goto(f"{atlas.base_url}/app/policies")
    tab.wait_for_selector(".site-header[data-nav-ready]")
    assert tab.get_attribute("html", "lang") == lang
    return context, tab


def _shot(tab: Any, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(Path(SHOTS) / f"{name}.png"))


def _on_screen(link: dict[str, Any], width: int) -> bool:
    return link["width"] > 0 and link["left"] >= -1 and link["right"] <= width + 1 and not link["cut"]


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_every_tab_fits_a_1366_screen(atlas, browser, admin, lang):
    context, tab = _open(atlas, browser, admin, lang, "desktop")
    try:
        _shot(tab, f"nav-desktop-{lang}")
        assert not tab.get_by_test_id("nav-toggle").is_visible()
        layout = tab.evaluate(LAYOUT)
        assert layout["docOverflow"] <= 0 and layout["navOverflow"] <= 0
        assert len(layout["links"]) >= 10
        assert all(_on_screen(link, 1366) for link in layout["links"]), layout["links"]
        assert len({link["top"] for link in layout["links"]}) == 1  # one row of tabs (an admin's twelve)
        active = [link for link in layout["links"] if link["active"]]
        assert [link["text"] for link in active] == [SECTION[lang]]
    finally:
        context.close()


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_a_phone_opens_and_closes_the_navigation_with_a_menu_button(atlas, browser, admin, lang):
    context, tab = _open(atlas, browser, admin, lang, "phone")
    try:
        toggle = tab.get_by_test_id("nav-toggle")
        assert toggle.is_visible()
        assert toggle.evaluate("b => b.tagName") == "BUTTON"
        assert toggle.get_attribute("aria-expanded") == "false"
        assert tab.get_by_test_id("nav-toggle-current").inner_text().strip() == SECTION[lang]
        assert not tab.locator("[data-main-nav] .nav-link").first.is_visible()
        assert tab.evaluate(LAYOUT)["docOverflow"] <= 0
        _shot(tab, f"nav-phone-closed-{lang}")

        toggle.click()
        assert toggle.get_attribute("aria-expanded") == "true"
        active = tab.locator("[data-main-nav] .nav-link.is-active")
        assert active.is_visible() and active.inner_text().strip() == SECTION[lang]
        layout = tab.evaluate(LAYOUT)
        assert layout["docOverflow"] <= 0
        assert all(_on_screen(link, 390) for link in layout["links"]), layout["links"]
        _shot(tab, f"nav-phone-open-{lang}")

        toggle.click()
        assert toggle.get_attribute("aria-expanded") == "false"
        assert not active.is_visible()

        # Escape closes it too, and the focus goes back to the button.
        toggle.click()
        assert active.is_visible()
        tab.keyboard.press("Escape")
        assert toggle.get_attribute("aria-expanded") == "false"
        assert tab.evaluate("() => document.activeElement.getAttribute('data-testid')") == "nav-toggle"

        # A tab of the open menu navigates; the next page starts with the menu closed.
        toggle.click()
        tab.locator("[data-main-nav] a[href='/app/team']").click()
        tab.wait_for_url(f"{atlas.base_url}/app/team")
        tab.wait_for_selector(".site-header[data-nav-ready]")
        assert tab.get_by_test_id("nav-toggle").get_attribute("aria-expanded") == "false"
    finally:
        context.close()
