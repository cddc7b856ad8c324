"""In Chromium: saving a policy ends with a success notice, like other pages' notices (issue 19), in Arabic and
English, at 1366×900 and on a phone (390×844).

The save reloads the page (the new version, formatted by the server); the reloaded page says it was saved, once:
the notice is not there before a save, nor after the next reload.
"""

from __future__ import annotations

import pytest

from tests.browser_pages import LOCALES, signed_in_page

pytestmark = pytest.mark.browser

VIEWPORTS = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}
SAVED = {"ar": "حُفظت السياسة وأصبحت نافذة من الآن.", "en": "The policy is saved and applies from now on."}


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
@pytest.mark.parametrize("lang", ["ar", "en"])
def test_a_saved_policy_says_so_once(atlas, browser, lang, viewport):
    admin, _ = atlas.new_tenant()
    context, page = signed_in_page(
        browser, atlas.base_url, admin, lang=lang, locale=LOCALES[lang], viewport=VIEWPORTS[viewport]
    )
    try:
        page.goto(f"{atlas.base_url}/app/policies")
        notice = page.get_by_test_id("policy-saved")
        assert not notice.is_visible()

        page.fill("[data-testid=policy-max-items]", "12")
        with page.expect_navigation():
            page.get_by_test_id("policy-save").click()
        notice.wait_for(state="visible")
        assert notice.inner_text().strip() == SAVED[lang]
        assert notice.get_attribute("role") == "status"
        assert page.get_by_test_id("policy-version").get_attribute("data-version") == "1"
        assert admin.get("/api/policies").json()["version"] == 1

        page.reload()
        page.get_by_test_id("policy-version").wait_for()
        assert not notice.is_visible()
    finally:
        context.close()
