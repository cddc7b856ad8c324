"""In Chromium: the mapping editor's unfinished edges, finished (issue 19), in Arabic and English, at 1366×900 and
on a phone (390×844).

- A placeholder reads as an example ("e.g. $.sku", italic), never as a value already filled in.
- The first version saves without a note (there is nothing it changed); a later version still asks what changed.
- The preview puts the key column (the first required field) first and keeps it in view when the table scrolls
  sideways.
- Going back to an earlier version asks in the page's styled dialog, not the browser's ``confirm()``: Cancel changes
  nothing, Activate rolls back.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.browser_pages import LOCALES, signed_in_page
from tests.mapping.test_pages import create_connector, editor_url

pytestmark = pytest.mark.browser

SHOTS = os.environ.get("ATLAS_SCREENSHOTS")  # a folder: save screenshots there while developing
VIEWPORTS = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}
EXAMPLE = {"ar": "مثال: ", "en": "e.g. "}
NOTE_REQUIRED = {"ar": "اكتب ملاحظة قصيرة عمّا تغيّر.", "en": "Write a short note on what changed."}

# Whether the key column's header stays inside the preview's scrolling box once it is scrolled to the far end.
KEY_COLUMN_IN_VIEW = """() => {
  const wrap = document.querySelector('[data-preview-wrap]');
  const key = wrap.querySelector('[data-testid="preview-key-column"]');
  const rtl = document.documentElement.dir === 'rtl';
  wrap.scrollLeft = rtl ? -wrap.scrollWidth : wrap.scrollWidth;
  const box = wrap.getBoundingClientRect(), cell = key.getBoundingClientRect();
  return {scrolls: wrap.scrollWidth > wrap.clientWidth, position: getComputedStyle(key).position,
          inside: cell.left >= box.left - 1 && cell.right <= box.right + 1};
}"""


def _shot(tab: Any, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(Path(SHOTS) / f"{name}.png"))


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
@pytest.mark.parametrize("lang", ["ar", "en"])
def test_first_version_without_a_note_placeholders_key_column_and_rollback_dialog(
    atlas, browser, demo_erp_url, lang, viewport
):
    admin, _ = atlas.new_tenant()
    connector = create_connector(admin, demo_erp_url)
    context, tab = signed_in_page(
        browser, atlas.base_url, admin, lang=lang, locale=LOCALES[lang], viewport=VIEWPORTS[viewport]
    )
    native_dialogs: list[str] = []
    tab.on("dialog", lambda dialog: (native_dialogs.append(dialog.message), dialog.dismiss()))
    try:
        tab.goto(atlas.base_url + editor_url(connector["id"], "items"))
        tab.wait_for_selector("[data-mapping-editor][data-ready]")
        assert tab.get_attribute("html", "lang") == lang

        # Placeholders are examples, in italic.
        sku = tab.locator("[name='fields.sku.path']")
        assert sku.get_attribute("placeholder") == EXAMPLE[lang] + "$.sku"
        assert tab.get_by_test_id("record-path").get_attribute("placeholder").startswith(EXAMPLE[lang])
        assert sku.evaluate("e => getComputedStyle(e, '::placeholder').fontStyle") == "italic"

        tab.get_by_test_id("record-path").fill("$.data")
        sku.fill("$.item_code")
        tab.fill("[name='fields.name.path']", "$.description.en")
        tab.fill("[name='fields.category.path']", "$.category")
        tab.get_by_test_id("preview-button").click()
        tab.wait_for_selector("[data-testid='preview-row']", timeout=60_000)
        key = tab.get_by_test_id("preview-key-column")
        assert key.get_attribute("title") == "sku"
        assert tab.locator("[data-testid='preview-table'] thead th").nth(1).get_attribute("title") == "sku"
        in_view = tab.evaluate(KEY_COLUMN_IN_VIEW)
        assert in_view["position"] == "sticky"
        if in_view["scrolls"]:
            assert in_view["inside"], in_view
        _shot(tab, f"mapping-preview-{lang}-{viewport}")

        # The first version: no note asked for.
        tab.get_by_test_id("save-mapping").click()
        assert tab.get_by_test_id("save-note").get_attribute("required") is None
        tab.get_by_test_id("save-confirm").click()
        tab.wait_for_selector("[data-testid='version-row'][data-version='1'][data-active='true']")
        versions = admin.get("/api/mappings", params={"connector_id": connector["id"]}).json()
        assert [(m["endpoint_key"], m["active_version"]) for m in versions] == [("items", 1)]

        # A second version asks what changed.
        tab.fill("[name='fields.name.path']", "$.description.ar")
        tab.get_by_test_id("save-mapping").click()
        tab.get_by_test_id("save-confirm").click()
        assert tab.locator("[data-save-error]").inner_text().strip() == NOTE_REQUIRED[lang]
        assert tab.get_by_test_id("save-note").get_attribute("aria-invalid") == "true"
        tab.get_by_test_id("save-note").fill("Arabic names")
        tab.get_by_test_id("save-confirm").click()
        tab.wait_for_selector("[data-testid='version-row'][data-version='2'][data-active='true']")

        # Rolling back asks in the styled dialog: Cancel changes nothing.
        activate = tab.locator("[data-testid='version-row'][data-version='1'] [data-testid='activate-version']")
        activate.click()
        dialog = tab.get_by_test_id("activate-dialog")
        dialog.wait_for(state="visible")
        assert dialog.evaluate("d => d.open && d.matches(':modal')")
        assert "1" in dialog.locator("[data-activate-text]").inner_text()
        _shot(tab, f"mapping-rollback-dialog-{lang}-{viewport}")
        tab.get_by_test_id("activate-cancel").click()
        dialog.wait_for(state="hidden")
        assert tab.get_by_test_id("mapping-status").get_attribute("data-active-version") == "2"

        # Activate rolls back.
        activate.click()
        tab.get_by_test_id("activate-confirm").click()
        tab.wait_for_selector("[data-testid='version-row'][data-version='1'][data-active='true']")
        assert tab.input_value("[name='fields.name.path']") == "$.description.en"
        assert admin.get(f"/api/mappings/{versions[0]['id']}").json()["active_version"] == 1
        assert native_dialogs == []
    finally:
        context.close()
