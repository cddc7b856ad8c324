"""Payments against the local Moyasar as a real HTTP server: the whole flow, declines, tampering, another
tenant's payment, double submission, and the webhook (valid, forged, replayed, out of order)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.billing.conftest import WEBHOOK_SECRET, set_state, subscription
from tests.billing.moyasar_helpers import APPROVED_MADA, APPROVED_VISA, complete_3ds
from tests.services import html_page, wait_until

DECLINED_MADA = "4201320000013020"


@pytest.fixture
def moyasar(paying):
    server = paying.moyasar
    wait_until(lambda: server.admin("GET", "events")["idle"], what="webhook deliveries")
    server.reset()
    server.switch(webhook_retry_seconds=[0.0, 0.3, 0.3], webhook_duplicates=1, webhook_wrong_secret=False)
    return server


def expired_tenant(paying, org_type="smb"):
    admin, me = paying.atlas.new_tenant(org_type=org_type)
    set_state(paying.atlas, me["tenant_id"], "trial_ended")
    return admin, me


def start(admin, moyasar, number=APPROVED_VISA, plan="professional"):
    token = moyasar.token(number)
    response = admin.post("/api/payments", json={"plan": plan, "token": token["id"]})
    assert response.status_code == 201, response.text
    return response.json()


def back_from_3ds(admin, location):
    """The browser's return to Atlas's callback (Moyasar appended id, status and message)."""
    parsed = httpx.URL(location)
    assert parsed.path == "/api/payments/callback"
    response = admin.get(parsed.path, params=dict(parsed.params))
    assert response.status_code in (302, 303), response.text
    return response.headers["location"]


def invoices_of(paying, tenant_id):
    return paying.atlas.sql("SELECT number, net, vat, total FROM invoices WHERE tenant_id = %s", (tenant_id,))


def test_pay_with_3ds_activates_and_invoices_once(paying, moyasar):
    admin, me = expired_tenant(paying)
    tenant = me["tenant_id"]
    started = start(admin, moyasar)
    assert started["status"] == "initiated"
    assert started["amount_halalas"] == 91_885  # 79,900 + 15% VAT, decided by the server
    assert started["redirect_url"].startswith(moyasar.url)
    attempt = paying.atlas.sql("SELECT status, amount_total, id FROM payment_attempts WHERE tenant_id = %s", (tenant,))
    assert attempt[0][:2] == ("initiated", 91_885) and str(attempt[0][2]) == started["payment_id"]
    assert admin.get("/api/connectors").status_code == 402  # still expired until verified

    location = complete_3ds(started["redirect_url"], "approve")
    assert back_from_3ds(admin, location) == "/app/subscription?payment=paid"
    row = subscription(paying.atlas, tenant)
    assert row["status"] == "active" and row["plan_id"] == "professional"
    assert row["current_period_end"] - row["current_period_start"] >= timedelta(days=28)
    assert admin.get("/api/connectors").status_code == 200
    sub = admin.get("/api/subscriptions").json()[0]
    assert sub["card"] == {"brand": "visa", "last_four": "1111"}
    assert invoices_of(paying, tenant) == [(invoices_of(paying, tenant)[0][0], 79_900, 11_985, 91_885)]

    # the webhook for the same payment arrives too: recorded, applied idempotently, no second invoice
    wait_until(
        lambda: (
            paying.atlas.sql("SELECT count(*) FROM moyasar_events WHERE payment_id = %s", (started["payment_id"],))[0][
                0
            ]
            >= 1
        ),
        what="the webhook",
    )
    wait_until(
        lambda: (
            paying.atlas.sql(
                "SELECT count(*) FROM moyasar_events WHERE payment_id = %s AND processed_at IS NOT NULL",
                (started["payment_id"],),
            )[0][0]
            >= 1
        ),
        what="processing",
    )
    assert len(invoices_of(paying, tenant)) == 1
    # the browser coming back twice changes nothing either
    assert back_from_3ds(admin, location) == "/app/subscription?payment=paid"
    assert len(invoices_of(paying, tenant)) == 1
    page = html_page(admin, "/app/subscription?payment=paid", cookies={"atlas_lang": "en"})
    assert 'data-outcome="paid"' in page.text and "ATL-" in page.text
    # the token is encrypted at rest; no card number anywhere in the database row
    stored = paying.atlas.sql(
        "SELECT token_encrypted, brand, last_four FROM payment_methods WHERE tenant_id = %s", (tenant,)
    )
    assert stored[0][1:] == ("visa", "1111") and not stored[0][0].startswith("token_")


def test_a_payment_whose_browser_never_came_back_activates_by_webhook(paying, moyasar):
    admin, me = expired_tenant(paying)
    started = start(admin, moyasar, APPROVED_MADA, plan="basic")
    with httpx.Client(follow_redirects=False) as browser:  # approve, but never follow the redirect to Atlas
        complete = complete_3ds(started["redirect_url"], "approve")
        assert "/api/payments/callback" in complete
        del browser
    wait_until(lambda: subscription(paying.atlas, me["tenant_id"])["status"] == "active", what="webhook activation")
    assert invoices_of(paying, me["tenant_id"])[0][1:] == (29_900, 4_485, 34_385)
    assert admin.get("/api/subscriptions").json()[0]["card"]["brand"] == "mada"


def test_declined_card_and_declined_3ds_change_nothing(paying, moyasar):
    admin, me = expired_tenant(paying)
    started = start(admin, moyasar, DECLINED_MADA, plan="basic")
    location = complete_3ds(started["redirect_url"], "approve")
    target = back_from_3ds(admin, location)
    assert target.startswith("/app/subscription?payment=failed") and "message=" in target
    assert subscription(paying.atlas, me["tenant_id"])["status"] == "expired" or (
        subscription(paying.atlas, me["tenant_id"])["status"] == "trial"  # stored trial, effectively expired
    )
    assert admin.get("/api/connectors").status_code == 402
    page = html_page(admin, target, cookies={"atlas_lang": "en"})
    assert 'data-outcome="failed"' in page.text and "nothing changed" in page.text
    arabic = html_page(admin, target, cookies={"atlas_lang": "ar"})
    assert "لم يتغير شيء" in arabic.text

    started = start(admin, moyasar, APPROVED_VISA, plan="basic")
    location = complete_3ds(started["redirect_url"], "decline")
    assert back_from_3ds(admin, location).startswith("/app/subscription?payment=failed")
    assert invoices_of(paying, me["tenant_id"]) == []
    audit = paying.atlas.sql(
        "SELECT count(*) FROM audit_events WHERE tenant_id = %s AND event_type = 'payment_failed'", (me["tenant_id"],)
    )
    assert audit[0][0] >= 2


def test_amount_currency_and_metadata_tampering_is_refused(paying, moyasar):
    admin, me = expired_tenant(paying)
    # the client cannot name an amount
    refused = admin.post(
        "/api/payments", json={"plan": "basic", "token": moyasar.token(APPROVED_VISA)["id"], "amount": 100}
    )
    assert refused.status_code in (400, 422)
    moyasar.switch(webhook_hold=True)  # only the browser's return, with forged answers from "Moyasar"
    started = start(admin, moyasar, APPROVED_VISA, plan="basic")
    location = complete_3ds(started["redirect_url"], "approve")
    with moyasar.http() as http:
        real = http.get(f"/payments/{started['payment_id']}").json()
    assert real["status"] == "paid"
    for forged in (
        {**real, "amount": 100},
        {**real, "currency": "USD"},
        {**real, "metadata": {**real["metadata"], "tenant_id": str(uuid.uuid4())}},
        {**real, "metadata": {**real["metadata"], "plan": "enterprise"}},
    ):
        moyasar.fault(
            kind="respond", method="GET", path=f"/v1/payments/{started['payment_id']}", status=200, body=forged, times=1
        )
        assert back_from_3ds(admin, location) == "/app/subscription?payment=mismatch"
        assert subscription(paying.atlas, me["tenant_id"])["status"] != "active"
    assert invoices_of(paying, me["tenant_id"]) == []
    rejected = paying.atlas.sql(
        "SELECT payload->'mismatched' FROM audit_events WHERE tenant_id = %s AND event_type = 'payment_rejected' "
        "ORDER BY seq",
        (me["tenant_id"],),
    )
    assert [r[0] for r in rejected] == [["amount"], ["currency"], ["tenant"], ["plan"]]
    # with the genuine answer, the same payment is applied
    assert back_from_3ds(admin, location) == "/app/subscription?payment=paid"
    moyasar.switch(webhook_hold=False)
    moyasar.admin("POST", "webhooks/release")


def test_a_payment_not_made_by_atlas_or_of_another_tenant_changes_nothing(paying, moyasar):
    admin, me = expired_tenant(paying)
    other, other_me = expired_tenant(paying)
    # someone pays 1 SAR straight at Moyasar and comes back to our callback with its id
    with moyasar.http(moyasar.publishable_key) as http:
        cheap = http.post(
            "/payments",
            json={
                "amount": 100,
                "currency": "SAR",
                "callback_url": "http://127.0.0.1/cb",
                "source": {
                    "type": "creditcard",
                    "name": "Saleh Ali",
                    "number": APPROVED_VISA,
                    "month": "12",
                    "year": "2031",
                    "cvc": "123",
                },
            },
        ).json()
    assert (
        admin.get("/api/payments/callback", params={"id": cheap["id"], "status": "paid"}).headers["location"]
        == "/app/subscription?payment=mismatch"
    )
    # another tenant's genuine payment, replayed in this tenant's browser
    started = start(other, moyasar, APPROVED_VISA, plan="basic")
    location = complete_3ds(started["redirect_url"], "approve")
    assert back_from_3ds(admin, location) == "/app/subscription?payment=mismatch"
    assert subscription(paying.atlas, me["tenant_id"])["status"] != "active"
    assert admin.get("/api/invoices").json() == []
    # it is still the other tenant's, and applies there
    assert back_from_3ds(other, location) == "/app/subscription?payment=paid"
    assert subscription(paying.atlas, other_me["tenant_id"])["status"] == "active"
    assert admin.get("/api/payments/callback", params={"id": "not-a-uuid"}).headers["location"].endswith("mismatch")


def test_double_submission_reuses_the_payment(paying, moyasar):
    admin, _ = expired_tenant(paying)
    first = start(admin, moyasar, APPROVED_VISA, plan="basic")
    second = start(admin, moyasar, APPROVED_VISA, plan="basic")
    assert second["payment_id"] == first["payment_id"]
    assert second["redirect_url"] == first["redirect_url"]
    with moyasar.http() as http:
        payments = http.get("/payments", params={"metadata[plan]": "basic"}).json()["payments"]
    assert [p["id"] for p in payments].count(first["payment_id"]) == 1
    # an active subscription cannot pay again through the form
    location = complete_3ds(first["redirect_url"], "approve")
    assert back_from_3ds(admin, location).endswith("payment=paid")
    again = admin.post("/api/payments", json={"plan": "basic", "token": moyasar.token(APPROVED_VISA)["id"]})
    assert again.status_code == 409


def webhook_body(payment, *, event_id=None, secret=WEBHOOK_SECRET, event_type="payment_paid", live=False):
    return {
        "id": event_id or str(uuid.uuid4()),
        "type": event_type,
        "created_at": datetime.now(UTC).isoformat(),
        "secret_token": secret,
        "account_name": "test",
        "live": live,
        "data": payment,
    }


def test_webhook_forged_replayed_out_of_order_and_wrong_mode(paying, moyasar):
    admin, me = expired_tenant(paying)
    moyasar.switch(webhook_hold=True)  # hold Moyasar's own deliveries: this test sends the events itself
    started = start(admin, moyasar, APPROVED_VISA, plan="basic")
    complete_3ds(started["redirect_url"], "approve")
    with moyasar.http() as http:
        payment = http.get(f"/payments/{started['payment_id']}").json()
    hook = paying.atlas.client()
    url = "/api/webhooks/moyasar"

    forged = hook.post(url, json=webhook_body(payment, secret="wrong-secret"))
    assert forged.status_code == 401
    assert hook.post(url, json=webhook_body(payment, secret="")).status_code == 401
    assert hook.post(url, content=b"not json", headers={"content-type": "application/json"}).status_code == 400
    assert hook.post(url, json=webhook_body(payment, live=True)).status_code == 400
    assert subscription(paying.atlas, me["tenant_id"])["status"] != "active"

    # a forged "paid" for a payment that failed at Moyasar changes nothing: the payment is fetched again
    failing = start(admin, moyasar, DECLINED_MADA, plan="professional")
    complete_3ds(failing["redirect_url"], "approve")
    with moyasar.http() as http:
        failed_payment = http.get(f"/payments/{failing['payment_id']}").json()
    lie = hook.post(url, json=webhook_body({**failed_payment, "status": "paid"}))
    assert lie.status_code == 200 and lie.json()["outcome"] == "failed"
    assert subscription(paying.atlas, me["tenant_id"])["status"] != "active"

    # out of order: "failed" arrives for the paid payment (Moyasar says paid): it activates; "paid" then replays
    event_id = str(uuid.uuid4())
    first = hook.post(url, json=webhook_body({**payment, "status": "failed"}, event_type="payment_faild"))
    assert first.status_code == 200 and first.json()["outcome"] == "paid"
    assert subscription(paying.atlas, me["tenant_id"])["status"] == "active"
    body = webhook_body(payment, event_id=event_id)
    assert hook.post(url, json=body).json() == {"status": "processed", "outcome": "paid"}
    assert hook.post(url, json=body).json() == {"status": "duplicate"}
    assert len(invoices_of(paying, me["tenant_id"])) == 1
    unknown = hook.post(url, json=webhook_body({**payment, "id": str(uuid.uuid4())}))
    assert unknown.json()["outcome"] == "unknown_payment"
    stored = paying.atlas.sql("SELECT count(*) FROM moyasar_events WHERE id = %s", (event_id,))
    assert stored == [(1,)]
    moyasar.switch(webhook_hold=False)
    moyasar.admin("POST", "webhooks/release")


def reconcile(paying, **overrides):
    """The billing sweep's reconciliation, run as the worker runs it, against the local Moyasar."""
    import asyncio

    from atlas.billing.moyasar import client_from_settings
    from atlas.billing.payments import reconcile_open_payments
    from atlas.config import Settings
    from atlas.db.engine import Database

    settings = Settings(
        DATABASE_URL=paying.atlas.database_url,
        MOYASAR_BASE_URL=paying.moyasar.api,
        MOYASAR_SECRET_KEY=paying.moyasar.secret_key,
        MOYASAR_PUBLISHABLE_KEY=paying.moyasar.publishable_key,
        **overrides,
    )

    async def run():
        database = Database(settings.database_url, app_role=settings.db_app_role, pool_size=2)
        try:
            async with client_from_settings(settings) as client:
                return await reconcile_open_payments(database, client, settings=settings)
        finally:
            await database.dispose()

    return asyncio.run(run())


def test_a_payment_with_no_browser_return_and_no_webhook_is_settled_by_reconciliation(paying, moyasar):
    moyasar.switch(webhook_hold=True)  # Moyasar's webhooks never arrive
    admin, me = expired_tenant(paying)
    tenant = me["tenant_id"]
    started = start(admin, moyasar, APPROVED_MADA, plan="basic")
    complete_3ds(started["redirect_url"], "approve")  # paid at Moyasar; the browser never comes back
    assert subscription(paying.atlas, tenant)["status"] == "trial"

    # too young to reconcile: left alone (the browser may still come back)
    assert reconcile(paying, ATLAS_PAYMENT_RECONCILE_SECONDS="3600").checked == 0
    done = reconcile(paying, ATLAS_PAYMENT_RECONCILE_SECONDS="0")
    assert done.paid >= 1
    row = subscription(paying.atlas, tenant)
    assert row["status"] == "active" and row["plan_id"] == "basic"
    assert invoices_of(paying, tenant)[0][1:] == (29_900, 4_485, 34_385)
    # again: idempotent, nothing left open, no second invoice
    reconcile(paying, ATLAS_PAYMENT_RECONCILE_SECONDS="0")
    assert len(invoices_of(paying, tenant)) == 1
    status = paying.atlas.sql("SELECT status FROM payment_attempts WHERE tenant_id = %s", (tenant,))
    assert status == [("paid",)]
    moyasar.switch(webhook_hold=False)
    moyasar.admin("POST", "webhooks/release")


def test_reconciliation_marks_a_checkout_never_paid_abandoned_and_keeps_a_declined_one_failed(paying, moyasar):
    moyasar.switch(webhook_hold=True)
    admin, me = expired_tenant(paying)
    tenant = me["tenant_id"]
    started = start(admin, moyasar, DECLINED_MADA, plan="basic")
    # a checkout that never reached Moyasar (the browser closed before the card step): no payment there
    ghost = uuid.uuid4()
    paying.atlas.sql(
        "INSERT INTO payment_attempts (id, tenant_id, subscription_id, purpose, plan_id, period_start, period_end, "
        "attempt_no, amount_net, vat, amount_total, currency, status, created_by, created_at, updated_at) "
        "SELECT %s, tenant_id, subscription_id, purpose, plan_id, period_start + interval '1 second', period_end, "
        "attempt_no, amount_net, vat, amount_total, currency, 'created', created_by, now() - interval '2 days', now() "
        "FROM payment_attempts WHERE id = %s",
        (ghost, started["payment_id"]),
    )
    done = reconcile(paying, ATLAS_PAYMENT_RECONCILE_SECONDS="0", ATLAS_PAYMENT_ABANDON_SECONDS="3600")
    assert done.abandoned >= 1
    rows = dict(paying.atlas.sql("SELECT id::text, status FROM payment_attempts WHERE tenant_id = %s", (tenant,)))
    assert rows[str(ghost)] == "abandoned"
    assert rows[started["payment_id"]] in ("failed", "initiated")  # declined at Moyasar, or still at 3-D Secure
    assert subscription(paying.atlas, tenant)["status"] == "trial"
    assert invoices_of(paying, tenant) == []
    moyasar.switch(webhook_hold=False)
    moyasar.admin("POST", "webhooks/release")
