"""Tenant isolation: tenant A's session or token on tenant B's ids answers 404 and changes nothing."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def two_tenants(atlas):
    admin_a, me_a = atlas.new_tenant(name="Tenant A")
    admin_b, me_b = atlas.new_tenant(name="Tenant B")
    operator_b, op_b = atlas.member_client(admin_b, "operator")
    invitation_b = admin_b.post("/api/invitations", json={"email": "pending-b@example.sa", "role": "viewer"}).json()
    token_b = admin_b.post("/api/tokens", json={"name": "B automation", "role": "viewer", "expires_in_days": 5}).json()
    return {
        "a_session": admin_a,
        "a_token": atlas.token_client(admin_a, "admin"),
        "a": me_a,
        "b": me_b,
        "b_member_id": op_b["user_id"],
        "b_invitation_id": invitation_b["id"],
        "b_token_id": token_b["id"],
        "admin_b": admin_b,
    }


def snapshot(atlas, tenant_id):
    return {
        "users": atlas.sql("SELECT id, role FROM users WHERE tenant_id = %s ORDER BY id", (tenant_id,)),
        "invitations": atlas.sql(
            "SELECT id, revoked_at FROM invitations WHERE tenant_id = %s ORDER BY id", (tenant_id,)
        ),
        "tokens": atlas.sql("SELECT id, revoked_at FROM api_tokens WHERE tenant_id = %s ORDER BY id", (tenant_id,)),
        "audit": atlas.sql("SELECT count(*) FROM audit_events WHERE tenant_id = %s", (tenant_id,)),
    }


@pytest.mark.parametrize("kind", ["a_session", "a_token"])
def test_writes_on_another_tenants_ids_are_404_and_change_nothing(atlas, two_tenants, kind):
    client = two_tenants[kind]
    b_tenant = two_tenants["b"]["tenant_id"]
    before = snapshot(atlas, b_tenant)
    attempts = [
        ("PATCH", f"/api/members/{two_tenants['b_member_id']}", {"role": "admin"}),
        ("DELETE", f"/api/members/{two_tenants['b_member_id']}", None),
        ("DELETE", f"/api/invitations/{two_tenants['b_invitation_id']}", None),
        ("DELETE", f"/api/tokens/{two_tenants['b_token_id']}", None),
    ]
    for method, path, body in attempts:
        response = client.request(method, path, json=body)
        assert response.status_code == 404, (method, path, response.status_code)
        assert response.json()["type"] == "urn:atlas:problem:not-found"
    assert snapshot(atlas, b_tenant) == before


@pytest.mark.parametrize("kind", ["a_session", "a_token"])
def test_reads_never_show_another_tenants_rows(atlas, two_tenants, kind):
    client = two_tenants[kind]
    b = two_tenants["b"]
    members = client.get("/api/members").json()
    assert b["user_id"] not in {m["id"] for m in members}
    assert two_tenants["b_member_id"] not in {m["id"] for m in members}
    assert two_tenants["b_invitation_id"] not in {i["id"] for i in client.get("/api/invitations").json()}
    assert two_tenants["b_token_id"] not in {t["id"] for t in client.get("/api/tokens").json()}
    events = client.get("/api/audit-logs", params={"limit": 500}).json()["items"]
    assert all(e["correlation_id"] for e in events)
    b_correlations = {
        r[0] for r in atlas.sql("SELECT correlation_id FROM audit_events WHERE tenant_id = %s", (b["tenant_id"],))
    }
    a_correlations = {e["correlation_id"] for e in events}
    assert not (a_correlations & b_correlations)
    assert client.get("/api/auth/user").json()["tenant_id"] == two_tenants["a"]["tenant_id"]


def test_platform_views_of_a_tenant_need_the_platform_role(atlas, two_tenants):
    response = two_tenants["a_session"].get(f"/api/platform/tenants/{two_tenants['b']['tenant_id']}")
    assert response.status_code == 403


def test_app_role_without_a_tenant_sees_no_rows(atlas, two_tenants):
    for table in (
        "tenants",
        "users",
        "invitations",
        "api_tokens",
        "web_sessions",
        "audit_events",
        "audit_chain_heads",
        "subscriptions",
    ):
        assert atlas.as_app_role(f"SELECT count(*) FROM {table}") == [(0,)], table
        assert atlas.sql(f"SELECT count(*) FROM {table}")[0][0] > 0, table


def test_app_role_with_a_tenant_sees_only_that_tenant(atlas, two_tenants):
    a = two_tenants["a"]["tenant_id"]
    rows = atlas.as_app_role("SELECT DISTINCT tenant_id::text FROM users", tenant_id=a)
    assert rows == [(a,)]
    with pytest.raises(Exception, match="row-level security"):
        atlas.as_app_role(
            "INSERT INTO invitations (id, tenant_id, email, role, invited_by, created_at, expires_at) "
            "VALUES (gen_random_uuid(), %s, 'x@y.sa', 'viewer', 'test', now(), now())",
            (two_tenants["b"]["tenant_id"],),
            tenant_id=a,
        )


def test_the_app_role_cannot_bypass_rls(atlas):
    rows = atlas.sql("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = 'atlas_app'")
    assert rows == [(False, False)]


def test_every_table_with_a_tenant_id_has_forced_rls(atlas):
    rows = atlas.sql(
        """
        SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind = 'r'
          AND (EXISTS (SELECT 1 FROM information_schema.columns col
                       WHERE col.table_name = c.relname AND col.column_name = 'tenant_id')
               OR c.relname = 'tenants')
        """
    )
    assert rows, "no tenant-owned tables found"
    assert [r[0] for r in rows if not (r[1] and r[2])] == []


def test_every_tenant_owned_model_uses_the_mixin():
    from atlas.db.base import Base, TenantOwned

    for mapper in Base.registry.mappers:
        cls = mapper.class_
        if "tenant_id" in mapper.columns:
            assert issubclass(cls, TenantOwned), cls


def test_every_view_with_a_tenant_id_reads_with_the_readers_rls(atlas):
    """A view runs with its owner's rights unless it is security_invoker: stock_balances (the sum of the balance
    parts) must read the parts under the reader's row-level security, or it would show every tenant's stock."""
    rows = atlas.sql(
        """
        SELECT c.relname, coalesce('security_invoker=true' = ANY (c.reloptions), false)
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind = 'v'
          AND EXISTS (SELECT 1 FROM information_schema.columns col
                      WHERE col.table_name = c.relname AND col.column_name = 'tenant_id')
        """
    )
    assert ("stock_balances", True) in rows
    assert [name for name, invoker in rows if not invoker] == []


def test_a_tenant_sees_only_its_own_balances_through_the_view(atlas):
    import uuid

    tenants = [uuid.uuid4(), uuid.uuid4()]
    for tenant in tenants:
        atlas.sql("INSERT INTO tenants (id, name, created_at) VALUES (%s, 'View tenant', now())", (tenant,))
        atlas.sql(
            "INSERT INTO stock_balance_parts (tenant_id, connector_id, endpoint_key, source_id, item_id, location_id, "
            "quantity, reserved_qty, available_qty) VALUES (%s, %s, 'stock', '1', %s, %s, 5, 0, 5)",
            (tenant, uuid.uuid4(), uuid.uuid4(), uuid.uuid4()),
        )
    mine = atlas.as_app_role("SELECT tenant_id, quantity FROM stock_balances", tenant_id=tenants[0])
    assert [(row[0], int(row[1])) for row in mine] == [(tenants[0], 5)]
    assert atlas.as_app_role("SELECT count(*) FROM stock_balances") == [(0,)]  # no tenant set: nothing
