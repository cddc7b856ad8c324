"""Renewals and dunning on the real Temporal dev server, with billing durations in seconds (a period of 8 s,
a dunning "day" of 2 s, retries on days 1, 2 and 3), against the local Moyasar: renewal, failure through
dunning to expiry, recovery, a 3-D Secure challenge on renewal, cancel, pay again, upgrade and downgrade."""

from __future__ import annotations

import pytest

from tests.billing.conftest import set_state, subscription
from tests.billing.moyasar_helpers import APPROVED_VISA, complete_3ds
from tests.billing.test_payments import back_from_3ds
from tests.services import wait_until

TIMEOUT = 90


TENANTS: list[str] = []


@pytest.fixture
def moyasar(renewing):
    server = renewing.moyasar
    wait_until(lambda: server.admin("GET", "events")["idle"], what="webhook deliveries")
    server.admin("DELETE", "faults")
    yield server
    # Stop this test's renewals (a contract has no card charges), so they cannot take another test's faults.
    for tenant in TENANTS:
        renewing.atlas.sql("UPDATE subscriptions SET billing_mode = 'contract' WHERE tenant_id = %s", (tenant,))
    TENANTS.clear()


def subscribed(renewing, moyasar, plan="basic", with_token=False):
    atlas = renewing.atlas
    admin, me = atlas.new_tenant(org_type="smb")
    TENANTS.append(me["tenant_id"])
    set_state(atlas, me["tenant_id"], "trial_ended")
    token = moyasar.token(APPROVED_VISA)
    started = admin.post("/api/payments", json={"plan": plan, "token": token["id"]}).json()
    assert back_from_3ds(admin, complete_3ds(started["redirect_url"], "approve")).endswith("payment=paid")
    assert subscription(atlas, me["tenant_id"])["status"] == "active"
    return (admin, me, token["id"]) if with_token else (admin, me)


def set_token(moyasar, token_id, status):
    moyasar.admin("POST", f"tokens/{token_id}/status", json={"status": status})


def attempts(atlas, tenant_id, purpose="renewal"):
    return atlas.sql(
        "SELECT attempt_no, status, period_start, amount_total FROM payment_attempts WHERE tenant_id = %s "
        "AND purpose = %s ORDER BY created_at",
        (tenant_id, purpose),
    )


def test_a_period_end_renews_extends_and_invoices(renewing, moyasar):
    atlas = renewing.atlas
    admin, me = subscribed(renewing, moyasar)
    first = subscription(atlas, me["tenant_id"])
    wait_until(
        lambda: len(attempts(atlas, me["tenant_id"])) >= 1 and attempts(atlas, me["tenant_id"])[0][1] == "paid",
        timeout=TIMEOUT,
        what="the renewal",
    )
    renewed = subscription(atlas, me["tenant_id"])
    assert renewed["status"] == "active"
    assert renewed["current_period_start"] == first["current_period_end"]  # contiguous periods
    assert renewed["current_period_end"] > first["current_period_end"]
    kinds = atlas.sql("SELECT purpose, total FROM invoices WHERE tenant_id = %s ORDER BY number", (me["tenant_id"],))
    assert kinds[:2] == [("subscribe", 34_385), ("renewal", 34_385)]
    assert atlas.sql(
        "SELECT count(*) FROM payment_attempts WHERE tenant_id = %s AND purpose = 'renewal' "
        "AND attempt_no = 1 AND period_start = %s",
        (me["tenant_id"], first["current_period_end"]),
    ) == [(1,)]


def test_failures_go_through_dunning_to_expiry(renewing, moyasar):
    atlas = renewing.atlas
    admin, me, token = subscribed(renewing, moyasar, with_token=True)
    tenant = me["tenant_id"]
    set_token(moyasar, token, "inactive")  # the card was blocked: every charge of this token fails
    wait_until(lambda: subscription(atlas, tenant)["status"] == "past_due", timeout=TIMEOUT, what="past due")
    assert admin.get("/api/connectors").status_code == 200  # read still works
    assert admin.post("/api/invitations", json={"email": "x@example.sa", "role": "viewer"}).status_code == 402
    notices = atlas.sql(
        "SELECT kind, params FROM billing_notices WHERE tenant_id = %s AND resolved_at IS NULL", (tenant,)
    )
    assert notices and notices[0][0] == "renewal_failed" and notices[0][1]["message"]
    try:
        wait_until(lambda: subscription(atlas, tenant)["status"] == "expired", timeout=TIMEOUT, what="expiry")
    except RuntimeError:
        raise AssertionError((subscription(atlas, tenant), attempts(atlas, tenant))) from None
    rounds = attempts(atlas, tenant)
    assert [r[0] for r in rounds] == [1, 2, 3, 4]  # the first charge and the three retries
    assert {r[1] for r in rounds} == {"error"}  # Moyasar refused each charge of the inactive token
    assert len({r[2] for r in rounds}) == 1  # all for the same period
    assert subscription(atlas, tenant)["failed_renewals"] == 4
    assert admin.get("/api/connectors").status_code == 402
    final = atlas.sql("SELECT kind FROM billing_notices WHERE tenant_id = %s AND resolved_at IS NULL", (tenant,))
    assert final == [("renewal_failed_final",)]
    changes = atlas.sql(
        "SELECT payload->>'to' FROM audit_events WHERE tenant_id = %s AND event_type = "
        "'subscription_status_changed' ORDER BY seq",
        (tenant,),
    )
    assert [c[0] for c in changes][-5:] == ["past_due", "past_due", "past_due", "past_due", "expired"]
    assert atlas.sql("SELECT count(*) FROM invoices WHERE tenant_id = %s", (tenant,)) == [(1,)]


def test_a_retry_that_succeeds_makes_it_active_again(renewing, moyasar):
    atlas = renewing.atlas
    _, me, token = subscribed(renewing, moyasar, with_token=True)
    tenant = me["tenant_id"]
    set_token(moyasar, token, "inactive")
    wait_until(lambda: subscription(atlas, tenant)["status"] == "past_due", timeout=TIMEOUT, what="past due")
    set_token(moyasar, token, "active")  # the bank unblocked the card before the first retry
    wait_until(
        lambda: (
            subscription(atlas, tenant)["status"] == "active" and subscription(atlas, tenant)["failed_renewals"] == 0
        ),
        timeout=TIMEOUT,
        what="recovery",
    )
    rounds = attempts(atlas, tenant)
    assert [(r[0], r[1]) for r in rounds[:2]] == [(1, "error"), (2, "paid")]
    assert atlas.sql(
        "SELECT count(*) FROM billing_notices WHERE tenant_id = %s AND resolved_at IS NULL", (tenant,)
    ) == [(0,)]


def test_an_issuer_challenge_on_renewal_needs_the_customer(renewing, moyasar):
    atlas = renewing.atlas
    _, me = subscribed(renewing, moyasar)
    tenant = me["tenant_id"]
    moyasar.fault(kind="challenge", method="POST", path="/v1/payments", times=1)
    wait_until(lambda: subscription(atlas, tenant)["status"] == "past_due", timeout=TIMEOUT, what="past due")
    notice = atlas.sql(
        "SELECT kind, action_url FROM billing_notices WHERE tenant_id = %s AND resolved_at IS NULL", (tenant,)
    )
    assert notice[0][0] == "action_required" and notice[0][1].startswith(moyasar.url)
    # the customer follows the link and passes 3-D Secure: the webhook makes it active again
    complete_3ds(notice[0][1], "approve")
    wait_until(lambda: subscription(atlas, tenant)["status"] == "active", timeout=TIMEOUT, what="recovery by 3DS")


def test_cancel_keeps_access_to_the_period_end_then_read_only_and_paying_again_reactivates(renewing, moyasar):
    atlas = renewing.atlas
    admin, me = subscribed(renewing, moyasar)
    tenant = me["tenant_id"]
    assert admin.post("/api/subscriptions/cancel").json()["cancel_at_period_end"] is True
    assert admin.post("/api/invitations", json={"email": "c@example.sa", "role": "viewer"}).status_code == 201
    wait_until(lambda: subscription(atlas, tenant)["status"] == "cancelled", timeout=TIMEOUT, what="cancelled")
    assert attempts(atlas, tenant) == []  # never charged again
    assert admin.get("/api/connectors").status_code == 200
    assert admin.post("/api/invitations", json={"email": "d@example.sa", "role": "viewer"}).status_code == 402
    started = admin.post("/api/payments", json={"plan": "basic", "token": moyasar.token(APPROVED_VISA)["id"]}).json()
    assert back_from_3ds(admin, complete_3ds(started["redirect_url"], "approve")).endswith("payment=paid")
    row = subscription(atlas, tenant)
    assert row["status"] == "active" and row["cancel_at_period_end"] is False


def test_upgrade_now_with_a_prorated_charge_and_downgrade_next_period(renewing, moyasar):
    atlas = renewing.atlas
    admin, me = subscribed(renewing, moyasar, plan="basic")
    tenant = me["tenant_id"]
    upgraded = admin.post("/api/subscriptions/change-plan", json={"plan": "professional"})
    assert upgraded.status_code == 200, upgraded.text
    body = upgraded.json()
    assert body["outcome"] == "upgraded" and body["subscription"]["plan_id"] == "professional"
    net = atlas.sql(
        "SELECT net, vat, total, purpose FROM invoices WHERE tenant_id = %s AND purpose = 'upgrade'", (tenant,)
    )[0]
    assert 0 < net[0] <= 50_000 and net[2] == net[0] + net[1] and body["charged_halalas"] == net[2]

    # two connectors fit professional, not basic: the downgrade is refused with the reason
    for name in ("one", "two"):
        created = admin.post(
            "/api/connectors",
            json={
                "name": name,
                "base_url": "http://127.0.0.1:9",
                "endpoints": [{"key": "items", "resource": "items", "path": "/items"}],
            },
        )
        assert created.status_code == 201, created.text
    refused = admin.post("/api/subscriptions/change-plan", json={"plan": "basic"}, headers={"Accept-Language": "en"})
    assert refused.status_code == 409 and "2 connectors" in refused.json()["detail"]
    connector_id = admin.get("/api/connectors").json()[1]["id"]
    assert admin.delete(f"/api/connectors/{connector_id}").status_code == 204
    scheduled = admin.post("/api/subscriptions/change-plan", json={"plan": "basic"})
    assert scheduled.json()["outcome"] == "downgrade_scheduled"
    assert subscription(atlas, tenant)["plan_id"] == "professional"
    wait_until(lambda: subscription(atlas, tenant)["plan_id"] == "basic", timeout=TIMEOUT, what="the downgrade")
    assert attempts(atlas, tenant)[0][3] == 34_385  # the next period is charged at the smaller plan


def test_the_billing_sweep_records_ended_trials_and_restarts_a_lost_renewal_workflow(renewing, moyasar):
    """A trial past its end is recorded as expired (audited); a card-paid subscription whose workflow was lost
    (terminated here, as after a Temporal reset) gets it back and still renews."""
    import asyncio
    import uuid
    from typing import Any

    from temporalio.client import Client, WorkflowExecutionStatus

    atlas = renewing.atlas
    _, trial_me = atlas.new_tenant()
    TENANTS.append(trial_me["tenant_id"])
    set_state(atlas, trial_me["tenant_id"], "trial_ended")
    _, me = subscribed(renewing, moyasar)
    subscription_id = atlas.sql("SELECT id FROM subscriptions WHERE tenant_id = %s", (me["tenant_id"],))[0][0]
    env = renewing.worker.env

    async def sweep() -> tuple[str, Any]:
        client = await Client.connect(env["TEMPORAL_ADDRESS"])
        handle = client.get_workflow_handle(f"subscription-{subscription_id}")
        lost = (await handle.describe()).run_id
        await handle.terminate("lost, for the test")
        await client.execute_workflow(
            "BillingSweep", id=f"sweep-{uuid.uuid4().hex[:8]}", task_queue=env["TEMPORAL_TASK_QUEUE"]
        )
        return lost, await handle.describe()

    lost, now = asyncio.run(sweep())
    # A sweep started it again: this one, or the scheduled sweep (every 3 s here) when it came first
    assert now.run_id != lost and now.status == WorkflowExecutionStatus.RUNNING
    assert now.parent_id is not None and now.parent_id.startswith(("sweep-", "atlas-billing-sweep")), now.parent_id
    assert subscription(atlas, trial_me["tenant_id"])["status"] == "expired"
    recorded = atlas.sql(
        "SELECT payload->>'event' FROM audit_events WHERE tenant_id = %s "
        "AND event_type = 'subscription_status_changed'",
        (trial_me["tenant_id"],),
    )
    assert recorded == [("trial_ended",)]
    wait_until(
        lambda: any(r[1] == "paid" for r in attempts(atlas, me["tenant_id"])),
        timeout=TIMEOUT,
        what="the renewal after the sweep",
    )
