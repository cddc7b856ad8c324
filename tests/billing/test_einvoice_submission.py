"""Submitting a unit's documents to the local ZATCA gateway (issue 20): in ICV order; an outage stops the round and
loses nothing, recovery reports each document exactly once and in order; a document ZATCA already has (sent before a
crash, its answer lost) is done, not sent twice into the chain; a refusal is kept with ZATCA's messages."""

from __future__ import annotations

import asyncio
import base64
import re
import time
import uuid
from collections import Counter
from typing import Any

from atlas.billing.einvoice_submission import SubmissionRound, submit_pending
from atlas.billing.zatca_gateway import ZatcaGateway
from atlas.db.engine import Database
from atlas.platform.crypto import SecretBox
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
from tests.billing.test_einvoice_chain import submit
from tests.services import html_page
from tests.zatca_fake.conftest import ENV


def run_round(atlas: Any, unit: StoredUnit, *, limit: int | None = None) -> SubmissionRound:
    settings = settings_for(atlas)

    async def go() -> SubmissionRound:
        database = Database(settings.database_url, app_role=settings.db_app_role, pool_size=2)
        try:
            async with ZatcaGateway(f"{unit.gateway.url}/e-invoicing", ENV, timeout=10) as gateway:
                box = SecretBox(settings.fernet_key())
                return await submit_pending(database, settings, box, gateway, unit.id, limit=limit)
        finally:
            await database.dispose()

    return asyncio.run(go())


def received(unit: StoredUnit) -> list[dict[str, Any]]:
    return [d for d in unit.gateway.documents() if d["endpoint"] in ("reporting", "clearance")]


def issue_mixed(atlas: Any) -> None:
    """Four documents in one chain: simplified, simplified, standard, simplified."""
    _, consumer = atlas.new_tenant()
    _, business = atlas.new_tenant()
    set_profile(atlas, consumer["tenant_id"], vat_number=None, address=None)
    set_profile(atlas, business["tenant_id"], vat_number="311111111100003", address=ADDRESS)
    issue(atlas, consumer["tenant_id"], add_attempts(atlas, consumer["tenant_id"], 2))
    issue(atlas, business["tenant_id"], add_attempts(atlas, business["tenant_id"], 1))
    issue(atlas, consumer["tenant_id"], add_attempts(atlas, consumer["tenant_id"], 1))


def test_an_outage_stops_the_round_and_recovery_reports_each_document_once_in_order(atlas, unit: StoredUnit) -> None:
    issue_mixed(atlas)
    unit.gateway.admin("POST", "faults", json={"kind": "server_error", "status": 503, "times": -1})
    stopped = run_round(atlas, unit)
    assert stopped.outage and stopped.sent == 0 and stopped.pending == 4
    rows = einvoices(atlas, unit.id)
    assert [r["status"] for r in rows] == ["reporting", "reporting", "clearing", "reporting"]
    attempts = atlas.sql("SELECT attempts FROM einvoices WHERE unit_id = %s ORDER BY icv", (unit.id,))
    assert attempts[0][0] >= 1 and [a for (a,) in attempts[1:]] == [0, 0, 0]  # the first tried; the rest wait
    assert received(unit) == []

    unit.gateway.admin("DELETE", "faults")
    done = run_round(atlas, unit)
    assert (done.outage, done.sent, done.accepted, done.refused, done.pending) == (None, 4, 4, 0, 0)
    assert done.icvs == [1, 2, 3, 4]
    rows = einvoices(atlas, unit.id)
    assert [r["status"] for r in rows] == ["reported", "reported", "cleared", "reported"]
    cleared_xml = atlas.sql("SELECT cleared_xml FROM einvoices WHERE unit_id = %s AND icv = 3", (unit.id,))[0][0]
    assert cleared_xml and "<cbc:ProfileID>reporting:1.0</cbc:ProfileID>" in cleared_xml
    at_gateway = received(unit)
    assert [d["icv"] for d in at_gateway] == [1, 2, 3, 4]
    assert [d["invoice_hash"] for d in at_gateway] == [r["invoice_hash"] for r in rows]
    assert all(d["accepted"] for d in at_gateway)

    again = run_round(atlas, unit)  # nothing pending: nothing sent twice
    assert (again.sent, again.pending) == (0, 0)
    assert len(received(unit)) == 4


def test_a_document_zatca_already_has_is_done_not_sent_into_the_chain_twice(atlas, unit: StoredUnit) -> None:
    _, me = atlas.new_tenant()
    set_profile(atlas, me["tenant_id"], vat_number=None, address=None)
    issue(atlas, me["tenant_id"], add_attempts(atlas, me["tenant_id"], 2))
    first = einvoices(atlas, unit.id)[0]
    assert submit(unit, first).status_code == 200  # sent before a crash; Atlas never recorded the answer
    result = run_round(atlas, unit)
    assert (result.sent, result.accepted, result.duplicates, result.pending) == (2, 2, 1, 0)
    rows = einvoices(atlas, unit.id)
    assert [r["status"] for r in rows] == ["reported", "reported"]
    assert rows[0]["messages"]["duplicate"] is True
    accepted = Counter(d["uuid"] for d in received(unit) if d["accepted"])
    assert accepted == Counter({str(rows[0]["uuid"]): 1, str(rows[1]["uuid"]): 1})


def test_a_refusal_is_kept_with_zatcas_messages(atlas, unit: StoredUnit) -> None:
    _, me = atlas.new_tenant()
    set_profile(atlas, me["tenant_id"], vat_number=None, address=None)
    issue(atlas, me["tenant_id"], add_attempts(atlas, me["tenant_id"], 1))
    message = {"code": "BR-KSA-98", "message": "The simplified invoice was reported late", "category": "KSA"}
    unit.gateway.admin("POST", "faults", json={"kind": "refuse", "times": 1, "messages": [message]})
    result = run_round(atlas, unit)
    assert (result.sent, result.refused, result.pending, result.outage) == (1, 1, 0, None)
    [row] = einvoices(atlas, unit.id)
    assert row["status"] == "refused"
    assert [(m["code"], m["message"]) for m in row["messages"]["errors"]] == [(message["code"], message["message"])]
    done_at = atlas.sql("SELECT done_at FROM einvoices WHERE id = %s", (row["id"],))[0][0]
    assert done_at is None
    assert uuid.UUID(str(row["uuid"]))


def wait_for_listener(atlas: Any) -> None:
    """The worker process listens once started (imports, Temporal connection): wait for its LISTEN."""
    deadline = time.monotonic() + 60
    query = "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'LISTEN%einvoice_issued%'"
    while atlas.sql(query)[0][0] == 0:
        assert time.monotonic() < deadline, "the worker never listened for issued documents"
        time.sleep(0.3)


def test_the_units_workflow_reports_each_document_after_commit_and_rides_out_an_outage(
    stack, atlas, unit: StoredUnit
) -> None:
    """The real worker (its listener and the unit's Temporal workflow): issuing commits → NOTIFY → the workflow
    runs a round; ZATCA's 503 stops the round, the workflow waits and tries again, and each document arrives once."""
    wait_for_listener(atlas)
    gateway_url = f"{unit.gateway.url}/e-invoicing"
    atlas.sql("UPDATE einvoicing_units SET gateway_url = %s WHERE id = %s", (gateway_url, unit.id))
    unit.gateway.admin("POST", "faults", json={"kind": "server_error", "status": 503, "times": 1})
    _, me = atlas.new_tenant()
    set_profile(atlas, me["tenant_id"], vat_number=None, address=None)
    issue(atlas, me["tenant_id"], add_attempts(atlas, me["tenant_id"], 3))
    deadline = time.monotonic() + 90
    statuses: list[str] = []
    while time.monotonic() < deadline:
        statuses = [r["status"] for r in einvoices(atlas, unit.id)]
        if statuses == ["reported"] * 3:
            break
        time.sleep(0.5)
    assert statuses == ["reported"] * 3, stack.worker.log.read_text()[-3000:]
    at_gateway = received(unit)
    assert [d["icv"] for d in at_gateway] == [1, 2, 3] and all(d["accepted"] for d in at_gateway)
    attempts = atlas.sql("SELECT attempts FROM einvoices WHERE unit_id = %s ORDER BY icv", (unit.id,))
    assert [a for (a,) in attempts] == [2, 1, 1]  # the first waited out the outage; nothing was sent twice


def test_a_standard_invoice_is_shown_and_downloadable_only_once_cleared(atlas, unit: StoredUnit) -> None:
    client, me = atlas.new_tenant()
    set_profile(atlas, me["tenant_id"], vat_number="311111111100003", address=ADDRESS)
    [invoice_id] = issue(atlas, me["tenant_id"], add_attempts(atlas, me["tenant_id"], 1))
    path = f"/app/invoices/{invoice_id}"

    page = html_page(client, path)
    assert page.status_code == 200
    assert 'data-testid="invoice-being-cleared"' in page.text
    assert 'data-testid="invoice-qr"' not in page.text and 'data-testid="invoice-pdf"' not in page.text
    refused = client.get(f"/api/invoices/{invoice_id}/xml")
    assert refused.status_code == 409 and refused.headers["content-type"].startswith("application/problem+json")
    assert client.get(f"/api/invoices/{invoice_id}/pdf").status_code == 409

    listing = html_page(client, "/app/subscription").text
    assert 'data-testid="invoice-einvoice-state" data-state="clearing"' in listing
    # the JSON API says the same: no QR to show while ZATCA clears it
    for read in (client.get(f"/api/invoices/{invoice_id}").json(), client.get("/api/invoices").json()[0]):
        assert (read["id"], read["zatca_state"], read["shareable"], read["qr_tlv_base64"]) == (
            str(invoice_id),
            "clearing",
            False,
            None,
        )

    assert run_round(atlas, unit).accepted == 1
    listing = html_page(client, "/app/subscription").text
    assert 'data-testid="invoice-einvoice-state" data-state="cleared"' in listing
    page = html_page(client, path)
    assert 'data-testid="invoice-being-cleared"' not in page.text
    cleared_xml = atlas.sql("SELECT cleared_xml FROM einvoices WHERE invoice_id = %s", (invoice_id,))[0][0]
    qr = re.search(r'data-testid="invoice-qr" data-payload="([^"]+)" data-phase="2"', page.text)
    assert qr and qr.group(1) in cleared_xml  # ZATCA's cleared copy's QR, tags 1-9 decodable
    assert sorted(tlv_tags(qr.group(1))) == list(range(1, 9))  # standard: no tag 9
    download = client.get(f"/api/invoices/{invoice_id}/xml")
    assert download.status_code == 200 and download.text == cleared_xml
    assert download.headers["content-disposition"].endswith('.xml"')
    read = client.get(f"/api/invoices/{invoice_id}").json()
    assert (read["zatca_state"], read["shareable"], read["qr_tlv_base64"]) == ("cleared", True, qr.group(1))


def test_a_simplified_invoice_is_shared_at_once_with_its_phase_2_qr(atlas, unit: StoredUnit) -> None:
    client, me = atlas.new_tenant()
    set_profile(atlas, me["tenant_id"], vat_number=None, address=None)
    [invoice_id] = issue(atlas, me["tenant_id"], add_attempts(atlas, me["tenant_id"], 1))
    page = html_page(client, f"/app/invoices/{invoice_id}")
    stored_qr, xml = atlas.sql("SELECT qr, xml FROM einvoices WHERE invoice_id = %s", (invoice_id,))[0]
    assert f'data-payload="{stored_qr}" data-phase="2"' in page.text
    assert sorted(tlv_tags(stored_qr)) == list(range(1, 10))
    assert client.get(f"/api/invoices/{invoice_id}/xml").text == xml
    read = client.get(f"/api/invoices/{invoice_id}").json()
    assert (read["zatca_state"], read["shareable"], read["qr_tlv_base64"]) == ("reporting", True, stored_qr)


def tlv_tags(payload: str) -> dict[int, bytes]:
    raw, fields, index = base64.b64decode(payload), {}, 0
    while index < len(raw):
        fields[raw[index]] = raw[index + 2 : index + 2 + raw[index + 1]]
        index += 2 + raw[index + 1]
    return fields


def test_platform_admins_see_refused_and_late_documents_with_zatcas_messages(atlas, unit: StoredUnit) -> None:
    from tests.billing.test_pages import platform_admin

    _, me = atlas.new_tenant()
    set_profile(atlas, me["tenant_id"], vat_number=None, address=None)
    issue(atlas, me["tenant_id"], add_attempts(atlas, me["tenant_id"], 2))
    message = {"code": "BR-KSA-31", "message": "Refused for the platform page's test", "category": "KSA"}
    unit.gateway.admin("POST", "faults", json={"kind": "refuse", "times": 1, "messages": [message]})
    assert run_round(atlas, unit, limit=1).refused == 1
    # the second is still unreported: make it late
    atlas.sql("UPDATE einvoices SET report_by = now() - interval '1 hour' WHERE unit_id = %s AND icv = 2", (unit.id,))
    operator, _ = platform_admin(atlas)
    page = html_page(operator, "/platform/billing")
    assert page.status_code == 200, page.text[:500]
    refused = re.search(r'data-testid="einvoice-refused">(.*?)</table>', page.text, re.S)
    late = re.search(r'data-testid="einvoice-late">(.*?)</table>', page.text, re.S)
    assert refused and 'data-icv="1"' in refused.group(1) and "BR-KSA-31: Refused for the platform" in refused.group(1)
    assert late and 'data-icv="2"' in late.group(1) and 'data-icv="1"' not in late.group(1)
