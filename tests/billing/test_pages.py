"""Trial end for both segments, the banner, meeting requests, and the platform admin's billing view and actions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.billing.conftest import set_state, subscription
from tests.services import html_page

MEETING = {
    "contact_name": "Huda Al-Qahtani",
    "email": "huda@bigco.example.sa",
    "phone": "+966 55 123 4567",
    "preferred_times": "Sunday or Monday, 10:00–13:00",
    "notes": "Three warehouses, SAP on-prem",
}


def platform_admin(atlas):
    admin, me = atlas.new_tenant(org_type="enterprise", name="Platform Ops")
    atlas.sql("UPDATE users SET platform_role = 'platform_admin' WHERE id = %s", (me["user_id"],))
    return admin, me


def test_smb_trial_end_shows_the_plans_and_the_payment_form(atlas):
    admin, me = atlas.new_tenant(org_type="smb")
    set_state(atlas, me["tenant_id"], "trial_ended")
    page = html_page(admin, "/app/subscription", cookies={"atlas_lang": "en"})
    assert page.status_code == 200
    assert "Your trial has ended" in page.text
    assert page.text.count('data-testid="plan-card"') == 3
    assert page.text.count('data-testid="subscribe"') == 3
    assert "Subscribe now" in page.text
    assert 'data-testid="payment-section"' in page.text
    # without Moyasar keys the page says payments are not configured (the payment tests configure them)
    assert 'data-testid="payments-unconfigured"' in page.text or "mada, Visa and Mastercard" in page.text
    arabic = html_page(admin, "/app/subscription", cookies={"atlas_lang": "ar"})
    assert "انتهت فترتك التجريبية" in arabic.text and "اشترك الآن" in arabic.text
    assert 'dir="rtl"' in arabic.text
    # the dashboard sends the person to this screen
    assert html_page(admin, "/app").headers["location"] == "/app/subscription"


def test_enterprise_trial_end_invites_a_meeting_and_stores_the_request(atlas):
    admin, me = atlas.new_tenant(org_type="enterprise")
    viewer, _ = atlas.member_client(admin, "viewer")
    set_state(atlas, me["tenant_id"], "trial_ended")
    page = html_page(admin, "/app/subscription", cookies={"atlas_lang": "en"})
    assert "Your trial has ended" in page.text
    assert "Book a meeting with our team" in page.text
    assert 'data-testid="book-meeting"' in page.text and "<svg" in page.text  # the calendar icon
    assert 'data-testid="plan-card"' not in page.text

    bad = admin.post("/api/meeting-requests", json={**MEETING, "phone": "call me"}, headers={"Accept-Language": "en"})
    assert bad.status_code == 422 and "phone number" in bad.json()["detail"]
    bad = admin.post("/api/meeting-requests", json={**MEETING, "email": "nope"})
    assert bad.status_code == 422
    created = admin.post("/api/meeting-requests", json=MEETING)
    assert created.status_code == 201, created.text
    assert created.json()["preferred_times"] == MEETING["preferred_times"]
    listed = admin.get("/api/meeting-requests").json()
    assert [m["contact_name"] for m in listed] == ["Huda Al-Qahtani"]
    assert 'data-testid="meeting-received"' in html_page(admin, "/app/subscription").text
    assert admin.get("/api/audit-logs").status_code == 402  # expired: billing only
    audit = atlas.sql(
        "SELECT count(*) FROM audit_events WHERE tenant_id = %s AND event_type = 'meeting_requested'",
        (me["tenant_id"],),
    )
    assert audit == [(1,)]

    assert viewer.post("/api/meeting-requests", json=MEETING).status_code == 403
    other, _ = atlas.new_tenant()
    assert other.get("/api/meeting-requests").json() == []

    operator, _ = platform_admin(atlas)
    overview = operator.get("/api/platform/billing").json()
    mine = [m for m in overview["meeting_requests"] if m["tenant_id"] == me["tenant_id"]]
    assert len(mine) == 1 and mine[0]["phone"] == MEETING["phone"]
    page = html_page(operator, "/platform/billing")
    assert "Huda Al-Qahtani" in page.text


def test_the_trial_banner_links_to_the_subscription_page_in_each_language(atlas):
    admin, me = atlas.new_tenant()
    for days, colour, english, arabic in (
        (6, "blue", "6 days left in your trial", "تبقى 6 أيام من فترتك التجريبية"),
        (3, "yellow", "3 days left - Upgrade now", "تبقى 3 أيام - قم بالترقية الآن"),
        (2, "yellow", "2 days left - Upgrade now", "يبقى يومان - قم بالترقية الآن"),  # CLDR "two": no numeral
        (1, "red", "Your trial ends tomorrow!", "ينتهي اشتراكك غداً!"),
    ):
        ends = datetime.now(UTC) + timedelta(days=days) - timedelta(hours=1)
        atlas.sql("UPDATE subscriptions SET trial_ends_at = %s WHERE tenant_id = %s", (ends, me["tenant_id"]))
        for path in ("/app", "/app/team", "/app/subscription", "/app/connectors"):
            page = html_page(admin, path, cookies={"atlas_lang": "en"})
            assert f'data-colour="{colour}"' in page.text, (path, days)
            assert english in page.text
            assert 'href="/app/subscription" data-testid="trial-banner-link"' in page.text
        assert arabic in html_page(admin, "/app", cookies={"atlas_lang": "ar"}).text


def test_past_due_and_cancelled_show_a_banner(atlas):
    admin, me = atlas.new_tenant()
    set_state(atlas, me["tenant_id"], "past_due")
    page = html_page(admin, "/app", cookies={"atlas_lang": "en"})
    assert 'data-testid="billing-banner" data-state="past_due"' in page.text
    set_state(atlas, me["tenant_id"], "cancelled")
    page = html_page(admin, "/app/team", cookies={"atlas_lang": "en"})
    assert 'data-state="cancelled"' in page.text and "read-only" in page.text


def test_platform_admin_overview_extend_trial_and_contract(atlas):
    operator, _ = platform_admin(atlas)
    smb, smb_me = atlas.new_tenant(org_type="smb", name="Ending Soon Co")
    big, big_me = atlas.new_tenant(org_type="enterprise", name="Big Enterprise Co")
    atlas.sql(
        "UPDATE subscriptions SET trial_ends_at = now() + interval '2 days' WHERE tenant_id = %s",
        (smb_me["tenant_id"],),
    )
    set_state(atlas, big_me["tenant_id"], "trial_ended")

    overview = operator.get("/api/platform/billing").json()
    assert smb_me["tenant_id"] in [t["tenant_id"] for t in overview["trials_ending_this_week"]]
    states = {t["tenant_id"]: t["status"] for t in overview["subscriptions"]}
    assert states[big_me["tenant_id"]] == "expired"
    assert sum(overview["by_state"].values()) == len(overview["subscriptions"])
    mrr_before = overview["mrr_halalas"]

    # a tenant can't do this; a platform admin can, audited in the target tenant's trail
    assert smb.post(f"/api/platform/tenants/{big_me['tenant_id']}/extend-trial", json={"days": 5}).status_code == 403
    zero = operator.post(f"/api/platform/tenants/{big_me['tenant_id']}/extend-trial", json={"days": 0})
    assert zero.status_code == 422
    extended = operator.post(f"/api/platform/tenants/{big_me['tenant_id']}/extend-trial", json={"days": 5})
    assert extended.status_code == 200, extended.text
    assert extended.json()["status"] == "trial"
    assert big.get("/api/connectors").status_code == 200  # access is back
    events = big.get("/api/audit-logs", params={"event_type": "trial_extended"}).json()["items"]
    assert len(events) == 1 and events[0]["actor"].startswith("platform_admin:")

    refused = operator.post(
        f"/api/platform/tenants/{smb_me['tenant_id']}/activate-contract",
        json={"plan": "enterprise", "months": 12, "reference": "C-2026-001"},
    )
    assert refused.status_code == 409  # contracts are for enterprise tenants
    activated = operator.post(
        f"/api/platform/tenants/{big_me['tenant_id']}/activate-contract",
        json={"plan": "enterprise", "months": 12, "reference": "C-2026-001"},
    )
    assert activated.status_code == 200, activated.text
    assert activated.json()["billing_mode"] == "contract"
    row = subscription(atlas, big_me["tenant_id"])
    assert row["status"] == "active" and row["billing_mode"] == "contract"
    assert row["current_period_end"] > datetime.now(UTC) + timedelta(days=330)
    assert big.get("/api/audit-logs", params={"event_type": "contract_activated"}).json()["items"]
    after = operator.get("/api/platform/billing").json()
    assert after["mrr_halalas"] == mrr_before + 199_900
    page = html_page(operator, "/platform/billing", cookies={"atlas_lang": "en"})
    assert "Monthly recurring revenue" in page.text and "Big Enterprise Co" in page.text
    missing = operator.post("/api/platform/tenants/00000000-0000-0000-0000-000000000000/extend-trial", json={"days": 3})
    assert missing.status_code == 404
