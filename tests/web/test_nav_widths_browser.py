"""In Chromium: the main navigation at every width from a small phone to a wide screen, in Arabic and English,
for the two people with the most tabs — a company's admin and a platform admin (issue 19).

Between 768 and about 1100 px the tabs used to wrap onto a second row. Now nav.js measures the row: the tabs sit
on one row when they fit, and fold behind the menu button (which names the current section) when they do not;
below 768 px the button is always used. At no width does the page scroll sideways, and the active section is
always on screen: as its tab on the row, or named by the button and shown in the opened menu.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from atlas.i18n import translate
from tests.platform.test_audit import run_cli

pytestmark = pytest.mark.browser

SHOTS = os.environ.get("ATLAS_SCREENSHOTS")  # a folder: save screenshots there while developing
WIDTHS = [320, 390, 768, 900, 1024, 1100, 1280, 1366, 1920]
HEIGHT = 900
NARROW = 768  # nav.js and atlas.css: below this width the menu button is always used

# The web fonts loaded, and two frames drawn since: nav.js's re-measure after the fonts ran.
SETTLED = """() => document.fonts.ready.then(() => new Promise(done =>
  requestAnimationFrame(() => requestAnimationFrame(() => done(true)))))"""
# The document's overflow, the button's box, and each tab's box, whether it shows and whether its text is cut.
LAYOUT = """() => {
  const nav = document.querySelector('[data-main-nav]');
  const toggle = document.querySelector('[data-nav-toggle]');
  const box = el => { const r = el.getBoundingClientRect(); return {left: r.left, right: r.right, top: r.top,
                                                                    bottom: r.bottom, width: r.width}; };
  return {
    docOverflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
    compact: document.querySelector('.site-header').hasAttribute('data-nav-compact'),
    toggle: {...box(toggle), shown: getComputedStyle(toggle).display !== 'none',
             current: (toggle.querySelector('[data-testid=nav-toggle-current]') || {}).textContent},
    navShown: getComputedStyle(nav).display !== 'none',
    links: [...nav.querySelectorAll('.nav-link')].map(a => ({...box(a), text: a.textContent.trim(),
      cut: a.scrollWidth > a.clientWidth + 1, active: a.classList.contains('is-active')})),
  };
}"""


@pytest.fixture(scope="module")
def people(atlas) -> dict[str, tuple[Any, str, str]]:
    """Who signs in, the page each opens and the section that page is in: an SMB admin (twelve tabs) on the
    subscription page (near the end of the row), a platform admin (thirteen) on the tenant list (the last tab)."""
    admin, _ = atlas.new_tenant(org_type="smb", name="Riyadh Trading Company")
    platform, platform_me = atlas.new_tenant(name="Atlas Operations")
    granted = run_cli(atlas.database_url, "platform-admins", "grant", "--email", platform_me["email"])
    assert granted.returncode == 0, granted.stderr
    return {
        "smb_admin": (admin, "/app/subscription", "subscription"),
        "platform_admin": (platform, "/platform", "platform"),
    }


def _shot(tab: Any, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(Path(SHOTS) / f"{name}.png"))


def _inside(box: dict[str, Any], width: int) -> bool:
    return box["width"] > 0 and box["left"] >= -1 and box["right"] <= width + 1 and box["top"] >= -1


def _check_width(tab: Any, width: int, section: str, tabs: int, name: str = "nav") -> dict[str, Any]:
    layout = tab.evaluate(LAYOUT)
    _shot(tab, f"{name}-{width}")
    where = f"at {width}px: {layout}"
    assert layout["docOverflow"] <= 0, where
    assert len(layout["links"]) == tabs, where
    if width < NARROW:
        assert layout["compact"], where
    if layout["compact"]:
        # Folded: the button is on screen and names the section; the tabs are hidden until it is pressed.
        assert layout["toggle"]["shown"] and _inside(layout["toggle"], width), where
        assert layout["toggle"]["current"].strip() == section, where
        assert not layout["navShown"], where
        toggle = tab.get_by_test_id("nav-toggle")
        toggle.click()
        opened = tab.evaluate(LAYOUT)
        _shot(tab, f"{name}-{width}-open")
        assert toggle.get_attribute("aria-expanded") == "true"
        assert opened["navShown"] and opened["docOverflow"] <= 0, opened
        assert all(_inside(link, width) and not link["cut"] for link in opened["links"]), opened["links"]
        active = [link for link in opened["links"] if link["active"]]
        assert [link["text"] for link in active] == [section]
        assert active[0]["bottom"] <= HEIGHT, active  # the open menu shows the active tab without scrolling
        tab.keyboard.press("Escape")
        assert toggle.get_attribute("aria-expanded") == "false"
    else:
        # One row: every tab on screen, whole, all at the same height; the button hidden.
        assert not layout["toggle"]["shown"], where
        assert all(_inside(link, width) and not link["cut"] for link in layout["links"]), where
        assert len({round(link["top"]) for link in layout["links"]}) == 1, where
        assert [link["text"] for link in layout["links"] if link["active"]] == [section], where
    return layout


@pytest.mark.parametrize("who", ["smb_admin", "platform_admin"])
@pytest.mark.parametrize("lang", ["ar", "en"])
def test_the_navigation_is_one_row_or_folded_at_every_width(atlas, browser, people, lang, who):
    client, path, nav = people[who]
    section = translate(f"nav.{nav}", lang)
    tabs = 13 if who == "platform_admin" else 12
    context = browser.new_context(viewport={"width": WIDTHS[0], "height": HEIGHT})
    context.add_cookies(
        [
            {"name": "atlas_session", "value": client.cookies["atlas_session"], "url": atlas.base_url},
            {"name": "atlas_lang", "value": lang, "url": atlas.base_url},
        ]
    )
    tab = context.new_page()
    try:
        compact = {}
        for width in WIDTHS:
            tab.set_viewport_size({"width": width, "height": HEIGHT})
            tab.goto(f"{atlas.base_url}{path}")
            tab.wait_for_selector(".site-header[data-nav-ready]")
            tab.evaluate(SETTLED)
            assert tab.get_attribute("html", "lang") == lang
            compact[width] = _check_width(tab, width, section, tabs, f"nav-{who}-{lang}")["compact"]
        # The row is used where it fits: a wide screen shows every tab; an admin's twelve fit at 1366 px.
        assert not compact[1920], compact
        if who == "smb_admin":
            assert not compact[1366], compact
        # Folding is monotonic: once the row fits, it fits at every wider width.
        widths = [w for w in WIDTHS if not compact[w]]
        assert widths == [w for w in WIDTHS if w >= widths[0]], compact
    finally:
        context.close()


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_resizing_folds_and_unfolds_the_navigation_without_a_reload(atlas, browser, people, lang):
    client, path, nav = people["smb_admin"]
    section = translate(f"nav.{nav}", lang)
    context = browser.new_context(viewport={"width": 1920, "height": HEIGHT})
    context.add_cookies(
        [
            {"name": "atlas_session", "value": client.cookies["atlas_session"], "url": atlas.base_url},
            {"name": "atlas_lang", "value": lang, "url": atlas.base_url},
        ]
    )
    tab = context.new_page()
    try:
        tab.goto(f"{atlas.base_url}{path}")
        tab.wait_for_selector(".site-header[data-nav-ready]")
        header = ".site-header[data-nav-ready]"
        assert not tab.evaluate(LAYOUT)["compact"]
        tab.set_viewport_size({"width": 900, "height": HEIGHT})
        tab.wait_for_selector(f"{header}[data-nav-compact]")
        _check_width(tab, 900, section, 12)
        tab.get_by_test_id("nav-toggle").click()  # left open, then the screen grows: the row, and no open menu
        tab.set_viewport_size({"width": 1920, "height": HEIGHT})
        tab.wait_for_selector(f"{header}:not([data-nav-compact])")
        assert tab.get_by_test_id("nav-toggle").get_attribute("aria-expanded") == "false"
        _check_width(tab, 1920, section, 12)
    finally:
        context.close()
