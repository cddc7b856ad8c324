"""Team management and API tokens, end to end through the API."""

from __future__ import annotations

import hashlib

import httpx


def test_admin_invites_changes_roles_and_removes_members(atlas):
    admin, me = atlas.new_tenant()
    viewer, viewer_me = atlas.member_client(admin, "viewer")
    response = admin.patch(f"/api/members/{viewer_me['user_id']}", json={"role": "operator"})
    assert response.status_code == 200 and response.json()["role"] == "operator"
    # The new role applies to the very next request of the existing session.
    assert viewer.get("/api/auth/user").json()["role"] == "operator"
    assert admin.delete(f"/api/members/{viewer_me['user_id']}").status_code == 204
    assert viewer.get("/api/auth/user").status_code == 401
    events = [
        r[0]
        for r in atlas.sql("SELECT event_type FROM audit_events WHERE tenant_id = %s ORDER BY seq", (me["tenant_id"],))
    ]
    assert {"member_role_changed", "member_removed", "invitation_created", "invitation_accepted"} <= set(events)


def test_the_last_admin_cannot_be_demoted_or_removed(atlas):
    admin, me = atlas.new_tenant()
    response = admin.patch(f"/api/members/{me['user_id']}", json={"role": "viewer"})
    assert response.status_code == 409 and response.json()["code"] == "errors.last_admin"
    assert admin.delete(f"/api/members/{me['user_id']}").status_code == 409
    second, second_me = atlas.member_client(admin, "admin")
    assert admin.patch(f"/api/members/{me['user_id']}", json={"role": "viewer"}).status_code == 200


def test_invitation_input_is_validated(atlas):
    admin, me = atlas.new_tenant()
    cases = [
        ({"email": "not-an-email", "role": "viewer"}, 422, "errors.invalid_email"),
        ({"email": "ok@example.sa", "role": "owner"}, 422, "errors.invalid_role"),
        ({"email": "ok@example.sa"}, 422, "errors.validation_failed"),
        ({"email": "ok@example.sa", "role": "viewer", "extra": 1}, 422, "errors.validation_failed"),
        ({"email": me["email"], "role": "viewer"}, 409, "errors.already_member"),
    ]
    for body, status, code in cases:
        response = admin.post("/api/invitations", json=body)
        assert response.status_code == status, (body, response.text)
        assert response.json()["code"] == code
    garbage = admin.post("/api/invitations", content=b"{not json", headers={"Content-Type": "application/json"})
    assert garbage.status_code in (400, 422)
    assert garbage.headers["content-type"].startswith("application/problem+json")
    assert admin.get("/api/invitations").json() == []


def test_revoked_invitation_cannot_be_used(atlas):
    admin, me = atlas.new_tenant()
    invitation = admin.post("/api/invitations", json={"email": "late@example.sa", "role": "admin"}).json()
    assert admin.delete(f"/api/invitations/{invitation['id']}").status_code == 204
    assert admin.delete(f"/api/invitations/{invitation['id']}").status_code == 409
    late = atlas.login("late@example.sa").get("/api/auth/user").json()
    assert late["tenant_id"] != me["tenant_id"]
    assert late["role"] == "admin"  # their own, new tenant


def test_tokens_are_shown_once_stored_hashed_and_bound_to_their_role(atlas):
    admin, me = atlas.new_tenant()
    created = admin.post("/api/tokens", json={"name": "ERP sync", "role": "operator", "expires_in_days": 30})
    assert created.status_code == 201
    body = created.json()
    raw = body["token"]
    assert raw.startswith("atl_") and len(raw) > 40
    listed = admin.get("/api/tokens").json()
    assert all("token" not in t and "token_hash" not in t for t in listed)
    assert raw not in httpx.Response(200, json=listed).text
    stored = atlas.sql("SELECT token_hash, role, prefix FROM api_tokens WHERE id = %s", (body["id"],))
    assert stored == [(hashlib.sha256(raw.encode()).hexdigest(), "operator", raw[:12])]
    assert atlas.sql("SELECT count(*) FROM api_tokens WHERE token_hash = %s OR prefix = %s", (raw, raw)) == [(0,)]
    bearer = atlas.client(headers={"Authorization": f"Bearer {raw}", "Accept": "application/json"})
    assert bearer.get("/api/auth/user").json()["role"] == "operator"
    assert bearer.post("/api/invitations", json={"email": "t@example.sa", "role": "viewer"}).status_code == 403
    assert bearer.get("/api/members").status_code == 200
    # Tokens need no CSRF header: they are not ambient credentials.
    assert admin.delete(f"/api/tokens/{body['id']}").status_code == 204
    assert bearer.get("/api/members").status_code == 401
    events = [
        r[0]
        for r in atlas.sql("SELECT event_type FROM audit_events WHERE tenant_id = %s ORDER BY seq", (me["tenant_id"],))
    ]
    assert "api_token_created" in events and "api_token_revoked" in events
    audit_text = str(atlas.sql("SELECT payload::text FROM audit_events WHERE tenant_id = %s", (me["tenant_id"],)))
    assert raw not in audit_text


def test_expired_tokens_stop_working(atlas):
    admin, _ = atlas.new_tenant()
    body = admin.post("/api/tokens", json={"name": "short", "role": "viewer", "expires_in_days": 1}).json()
    bearer = atlas.client(headers={"Authorization": f"Bearer {body['token']}"})
    assert bearer.get("/api/members").status_code == 200
    atlas.sql("UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE id = %s", (body["id"],))
    assert bearer.get("/api/members").status_code == 401


def test_token_input_is_validated(atlas):
    admin, _ = atlas.new_tenant()
    for body, code in [
        ({"name": "", "role": "viewer", "expires_in_days": 5}, "errors.token_name_length"),
        ({"name": "x", "role": "viewer", "expires_in_days": 0}, "errors.token_expiry_range"),
        ({"name": "x", "role": "viewer", "expires_in_days": 5000}, "errors.token_expiry_range"),
        ({"name": "x", "role": "platform_admin", "expires_in_days": 5}, "errors.invalid_role"),
    ]:
        response = admin.post("/api/tokens", json=body)
        assert response.status_code == 422, response.text
        assert response.json()["code"] == code
    assert admin.get("/api/tokens").json() == []


def test_onboarding_records_the_choice_and_starts_the_trial(atlas):
    client = atlas.login()
    status = client.get("/api/onboarding/status").json()
    assert status["completed"] is False and status["subscription_status"] is None
    assert status["coming_soon"] and status["use_cases"] == ["inventory_management"]
    refused = client.post(
        "/api/onboarding/complete", json={"company_name": "Soon Co", "org_type": "smb", "use_case": "procurement"}
    )
    assert refused.status_code == 422 and refused.json()["code"] == "errors.use_case_coming_soon"
    assert (
        client.post(
            "/api/onboarding/complete",
            json={"company_name": "Soon Co", "org_type": "giant", "use_case": "inventory_management"},
        ).status_code
        == 422
    )
    done = client.post(
        "/api/onboarding/complete",
        json={"company_name": "  Al Noor Trading  ", "org_type": "enterprise", "use_case": "inventory_management"},
    )
    assert done.status_code == 200, done.text
    body = done.json()
    assert body["completed"] and body["company_name"] == "Al Noor Trading" and body["org_type"] == "enterprise"
    assert body["subscription_status"] == "trial" and body["plan_id"] == "enterprise"
    rows = atlas.sql(
        "SELECT s.status, s.trial_ends_at - s.created_at FROM subscriptions s JOIN tenants t ON t.id = s.tenant_id "
        "WHERE t.name = 'Al Noor Trading'"
    )
    assert rows[0][0] == "trial" and round(rows[0][1].total_seconds() / 86400) == 7
    again = client.post(
        "/api/onboarding/complete",
        json={"company_name": "Again", "org_type": "smb", "use_case": "inventory_management"},
    )
    assert again.status_code == 409
    subscriptions = client.get("/api/subscriptions").json()
    assert [s["status"] for s in subscriptions] == ["trial"]


def test_plans_are_public_and_in_halalas(atlas):
    plans = atlas.client().get("/api/subscription-plans").json()
    assert [(p["id"], p["price_halalas"]) for p in plans] == [
        ("basic", 29900),
        ("professional", 79900),
        ("enterprise", 199900),
    ]
    assert plans[0]["features"]["max_connectors"] == 1 and plans[2]["features"]["max_records"] is None
