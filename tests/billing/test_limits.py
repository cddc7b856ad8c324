"""Plan limits where they bite: creating a connector, and a sync adding items (over-limit new items are
quarantined with a reason naming the limit and the plan that lifts it; re-processable after an upgrade)."""

from __future__ import annotations

import uuid

from atlas.mapping.demo_setup import demo_connector_body
from tests.mapping.test_sync import setup_connector, sync
from tests.services import html_page


def set_plan(atlas, tenant_id: str, plan: str) -> None:
    atlas.sql("UPDATE subscriptions SET plan_id = %s WHERE tenant_id = %s", (plan, tenant_id))


def connector_body(name: str) -> dict:
    return {**demo_connector_body("http://127.0.0.1:9"), "name": name, "sync_interval_minutes": None}


def test_connector_limit_names_the_limit_and_the_plan_that_lifts_it(atlas):
    admin, me = atlas.new_tenant()
    set_plan(atlas, me["tenant_id"], "basic")
    first = admin.post("/api/connectors", json=connector_body("first"))
    assert first.status_code == 201, first.text
    second = admin.post("/api/connectors", json=connector_body("second"), headers={"Accept-Language": "en"})
    assert second.status_code == 402
    problem = second.json()
    assert problem["type"] == "urn:atlas:problem:plan-limit-reached"
    assert problem["limit"] == "max_connectors" and problem["max"] == 1
    assert problem["plan"] == "basic" and problem["upgrade_to"] == "professional"
    assert "at most 1 connector" in problem["detail"] and "professional" in problem["detail"]
    arabic = admin.post("/api/connectors", json=connector_body("second"), headers={"Accept-Language": "ar"})
    assert "موصل" in arabic.json()["detail"]
    # nothing stored is lost; the upgrade lifts the limit
    assert [c["name"] for c in admin.get("/api/connectors").json()] == ["first"]
    set_plan(atlas, me["tenant_id"], "professional")
    assert admin.post("/api/connectors", json=connector_body("second")).status_code == 201
    # enterprise is unlimited
    set_plan(atlas, me["tenant_id"], "enterprise")
    for index in range(5):
        assert admin.post("/api/connectors", json=connector_body(f"more-{index}")).status_code == 201


def test_connector_limit_of_another_tenant_is_its_own(atlas):
    admin, me = atlas.new_tenant()
    other, other_me = atlas.new_tenant()
    set_plan(atlas, me["tenant_id"], "basic")
    set_plan(atlas, other_me["tenant_id"], "basic")
    assert admin.post("/api/connectors", json=connector_body("mine")).status_code == 201
    assert other.post("/api/connectors", json=connector_body("theirs")).status_code == 201


def test_records_limit_quarantines_new_items_and_an_upgrade_brings_them_in(stack, demo_erp_url):
    atlas = stack.atlas
    admin, me = atlas.new_tenant()
    tenant = me["tenant_id"]
    set_plan(atlas, tenant, "basic")
    original = atlas.sql("SELECT features FROM subscription_plans WHERE id = 'basic'")[0][0]
    atlas.sql("UPDATE subscription_plans SET features = jsonb_set(features, '{max_records}', '40') WHERE id = 'basic'")
    try:
        connector_id = setup_connector(admin, demo_erp_url)
        run = sync(admin, connector_id)
        # 60 of 100 items are over the limit, and the balances and movements of those items with them: far more
        # than a run may set aside and still call itself a success. It says so, and why.
        assert run["status"] == "needs_attention", run
        [cause] = run["attention"]
        assert cause["reason"] == "set_aside_share" and cause["reasons"]["plan_limit_records"] == 60
        assert run["stats"]["items"]["inserted"] == 40
        assert run["stats"]["items"]["quarantined"] == 60
        assert atlas.sql("SELECT count(*) FROM items WHERE tenant_id = %s", (tenant,)) == [(40,)]
        rows = admin.get("/api/quarantine", params={"connector_id": connector_id, "endpoint_key": "items"}).json()
        assert rows["total"] == 60
        error = rows["items"][0]["errors"][0]
        assert error["code"] == "plan_limit_records"
        assert error["params"] == {"limit": 40, "plan": "basic", "upgrade_plan": "professional"}
        page = html_page(
            admin,
            "/app/quarantine",
            params={"connector_id": connector_id, "endpoint_key": "items"},
            cookies={"atlas_lang": "en"},
        )
        assert "records limit (40 on the basic plan); upgrade to professional" in page.text

        # a second sync keeps the 40 up to date and adds none
        again = sync(admin, connector_id)
        assert again["stats"]["items"]["inserted"] == 0
        assert again["stats"]["items"]["unchanged"] + again["stats"]["items"]["updated"] == 40
        assert atlas.sql("SELECT count(*) FROM items WHERE tenant_id = %s", (tenant,)) == [(40,)]

        # after an upgrade, re-processing brings every quarantined item in; nothing was lost
        set_plan(atlas, tenant, "professional")
        done = admin.post("/api/quarantine/reprocess", json={"connector_id": connector_id})
        assert done.status_code == 200, done.text
        assert atlas.sql("SELECT count(*) FROM items WHERE tenant_id = %s", (tenant,)) == [(100,)]
        open_items = admin.get(
            "/api/quarantine", params={"connector_id": connector_id, "endpoint_key": "items", "status": "open"}
        ).json()
        assert open_items["total"] == 0
    finally:
        atlas.sql("UPDATE subscription_plans SET features = %s WHERE id = 'basic'", (psycopg_json(original),))


def psycopg_json(value):
    from psycopg.types.json import Jsonb

    return Jsonb(value)


def test_scheduled_work_is_skipped_for_a_tenant_without_access(stack, demo_erp_url):
    """The sync activity refuses to run (and says why) once the subscription has ended."""
    import asyncio

    from atlas.config import Settings
    from atlas.db.engine import Database
    from atlas.mapping import sync as sync_service
    from atlas.platform.audit import Actor

    atlas = stack.atlas
    admin, me = atlas.new_tenant()
    connector_id = setup_connector(admin, demo_erp_url)
    atlas.sql("UPDATE subscriptions SET status = 'expired' WHERE tenant_id = %s", (me["tenant_id"],))

    async def plan():
        settings = Settings(DATABASE_URL=atlas.database_url)
        database = Database(settings.database_url, app_role=settings.db_app_role, pool_size=1)
        try:
            async with database.tenant_session(uuid.UUID(me["tenant_id"])) as session:
                return await sync_service.begin_run(
                    session,
                    uuid.UUID(connector_id),
                    None,
                    trigger="scheduled",
                    actor=Actor("system"),
                    correlation_id="t",
                )
        finally:
            await database.dispose()

    result = asyncio.run(plan())
    assert result.skipped_reason == "subscription_expired"
    assert result.endpoints == []
    assert atlas.sql("SELECT count(*) FROM sync_runs WHERE connector_id = %s", (connector_id,)) == [(0,)]
