"""Operator tools: `atlas tenants create`, platform admins and their audited cross-tenant views."""

from __future__ import annotations

import json

from tests.platform.test_audit import run_cli


def test_tenants_create_prints_an_id_and_a_working_admin_token(atlas):
    result = run_cli(
        atlas.database_url,
        "tenants",
        "create",
        "--name",
        "Gulf Retail Group",
        "--org-type",
        "enterprise",
        "--admin-email",
        "cio@gulfretail.sa",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    created = json.loads(result.stdout)
    bearer = atlas.client(headers={"Authorization": f"Bearer {created['admin_token']}"})
    me = bearer.get("/api/auth/user").json()
    assert me["tenant_id"] == created["tenant_id"] and me["role"] == "admin" and me["kind"] == "token"
    assert bearer.get("/api/onboarding/status").json()["subscription_status"] == "trial"
    # The invited admin joins this tenant on their first sign-in.
    cio = atlas.login("cio@gulfretail.sa").get("/api/auth/user").json()
    assert cio["tenant_id"] == created["tenant_id"] and cio["role"] == "admin"


def test_tenants_create_refuses_bad_input_clearly(atlas):
    result = run_cli(
        atlas.database_url, "tenants", "create", "--name", "X Co", "--org-type", "smb", "--admin-email", "nope"
    )
    assert result.returncode != 0
    assert "valid e-mail" in result.stderr


def test_platform_admin_lists_tenants_and_opens_one_read_only_with_audit(atlas):
    target, target_me = atlas.new_tenant(name="Viewed Co")
    admin, admin_me = atlas.new_tenant(name="Operator HQ")
    granted = run_cli(atlas.database_url, "platform-admins", "grant", "--email", admin_me["email"])
    assert granted.returncode == 0, granted.stderr
    tenants = admin.get("/api/platform/tenants").json()
    row = next(t for t in tenants if t["id"] == target_me["tenant_id"])
    assert row["name"] == "Viewed Co" and row["member_count"] == 1 and row["subscription_status"] == "trial"
    detail = admin.get(f"/api/platform/tenants/{target_me['tenant_id']}", headers={"X-Request-ID": "pa-view-1"})
    assert detail.status_code == 200
    assert detail.json()["members"][0]["email"] == target_me["email"]
    audited = atlas.sql(
        "SELECT actor, payload->>'view' FROM audit_events WHERE tenant_id = %s AND event_type = 'cross_tenant_view' "
        "AND correlation_id = 'pa-view-1'",
        (target_me["tenant_id"],),
    )
    assert audited == [(f"platform_admin:{admin_me['user_id']}", "tenant_detail")]
    missing = admin.get("/api/platform/tenants/00000000-0000-0000-0000-000000000001")
    assert missing.status_code == 404


def test_platform_read_transactions_cannot_write(atlas):
    import psycopg
    import pytest

    with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        with psycopg.connect(atlas.database_url) as conn:
            conn.execute("SET ROLE atlas_app")
            conn.execute("SET TRANSACTION READ ONLY")
            conn.execute("SELECT set_config('app.scope', 'platform_read', true)")
            assert conn.execute("SELECT count(*) FROM tenants").fetchone()[0] > 0
            conn.execute("UPDATE tenants SET name = 'x'")


def test_every_cross_tenant_read_is_audited_in_the_admins_own_trail_or_the_viewed_tenants(atlas):
    """The lists and overviews (API and pages) audit in the admin's own tenant's chain, a tenant's detail in that
    tenant's; each with the view's name and the request's correlation id (atlas.platform.platform_admin)."""
    target, target_me = atlas.new_tenant(name="Seen Co")
    admin, admin_me = atlas.new_tenant(name="Platform Ops")
    granted = run_cli(atlas.database_url, "platform-admins", "grant", "--email", admin_me["email"])
    assert granted.returncode == 0, granted.stderr
    reads = [
        ("/api/platform/tenants", "tenant_list", admin_me),
        (f"/api/platform/tenants/{target_me['tenant_id']}", "tenant_detail", target_me),
        ("/api/platform/billing", "billing_overview", admin_me),
        ("/platform", "tenant_list", admin_me),
        (f"/platform/tenants/{target_me['tenant_id']}", "tenant_detail", target_me),
        ("/platform/billing", "billing_overview", admin_me),
    ]
    for number, (path, view, trail) in enumerate(reads):
        correlation = f"pa-read-{number}"
        answer = admin.get(path, headers={"X-Request-ID": correlation})
        assert answer.status_code == 200, (path, answer.status_code)
        audited = atlas.sql(
            "SELECT tenant_id::text, actor, payload->>'view', payload->>'platform_admin_tenant_id' FROM audit_events "
            "WHERE event_type = 'cross_tenant_view' AND correlation_id = %s",
            (correlation,),
        )
        assert audited == [
            (trail["tenant_id"], f"platform_admin:{admin_me['user_id']}", view, admin_me["tenant_id"])
        ], path
    # An operator who is not a platform admin reads nothing across tenants, and nothing is audited as a view.
    refused = target.get("/api/platform/billing", headers={"X-Request-ID": "pa-read-refused"})
    assert refused.status_code == 403
    assert atlas.sql("SELECT count(*) FROM audit_events WHERE correlation_id = 'pa-read-refused'") == [(0,)]
