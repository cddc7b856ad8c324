"""The whole SMB journey in Chromium: the trial ends, choose Professional, enter a test card in our form, pass
3-D Secure on the local Moyasar, land back active with an invoice; and no card number ever reached Atlas
(requests to Atlas's origin seen by the browser, Atlas's logs, and every table in the database)."""

from __future__ import annotations

import logging
import uuid

import pytest

from tests.billing.conftest import set_state, subscription
from tests.services import wait_until

pytestmark = pytest.mark.browser

CARD = "4111111111111111"
CARD_FORMS = (CARD, "4111 1111 1111 1111", "4111-1111-1111-1111")


class Collect(logging.Handler):
    """Atlas's log lines as they are written (same formatter as Atlas's own handler: JSON, redacted)."""

    def __init__(self, formatter: logging.Formatter | None) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        if formatter is not None:
            self.setFormatter(formatter)

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def card_in_database(atlas) -> list[str]:
    tables = [r[0] for r in atlas.sql("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
    found = []
    for table in tables:
        for form in CARD_FORMS:
            hits = atlas.sql(f'SELECT count(*) FROM "{table}" t WHERE t::text LIKE %s', (f"%{form}%",))
            if hits[0][0]:
                found.append(table)
    return found


def test_smb_journey_to_a_paid_subscription_without_card_data_reaching_atlas(paying, browser):
    atlas = paying.atlas
    moyasar = paying.moyasar
    moyasar.reset()
    root = logging.getLogger()
    collector = Collect(root.handlers[0].formatter if root.handlers else None)
    previous_level = root.level
    root.addHandler(collector)
    root.setLevel(logging.INFO)
    seen: list[tuple[str, str, str]] = []
    try:
        email = f"journey-{uuid.uuid4().hex[:8]}@example.sa"
        atlas.set_user(email, name="Journey Person")
        context = browser.new_context(locale="en-US")
        page = context.new_page()

        def capture(request):
            if request.url.startswith(atlas.base_url):
                seen.append((request.method, request.url, request.post_data or ""))

        page.on("request", capture)
        page.goto(f"{atlas.base_url}/signin")
        page.locator("a[href^='/api/login']").first.click()
        page.wait_for_url(f"{atlas.oidc_url}/**")
        page.fill("input[name=sub]", email)
        page.locator("form:has(input[name=sub]) button[type=submit]").first.click()
        page.wait_for_url(f"{atlas.base_url}/onboarding")
        page.fill("input[name=company_name]", "Journey Trading Co")
        page.get_by_test_id("wizard-next").click()
        page.locator("input[name=org_type][value=smb]").check(force=True)
        page.get_by_test_id("wizard-next").click()
        page.locator("input[name=use_case][value=inventory_management]").check(force=True)
        page.get_by_test_id("wizard-submit").click()
        page.wait_for_url(f"{atlas.base_url}/app")
        tenant_id = atlas.sql("SELECT tenant_id FROM users WHERE email = %s", (email,))[0][0]

        # the trial ends: every page leads to the trial-ended screen
        set_state(atlas, str(tenant_id), "trial_ended")
        page.goto(f"{atlas.base_url}/app/connectors")
        page.wait_for_url(f"{atlas.base_url}/app/subscription")
        page.get_by_test_id("lang-switch").click() if page.get_attribute("html", "lang") == "ar" else None
        page.wait_for_function("() => document.documentElement.lang === 'en'")
        assert "Your trial has ended" in page.get_by_test_id("trial-ended-title").inner_text()

        # choose Professional, enter the test card in our form
        page.locator("[data-plan=professional] [data-testid=subscribe]").click()
        form = page.get_by_test_id("payment-form")
        assert form.is_visible()
        assert page.locator("input[name=plan][value=professional]").is_checked()
        page.fill("#card-name", "Saleh Ali")
        page.fill("#card-number", CARD)
        assert page.get_by_test_id("card-brand").get_attribute("data-brand") == "visa"
        page.fill("#card-month", "12")
        page.fill("#card-year", "2031")
        page.fill("#card-cvc", "123")
        page.get_by_test_id("pay-submit").click()

        # 3-D Secure on the local Moyasar
        page.wait_for_url(f"{moyasar.url}/**")
        assert "test" in page.content().lower()  # the stand-in says it is a test stand-in
        page.get_by_test_id("3ds-approve").click()
        page.wait_for_url(f"{atlas.base_url}/app/subscription?payment=paid")
        assert page.get_by_test_id("payment-outcome").get_attribute("data-outcome") == "paid"
        assert page.get_by_test_id("current-plan").get_attribute("data-plan") == "professional"
        assert "Visa •••• 1111" in page.get_by_test_id("saved-card").inner_text()
        rows = page.get_by_test_id("invoice-row")
        assert rows.count() == 1
        number = rows.first.get_attribute("data-number")
        row = subscription(atlas, str(tenant_id))
        assert row["status"] == "active" and row["plan_id"] == "professional"

        # the invoice page: bilingual, with the QR code and 918.85 SAR
        rows.first.locator("a").click()
        page.wait_for_url(f"{atlas.base_url}/app/invoices/**")
        invoice = page.get_by_test_id("invoice")
        assert invoice.get_attribute("data-number") == number
        assert page.get_by_test_id("invoice-total").inner_text().startswith("918.85")
        assert page.locator("[data-testid=invoice-qr] svg").count() == 1
        # the app works again
        page.goto(f"{atlas.base_url}/app/connectors")
        assert page.url == f"{atlas.base_url}/app/connectors"

        # upgrade to Enterprise now: a prorated charge on the saved card, a second invoice
        page.goto(f"{atlas.base_url}/app/subscription")
        page.locator("[data-plan=enterprise] [data-testid=change-plan]").click()
        with page.expect_navigation():  # the page reloads once the charge has gone through
            page.get_by_test_id("confirm-dialog").get_by_test_id("confirm-ok").click()
        assert page.get_by_test_id("current-plan").get_attribute("data-plan") == "enterprise"
        assert page.get_by_test_id("invoice-row").count() == 2
        assert subscription(atlas, str(tenant_id))["plan_id"] == "enterprise"
        context.close()
        wait_until(lambda: moyasar.admin("GET", "events")["idle"], what="webhook deliveries")
    finally:
        root.removeHandler(collector)
        root.setLevel(previous_level)

    # no card number reached Atlas: not in a request, a log line, or the database
    assert seen, "the browser's requests to Atlas were captured"
    assert any(method == "POST" and url.endswith("/api/payments") for method, url, _ in seen)
    for method, url, body in seen:
        for form in CARD_FORMS:
            assert form not in url and form not in body, (method, url)
    assert any("/api/payments" in line for line in collector.lines), "Atlas's request log was captured"
    assert not [line for line in collector.lines if any(form in line for form in CARD_FORMS)]
    assert card_in_database(atlas) == []
