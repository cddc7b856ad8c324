"""Credit notes and debit notes (issue 20): each gets its 381/383 document in the active unit's chain (next ICV, PIH
the previous hash) with the billing reference and instruction note, checked by the independent verifier and
accepted by the local ZATCA gateway, standard and simplified; an upgrade issues a debit note on the period's invoice
that the tenant sees titled «إشعار مدين»; a platform admin refunds from the tenant page in Chromium (Arabic) and the
tenant's page and PDF say «إشعار دائن»."""

from __future__ import annotations

import asyncio
import io
import uuid
from typing import Any

import pypdf
import pytest
from lxml import etree

from atlas.billing import invoices
from atlas.billing.models import Invoice, PaymentAttempt
from atlas.db.engine import Database
from atlas.platform.audit import Actor
from tests.billing.conftest import set_state
from tests.billing.einvoice_helpers import (
    ADDRESS,
    StoredUnit,
    add_attempts,
    einvoices,
    issue,
    local_gateway_fixture,  # noqa: F401 (fixture)
    set_profile,
    settings_for,
    unit_fixture,  # noqa: F401 (fixture)
)
from tests.billing.moyasar_helpers import APPROVED_VISA, complete_3ds
from tests.billing.test_einvoice_chain import check_totals_agree, submit
from tests.billing.test_pages import platform_admin
from tests.billing.test_payments import back_from_3ds
from tests.browser_pages import signed_in_page
from tests.einvoicing import verifier, zatca_validator
from tests.services import html_page, wait_until

NS = verifier.NS


def issue_note(atlas: Any, tenant_id: str, original_id: uuid.UUID, kind: str, reason: str) -> uuid.UUID:
    """A credit note (10,000 halalas net) or a debit note paid by a new attempt (5,000 net), through ``issue_note``."""
    settings = settings_for(atlas)
    attempt_id = add_attempts(atlas, tenant_id, 1, net=5_000, vat=750)[0] if kind == "debit_note" else None

    async def run() -> uuid.UUID:
        database = Database(settings.database_url, app_role=settings.db_app_role, pool_size=1)
        try:
            async with database.tenant_session(uuid.UUID(tenant_id)) as session:
                original = await session.get(Invoice, original_id)
                attempt = await session.get(PaymentAttempt, attempt_id) if attempt_id else None
                assert original is not None
                note = await invoices.issue_note(
                    session,
                    settings=settings,
                    kind=kind,
                    original=original,
                    net=attempt.amount_net if attempt else 10_000,
                    vat=attempt.vat if attempt else 1_500,
                    reason=reason,
                    purpose="upgrade" if attempt else "refund",
                    attempt=attempt,
                    actor=Actor("system"),
                    correlation_id="notes-test",
                )
                return note.id
        finally:
            await database.dispose()

    return asyncio.run(run())


@pytest.mark.parametrize("kind", ["credit_note", "debit_note"])
@pytest.mark.parametrize("buyer", ["business", "consumer"])
def test_a_note_is_the_next_link_of_the_chain_and_the_gateway_accepts_it(
    atlas, unit: StoredUnit, buyer: str, kind: str
) -> None:
    _, me = atlas.new_tenant()
    tenant = me["tenant_id"]
    standard = buyer == "business"
    set_profile(
        atlas, tenant, vat_number="311111111100003" if standard else None, address=ADDRESS if standard else None
    )
    [invoice_id] = issue(atlas, tenant, add_attempts(atlas, tenant, 1))
    reason = "استرداد جزئي — partial refund" if kind == "credit_note" else "ترقية — upgrade"
    note_id = issue_note(atlas, tenant, invoice_id, kind, reason)
    first, second = einvoices(atlas, unit.id)
    assert (first["invoice_id"], second["invoice_id"]) == (invoice_id, note_id)
    assert second["icv"] == 2 and second["pih"] == first["invoice_hash"]
    assert second["transaction"] == ("0100000" if standard else "0200000")
    assert atlas.sql("SELECT kind FROM einvoices WHERE id = %s", (second["id"],))[0][0] == (
        "381" if kind == "credit_note" else "383"
    )
    xml = second["xml"].encode()
    assert verifier.check(xml, expected_pih=first["invoice_hash"], expected_icv=2) == []
    assert verifier.recompute_hash(xml) == second["invoice_hash"]
    assert zatca_validator.problems(xml, first["invoice_hash"]) == []  # the registry's validator: XSD, CEN, KSA
    root = etree.fromstring(xml)
    assert root.findtext("cbc:InvoiceTypeCode", None, NS) == ("381" if kind == "credit_note" else "383")
    number = atlas.sql("SELECT number FROM invoices WHERE id = %s", (invoice_id,))[0][0]
    assert root.findtext("cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID", None, NS) == f"ATL-{number:06d}"
    assert root.findtext("cac:PaymentMeans/cbc:InstructionNote", None, NS) == reason
    check_totals_agree(atlas, second)
    for row in (first, second):  # in chain order
        answer = submit(unit, row)
        assert answer.status_code == 200, answer.text
        assert answer.json()[("clearanceStatus" if standard else "reportingStatus")] == (
            "CLEARED" if standard else "REPORTED"
        )
    kind_row = atlas.sql("SELECT kind, original_invoice_id, reason, number FROM invoices WHERE id = %s", (note_id,))[0]
    assert kind_row[:3] == (kind, invoice_id, reason) and kind_row[3] == number + 1  # one sequence for every kind


def test_a_note_without_a_reason_or_original_is_refused_by_the_database(atlas) -> None:
    _, me = atlas.new_tenant()
    tenant = me["tenant_id"]
    [invoice_id] = issue(atlas, tenant, add_attempts(atlas, tenant, 1))
    columns = (
        "id, tenant_id, number, issued_at, purpose, plan_id, plan_name_ar, plan_name_en, period_start, period_end, "
        "net, vat, total, vat_rate_bp, currency, seller_name, seller_vat_number, buyer_legal_name, qr_tlv_base64"
    )
    base = (
        "SELECT gen_random_uuid(), tenant_id, number + 100000, issued_at, purpose, plan_id, plan_name_ar, "
        "plan_name_en, period_start, period_end, net, vat, total, vat_rate_bp, currency, seller_name, "
        "seller_vat_number, buyer_legal_name, qr_tlv_base64"
    )
    for extra_columns, extra_values in (
        (", kind", ", 'credit_note'"),  # a note without its original
        (", kind, original_invoice_id", ", 'credit_note', id"),  # without its reason
        (", original_invoice_id, reason", ", id, 'x'"),  # an invoice naming an original
    ):
        with pytest.raises(Exception, match="check constraint"):
            atlas.sql(
                f"INSERT INTO invoices ({columns}{extra_columns}) {base}{extra_values} FROM invoices WHERE id = %s",
                (invoice_id,),
            )


# --- through the app, with the local Moyasar --------------------------------------------------------------------


@pytest.fixture
def moyasar(paying):
    server = paying.moyasar
    wait_until(lambda: server.admin("GET", "events")["idle"], what="webhook deliveries")
    server.admin("DELETE", "faults")
    return server


def subscribed(paying, moyasar, plan: str) -> tuple[Any, str]:
    admin, me = paying.atlas.new_tenant(org_type="smb")
    set_state(paying.atlas, me["tenant_id"], "trial_ended")
    token = moyasar.token(APPROVED_VISA)
    started = admin.post("/api/payments", json={"plan": plan, "token": token["id"]})
    assert started.status_code == 201, started.text
    assert back_from_3ds(admin, complete_3ds(started.json()["redirect_url"], "approve")).endswith("payment=paid")
    return admin, me["tenant_id"]


def test_an_upgrade_issues_a_debit_note_on_the_periods_invoice(paying, moyasar):
    admin, tenant = subscribed(paying, moyasar, "basic")
    upgraded = admin.post("/api/subscriptions/change-plan", json={"plan": "professional"})
    assert upgraded.status_code == 200, upgraded.text
    body = upgraded.json()
    assert body["outcome"] == "upgraded"
    rows = paying.atlas.sql(
        "SELECT id, kind, number, original_invoice_id, reason, purpose, total, plan_id FROM invoices "
        "WHERE tenant_id = %s ORDER BY number",
        (tenant,),
    )
    assert [r[1] for r in rows] == ["invoice", "debit_note"]
    invoice, note = rows
    assert note[3] == invoice[0] and note[5] == "upgrade" and note[7] == "professional"
    assert note[6] == body["charged_halalas"] and body["invoice_id"] == str(note[0])
    names = dict(
        ((plan_id, lang), name)
        for plan_id, ar, en in paying.atlas.sql("SELECT id, display_name_ar, display_name_en FROM subscription_plans")
        for lang, name in (("ar", ar), ("en", en))
    )
    assert note[4] == (
        f"ترقية من {names['basic', 'ar']} إلى {names['professional', 'ar']} لبقية الفترة — "
        f"Upgrade from {names['basic', 'en']} to {names['professional', 'en']} for the rest of the period"
    )
    listed = {i["id"]: i for i in admin.get("/api/invoices").json()}
    assert listed[str(note[0])]["kind"] == "debit_note"
    assert listed[str(note[0])]["original_number"] == f"ATL-{invoice[2]:06d}"
    assert listed[str(invoice[0])]["kind"] == "invoice" and listed[str(invoice[0])]["original_number"] is None
    page = html_page(admin, f"/app/invoices/{note[0]}", cookies={"atlas_lang": "ar"})
    assert page.status_code == 200
    assert "إشعار مدين" in page.text and f"ATL-{invoice[2]:06d}" in page.text
    assert 'data-document="debit_note"' in page.text
    listing = html_page(admin, "/app/subscription", cookies={"atlas_lang": "ar"})
    assert 'data-kind="debit_note"' in listing.text


@pytest.mark.browser
def test_a_platform_admin_refunds_from_the_tenant_page_and_the_tenant_sees_the_credit_note(paying, moyasar, browser):
    admin, tenant = subscribed(paying, moyasar, "professional")
    operator, _ = platform_admin(paying.atlas)
    invoice_number = paying.atlas.sql("SELECT number FROM invoices WHERE tenant_id = %s", (tenant,))[0][0]
    context, page = signed_in_page(browser, paying.atlas.base_url, operator, lang="ar", locale="ar-SA")
    try:
        page.goto(f"{paying.atlas.base_url}/platform/tenants/{tenant}")
        assert page.get_attribute("html", "dir") == "rtl"
        form = page.locator('[data-testid="refund-form"]').first
        assert form.locator('[data-testid="refund-amount"]').input_value() == "91885"
        # too much first: the error is shown beside the form, nothing refunded
        form.locator('[data-testid="refund-amount"]').fill("91886")
        form.locator('[data-testid="refund-reason"]').fill("خصم ترضية")
        form.locator('[data-testid="refund-submit"]').click()
        page.locator('[data-testid="confirm-ok"]').click()
        error = form.locator('[data-testid="refund-error"]')
        error.wait_for(state="visible")
        assert "ر.س" in error.inner_text()
        form.locator('[data-testid="refund-amount"]').fill("11500")
        form.locator('[data-testid="refund-submit"]').click()
        page.locator('[data-testid="confirm-ok"]').click()
        page.wait_for_function("() => document.querySelectorAll('[data-testid=\"tenant-document\"]').length === 2")
        assert page.locator('[data-testid="tenant-document"][data-kind="credit_note"]').count() == 1
        assert page.locator('[data-testid="tenant-refund"][data-status="refunded"]').count() == 1
    finally:
        context.close()
    note_id, number = paying.atlas.sql(
        "SELECT id, number FROM invoices WHERE tenant_id = %s AND kind = 'credit_note'", (tenant,)
    )[0]
    assert paying.atlas.sql("SELECT total FROM invoices WHERE id = %s", (note_id,)) == [(11_500,)]
    shown = html_page(admin, f"/app/invoices/{note_id}", cookies={"atlas_lang": "ar"})
    assert "إشعار دائن" in shown.text and f"ATL-{invoice_number:06d}" in shown.text and "خصم ترضية" in shown.text
    pdf = admin.get(f"/api/invoices/{note_id}/pdf")
    assert pdf.status_code == 200, pdf.text
    reader = pypdf.PdfReader(io.BytesIO(pdf.content))
    text = "\n".join(p.extract_text() for p in reader.pages)
    assert "Simplified credit note" in text and f"ATL-{number:06d}" in text and f"ATL-{invoice_number:06d}" in text
