"""The billing profile's form in Chromium (issue 20), in Arabic on a phone (390×844) and in English on a desktop
(1366×900): the address appears once a VAT number is typed, marked as required with it; saving without it names
every missing field in the page's language and saves nothing; with it (Arabic-Indic digits in Arabic) the page
reloads saying it was saved, the digits normalised; nothing runs off the side of the screen."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

CASES = {
    "ar-phone": ("ar", {"width": 390, "height": 844}),
    "en-desktop": ("en", {"width": 1366, "height": 900}),
}
TEXT = {
    "ar": {
        "required": "مطلوب مع الرقم الضريبي",
        "missing": ["«الشارع» مطلوب", "«رقم المبنى» مطلوب", "«الحي» مطلوب", "«المدينة» مطلوب", "«الرمز البريدي» مطلوب"],
        "saved": "حُفظت بيانات الفوترة.",
        "vat": "٣١٠ ١٢٢ ٣٩٣٥ ٠٠٠٠٣",
        "building": "٢٤١٧",
        "postal": "١٢٢١٤",
        "crn": "١٠١٠ ١٢٣ ٤٥٦",
    },
    "en": {
        "required": "Required with a VAT number",
        "missing": [
            "Street is required",
            "Building number is required",
            "District is required",
            "City is required",
            "Postal code is required",
        ],
        "saved": "Billing details saved.",
        "vat": "310 122 3935 00003",
        "building": "2417",
        "postal": "12214",
        "crn": "1010123456",
    },
}
ADDRESS_INPUTS = ("street", "building_number", "district", "city", "postal_code")
# Every element of the profile card whose right edge passes the viewport's, or left edge is left of 0.
OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const card = document.querySelector('[data-testid="billing-profile"]');
  return [...card.querySelectorAll('input, label, button, legend, .hint, .badge')]
    .filter(e => e.offsetParent !== null)
    .map(e => e.getBoundingClientRect())
    .filter(r => r.right > width + 0.5 || r.left < -0.5).length;
}"""


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_billing_profile_form(atlas, browser, case):
    lang, viewport = CASES[case]
    text = TEXT[lang]
    admin, me = atlas.new_tenant(name="Browser Buyer")
    context = browser.new_context(viewport=viewport)
    context.add_cookies(
        [
            {"name": "atlas_session", "value": admin.cookies["atlas_session"], "url": atlas.base_url},
            {"name": "atlas_lang", "value": lang, "url": atlas.base_url},
        ]
    )
    page = context.new_page()
    try:
        assert page.goto(f"{atlas.base_url}/app/subscription").status == 200
        assert page.evaluate("() => document.documentElement.dir") == ("rtl" if lang == "ar" else "ltr")
        form = page.get_by_test_id("profile-form")
        address = page.get_by_test_id("profile-address")
        assert address.is_hidden()  # no VAT number yet: no address asked for
        # Arabic first: the Arabic legal name is the form's first field
        assert form.locator("input").first.get_attribute("name") == "legal_name_ar"
        assert page.locator("#p-name-en").input_value() == "Browser Buyer"  # the company's name, in its script's slot

        page.locator("#p-name-ar").fill("شركة المتصفح للتجارة")
        page.locator("#p-vat").fill(text["vat"])
        address.wait_for(state="visible")
        assert page.get_by_test_id("address-required").inner_text().strip() == text["required"]
        assert page.evaluate(OVERFLOW) == 0, "the profile form runs off the screen"

        page.get_by_test_id("profile-save").click()
        error = page.get_by_test_id("profile-error")
        error.wait_for(state="visible")
        shown = error.inner_text()
        for words in text["missing"]:
            assert words in shown, (words, shown)
        for name in ADDRESS_INPUTS:
            assert form.locator(f'[name="{name}"]').get_attribute("aria-invalid") == "true", name
        assert form.locator('[name="legal_name_ar"]').get_attribute("aria-invalid") == "false"
        assert atlas.sql("SELECT count(*) FROM billing_profiles WHERE tenant_id = %s", (me["tenant_id"],)) == [(0,)]
        assert page.get_by_test_id("profile-saved").is_hidden()

        page.locator("#p-street").fill("طريق الملك فهد" if lang == "ar" else "King Fahd Road")
        page.locator("#p-building").fill(text["building"])
        page.locator("#p-district").fill("العليا" if lang == "ar" else "Al Olaya")
        page.locator("#p-city").fill("الرياض" if lang == "ar" else "Riyadh")
        page.locator("#p-postal").fill(text["postal"])
        page.locator("#p-crn").fill(text["crn"])
        with page.expect_navigation():
            page.get_by_test_id("profile-save").click()
        saved = page.get_by_test_id("profile-saved")
        saved.wait_for(state="visible")
        assert saved.inner_text().strip() == text["saved"]
        # the reloaded form shows what was stored: ASCII digits, the address still shown
        assert page.locator("#p-vat").input_value() == "310122393500003"
        assert page.locator("#p-building").input_value() == "2417"
        assert page.locator("#p-postal").input_value() == "12214"
        assert page.locator("#p-crn").input_value() == "1010123456"
        assert address.is_visible()
        assert page.evaluate(OVERFLOW) == 0
        stored = atlas.sql(
            "SELECT legal_name_ar, vat_number, building_number, postal_code, country FROM billing_profiles "
            "WHERE tenant_id = %s",
            (me["tenant_id"],),
        )
        assert stored == [("شركة المتصفح للتجارة", "310122393500003", "2417", "12214", "SA")]
        # the notice is said once: another visit does not repeat it
        page.reload()
        assert page.get_by_test_id("profile-saved").is_hidden()
    finally:
        context.close()
