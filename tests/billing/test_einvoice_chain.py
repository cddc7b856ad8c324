"""Each issued invoice's signed Phase 2 document (issue 20): standard or simplified by the buyer's VAT number, checked
by the independent verifier and accepted by the local ZATCA gateway, its totals equal in the XML, the QR and the
database; invoices issued at the same moment in concurrent transactions keep the unit's chain gapless; no document
without an active unit; a VAT-registered buyer without an address gets a simplified document, said loudly."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from lxml import etree

from atlas.billing.einvoice_chain import EInvoiceMismatch, document_for
from atlas.billing.models import Invoice
from atlas.config import Settings
from atlas.einvoicing import FIRST_PIH
from tests.billing.einvoice_helpers import (
    ADDRESS,
    SELLER_VAT,
    StoredUnit,
    add_attempts,
    einvoices,
    issue,
    local_gateway_fixture,  # noqa: F401 (fixture)
    set_profile,
    unit_fixture,  # noqa: F401 (fixture)
)
from tests.einvoicing import verifier, zatca_validator

NS = verifier.NS


def tlv(payload: str) -> dict[int, bytes]:
    raw, fields, index = base64.b64decode(payload), {}, 0
    while index < len(raw):
        tag, length = raw[index], raw[index + 1]
        fields[tag] = raw[index + 2 : index + 2 + length]
        index += 2 + length
    return fields


def submit(unit: StoredUnit, row: dict[str, Any]) -> Any:
    body = {
        "invoiceHash": row["invoice_hash"],
        "uuid": str(row["uuid"]),
        "invoice": base64.b64encode(row["xml"].encode()).decode(),
    }
    if row["transaction"] == "0100000":
        return unit.gateway.post("invoices/clearance/single", body, auth=unit.auth, headers={"Clearance-Status": "1"})
    return unit.gateway.post("invoices/reporting/single", body, auth=unit.auth)


def check_totals_agree(atlas: Any, row: dict[str, Any]) -> None:
    net, vat, total = atlas.sql("SELECT net, vat, total FROM invoices WHERE id = %s", (row["invoice_id"],))[0]
    root = etree.fromstring(row["xml"].encode())
    money = {
        name: root.findtext(f"cac:LegalMonetaryTotal/cbc:{name}", None, NS)
        for name in ("LineExtensionAmount", "TaxExclusiveAmount", "TaxInclusiveAmount", "PayableAmount")
    }
    tax = root.findtext("cac:TaxTotal/cbc:TaxAmount", None, NS)
    as_sar = {value: f"{value // 100}.{value % 100:02d}" for value in (net, vat, total)}
    assert money == {
        "LineExtensionAmount": as_sar[net],
        "TaxExclusiveAmount": as_sar[net],
        "TaxInclusiveAmount": as_sar[total],
        "PayableAmount": as_sar[total],
    }
    assert tax == as_sar[vat]
    tags = tlv(row["qr"])
    assert tags[4].decode() == as_sar[total] and tags[5].decode() == as_sar[vat]
    assert (
        root.findtext(
            "cac:AdditionalDocumentReference[cbc:ID='QR']/cac:Attachment/cbc:EmbeddedDocumentBinaryObject", None, NS
        )
        == row["qr"]
    )


@pytest.mark.parametrize("buyer", ["business", "consumer"])
def test_a_paid_period_gets_a_signed_document_the_gateway_accepts(atlas, unit: StoredUnit, buyer: str) -> None:
    _, me = atlas.new_tenant()
    tenant = me["tenant_id"]
    if buyer == "business":
        set_profile(atlas, tenant, vat_number="311111111100003", address=ADDRESS)
    else:
        set_profile(atlas, tenant, vat_number=None, address=None)
    [invoice_id] = issue(atlas, tenant, add_attempts(atlas, tenant, 1, net=29999, vat=4500))
    [row] = einvoices(atlas, unit.id)
    assert row["invoice_id"] == invoice_id and row["icv"] == 1 and row["pih"] == FIRST_PIH
    standard = buyer == "business"
    assert row["transaction"] == ("0100000" if standard else "0200000")
    assert row["status"] == ("clearing" if standard else "reporting")
    report_by, issued_at = atlas.sql(
        "SELECT e.report_by, i.issued_at FROM einvoices e JOIN invoices i ON i.id = e.invoice_id WHERE e.id = %s",
        (row["id"],),
    )[0]
    assert report_by == (None if standard else issued_at + timedelta(hours=24))
    assert atlas.sql("SELECT last_icv, last_hash FROM einvoicing_units WHERE id = %s", (unit.id,))[0] == (
        1,
        row["invoice_hash"],
    )
    xml = row["xml"].encode()
    assert verifier.check(xml, expected_pih=FIRST_PIH, expected_icv=1) == []
    assert verifier.recompute_hash(xml) == row["invoice_hash"]
    assert zatca_validator.problems(xml, FIRST_PIH) == []  # the registry's validator: XSD, CEN and KSA rules
    check_totals_agree(atlas, row)
    tags = tlv(row["qr"])
    assert (9 in tags) is (not standard)
    answer = submit(unit, row)
    assert answer.status_code == 200, answer.text
    assert answer.json()[("clearanceStatus" if standard else "reportingStatus")] == (
        "CLEARED" if standard else "REPORTED"
    )


def test_concurrent_issues_keep_the_chain_gapless(atlas, unit: StoredUnit) -> None:
    _, me = atlas.new_tenant()
    tenant = me["tenant_id"]
    set_profile(atlas, tenant, vat_number=None, address=None)
    invoice_ids = issue(atlas, tenant, add_attempts(atlas, tenant, 8), hold=0.05)
    rows = einvoices(atlas, unit.id)
    assert [r["icv"] for r in rows] == list(range(1, 9))
    assert {r["invoice_id"] for r in rows} == set(invoice_ids)
    pih = FIRST_PIH
    for row in rows:  # each links to the one before, and the gateway (which refuses gaps) takes them in order
        assert row["pih"] == pih
        assert verifier.check(row["xml"].encode(), expected_pih=pih, expected_icv=row["icv"]) == []
        answer = submit(unit, row)
        assert answer.status_code == 200, answer.text
        pih = row["invoice_hash"]
    # the invoices' numbers follow the same order as the chain (both counters are taken in one transaction)
    numbers = [atlas.sql("SELECT number FROM invoices WHERE id = %s", (r["invoice_id"],))[0][0] for r in rows]
    assert numbers == sorted(numbers)


def test_a_vat_registered_buyer_without_an_address_gets_a_simplified_document_said_loudly(
    atlas, unit: StoredUnit
) -> None:
    _, me = atlas.new_tenant()
    tenant = me["tenant_id"]
    set_profile(atlas, tenant, vat_number="311111111100003", address=None)  # saved before migration 0022
    issue(atlas, tenant, add_attempts(atlas, tenant, 1))
    [row] = einvoices(atlas, unit.id)
    assert row["transaction"] == "0200000" and row["status"] == "reporting"
    assert "address" in row["messages"]["issued_as_simplified"]
    root = etree.fromstring(row["xml"].encode())
    buyer_vat = "cac:AccountingCustomerParty/cac:Party/cac:PartyTaxScheme/cbc:CompanyID"
    assert root.findtext(buyer_vat, None, NS) == "311111111100003"
    assert submit(unit, row).status_code == 200


def test_without_an_active_unit_the_invoice_keeps_its_phase_1_qr(atlas) -> None:
    atlas.sql("UPDATE einvoicing_units SET active = false, status = 'retired' WHERE active")
    _, me = atlas.new_tenant()
    tenant = me["tenant_id"]
    [invoice_id] = issue(atlas, tenant, add_attempts(atlas, tenant, 1))
    assert atlas.sql("SELECT count(*) FROM einvoices WHERE invoice_id = %s", (invoice_id,))[0][0] == 0
    assert atlas.sql("SELECT qr_tlv_base64 FROM invoices WHERE id = %s", (invoice_id,))[0][0]


def test_a_document_whose_amounts_would_differ_from_the_invoice_is_never_signed() -> None:
    moment = datetime(2026, 12, 7, 9, tzinfo=UTC)
    invoice = Invoice(
        id=uuid.uuid4(),
        number=7,
        issued_at=moment,
        purpose="subscribe",
        plan_id="basic",
        plan_name_ar="الأساسية",
        plan_name_en="Basic",
        period_start=moment,
        period_end=moment + timedelta(days=30),
        net=29900,
        vat=4486,  # 15% of 299.00 is 44.85: a halala off
        total=34386,
        vat_rate_bp=1500,
        currency="SAR",
        seller_name="Atlas",
        seller_vat_number="300000000000003",
        buyer_legal_name="Layla",
        buyer_vat_number=None,
        buyer_address=None,
    )
    with pytest.raises(EInvoiceMismatch, match="4486"):
        document_for(invoice, Settings(), icv=1, pih=FIRST_PIH)
    invoice.vat, invoice.total = 4485, 34385
    document, downgraded = document_for(invoice, Settings(), icv=1, pih=FIRST_PIH)
    assert downgraded is None and document.lines[0].unit_price == 29900


def test_a_unit_onboarded_for_another_vat_number_never_blocks_a_payment_and_the_platform_page_says_why(
    atlas, unit: StoredUnit
) -> None:
    """ATLAS_SELLER_VAT_NUMBER changed after onboarding: ZATCA would refuse every document, so the invoice is issued
    (the customer paid) with its Phase 1 QR and no Phase 2 document, the chain untouched, and the platform billing
    page says so in a red alert naming both numbers."""
    from tests.billing.test_pages import platform_admin
    from tests.services import html_page

    _, me = atlas.new_tenant()
    other_seller = Settings(DATABASE_URL=atlas.database_url, ATLAS_SELLER_VAT_NUMBER="399999999900003")
    assert other_seller.seller_vat_number != SELLER_VAT
    [invoice_id] = issue(atlas, me["tenant_id"], add_attempts(atlas, me["tenant_id"], 1), settings=other_seller)
    assert atlas.sql("SELECT count(*) FROM einvoices WHERE invoice_id = %s", (invoice_id,)) == [(0,)]
    assert atlas.sql("SELECT last_icv FROM einvoicing_units WHERE id = %s", (unit.id,)) == [(0,)]
    assert atlas.sql("SELECT qr_tlv_base64 IS NOT NULL FROM invoices WHERE id = %s", (invoice_id,)) == [(True,)]

    # the suite's server runs with the default seller VAT number, not the unit's
    operator, _ = platform_admin(atlas)
    page = html_page(operator, "/platform/billing", cookies={"atlas_lang": "en"}).text
    alert = page[page.index('data-testid="einvoicing-vat-mismatch"') :].split("</div>", 1)[0]
    assert SELLER_VAT in alert and Settings().seller_vat_number in alert and "no Phase 2 document" in alert
