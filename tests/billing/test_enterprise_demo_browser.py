"""Issue 19's billing journeys in Chromium, in Arabic and English, at 1366×900 and on a 390×844 phone: an enterprise
whose trial has ended sees "Your trial has ended → Book a meeting with our team" and sends the meeting request;
on the SMB payment form the highlighted plan card is always the checked plan, and the accepted cards' marks show."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from tests.billing.conftest import set_state
from tests.browser_pages import signed_in_page

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("ATLAS_SCREENSHOTS")  # a folder: save screenshots there while developing
VIEWPORTS = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}
TITLES = {"ar": "انتهت فترتك التجريبية", "en": "Your trial has ended"}
MEETING_TITLES = {"ar": "احجز اجتماعاً مع فريقنا", "en": "Book a meeting with our team"}


def shot(page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def signed_in(atlas, browser, client, lang: str, viewport: dict[str, int]):
    return signed_in_page(browser, atlas.base_url, client, lang=lang, viewport=viewport)


def fits_across(page, test_id: str) -> bool:
    """The element lies inside the viewport's width (nothing cut off to either side)."""
    return page.evaluate(
        """(id) => { const r = document.querySelector(`[data-testid="${id}"]`).getBoundingClientRect();
                     return r.left >= -1 && r.right <= document.documentElement.clientWidth + 1; }""",
        test_id,
    )


def test_enterprise_trial_ended_screen_and_meeting_request(atlas, browser):
    for lang in ("ar", "en"):
        for size, viewport in VIEWPORTS.items():
            admin, me = atlas.new_tenant(org_type="enterprise", name=f"Sadeem {lang} {size}")
            set_state(atlas, me["tenant_id"], "trial_ended")
            context, page = signed_in(atlas, browser, admin, lang, viewport)
            page.goto(f"{atlas.base_url}/app")
            page.wait_for_url(f"{atlas.base_url}/app/subscription")
            assert page.get_attribute("html", "lang") == lang
            assert page.get_attribute("html", "dir") == ("rtl" if lang == "ar" else "ltr")
            assert TITLES[lang] in page.get_by_test_id("trial-ended-title").inner_text()
            section = page.get_by_test_id("meeting-section")
            assert section.is_visible() and MEETING_TITLES[lang] in section.inner_text()
            assert page.get_by_test_id("plans").count() == 0  # an enterprise books a meeting; no card asked
            assert fits_across(page, "meeting-section") and fits_across(page, "book-meeting")
            shot(page, f"enterprise-trial-ended-{lang}-{size}")

            page.get_by_test_id("book-meeting").click()
            page.fill("#m-name", "هدى القحطاني" if lang == "ar" else "Huda Al-Qahtani")
            assert page.input_value("#m-email") == me["email"]
            page.fill("#m-phone", "+966 55 123 4567")
            page.fill("#m-times", "الأحد 10:00–13:00" if lang == "ar" else "Sunday 10:00–13:00")
            page.fill("#m-notes", f"SAP, {size}")
            assert fits_across(page, "meeting-submit")
            page.get_by_test_id("meeting-submit").click()
            page.get_by_test_id("meeting-received").wait_for(state="visible")
            assert page.get_attribute("html", "lang") == lang
            rows = atlas.sql(
                "SELECT contact_name, phone, notes FROM meeting_requests WHERE tenant_id = %s", (me["tenant_id"],)
            )
            assert len(rows) == 1 and rows[0][1] == "+966 55 123 4567" and rows[0][2] == f"SAP, {size}"
            shot(page, f"enterprise-meeting-received-{lang}-{size}")
            context.close()


def selected_cards(page) -> list[str]:
    return page.eval_on_selector_all(
        '[data-testid="plan-card"].plan-card-featured', "cards => cards.map(c => c.getAttribute('data-plan'))"
    )


def checked_radio(page) -> str:
    return page.eval_on_selector('[data-testid="payment-form"] input[name="plan"]:checked', "r => r.value")


def test_plan_card_and_radio_agree_and_the_card_marks_show(paying, browser):
    atlas = paying.atlas
    for lang in ("ar", "en"):
        for size, viewport in VIEWPORTS.items():
            admin, me = atlas.new_tenant(org_type="smb", email=f"plans-{uuid.uuid4().hex[:8]}@example.sa")
            set_state(atlas, me["tenant_id"], "trial_ended")
            context, page = signed_in(atlas, browser, admin, lang, viewport)
            page.goto(f"{atlas.base_url}/app/subscription")
            assert page.get_attribute("html", "dir") == ("rtl" if lang == "ar" else "ltr")
            # as the page arrives: one highlighted card, the checked plan's
            assert selected_cards(page) == [checked_radio(page)]
            # a card's button chooses its plan: the radio and the highlight follow
            page.locator("[data-plan=basic] [data-testid=subscribe]").click()
            assert checked_radio(page) == "basic" and selected_cards(page) == ["basic"]
            assert page.locator("[data-plan=basic]").get_attribute("data-selected") == "true"
            # the radio chooses a plan: the highlight follows
            page.locator('[data-testid="payment-form"] label:has(input[name="plan"][value="enterprise"])').click()
            assert checked_radio(page) == "enterprise"
            assert selected_cards(page) == ["enterprise"]
            primary = page.eval_on_selector_all(
                '[data-testid="plan-card"] .btn-primary', "b => b.map(x => x.getAttribute('data-subscribe-plan'))"
            )
            assert primary == ["enterprise"]
            assert page.locator("[data-plan=professional]").get_attribute("data-selected") == "false"
            # mada, Visa and Mastercard marks, drawn by Atlas, left to right in both directions
            marks = page.get_by_test_id("card-marks")
            assert marks.is_visible() and fits_across(page, "card-marks")
            labels = page.eval_on_selector_all(".card-marks-list svg", "s => s.map(x => x.getAttribute('aria-label'))")
            assert labels == ["mada", "Visa", "Mastercard"]
            xs = page.eval_on_selector_all(".card-marks-list svg", "s => s.map(x => x.getBoundingClientRect().left)")
            assert xs == sorted(xs)
            shot(page, f"plans-and-payment-{lang}-{size}")
            if SHOTS:
                marks.screenshot(path=str(Path(SHOTS) / f"card-marks-{lang}-{size}.png"))
            context.close()


def test_demo_sign_in_page_lists_every_account_with_what_it_shows(database_url, oidc_url, browser):
    from atlas.web.pages import DEMO_ACCOUNTS
    from tests.services import atlas_server

    settings = {
        "DATABASE_URL": database_url,
        "OIDC_ISSUER": oidc_url,
        "ATLAS_DEMO": "1",
        "TEMPORAL_ADDRESS": "127.0.0.1:1",
        "ATLAS_LOG_LEVEL": "WARNING",
    }
    with atlas_server(settings) as base_url:
        for lang in ("ar", "en"):
            for size, viewport in VIEWPORTS.items():
                context, page = signed_in_page(browser, base_url, lang=lang, viewport=viewport)  # signed out
                page.goto(f"{base_url}/signin")
                box = page.get_by_test_id("demo-accounts")
                assert box.is_visible() and fits_across(page, "demo-accounts")
                assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # no sideways scroll
                lines = page.get_by_test_id("demo-account-shows")
                assert lines.count() == len(DEMO_ACCOUNTS)
                assert all(lines.nth(i).inner_text().strip() for i in range(lines.count()))
                help_text = page.get_by_test_id("demo-email-help").inner_text()
                assert ("البريد الإلكتروني" if lang == "ar" else "E-mail address") in help_text
                smb = page.locator('[data-demo-email="owner@smb.demo.atlas.sa"] [data-testid=demo-account-shows]')
                card = smb.locator("bdi[dir=ltr]")
                assert card.inner_text() == "4111 1111 1111 1111"
                shot(page, f"signin-demo-{lang}-{size}")
                context.close()


def test_platform_billing_shows_revenue_and_internal_use_apart(atlas, browser):
    from tests.billing.test_pages import platform_admin

    operator, _ = platform_admin(atlas)
    _, own = atlas.new_tenant(org_type="enterprise", name="Atlas Own Operations")
    atlas.sql(
        "UPDATE subscriptions SET internal = true, billing_mode = 'contract', status = 'active', "
        "current_period_start = now(), current_period_end = now() + interval '1 year' WHERE tenant_id = %s",
        (own["tenant_id"],),
    )
    for lang in ("ar", "en"):
        for size, viewport in VIEWPORTS.items():
            context, page = signed_in(atlas, browser, operator, lang, viewport)
            page.goto(f"{atlas.base_url}/platform/billing")
            split = page.get_by_test_id("mrr-split")
            assert split.is_visible() and fits_across(page, "mrr-split")
            assert int(page.get_by_test_id("internal-use").get_attribute("data-halalas")) >= 199_900
            row = page.locator(f'[data-testid="subscription-row"][data-tenant="{own["tenant_id"]}"]')
            assert row.get_by_test_id("internal-tenant").is_visible()
            shot(page, f"platform-billing-{lang}-{size}")
            context.close()
