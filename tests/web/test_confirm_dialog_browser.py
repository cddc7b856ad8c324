"""Every confirmation asks in the page's styled dialog, never the browser's confirm() (issue 19): a modal <dialog>
with the question in the page's language, Cancel changes nothing, Continue goes ahead. In Chromium, Arabic and
English, at 1366×900 and 390×844, on the tokens page's revoke button (a data-confirm button; changing a plan and
dismissing a quarantined record ask through the same atlas.js function, and the billing journey test confirms there).
"""

from __future__ import annotations

import pytest

from tests.browser_pages import signed_in_page

pytestmark = pytest.mark.browser

VIEWPORTS = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}
QUESTION = {"ar": "هل تريد إلغاء الرمز «Nightly export»؟", "en": "Revoke the token “Nightly export”?"}
BUTTONS = {"ar": ("إلغاء", "متابعة"), "en": ("Cancel", "Continue")}


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
@pytest.mark.parametrize("lang", ["ar", "en"])
def test_revoking_a_token_asks_in_the_styled_dialog(atlas, browser, lang, viewport):
    admin, _ = atlas.new_tenant()
    created = admin.post("/api/tokens", json={"name": "Nightly export", "role": "viewer", "expires_in_days": 5})
    assert created.status_code == 201, created.text
    context, page = signed_in_page(browser, atlas.base_url, admin, lang=lang, viewport=VIEWPORTS[viewport])
    native: list[str] = []
    page.on("dialog", lambda dialog: (native.append(dialog.message), dialog.dismiss()))
    try:
        page.goto(f"{atlas.base_url}/app/tokens")
        page.get_by_test_id("token-revoke").click()
        dialog = page.get_by_test_id("confirm-dialog")
        dialog.wait_for(state="visible")
        assert dialog.evaluate("d => d.open && d.matches(':modal')")
        assert QUESTION[lang] in dialog.inner_text()
        cancel, ok = BUTTONS[lang]
        assert dialog.get_by_test_id("confirm-cancel").inner_text() == cancel
        assert dialog.get_by_test_id("confirm-ok").inner_text() == ok
        dialog.get_by_test_id("confirm-cancel").click()
        dialog.wait_for(state="detached")
        [token] = admin.get("/api/tokens").json()
        assert token["revoked_at"] is None  # cancelled: nothing happened
        page.get_by_test_id("token-revoke").click()
        with page.expect_navigation():  # revoked, the page reloads
            page.get_by_test_id("confirm-dialog").get_by_test_id("confirm-ok").click()
        [token] = admin.get("/api/tokens").json()
        assert token["revoked_at"] is not None
        assert native == []  # the browser's own confirm() never appeared
    finally:
        context.close()
