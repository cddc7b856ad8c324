"""Invoices: gapless platform-wide numbers under concurrency (rollbacks give their number back), the billing
profile's VAT number rules, the invoice API and printable page, and other tenants."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from atlas.billing import zatca
from atlas.billing.invoices import issue_invoice
from atlas.billing.models import PaymentAttempt, SubscriptionPlan
from atlas.config import Settings
from atlas.db.engine import Database
from atlas.platform.audit import Actor
from tests.services import html_page


def add_attempts(atlas, tenant_id: str, count: int, *, plan: str = "basic") -> list[uuid.UUID]:
    subscription_id = atlas.sql("SELECT id FROM subscriptions WHERE tenant_id = %s", (tenant_id,))[0][0]
    start = datetime.now(UTC).replace(microsecond=0)
    ids = []
    for index in range(count):
        attempt_id = uuid.uuid4()
        atlas.sql(
            """INSERT INTO payment_attempts (id, tenant_id, subscription_id, purpose, plan_id, period_start,
                   period_end, attempt_no, amount_net, vat, amount_total, currency, status, created_by, created_at,
                   updated_at)
               VALUES (%s, %s, %s, 'subscribe', %s, %s, %s, %s, 29900, 4485, 34385, 'SAR', 'paid', 'test', now(),
                   now())""",
            (attempt_id, tenant_id, subscription_id, plan, start, start + timedelta(days=30), index + 1),
        )
        ids.append(attempt_id)
    return ids


def issue_concurrently(atlas, tenant_id: str, attempt_ids: list[uuid.UUID], fail: set[int]) -> list[int]:
    settings = Settings(DATABASE_URL=atlas.database_url, ATLAS_SELLER_NAME="Atlas Test Seller")

    async def one(index: int, database: Database) -> int | None:
        try:
            async with database.tenant_session(uuid.UUID(tenant_id)) as session:
                attempt = await session.get(PaymentAttempt, attempt_ids[index])
                plan = await session.get(SubscriptionPlan, "basic")
                invoice = await issue_invoice(
                    session,
                    settings=settings,
                    tenant_id=uuid.UUID(tenant_id),
                    attempt=attempt,
                    plan=plan,
                    payment_method=None,
                    actor=Actor("system"),
                    correlation_id="numbering-test",
                )
                number = invoice.number
                await asyncio.sleep(0.01 * (index % 3))  # hold the counter a little, so others queue behind
                if index in fail:
                    raise RuntimeError("roll this one back")
                return number
        except RuntimeError:
            return None

    async def run() -> list[int]:
        database = Database(settings.database_url, app_role=settings.db_app_role, pool_size=8)
        try:
            results = await asyncio.gather(*(one(i, database) for i in range(len(attempt_ids))))
        finally:
            await database.dispose()
        return [n for n in results if n is not None]

    return asyncio.run(run())


def test_invoice_numbers_have_no_gaps_and_no_duplicates_under_concurrency(atlas):
    _, me = atlas.new_tenant()
    tenant = me["tenant_id"]
    before = atlas.sql("SELECT last_number FROM invoice_counters WHERE name = 'invoices'")[0][0]
    attempts = add_attempts(atlas, tenant, 24)
    failing = {1, 4, 7, 10, 15, 22}
    committed = issue_concurrently(atlas, tenant, attempts, failing)
    assert len(committed) == 24 - len(failing)
    stored = sorted(r[0] for r in atlas.sql("SELECT number FROM invoices WHERE number > %s", (before,)))
    assert stored == list(range(before + 1, before + 1 + len(committed)))  # gapless, no duplicates
    assert sorted(committed) == stored
    assert atlas.sql("SELECT last_number FROM invoice_counters WHERE name = 'invoices'")[0][0] == stored[-1]
    # the rolled-back issues left nothing behind
    assert atlas.sql("SELECT count(*) FROM invoices WHERE tenant_id = %s", (tenant,)) == [(len(committed),)]


def test_an_issued_invoice_cannot_be_changed_by_the_application(atlas):
    _, me = atlas.new_tenant()
    issue_concurrently(atlas, me["tenant_id"], add_attempts(atlas, me["tenant_id"], 1), set())
    import psycopg

    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        atlas.as_app_role(
            "UPDATE invoices SET total = 1 WHERE tenant_id = %s",
            (me["tenant_id"],),
            tenant_id=uuid.UUID(me["tenant_id"]),
        )


def test_billing_profile_and_the_invoice_api_and_page(atlas):
    admin, me = atlas.new_tenant(name="Nakheel Stores")
    tenant = me["tenant_id"]
    assert admin.get("/api/billing/profile").json()["legal_name"] == "Nakheel Stores"
    for bad in ("123", "300000000000000", "400000000000003", "30000000000000a3", "3000000000000003"):
        response = admin.put(
            "/api/billing/profile",
            json={"legal_name": "Nakheel Stores LLC", "vat_number": bad},
            headers={"Accept-Language": "en"},
        )
        assert response.status_code == 422, bad
        assert "15 digits" in response.json()["detail"]
    # with a VAT number, the national address a standard invoice names (issue 20)
    address = {"street": "King Abdulaziz Road", "building_number": "1234", "district": "Al Malaz", "city": "Riyadh"}
    good = admin.put(
        "/api/billing/profile",
        json={"legal_name": "Nakheel Stores LLC", "vat_number": "310122393500003", **address, "postal_code": "12629"},
    )
    assert good.status_code == 200, good.text
    assert good.json()["vat_number"] == "310122393500003"
    viewer, _ = atlas.member_client(admin, "viewer")
    assert viewer.put("/api/billing/profile", json={"legal_name": "x y"}).status_code == 403

    issue_concurrently(atlas, tenant, add_attempts(atlas, tenant, 1), set())
    listed = admin.get("/api/invoices").json()
    assert len(listed) == 1
    invoice = listed[0]
    assert invoice["number"].startswith("ATL-")
    assert (invoice["net_halalas"], invoice["vat_halalas"], invoice["total_halalas"]) == (29900, 4485, 34385)
    assert invoice["buyer_legal_name"] == "Nakheel Stores LLC"
    assert invoice["buyer_vat_number"] == "310122393500003"
    assert invoice["seller_name"] == "Atlas Test Seller"
    assert invoice["vat_rate_percent"] == "15"
    tags = zatca.decode(invoice["qr_tlv_base64"])
    assert tags[1] == "Atlas Test Seller" and tags[4] == "343.85" and tags[5] == "44.85"
    assert viewer.get(f"/api/invoices/{invoice['id']}").status_code == 200

    page = html_page(admin, invoice["url"])
    assert page.status_code == 200
    assert "فاتورة ضريبية" in page.text and "Tax invoice" in page.text  # both languages at once
    assert "<svg" in page.text and invoice["number"] in page.text
    assert "343.85" in page.text and "44.85" in page.text
    sub_page = html_page(admin, "/app/subscription")
    assert invoice["number"] in sub_page.text

    other, _ = atlas.new_tenant()
    assert other.get(f"/api/invoices/{invoice['id']}").status_code == 404
    assert html_page(other, invoice["url"]).status_code == 404
    assert other.get("/api/invoices").json() == []
    assert other.get("/api/billing/profile").json()["legal_name"] != "Nakheel Stores LLC"
