"""Refunds with credit notes (issue 20) against the local Moyasar as a real HTTP server: full, partial, cancellation
now and downgrade now; the money refunded at Moyasar equals the credit note's total exactly; amounts above what is
left or that no net plus VAT gives are refused before Moyasar is asked; an outage after the refund went through is
settled once; a crash between the call and the second transaction is settled by reconciliation; tenant isolation."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from atlas.billing import payments, refunds
from atlas.billing.moyasar import MoyasarClient
from atlas.config import Settings
from atlas.db.base import utcnow
from atlas.db.engine import Database
from atlas.platform.audit import Actor
from tests.billing.conftest import set_state, subscription
from tests.billing.moyasar_helpers import APPROVED_VISA, complete_3ds
from tests.billing.test_pages import platform_admin
from tests.billing.test_payments import back_from_3ds
from tests.services import wait_until

PRO_TOTAL = 91_885  # 79,900 + 15% VAT


@pytest.fixture
def moyasar(paying):
    server = paying.moyasar
    wait_until(lambda: server.admin("GET", "events")["idle"], what="webhook deliveries")
    server.admin("DELETE", "faults")
    return server


@pytest.fixture(scope="module")
def operator(paying):
    client, _ = platform_admin(paying.atlas)
    return client


def paid(paying, moyasar, plan="professional"):
    """A tenant that paid for ``plan`` with 3-D Secure: (its admin, its id, its invoice id, the payment id)."""
    admin, me = paying.atlas.new_tenant(org_type="smb")
    tenant = me["tenant_id"]
    set_state(paying.atlas, tenant, "trial_ended")
    token = moyasar.token(APPROVED_VISA)
    started = admin.post("/api/payments", json={"plan": plan, "token": token["id"]})
    assert started.status_code == 201, started.text
    assert back_from_3ds(admin, complete_3ds(started.json()["redirect_url"], "approve")).endswith("payment=paid")
    invoice_id, attempt_id = paying.atlas.sql(
        "SELECT id, payment_attempt_id FROM invoices WHERE tenant_id = %s AND kind = 'invoice'", (tenant,)
    )[0]
    return admin, tenant, str(invoice_id), str(attempt_id)


def refunded_at_moyasar(moyasar, payment_id: str) -> int:
    with moyasar.http() as http:
        answer = http.get(f"/payments/{payment_id}")
    assert answer.status_code == 200, answer.text
    return int(answer.json()["refunded"])


def notes(paying, invoice_id: str) -> list[tuple[Any, ...]]:
    return paying.atlas.sql(
        "SELECT id, kind, net, vat, total, reason, purpose, buyer_legal_name FROM invoices "
        "WHERE original_invoice_id = %s ORDER BY number",
        (invoice_id,),
    )


def vat(net: int) -> int:
    """15% rounded half up, written out here rather than imported (so the test does not trust Atlas's money)."""
    return (net * 15 + 50) // 100


def reachable(amount: int) -> bool:
    return any(net + vat(net) == amount for net in range(max(0, amount * 100 // 115 - 3), amount + 1))


@contextlib.asynccontextmanager
async def connected(settings: Settings, moyasar) -> AsyncIterator[tuple[Database, MoyasarClient]]:
    """What the web process holds: a database and a Moyasar client (the local Moyasar)."""
    database = Database(settings.database_url, app_role=settings.db_app_role, pool_size=2)
    client = MoyasarClient(base_url=moyasar.api, secret_key=moyasar.secret_key, backoff=0.01)
    try:
        yield database, client
    finally:
        await client.aclose()
        await database.dispose()


async def record_only(
    database: Database,
    client: MoyasarClient,
    settings: Settings,
    tenant: str,
    invoice_id: str,
    reason: str,
    amount: int | None = None,
) -> Any:
    """Transaction 1 of a refund (recorded `requested`, Moyasar's figure read), and nothing after it."""
    return await refunds.begin_refund(
        database,
        client,
        settings=settings,
        tenant_id=uuid.UUID(tenant),
        invoice_id=uuid.UUID(invoice_id),
        kind="refund",
        amount=amount,
        plan_id=None,
        reason=reason,
        actor=Actor("platform_admin:test"),
        correlation_id=reason.replace(" ", "-"),
    )


def test_a_full_refund_gives_all_back_with_one_credit_note(paying, moyasar, operator):
    _, tenant, invoice_id, payment_id = paid(paying, moyasar)
    quote = operator.get(
        f"/api/platform/tenants/{tenant}/refunds/quote", params={"invoice_id": invoice_id, "kind": "refund"}
    )
    assert quote.status_code == 200, quote.text
    assert quote.json()["maximum_total_halalas"] == PRO_TOTAL
    assert quote.json()["suggested"] == {"net_halalas": 79_900, "vat_halalas": 11_985, "total_halalas": PRO_TOTAL}
    assert quote.json()["effect"] == "none"
    done = operator.post(
        f"/api/platform/tenants/{tenant}/refunds",
        json={"invoice_id": invoice_id, "kind": "refund", "reason": "عميل غير راضٍ — customer not satisfied"},
    )
    assert done.status_code == 201, done.text
    body = done.json()
    assert body["status"] == "refunded" and body["total_halalas"] == PRO_TOTAL
    assert body["credit_note_number"].startswith("ATL-")
    [note] = notes(paying, invoice_id)
    assert note[0] == uuid.UUID(body["credit_note_id"])
    assert note[1:7] == ("credit_note", 79_900, 11_985, PRO_TOTAL, "عميل غير راضٍ — customer not satisfied", "refund")
    assert refunded_at_moyasar(moyasar, payment_id) == PRO_TOTAL == note[4]
    assert subscription(paying.atlas, tenant)["status"] == "active"  # a plain refund changes nothing else
    [listed] = operator.get(f"/api/platform/tenants/{tenant}/refunds").json()
    assert (listed["status"], listed["credit_note_number"]) == ("refunded", body["credit_note_number"])
    # nothing is left: a second refund is refused before Moyasar is asked
    again = operator.post(
        f"/api/platform/tenants/{tenant}/refunds",
        json={"invoice_id": invoice_id, "kind": "refund", "reason": "again", "amount": 100},
    )
    assert again.status_code == 409, again.text
    assert refunded_at_moyasar(moyasar, payment_id) == PRO_TOTAL
    events = paying.atlas.sql(
        "SELECT event_type FROM audit_events WHERE tenant_id = %s AND event_type LIKE %s ORDER BY seq",
        (tenant, "%refund%"),
    )
    assert [e for (e,) in events] == ["refund_requested", "refund_succeeded"]
    issued = paying.atlas.sql(
        "SELECT actor FROM audit_events WHERE tenant_id = %s AND event_type = 'credit_note_issued'", (tenant,)
    )
    assert issued and issued[0][0].startswith("platform_admin:")


def test_partial_refunds_too_much_and_unreachable_amounts(paying, moyasar, operator):
    _, tenant, invoice_id, payment_id = paid(paying, moyasar)
    url = f"/api/platform/tenants/{tenant}/refunds"
    first = operator.post(
        url, json={"invoice_id": invoice_id, "kind": "refund", "reason": "goodwill", "amount": 10_000}
    )
    assert first.status_code == 201, first.text
    assert (first.json()["net_halalas"], first.json()["vat_halalas"]) == (8_696, 1_304)
    assert refunded_at_moyasar(moyasar, payment_id) == 10_000

    left = PRO_TOTAL - 10_000
    too_much = operator.post(
        url,
        json={"invoice_id": invoice_id, "kind": "refund", "reason": "x", "amount": left + 1},
        headers={"Accept-Language": "en"},
    )
    assert too_much.status_code == 422, too_much.text
    assert too_much.json()["maximum_halalas"] == left
    assert refunded_at_moyasar(moyasar, payment_id) == 10_000  # nothing was asked of Moyasar

    gap = next(a for a in range(200, 400) if not reachable(a))
    below = max(a for a in range(gap - 5, gap) if reachable(a))
    above = min(a for a in range(gap + 1, gap + 6) if reachable(a))
    unreachable = operator.post(
        url,
        json={"invoice_id": invoice_id, "kind": "refund", "reason": "x", "amount": gap},
        headers={"Accept-Language": "ar"},
    )
    assert unreachable.status_code == 422, unreachable.text
    assert unreachable.json()["nearest_halalas"] == [below, above]
    assert "ر.س" in unreachable.json()["detail"]
    assert refunded_at_moyasar(moyasar, payment_id) == 10_000

    # the rest, exactly: the remaining net and VAT, whatever the rounding of the first
    rest = operator.post(url, json={"invoice_id": invoice_id, "kind": "refund", "reason": "rest", "amount": left})
    assert rest.status_code == 201, rest.text
    rows = notes(paying, invoice_id)
    assert [r[4] for r in rows] == [10_000, left]
    assert sum(r[2] for r in rows) == 79_900 and sum(r[3] for r in rows) == 11_985
    assert refunded_at_moyasar(moyasar, payment_id) == PRO_TOTAL


def test_cancellation_now_refunds_the_unused_share(paying, moyasar, operator):
    _, tenant, invoice_id, payment_id = paid(paying, moyasar)
    quote = operator.get(
        f"/api/platform/tenants/{tenant}/refunds/quote", params={"invoice_id": invoice_id, "kind": "cancellation"}
    ).json()
    assert quote["effect"] == "cancel_now"
    suggested = quote["suggested"]
    assert 0 < suggested["total_halalas"] <= PRO_TOTAL
    assert suggested["vat_halalas"] == vat(suggested["net_halalas"])
    done = operator.post(
        f"/api/platform/tenants/{tenant}/refunds",
        json={"invoice_id": invoice_id, "kind": "cancellation", "reason": "إغلاق الشركة — company closed"},
    )
    assert done.status_code == 201, done.text
    total = done.json()["total_halalas"]
    assert abs(total - suggested["total_halalas"]) <= 2  # a second or two of the period passed in between
    [note] = notes(paying, invoice_id)
    assert note[1] == "credit_note" and note[4] == total and note[6] == "cancellation"
    assert refunded_at_moyasar(moyasar, payment_id) == total
    row = subscription(paying.atlas, tenant)
    assert row["status"] == "cancelled" and row["current_period_end"] <= utcnow()


def test_downgrade_now_refunds_the_price_difference(paying, moyasar, operator):
    admin, tenant, invoice_id, payment_id = paid(paying, moyasar)
    url = f"/api/platform/tenants/{tenant}/refunds"
    not_cheaper = operator.get(
        f"{url}/quote", params={"invoice_id": invoice_id, "kind": "downgrade", "plan_id": "enterprise"}
    )
    assert not_cheaper.status_code == 422, not_cheaper.text
    quote = operator.get(f"{url}/quote", params={"invoice_id": invoice_id, "kind": "downgrade", "plan_id": "basic"})
    assert quote.status_code == 200, quote.text
    # the price difference (799 − 299 SAR) for nearly the whole period, plus VAT
    assert 49_000 < quote.json()["suggested"]["net_halalas"] <= 50_000
    done = operator.post(
        url, json={"invoice_id": invoice_id, "kind": "downgrade", "plan_id": "basic", "reason": "smaller team"}
    )
    assert done.status_code == 201, done.text
    row = subscription(paying.atlas, tenant)
    assert row["plan_id"] == "basic" and row["status"] == "active" and row["pending_plan_id"] is None
    [note] = notes(paying, invoice_id)
    assert note[4] == done.json()["total_halalas"] == refunded_at_moyasar(moyasar, payment_id)


def test_an_outage_after_the_refund_went_through_is_settled_once(paying, moyasar, operator):
    _, tenant, invoice_id, payment_id = paid(paying, moyasar)
    moyasar.fault(kind="drop_after_commit", method="POST", path=f"/v1/payments/{payment_id}/refund")
    done = operator.post(
        f"/api/platform/tenants/{tenant}/refunds",
        json={"invoice_id": invoice_id, "kind": "refund", "reason": "dropped answer", "amount": 5_000},
    )
    assert done.status_code == 201, done.text
    assert done.json()["status"] == "refunded"
    assert moyasar.admin("GET", "faults")["faults"] == []  # the answer really was dropped
    assert refunded_at_moyasar(moyasar, payment_id) == 5_000  # once, not twice
    assert len(notes(paying, invoice_id)) == 1


def test_a_server_error_before_the_refund_leaves_nothing_and_may_be_retried(paying, moyasar, operator):
    _, tenant, invoice_id, payment_id = paid(paying, moyasar)
    moyasar.fault(kind="server_error", method="POST", path=f"/v1/payments/{payment_id}/refund", status=503)
    url = f"/api/platform/tenants/{tenant}/refunds"
    body = {"invoice_id": invoice_id, "kind": "refund", "reason": "retry me", "amount": 5_000}
    failed = operator.post(url, json=body, headers={"Accept-Language": "en"})
    assert failed.status_code == 502, failed.text
    assert failed.json()["refund"]["status"] == "failed"
    assert moyasar.admin("GET", "faults")["faults"] == []
    assert refunded_at_moyasar(moyasar, payment_id) == 0 and notes(paying, invoice_id) == []
    retried = operator.post(url, json=body)
    assert retried.status_code == 201, retried.text
    assert refunded_at_moyasar(moyasar, payment_id) == 5_000 and len(notes(paying, invoice_id)) == 1


def test_a_crash_between_the_call_and_the_second_transaction_is_settled_by_reconciliation(paying, moyasar):
    _, tenant, invoice_id, payment_id = paid(paying, moyasar)
    settings = Settings(
        DATABASE_URL=paying.atlas.database_url,
        ATLAS_SELLER_VAT_NUMBER="311111111100003",
        ATLAS_PAYMENT_RECONCILE_SECONDS=60,
    )

    async def run() -> tuple[Any, Any]:
        async with connected(settings, moyasar) as (database, client):
            refund = await record_only(database, client, settings, tenant, invoice_id, "crash test", amount=2_300)
            await client.refund_payment(refund.moyasar_payment_id, amount=refund.amount_total)
            # ...and the process dies here. Too early for reconciliation: left alone.
            early = await payments.reconcile_open_payments(database, client, settings=settings)
            later = await payments.reconcile_open_payments(
                database, client, settings=settings, now=utcnow() + timedelta(minutes=5)
            )
            again = await payments.reconcile_open_payments(
                database, client, settings=settings, now=utcnow() + timedelta(minutes=5)
            )
            return early, (later, again)

    early, (later, again) = asyncio.run(run())
    assert early.refunds_checked == 0
    assert later.refunds_checked == 1 and later.refunds_refunded == 1
    assert again.refunds_checked == 0  # settled once
    status, note_id = paying.atlas.sql(
        "SELECT status, credit_note_id FROM refunds WHERE invoice_id = %s", (invoice_id,)
    )[0]
    assert status == "refunded" and note_id is not None
    [note] = notes(paying, invoice_id)
    assert note[4] == 2_300 == refunded_at_moyasar(moyasar, payment_id)


def test_a_refund_recorded_but_never_sent_is_reconciled_as_failed(paying, moyasar):
    _, tenant, invoice_id, payment_id = paid(paying, moyasar)
    settings = Settings(DATABASE_URL=paying.atlas.database_url, ATLAS_PAYMENT_RECONCILE_SECONDS=60)

    async def run() -> Any:
        async with connected(settings, moyasar) as (database, client):
            await record_only(database, client, settings, tenant, invoice_id, "never sent")
            return await payments.reconcile_open_payments(
                database, client, settings=settings, now=utcnow() + timedelta(minutes=5)
            )

    done = asyncio.run(run())
    assert done.refunds_failed == 1
    assert paying.atlas.sql("SELECT status FROM refunds WHERE invoice_id = %s", (invoice_id,)) == [("failed",)]
    assert notes(paying, invoice_id) == [] and refunded_at_moyasar(moyasar, payment_id) == 0


def test_tenant_isolation_and_platform_only(paying, moyasar, operator):
    admin_a, tenant_a, _, _ = paid(paying, moyasar)
    _, _, invoice_b, payment_b = paid(paying, moyasar)
    crossed = operator.post(
        f"/api/platform/tenants/{tenant_a}/refunds",
        json={"invoice_id": invoice_b, "kind": "refund", "reason": "wrong tenant"},
    )
    assert crossed.status_code == 404, crossed.text
    assert (
        operator.get(
            f"/api/platform/tenants/{tenant_a}/refunds/quote", params={"invoice_id": invoice_b, "kind": "refund"}
        ).status_code
        == 404
    )
    assert refunded_at_moyasar(moyasar, payment_b) == 0
    mine = admin_a.post(
        f"/api/platform/tenants/{tenant_a}/refunds",
        json={"invoice_id": invoice_b, "kind": "refund", "reason": "self-service"},
    )
    assert mine.status_code == 403, mine.text
    assert admin_a.get(f"/api/platform/tenants/{tenant_a}/refunds").status_code == 403

    # a platform admin's reads of one tenant's refunds are cross-tenant reads, audited in that tenant's trail
    listed = operator.get(f"/api/platform/tenants/{tenant_a}/refunds")
    assert listed.json() == [], listed.text
    invoice_a = paying.atlas.sql("SELECT id FROM invoices WHERE tenant_id = %s", (tenant_a,))[0][0]
    quoted = operator.get(
        f"/api/platform/tenants/{tenant_a}/refunds/quote", params={"invoice_id": str(invoice_a), "kind": "refund"}
    )
    assert quoted.status_code == 200, quoted.text
    views = paying.atlas.sql(
        "SELECT payload->>'view' FROM audit_events WHERE tenant_id = %s AND event_type = 'cross_tenant_view'",
        (tenant_a,),
    )
    assert {"tenant_refunds", "refund_quote"} <= {view for (view,) in views}
    unknown = "00000000-0000-4000-8000-000000000000"
    assert operator.get(f"/api/platform/tenants/{unknown}/refunds").status_code == 404


def test_refunds_to_look_at_are_on_the_platform_billing_page(paying, moyasar, operator):
    """A refund still `requested` after the reconciliation should have settled it, or `unknown`, is listed across
    tenants on the platform billing page with its tenant, document, Moyasar payment and amount."""
    from tests.services import html_page

    _, tenant, invoice_id, payment_id = paid(paying, moyasar)
    settings = Settings(DATABASE_URL=paying.atlas.database_url)

    async def run() -> None:
        async with connected(settings, moyasar) as (database, client):
            await record_only(database, client, settings, tenant, invoice_id, "left requested")

    asyncio.run(run())
    [(refund_id, moyasar_payment)] = paying.atlas.sql(
        "SELECT id, moyasar_payment_id FROM refunds WHERE invoice_id = %s", (invoice_id,)
    )

    def rows() -> list[str]:
        page = html_page(operator, "/platform/billing", cookies={"atlas_lang": "en"}).text
        return [row for row in page.split('data-testid="refund-to-check"')[1:] if moyasar_payment in row]

    assert rows() == []  # just requested: the reconciliation has not had its chance yet
    paying.atlas.sql("UPDATE refunds SET created_at = now() - interval '1 hour' WHERE id = %s", (refund_id,))
    [row] = rows()
    assert 'data-status="requested"' in row and "Requested" in row
    paying.atlas.sql(
        "UPDATE refunds SET status = 'unknown', message = 'refunded figure matches neither outcome' WHERE id = %s",
        (refund_id,),
    )
    [row] = rows()
    assert 'data-status="unknown"' in row and "refunded figure matches neither outcome" in row
    number = paying.atlas.sql("SELECT number FROM invoices WHERE id = %s", (invoice_id,))[0][0]
    assert f"ATL-{number:06d}" in row and f"/platform/tenants/{tenant}" in row
    assert refunded_at_moyasar(moyasar, payment_id) == 0
