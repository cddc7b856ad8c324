"""In Chromium, Arabic and English, at 1366×900 and 390×844: the subscription's period arrow points the way the line
reads (U+2192 is not mirrored by the bidirectional algorithm, so the page turns it in right-to-left), and "used /
limit" keeps its order ("1 / 5", never "5 / 1") inside an Arabic line (issue 19)."""

from __future__ import annotations

import pytest

from tests.billing.conftest import set_state
from tests.browser_pages import signed_in_page

pytestmark = pytest.mark.browser

VIEWPORTS = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}
# The used figure and the limit figure of a usage line, as laid out.
NUMBERS = "b => [...b.querySelectorAll('.num')].map(n => n.getBoundingClientRect().left)"


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
@pytest.mark.parametrize("lang", ["ar", "en"])
def test_the_period_arrow_and_the_usage_read_in_the_pages_direction(atlas, browser, lang, viewport):
    admin, me = atlas.new_tenant(org_type="smb")
    set_state(atlas, me["tenant_id"], "active")
    context, page = signed_in_page(browser, atlas.base_url, admin, lang=lang, viewport=VIEWPORTS[viewport])
    try:
        assert page.goto(f"{atlas.base_url}/app/subscription").status == 200
        arrow = page.locator(".reading-arrow").first
        transform = arrow.evaluate("a => getComputedStyle(a).transform")
        assert transform == ("matrix(-1, 0, 0, 1, 0, 0)" if lang == "ar" else "none")
        for testid in ("usage-connectors", "usage-records"):
            line = page.get_by_test_id(testid)
            assert line.evaluate("b => getComputedStyle(b).unicodeBidi") == "isolate"
            used, limit = line.evaluate(NUMBERS)
            assert used < limit, (testid, used, limit)  # "1 / 5": the used figure first, on the left
    finally:
        context.close()
