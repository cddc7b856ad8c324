"""Correcting a document ZATCA refused (issue 20): the platform admin's "Correct and re-issue" issues a replacement
invoice (next number, the tenant's current billing details, same amounts) whose document is the next link of the
chain; the refused one is superseded, never dropped and never shared; the tenant's pages link the two; audited.

Atlas runs here with the seller VAT number the test unit's certificate was issued to (the session's Atlas has the
default one, and issuing refuses a unit onboarded for another VAT number). Documents go to the real local gateway
through the tests' own client (`run_round`); the unit fixture retires the unit after each test.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from atlas.billing.einvoice_submission import SubmissionRound
from tests.billing.einvoice_helpers import (
    ADDRESS,
    SELLER_VAT,
    StoredUnit,
    add_attempts,
    atlas_for_einvoicing,
    einvoices,
    issue,
    local_gateway_fixture,  # noqa: F401 (fixture)
    set_profile,
    unit_fixture,  # noqa: F401 (fixture)
)
from tests.billing.test_einvoice_submission import received
from tests.billing.test_einvoice_submission import run_round as run_round_here
from tests.billing.test_pages import platform_admin
from tests.browser_pages import signed_in_page
from tests.conftest import Atlas
from tests.services import html_page

OLD_VAT = "311111111100003"
NEW_VAT = "399999999900003"
NEW_ADDRESS = {
    "street": "King Fahd Road",
    "building_number": "4321",
    "additional_number": "8765",
    "district": "Al Olaya",
    "city": "Riyadh",
    "postal_code": "12211",
}
REFUSAL = {"code": "BR-KSA-44", "message": "The buyer's VAT number is not registered", "category": "KSA"}


@pytest.fixture(scope="module", name="atlas")
def atlas_fixture(database_url: str, oidc_url: str) -> Iterator[Atlas]:
    """Atlas with the test unit's seller VAT number (this module's `atlas`; `unit` and the helpers use it)."""
    with atlas_for_einvoicing(database_url, oidc_url, ATLAS_SELLER_VAT_NUMBER=SELLER_VAT) as atlas:
        yield atlas


def in_own_thread(work: Any, *args: Any) -> Any:
    """Run ``work`` (which calls ``asyncio.run``) in a thread of its own: Playwright's sync API keeps an event loop
    running in the test's thread once the module's browser has started."""
    result: list[Any] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            result.append(work(*args))
        except BaseException as error:  # re-raised in the test's thread
            errors.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return result[0]


def run_round(atlas: Atlas, unit: StoredUnit) -> SubmissionRound:
    return in_own_thread(run_round_here, atlas, unit)  # type: ignore[no-any-return]


def correction_url(einvoice_id: Any) -> str:
    return f"/api/platform/einvoices/{einvoice_id}/correction"


def refuse_next(unit: StoredUnit, message: dict[str, str] = REFUSAL) -> None:
    unit.gateway.admin("POST", "faults", json={"kind": "refuse", "times": 1, "messages": [message]})


def refused_document(atlas: Atlas, unit: StoredUnit, tenant_id: str) -> dict[str, Any]:
    """One invoice issued for the tenant and refused by the gateway with REFUSAL; returns its document's row."""
    in_own_thread(issue, atlas, tenant_id, add_attempts(atlas, tenant_id, 1))
    refuse_next(unit)
    assert run_round(atlas, unit).refused == 1
    row = [r for r in einvoices(atlas, unit.id) if r["status"] == "refused"][-1]
    assert [(m["code"], m["message"]) for m in row["messages"]["errors"]] == [(REFUSAL["code"], REFUSAL["message"])]
    return row


def invoice_row(atlas: Atlas, invoice_id: Any) -> dict[str, Any]:
    keys = (
        "id", "number", "kind", "replaces_invoice_id", "payment_attempt_id", "buyer_vat_number", "buyer_address",
        "net", "vat", "total", "vat_rate_bp", "currency", "plan_id", "period_start", "period_end", "purpose",
    )  # fmt: skip
    rows = atlas.sql(f"SELECT {', '.join(keys)} FROM invoices WHERE id = %s", (invoice_id,))
    return dict(zip(keys, rows[0], strict=True))


def invoice_count(atlas: Atlas) -> int:
    return int(atlas.sql("SELECT count(*) FROM invoices")[0][0])


def audit_payloads(atlas: Atlas, tenant_id: str) -> list[dict[str, Any]]:
    rows = atlas.sql(
        "SELECT payload FROM audit_events WHERE tenant_id = %s AND event_type = 'invoice_corrected' ORDER BY seq",
        (tenant_id,),
    )
    return [payload for (payload,) in rows]


@pytest.mark.browser
def test_a_refused_standard_invoice_is_corrected_from_the_platform_page_and_cleared(
    atlas: Atlas, unit: StoredUnit, browser: Any
) -> None:
    client, me = atlas.new_tenant(name="Nahdi Trading")
    tenant_id = me["tenant_id"]
    set_profile(atlas, tenant_id, vat_number=OLD_VAT, address=ADDRESS)
    refused = refused_document(atlas, unit, tenant_id)
    assert refused["transaction"] == "0100000"
    old_invoice = invoice_row(atlas, refused["invoice_id"])
    old_number = f"ATL-{old_invoice['number']:06d}"

    # the tenant: refused, being corrected, a link to check the billing details; nothing to download
    page = html_page(client, f"/app/invoices/{refused['invoice_id']}").text
    assert 'data-testid="invoice-being-cleared" data-state="refused"' in page
    assert 'data-testid="invoice-check-profile"' in page and 'data-testid="invoice-pdf"' not in page
    assert client.get(f"/api/invoices/{refused['invoice_id']}/xml").status_code == 409

    # the tenant corrects the billing profile through the API
    profile = {"legal_name_ar": "شركة النهدي للتجارة", "legal_name_en": "Nahdi Trading Co.", "vat_number": NEW_VAT}
    saved = client.put("/api/billing/profile", json={**profile, **NEW_ADDRESS, "country": "SA"})
    assert saved.status_code == 200, saved.text

    admin, _ = platform_admin(atlas)
    context, tab = signed_in_page(browser, atlas.base_url, admin, lang="ar", locale="ar-SA")
    try:
        tab.goto(f"{atlas.base_url}/platform/billing")
        row = tab.locator(f'[data-testid="einvoice-refused-row"][data-einvoice="{refused["id"]}"]')
        assert row.count() == 1
        text = row.inner_text()
        assert "BR-KSA-44: The buyer's VAT number is not registered" in text and old_number in text
        assert row.get_by_test_id("einvoice-tenant").inner_text() == "Nahdi Trading"
        assert tab.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")  # no sideways scroll
        form = row.get_by_test_id("einvoice-correct")
        assert "تصحيح وإعادة الإصدار" in form.inner_text()
        form.locator("input[name=note]").fill("رقم ضريبي مصحح من العميل")
        form.locator("button[type=submit]").click()
        dialog = tab.get_by_test_id("confirm-dialog")
        dialog.wait_for(state="visible")
        assert old_number in dialog.inner_text() and "فاتورة جديدة" in dialog.inner_text()
        tab.get_by_test_id("confirm-ok").click()
        done = tab.locator(f'[data-testid="einvoice-corrected-row"][data-einvoice="{refused["id"]}"]')
        done.wait_for(state="visible", timeout=30_000)
        assert tab.locator(f'[data-testid="einvoice-refused-row"][data-einvoice="{refused["id"]}"]').count() == 0
        replaced_by = done.get_by_test_id("einvoice-replaced-by")
        new_number = replaced_by.get_attribute("data-number")
        assert new_number and new_number != old_number and replaced_by.get_attribute("data-state") == "clearing"
        assert tab.evaluate("() => document.documentElement.dir") == "rtl"
    finally:
        context.close()

    # the replacement: next number, the current billing details, the same amounts, no payment of its own
    rows = einvoices(atlas, unit.id)
    old, new = next(r for r in rows if r["id"] == refused["id"]), rows[-1]
    new_invoice = invoice_row(atlas, new["invoice_id"])
    assert f"ATL-{new_invoice['number']:06d}" == new_number
    assert new_invoice["number"] > old_invoice["number"]
    assert new_invoice["replaces_invoice_id"] == refused["invoice_id"] and new_invoice["payment_attempt_id"] is None
    assert new_invoice["buyer_vat_number"] == NEW_VAT and new_invoice["buyer_address"]["street"] == "King Fahd Road"
    same = ("kind", "net", "vat", "total", "vat_rate_bp", "currency", "plan_id", "period_start", "period_end")
    assert {k: new_invoice[k] for k in same} == {k: old_invoice[k] for k in same}
    assert NEW_VAT in new["xml"] and OLD_VAT not in new["xml"]
    # next in the chain: ICV + 1, PIH = the refused document's hash; the refused one superseded
    assert (new["icv"], new["pih"], new["status"]) == (refused["icv"] + 1, refused["invoice_hash"], "clearing")
    superseded = atlas.sql("SELECT superseded_by, status FROM einvoices WHERE id = %s", (old["id"],))[0]
    assert superseded == (new["id"], "refused")

    # the switch is off (one refusal): the gateway clears the replacement, checking its ICV and PIH
    assert run_round(atlas, unit).accepted == 1
    at_gateway = [d for d in received(unit) if d["uuid"] == str(new["uuid"])]
    assert len(at_gateway) == 1 and at_gateway[0]["accepted"] and at_gateway[0]["icv"] == refused["icv"] + 1
    assert atlas.sql("SELECT status FROM einvoices WHERE id = %s", (new["id"],))[0][0] == "cleared"

    # the tenant's list shows the replacement and what it replaces; the refused one is never shared
    listing = html_page(client, "/app/subscription").text
    assert f'data-testid="invoice-replaces" data-number="{old_number}"' in listing
    assert f'data-testid="invoice-replaced-by" data-number="{new_number}"' in listing
    replaced_page = html_page(client, f"/app/invoices/{refused['invoice_id']}").text
    assert f'data-testid="invoice-replaced-by" data-number="{new_number}"' in replaced_page
    assert 'data-testid="invoice-being-cleared"' not in replaced_page
    assert 'data-testid="invoice-qr"' not in replaced_page
    for download in ("/api/invoices/{}/xml", "/app/invoices/{}/pdf"):
        answer = client.get(download.format(refused["invoice_id"]))
        assert answer.status_code == 409 and answer.headers["content-type"].startswith("application/problem+json")
    new_page = html_page(client, f"/app/invoices/{new['invoice_id']}").text
    assert f'data-testid="invoice-replaces" data-number="{old_number}"' in new_page
    assert 'data-testid="invoice-qr"' in new_page
    cleared_xml = atlas.sql("SELECT cleared_xml FROM einvoices WHERE id = %s", (new["id"],))[0][0]
    assert client.get(f"/api/invoices/{new['invoice_id']}/xml").text == cleared_xml

    # audited in the tenant's trail: both numbers, ZATCA's codes, the admin's note
    [payload] = audit_payloads(atlas, tenant_id)
    assert (payload["number"], payload["replaces_number"]) == (new_number, old_number)
    assert payload["zatca_error_codes"] == ["BR-KSA-44"] and payload["note"] == "رقم ضريبي مصحح من العميل"
    assert payload["buyer_vat_number"] == NEW_VAT and payload["icv"] == refused["icv"] + 1

    # the platform page now shows the replacement cleared
    platform = html_page(admin, "/platform/billing").text
    corrected = re.search(r'data-testid="einvoice-corrected">(.*?)</table>', platform, re.S)
    assert corrected and f'data-number="{new_number}" data-state="cleared"' in corrected.group(1)


def test_a_refused_simplified_invoice_is_corrected_and_reported_and_every_wrong_request_refused(
    atlas: Atlas, unit: StoredUnit
) -> None:
    client, me = atlas.new_tenant()
    tenant_id = me["tenant_id"]
    set_profile(atlas, tenant_id, vat_number=None, address=None)
    refused = refused_document(atlas, unit, tenant_id)
    assert refused["transaction"] == "0200000"
    admin, _ = platform_admin(atlas)

    # a tenant's own admin may not correct; an unknown id is 404
    assert client.post(correction_url(refused["id"]), json={}).status_code == 403
    missing = admin.post(correction_url(uuid.uuid4()), json={}, headers={"Accept-Language": "en"})
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("application/problem+json")
    assert admin.post(correction_url(refused["id"]), json={"nope": 1}).status_code in (400, 422)

    before = invoice_count(atlas)
    answer = admin.post(correction_url(refused["id"]))  # no body: the note is optional
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["document_status"] == "reporting" and body["transaction"] == "simplified"
    assert body["icv"] == refused["icv"] + 1 and body["replaces_invoice_id"] == str(refused["invoice_id"])
    assert invoice_count(atlas) == before + 1

    # twice: 409, nothing issued
    again = admin.post(correction_url(refused["id"]), json={"note": "again"}, headers={"Accept-Language": "ar"})
    assert again.status_code == 409 and again.json()["replaced_by"] == body["number"]
    assert body["number"] in again.json()["detail"]
    assert invoice_count(atlas) == before + 1

    assert run_round(atlas, unit).accepted == 1
    new = einvoices(atlas, unit.id)[-1]
    assert (new["status"], new["icv"], new["pih"]) == ("reported", refused["icv"] + 1, refused["invoice_hash"])
    # a document ZATCA accepted is not corrected: 409
    cleared = admin.post(correction_url(new["id"]), json={}, headers={"Accept-Language": "en"})
    assert cleared.status_code == 409 and "did not refuse" in cleared.json()["detail"]
    assert invoice_count(atlas) == before + 1
    assert [p["number"] for p in audit_payloads(atlas, tenant_id)] == [body["number"]]
    listing = html_page(client, "/app/subscription").text
    assert f'data-testid="invoice-replaced-by" data-number="{body["number"]}"' in listing


def test_two_concurrent_corrections_issue_exactly_one_replacement(atlas: Atlas, unit: StoredUnit) -> None:
    _, me = atlas.new_tenant()
    set_profile(atlas, me["tenant_id"], vat_number=OLD_VAT, address=ADDRESS)
    refused = refused_document(atlas, unit, me["tenant_id"])
    admin, _ = platform_admin(atlas)
    before = invoice_count(atlas)
    barrier = threading.Barrier(2)
    answers: list[httpx.Response] = []

    def correct() -> None:
        with httpx.Client(base_url=atlas.base_url, cookies=admin.cookies, headers=admin.headers, timeout=60) as own:
            barrier.wait()
            answers.append(own.post(correction_url(refused["id"]), json={"note": "race"}))

    threads = [threading.Thread(target=correct) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(a.status_code for a in answers) == [201, 409], [a.text for a in answers]
    assert invoice_count(atlas) == before + 1
    replacements = atlas.sql("SELECT count(*) FROM invoices WHERE replaces_invoice_id = %s", (refused["invoice_id"],))
    assert replacements[0][0] == 1
    documents = einvoices(atlas, unit.id)
    assert [r["icv"] for r in documents] == list(range(1, len(documents) + 1))  # no gap, no fork


def test_without_an_active_unit_the_correction_says_onboard_first(atlas: Atlas, unit: StoredUnit) -> None:
    _, me = atlas.new_tenant()
    set_profile(atlas, me["tenant_id"], vat_number=None, address=None)
    refused = refused_document(atlas, unit, me["tenant_id"])
    admin, _ = platform_admin(atlas)
    counter = atlas.sql("SELECT last_number FROM invoice_counters WHERE name = 'invoices'")[0][0]
    atlas.sql("UPDATE einvoicing_units SET active = false WHERE id = %s", (unit.id,))
    answer = admin.post(correction_url(refused["id"]), json={}, headers={"Accept-Language": "en"})
    assert answer.status_code == 409 and "onboard" in answer.json()["detail"]
    arabic = admin.post(correction_url(refused["id"]), json={}, headers={"Accept-Language": "ar"})
    assert arabic.status_code == 409 and "وحدة الفوترة" in arabic.json()["detail"]
    # nothing issued, the number given back, the refused document still waiting for its correction
    assert atlas.sql("SELECT last_number FROM invoice_counters WHERE name = 'invoices'")[0][0] == counter
    assert atlas.sql("SELECT superseded_by FROM einvoices WHERE id = %s", (refused["id"],))[0][0] is None
