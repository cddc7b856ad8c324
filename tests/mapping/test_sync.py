"""Syncs end to end: the demo ERP through the connector engine, mappings and Temporal into PostgreSQL."""

from __future__ import annotations

import copy
import threading
import time
from typing import Any

import pytest

from atlas.mapping.demo_setup import DEMO_MAPPINGS, demo_connector_body


def wait_for_run(client: Any, connector_id: str, run_id: str, timeout: float = 180) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = client.get(f"/api/syncs/{run_id}").json()
        if run["status"] in ("succeeded", "needs_attention", "failed"):
            return run
        time.sleep(0.3)
    raise AssertionError(f"sync {run_id} did not finish: {client.get(f'/api/syncs/{run_id}').json()}")


def setup_connector(admin: Any, base_url: str, mappings: dict[str, Any] | None = None, **overrides: Any) -> str:
    body = demo_connector_body(base_url)
    body.update(overrides)
    connector = admin.post("/api/connectors", json=body)
    assert connector.status_code == 201, connector.text
    connector_id = connector.json()["id"]
    for key, spec in (DEMO_MAPPINGS if mappings is None else mappings).items():
        response = admin.post(
            "/api/mappings", json={"connector_id": connector_id, "endpoint_key": key, "spec": spec, "note": "first"}
        )
        assert response.status_code == 201, response.text
    return connector_id


def sync(admin: Any, connector_id: str) -> dict[str, Any]:
    started = admin.post(f"/api/connectors/{connector_id}/sync")
    assert started.status_code == 202, started.text
    return wait_for_run(admin, connector_id, started.json()["id"])


@pytest.fixture(scope="module")
def synced(stack, demo_erp_url):
    admin, me = stack.atlas.new_tenant()
    connector_id = setup_connector(admin, demo_erp_url)
    first = sync(admin, connector_id)
    return admin, me, connector_id, first


def expected_dataset(as_of_offset: int = 1) -> Any:
    from atlas.connectors.demo_erp.data import Catalogue, dataset
    from tests.conftest import demo_erp_as_of

    return dataset(Catalogue.DEMO, demo_erp_as_of(as_of_offset))


def test_a_sync_lands_every_record_and_every_scenario_item(synced, stack):
    admin, me, connector_id, run = synced
    assert run["status"] == "succeeded", run
    data = expected_dataset()
    stats = run["stats"]
    assert stats["items"]["inserted"] == len(data.items) == 100
    assert stats["locations"]["inserted"] == len(data.locations)
    assert stats["stock_balances"]["inserted"] == len(data.balances)
    assert stats["stock_movements"]["inserted"] == len(data.movements)
    assert all(s["quarantined"] == 0 for s in stats.values())
    tenant = me["tenant_id"]
    db = stack.atlas
    assert db.sql("SELECT count(*) FROM stock_movements WHERE tenant_id = %s", (tenant,)) == [(len(data.movements),)]
    skus = {r[0] for r in db.sql("SELECT sku FROM items WHERE tenant_id = %s", (tenant,))}
    for number in [*range(1, 16), *range(61, 66)]:
        assert f"SKU-{number:04d}" in skus
    # Balances agree with the source, and quantities are exact decimals.
    source = {(b.sku, b.warehouse_id): b.on_hand for b in data.balances}
    rows = db.sql(
        """SELECT i.sku, l.external_id, b.quantity FROM stock_balances b JOIN items i ON i.id = b.item_id
                     JOIN locations l ON l.id = b.location_id WHERE b.tenant_id = %s""",
        (tenant,),
    )
    assert {(sku, loc): int(q) for sku, loc, q in rows} == source
    # Movement signs follow the direction.
    sales = db.sql(
        "SELECT count(*) FROM stock_movements WHERE tenant_id = %s AND kind = 'sale' AND quantity >= 0", (tenant,)
    )
    assert sales == [(0,)]
    events = db.sql(
        "SELECT payload FROM audit_events WHERE tenant_id = %s AND event_type = 'signal_received'", (tenant,)
    )
    assert sorted(e[0]["resource"] for e in events) == [
        "items",
        "locations",
        "open_orders",
        "stock_balances",
        "stock_movements",
    ]
    assert run["mapping_versions"]["items"]["version"] == 1


def test_running_it_again_changes_nothing(synced, stack):
    admin, me, connector_id, first = synced
    before = stack.atlas.sql("SELECT count(*) FROM stock_movements WHERE tenant_id = %s", (me["tenant_id"],))
    again = sync(admin, connector_id)
    assert again["status"] == "succeeded"
    for resource, numbers in again["stats"].items():
        assert numbers["inserted"] == 0 and numbers["updated"] == 0, (resource, numbers)
    assert again["stats"]["items"]["unchanged"] == 100
    assert stack.atlas.sql("SELECT count(*) FROM stock_movements WHERE tenant_id = %s", (me["tenant_id"],)) == before


def test_one_run_per_connector_at_a_time(synced, stack):
    admin, _, connector_id, _ = synced
    first = admin.post(f"/api/connectors/{connector_id}/sync")
    second = admin.post(f"/api/connectors/{connector_id}/sync")
    assert first.status_code == 202
    assert second.status_code == 409 and second.json()["code"] == "errors.sync_already_running"
    wait_for_run(admin, connector_id, first.json()["id"])
    runs = admin.get(f"/api/connectors/{connector_id}/syncs").json()
    assert runs[0]["id"] == first.json()["id"] and runs[0]["progress"]["movements"]["state"] == "done"


def test_bad_records_are_quarantined_then_reprocessed_after_a_fix(stack, demo_erp_url):
    admin, me = stack.atlas.new_tenant()
    broken = copy.deepcopy(DEMO_MAPPINGS)
    table = dict(broken["movements"]["fields"]["kind"]["transforms"][0]["table"])
    del table["ADJUSTMENT"]
    broken["movements"]["fields"]["kind"]["transforms"][0]["table"] = table
    connector_id = setup_connector(admin, demo_erp_url, broken)
    run = sync(admin, connector_id)
    data = expected_dataset()
    adjustments = sum(1 for m in data.movements if m.type == "ADJUSTMENT")
    assert adjustments > 0
    read = sum(n["read"] for n in run["stats"].values())
    assert adjustments / read <= 0.05  # within the connector's default share: succeeded, and says what it set aside
    assert run["status"] == "succeeded"
    assert run["stats"]["stock_movements"]["quarantined"] == adjustments
    assert run["stats"]["stock_movements"]["inserted"] == len(data.movements) - adjustments
    assert run["summary"]["set_aside"] == adjustments
    assert run["summary"]["reasons"] == {"not_in_lookup": adjustments}
    english = admin.get(f"/api/syncs/{run['id']}", headers={"Accept-Language": "en"}).json()["summary"]["text"]
    written = sum(n["written"] for n in run["stats"].values())
    assert english == f"{written:,} written, {adjustments:,} set aside (Value not in the lookup table: {adjustments:,})"
    listed = admin.get("/api/quarantine", params={"connector_id": connector_id}).json()
    assert listed["total"] == adjustments
    sample = listed["items"][0]
    assert sample["raw"]["type"] == "ADJUSTMENT" and sample["errors"][0]["code"] == "not_in_lookup"
    # Re-processed before any fix: every record still fails, and that run says so (not a clean success).
    unfixed = admin.post("/api/quarantine/reprocess", json={"connector_id": connector_id}).json()
    assert unfixed["reprocessed"] == 0 and unfixed["still_failing"] == adjustments
    rerun = admin.get(f"/api/syncs/{unfixed['sync_run_id']}").json()
    assert rerun["stats"]["stock_movements"]["quarantined"] == adjustments
    assert rerun["summary"]["set_aside"] == adjustments
    mapping = next(
        m
        for m in admin.get("/api/mappings", params={"connector_id": connector_id}).json()
        if m["endpoint_key"] == "movements"
    )
    fixed = admin.post(
        f"/api/mappings/{mapping['id']}/versions", json={"spec": DEMO_MAPPINGS["movements"], "note": "map adjustments"}
    )
    assert fixed.status_code == 201 and fixed.json()["active_version"] == 2
    result = admin.post("/api/quarantine/reprocess", json={"connector_id": connector_id}).json()
    assert result == {
        "sync_run_id": result["sync_run_id"],
        "reprocessed": adjustments,
        "still_failing": 0,
        "skipped": 0,
    }
    assert stack.atlas.sql("SELECT count(*) FROM stock_movements WHERE tenant_id = %s", (me["tenant_id"],)) == [
        (len(data.movements),)
    ]
    assert admin.get("/api/quarantine", params={"connector_id": connector_id}).json()["total"] == 0


def test_versions_rollback_and_diff(stack, demo_erp_url):
    admin, _ = stack.atlas.new_tenant()
    connector_id = setup_connector(admin, demo_erp_url, {"items": DEMO_MAPPINGS["items"]})
    mapping = admin.get("/api/mappings", params={"connector_id": connector_id}).json()[0]
    changed = copy.deepcopy(DEMO_MAPPINGS["items"])
    changed["fields"]["name"] = {"path": "$.description.ar"}
    v2 = admin.post(f"/api/mappings/{mapping['id']}/versions", json={"spec": changed, "note": "Arabic names"})
    assert v2.json()["active_version"] == 2
    diff = admin.get(f"/api/mappings/{mapping['id']}/diff", params={"left": 1, "right": 2}).json()
    assert [d["field"] for d in diff if d["change"] != "same"] == ["name"]
    rolled = admin.post(f"/api/mappings/{mapping['id']}/activate/1")
    assert rolled.status_code == 200 and rolled.json()["active_version"] == 1
    versions = admin.get(f"/api/mappings/{mapping['id']}").json()["versions"]
    assert [(v["version"], v["active"], v["note"]) for v in versions] == [
        (2, False, "Arabic names"),
        (1, True, "first"),
    ]
    assert admin.post(f"/api/mappings/{mapping['id']}/activate/9").status_code == 404
    # A change saved after the rollback is audited against what was active (version 1), not the latest version.
    units = copy.deepcopy(DEMO_MAPPINGS["items"])
    units["fields"]["unit_of_measure"] = {"path": "$.uom", "default": "pcs"}
    v3 = admin.post(f"/api/mappings/{mapping['id']}/versions", json={"spec": units, "note": "units"})
    assert v3.status_code == 201 and v3.json()["active_version"] == 3
    saved = stack.atlas.sql(
        "SELECT payload FROM audit_events WHERE event_type = 'mapping_version_saved' AND payload->>'mapping_id' = %s",
        (mapping["id"],),
    )
    assert next(p for (p,) in saved if p["version"] == 3)["changes"] == ["unit_of_measure"]
    bad = admin.post(f"/api/mappings/{mapping['id']}/versions", json={"spec": {"fields": {"sku": {"path": "$.x"}}}})
    assert bad.status_code == 422 and bad.json()["field"] == "fields.name"
    # Versions are immutable in the database itself.
    import psycopg

    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        stack.atlas.sql("UPDATE mapping_versions SET note = 'changed'")


def test_preview_maps_a_live_sample_without_saving(stack, demo_erp_url):
    admin, me = stack.atlas.new_tenant()
    connector_id = setup_connector(admin, demo_erp_url, {})
    draft = copy.deepcopy(DEMO_MAPPINGS["items"])
    draft["fields"]["unit_cost"] = {"path": "$.cost.currency", "transforms": [{"op": "to_number"}]}
    preview = admin.post(
        "/api/mappings/preview", json={"connector_id": connector_id, "endpoint_key": "items", "spec": draft, "limit": 5}
    )
    assert preview.status_code == 200, preview.text
    body = preview.json()
    assert body["record_count"] == 100 and len(body["records"]) == 5 and body["failed"] == 5
    assert body["records"][0]["errors"] == [{"field": "unit_cost", "code": "not_a_number", "detail": "SAR"}]
    good = admin.post(
        "/api/mappings/preview",
        json={"connector_id": connector_id, "endpoint_key": "items", "spec": DEMO_MAPPINGS["items"], "limit": 3},
    ).json()
    assert good["mapped"] == 3 and good["records"][0]["values"]["sku"] == "SKU-0001"
    assert stack.atlas.sql("SELECT count(*) FROM items WHERE tenant_id = %s", (me["tenant_id"],)) == [(0,)]
    assert admin.get("/api/mappings").json() == []


def test_inventory_browser(synced):
    admin, _, _, _ = synced
    items = admin.get("/api/inventory/items", params={"q": "SKU-000", "limit": 5}).json()
    assert items["total"] == 9 and len(items["items"]) == 5 and items["categories"]
    water = admin.get("/api/inventory/items", params={"q": "water"}).json()
    assert water["total"] >= 1
    item_id = items["items"][0]["id"]
    balances = admin.get("/api/inventory/balances", params={"item_id": item_id}).json()
    assert balances["total"] >= 1 and balances["items"][0]["sku"] == "SKU-0001"
    moves = admin.get("/api/inventory/movements", params={"item_id": item_id, "kind": "sale", "limit": 3}).json()
    assert moves["total"] > 3 and all(m["kind"] == "sale" and float(m["quantity"]) < 0 for m in moves["items"])
    assert admin.get("/api/inventory/locations").json()["total"] == 4
    assert admin.get("/api/inventory/movements", params={"since": "soon"}).status_code == 422


def test_other_tenants_and_roles_on_mapping_and_sync_routes(synced, stack):
    admin_a, _, connector_id, run = synced
    admin_b, _ = stack.atlas.new_tenant()
    mapping_id = admin_a.get("/api/mappings").json()[0]["id"]
    for method, path in [
        ("GET", f"/api/mappings/{mapping_id}"),
        ("POST", f"/api/mappings/{mapping_id}/activate/1"),
        ("GET", f"/api/syncs/{run['id']}"),
        ("GET", f"/api/connectors/{connector_id}/syncs"),
        ("POST", f"/api/connectors/{connector_id}/sync"),
    ]:
        assert admin_b.request(method, path).status_code == 404, path
    assert admin_b.get("/api/inventory/items").json()["total"] == 0
    assert admin_b.get("/api/quarantine").json()["total"] == 0
    viewer = stack.atlas.token_client(admin_a, "viewer")
    assert viewer.get("/api/inventory/items").status_code == 200
    assert viewer.post(f"/api/connectors/{connector_id}/sync").status_code == 403
    assert viewer.post(f"/api/mappings/{mapping_id}/activate/1").status_code == 403


def test_a_worker_killed_mid_sync_finishes_the_run_exactly_after_restart(stack, demo_erp_url):
    """Kill the worker while movements are being written, start it again: exact counts, no duplicates."""
    from atlas.connectors.demo_erp.app import create_app
    from tests.services import asgi_server

    inner = create_app(as_of=expected_dataset().as_of)
    # Slow until the worker is killed, at full speed after: the slowness is only there to catch the worker
    # mid-endpoint; the restarted worker's rest of the read (tens of pages) need not wait a quarter second a page.
    slow = threading.Event()
    slow.set()

    async def slow_movements(scope: Any, receive: Any, send: Any) -> None:
        if slow.is_set() and scope["type"] == "http" and scope["path"].endswith("/movements"):
            import asyncio

            await asyncio.sleep(0.25)  # a slow ERP: time enough to kill the worker mid-endpoint
        await inner(scope, receive, send)

    admin, me = stack.atlas.new_tenant()
    with asgi_server(slow_movements) as slow_url:
        body_overrides = {"name": "Slow ERP"}
        connector_id = setup_connector(admin, slow_url, **body_overrides)
        started = admin.post(f"/api/connectors/{connector_id}/sync").json()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            run = admin.get(f"/api/syncs/{started['id']}").json()
            if run["progress"].get("movements", {}).get("records", 0) > 0:
                break
            time.sleep(0.05)
        else:
            raise AssertionError("the sync never reached the movements")
        stack.worker.kill()
        slow.clear()
        killed_at = admin.get(f"/api/syncs/{started['id']}").json()
        assert killed_at["status"] == "running"
        time.sleep(1)
        stack.worker.start()
        run = wait_for_run(admin, connector_id, started["id"], timeout=240)
    data = expected_dataset()
    assert run["status"] == "succeeded", run
    assert run["stats"]["stock_movements"]["inserted"] == len(data.movements)
    assert run["stats"]["stock_movements"]["updated"] == 0
    assert run["stats"]["items"]["inserted"] == 100
    rows = stack.atlas.sql(
        "SELECT count(*), count(DISTINCT external_id) FROM stock_movements WHERE tenant_id = %s", (me["tenant_id"],)
    )
    assert rows == [(len(data.movements), len(data.movements))]


def test_per_connector_schedule_runs_syncs_and_can_be_turned_off(stack, demo_erp_url, temporal_address):
    import asyncio

    from temporalio.client import Client
    from temporalio.service import RPCError

    admin, _ = stack.atlas.new_tenant()
    connector_id = setup_connector(admin, demo_erp_url)
    assert admin.patch(f"/api/connectors/{connector_id}", json={"sync_interval_minutes": 3}).status_code == 422
    response = admin.patch(f"/api/connectors/{connector_id}", json={"sync_interval_minutes": 60})
    assert response.status_code == 200 and response.json()["sync_interval_minutes"] == 60

    async def describe_and_trigger() -> float:
        client = await Client.connect(temporal_address)
        handle = client.get_schedule_handle(f"sync-schedule-{connector_id}")
        description = await handle.describe()
        await handle.trigger()
        return description.schedule.spec.intervals[0].every.total_seconds()

    assert asyncio.run(describe_and_trigger()) == 3600
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        runs = admin.get(f"/api/connectors/{connector_id}/syncs").json()
        if runs and runs[0]["status"] in ("succeeded", "failed"):
            break
        time.sleep(0.5)
    assert runs[0]["trigger"] == "scheduled" and runs[0]["status"] == "succeeded", runs[0]
    assert (
        admin.patch(f"/api/connectors/{connector_id}", json={"sync_interval_minutes": 0}).json()[
            "sync_interval_minutes"
        ]
        is None
    )

    async def gone() -> bool:
        client = await Client.connect(temporal_address)
        try:
            await client.get_schedule_handle(f"sync-schedule-{connector_id}").describe()
        except RPCError:
            return True
        return False

    assert asyncio.run(gone())


def test_a_run_that_lost_its_workflow_does_not_block_the_connector(stack, demo_erp_url):
    admin, me = stack.atlas.new_tenant()
    connector_id = setup_connector(admin, demo_erp_url, {"items": DEMO_MAPPINGS["items"]})
    stack.atlas.sql(
        "INSERT INTO sync_runs (id, tenant_id, connector_id, status, trigger, requested_by, started_at, "
        "mapping_versions, stats, progress) VALUES (gen_random_uuid(), %s, %s, 'running', 'manual', 'test', "
        "now() - interval '8 hours', '{}', '{}', '{}')",
        (me["tenant_id"], connector_id),
    )
    run = sync(admin, connector_id)
    assert run["status"] == "succeeded"
    stale = stack.atlas.sql(
        "SELECT status, error->>'reason' FROM sync_runs WHERE connector_id = %s AND requested_by = 'test'",
        (connector_id,),
    )
    assert stale == [("failed", "stale")]


def test_a_run_that_sets_aside_more_than_its_share_needs_attention_and_says_why(stack, demo_erp_url):
    """Sales are not in the kind lookup: most movements are set aside. The run writes what it could, ends
    needs_attention (not succeeded), names the share, the limit and the reason, and starts no analysis."""
    admin, me = stack.atlas.new_tenant()
    broken = copy.deepcopy(DEMO_MAPPINGS)
    table = dict(broken["movements"]["fields"]["kind"]["transforms"][0]["table"])
    del table["SALE"]
    broken["movements"]["fields"]["kind"]["transforms"][0]["table"] = table
    connector_id = setup_connector(admin, demo_erp_url, broken)
    run = sync(admin, connector_id)
    data = expected_dataset()
    sales = sum(1 for m in data.movements if m.type == "SALE")
    read = sum(n["read"] for n in run["stats"].values())
    assert run["status"] == "needs_attention", run
    assert run["stats"]["stock_movements"]["quarantined"] == sales
    assert run["stats"]["stock_movements"]["written"] == len(data.movements) - sales
    [cause] = run["attention"]
    assert cause["reason"] == "set_aside_share"
    assert (cause["set_aside"], cause["read"], cause["limit"]) == (sales, read, 0.05)
    assert cause["reasons"] == {"not_in_lookup": sales}
    english = admin.get(f"/api/syncs/{run['id']}", headers={"Accept-Language": "en"}).json()["summary"]
    assert english["attention"][0].startswith(f"{sales:,} of {read:,} records read were set aside (")
    assert "more than this connector allows (5%)" in english["attention"][0]
    time.sleep(2)  # an analysis would have been started as the run finished
    assert stack.atlas.sql("SELECT count(*) FROM analysis_runs WHERE sync_run_id = %s", (run["id"],)) == [(0,)]
    # Raising the connector's limit makes the same data a success.
    assert admin.patch(f"/api/connectors/{connector_id}", json={"max_set_aside_share": 0.9}).status_code == 200
    assert sync(admin, connector_id)["status"] == "succeeded"


def test_a_record_set_aside_again_by_a_later_sync_is_counted_once(stack, demo_erp_url):
    """A full read meets the same bad records on every run: the newest copy stays open, the earlier ones are
    superseded by it, so the open quarantine counts each failing source record once."""
    admin, me = stack.atlas.new_tenant()
    broken = copy.deepcopy(DEMO_MAPPINGS)
    # Balances without a quantity are set aside: the stock endpoint is read in full, so every sync meets them again.
    broken["stock"]["fields"]["quantity"] = {"path": "$.no_such_field"}
    connector_id = setup_connector(admin, demo_erp_url, broken, max_set_aside_share=1.0)
    first = sync(admin, connector_id)
    opened = admin.get("/api/quarantine", params={"connector_id": connector_id}).json()["total"]
    assert opened == sum(n["quarantined"] for n in first["stats"].values()) > 0
    second = sync(admin, connector_id)
    again = sum(n["quarantined"] for n in second["stats"].values())
    assert again >= first["stats"]["stock_balances"]["quarantined"] > 0  # every balance row, read in full, again
    rows = stack.atlas.sql(
        "SELECT endpoint_key, content_hash, status, sync_run_id::text, resolved_run_id::text "
        "FROM quarantined_records WHERE tenant_id = %s",
        (me["tenant_id"],),
    )
    distinct = {(endpoint, digest) for endpoint, digest, *_ in rows}
    still_open = [r for r in rows if r[2] == "open"]
    superseded = [r for r in rows if r[2] == "superseded"]
    assert (
        len(still_open)
        == len(distinct)
        == admin.get("/api/quarantine", params={"connector_id": connector_id}).json()["total"]
    )
    assert len(superseded) == len(rows) - len(distinct) > 0
    assert all(r[3] == first["id"] and r[4] == second["id"] for r in superseded)
    assert all(r[3] == second["id"] for r in still_open if (r[0], r[1]) in {(s[0], s[1]) for s in superseded})
