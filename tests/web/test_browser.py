"""The foundation in a real browser: Debian's Chromium driven by Playwright."""

from __future__ import annotations

import uuid

import pytest

from tests.browser_pages import signed_in_page

pytestmark = pytest.mark.browser


def test_sign_in_onboard_and_switch_language_without_reload(atlas, browser):
    email = f"browser-{uuid.uuid4().hex[:8]}@example.sa"
    atlas.set_user(email, name="Browser Person")
    context = browser.new_context(locale="ar-SA")
    page = context.new_page()
    page.goto(f"{atlas.base_url}/")
    assert page.get_attribute("html", "dir") == "rtl"
    assert page.get_attribute("html", "lang") == "ar"

    page.goto(f"{atlas.base_url}/signin")
    page.locator("a[href^='/api/login']").first.click()
    # The local identity provider's page: type the subject and authorise.
    page.wait_for_url(f"{atlas.oidc_url}/**")
    page.fill("input[name=sub]", email)
    page.locator("form:has(input[name=sub]) button[type=submit]").first.click()
    page.wait_for_url(f"{atlas.base_url}/onboarding")

    page.fill("input[name=company_name]", "Browser Trading Co")
    page.get_by_test_id("wizard-next").click()
    page.locator("input[name=org_type][value=smb]").check(force=True)
    page.get_by_test_id("wizard-next").click()
    page.locator("input[name=use_case][value=inventory_management]").check(force=True)
    page.get_by_test_id("wizard-submit").click()
    page.wait_for_url(f"{atlas.base_url}/app")
    assert "Browser Trading Co" in page.content()
    banner = page.get_by_test_id("trial-banner")
    assert banner.is_visible()
    assert "7" in banner.inner_text()

    # Switch to English without a reload: a marker set on the window survives the switch.
    page.evaluate("window.__noReload = 'still-here'")
    arabic_heading = page.locator("h1").first.inner_text()
    page.get_by_test_id("lang-switch").click()
    page.wait_for_function("() => document.documentElement.lang === 'en'")
    assert page.get_attribute("html", "dir") == "ltr"
    assert page.evaluate("window.__noReload") == "still-here"
    assert page.locator("h1").first.inner_text() != arabic_heading
    assert "days left in your trial" in page.get_by_test_id("trial-banner").inner_text()
    assert page.evaluate("localStorage.getItem('atlas_lang')") == "en"

    # The choice survives a reload: the cookie makes the server render English.
    page.reload()
    assert page.get_attribute("html", "lang") == "en"
    assert page.get_attribute("html", "dir") == "ltr"

    # And back to Arabic, again without a reload.
    page.evaluate("window.__noReload = 'again'")
    page.get_by_test_id("lang-switch").click()
    page.wait_for_function("() => document.documentElement.dir === 'rtl'")
    assert page.evaluate("window.__noReload") == "again"
    assert page.get_attribute("html", "lang") == "ar"
    context.close()


def test_admin_creates_a_token_and_sees_it_once(atlas, browser):
    admin, me = atlas.new_tenant()
    context, page = signed_in_page(browser, atlas.base_url, admin)
    page.goto(f"{atlas.base_url}/app/tokens")
    page.fill("input[name=name]", "Nightly export")
    page.locator("form[data-api-url='/api/tokens'] [type=submit]").click()
    token_box = page.get_by_test_id("new-token")
    token_box.wait_for(state="visible")
    token = token_box.inner_text().strip()
    assert token.startswith("atl_")
    page.reload()
    assert token not in page.content()
    assert "Nightly export" in page.content()
    context.close()
