"""The AI engine end to end on the demo ERP's data: the SPEC 12 scenarios, deduplication, tenants and roles."""

from __future__ import annotations

import uuid

import pytest

from tests.execution_lock.seed import run
from tests.mapping.test_sync import setup_connector, sync
from tests.services import wait_until


@pytest.fixture(scope="module")
def analysed(stack, demo_erp_url):
    admin, me = stack.atlas.new_tenant()
    connector_id = setup_connector(admin, demo_erp_url)
    run = sync(admin, connector_id)
    assert run["status"] == "succeeded"
    # The sync starts an analysis of its own on the worker; let it finish first, so this module's analyses (this one
    # and the second run below) are not interleaved with it
    wait_until(
        lambda: (
            stack.atlas.sql(
                "SELECT count(*) FROM analysis_runs WHERE tenant_id = %s AND trigger = 'sync' AND status <> 'running'",
                (me["tenant_id"],),
            )[0][0]
            >= 1
        ),
        timeout=180,
        what="the analysis the sync started",
    )
    response = admin.post("/api/recommendations")
    assert response.status_code == 200, response.text
    return admin, me, response.json()


def skus(items, type_, anomaly=None):
    return {
        r["sku"]
        for r in items
        if r["type"] == type_ and (anomaly is None or r["evidence"]["figures"].get("anomaly") == anomaly)
    }


def numbered(values, numbers):
    return {f"SKU-{n:04d}" for n in numbers} & values


def test_the_demo_scenarios_are_found(analysed):
    admin, me, outcome = analysed
    recs = admin.get("/api/recommendations", params={"limit": 500}).json()["items"]
    reorder = skus(recs, "reorder")
    spikes = skus(recs, "investigate", "demand_spike")
    large = skus(recs, "investigate", "large_transaction")
    write_off = skus(recs, "write_off")
    report = {
        "reorder": sorted(reorder),
        "spike": sorted(spikes),
        "large": sorted(large),
        "write_off": sorted(write_off),
        "stats": outcome["by_type"],
    }
    assert numbered(reorder, range(1, 6)) == {f"SKU-{n:04d}" for n in range(1, 6)}, report
    assert numbered(spikes, range(6, 11)) == {f"SKU-{n:04d}" for n in range(6, 11)}, report
    assert numbered(large, range(11, 16)) == {f"SKU-{n:04d}" for n in range(11, 16)}, report
    assert numbered(write_off, range(61, 66)) == {f"SKU-{n:04d}" for n in range(61, 66)}, report
    scenario = {f"SKU-{n:04d}" for n in [*range(1, 16), *range(61, 66)]}
    normal = [r for r in recs if r["sku"] not in scenario]
    # Few of the 80 normal items get any recommendation. (Counted per item: a short item gets a reorder and, when
    # another location has stock to spare, a transfer for the same need; the policy reorders whenever the
    # position is below the reorder point, also at a low stockout risk.)
    assert len({r["sku"] for r in normal}) <= 0.25 * 80, report


def test_recommendations_carry_explanations_evidence_and_audit(analysed, stack):
    admin, me, _ = analysed
    recs = admin.get("/api/recommendations", params={"type": "reorder", "limit": 500}).json()["items"]
    first = next(r for r in recs if r["sku"] == "SKU-0001")
    assert 0 <= first["confidence_score"] <= 1 and first["confidence_score"] > 0.5
    assert {"stock_level", "lead_time"} <= set(first["signals_used"])
    assert "reorder point" in first["explanation_en"] and "نقطة إعادة الطلب" in first["explanation_ar"]
    assert "safety stock" in first["explanation_en"] and "مخزون أمان" in first["explanation_ar"]
    assert len(first["evidence"]["history"]) == 30 and len(first["evidence"]["forecast"]) == 14
    detail = admin.get(f"/api/recommendations/{first['id']}").json()
    assert detail["id"] == first["id"] and detail["location_code"]
    events = stack.atlas.sql(
        "SELECT count(*) FROM audit_events WHERE tenant_id = %s AND event_type = 'decision_generated'",
        (me["tenant_id"],),
    )
    created = stack.atlas.sql("SELECT count(*) FROM recommendations WHERE tenant_id = %s", (me["tenant_id"],))
    assert events == created


def test_a_second_run_updates_instead_of_duplicating(analysed, stack):
    admin, me, first = analysed
    db = stack.atlas
    pending = admin.get("/api/recommendations", params={"limit": 1}).json()["total"]
    # The same data again: every recommendation is refreshed in place, none is a new revision (votes keep counting).
    second = admin.post("/api/recommendations").json()
    assert (second["new"], second["updated"], second["refreshed"], second["retired"]) == (0, 0, pending, 0)
    rows = db.sql(
        "SELECT key, count(*) FROM recommendations WHERE tenant_id = %s AND status = 'pending' "
        "GROUP BY key HAVING count(*) > 1",
        (me["tenant_id"],),
    )
    assert rows == []
    assert db.sql(
        "SELECT count(*) FROM recommendations WHERE tenant_id = %s AND update_count > 0", (me["tenant_id"],)
    ) == [(0,)]

    # New stock figures change what one reorder asks for: that one, and only what changed, is a new revision.
    ((rec_id, item_id, location_id, quantity),) = db.sql(
        """SELECT id, item_id, location_id, quantity FROM recommendations
            WHERE tenant_id = %s AND status = 'pending' AND type = 'reorder' ORDER BY quantity DESC LIMIT 1""",
        (me["tenant_id"],),
    )
    db.sql(
        # One part of the balance (the balance is the sum of its parts).
        "UPDATE stock_balance_parts SET available_qty = available_qty - 5 WHERE ctid = "
        "(SELECT ctid FROM stock_balance_parts WHERE item_id = %s AND location_id = %s LIMIT 1)",
        (item_id, location_id),
    )
    third = admin.post("/api/recommendations").json()
    assert third["updated"] >= 1 and third["refreshed"] >= pending - 5, third
    ((count, after),) = db.sql("SELECT update_count, quantity FROM recommendations WHERE id = %s", (rec_id,))
    assert count == 1 and after > quantity


async def _engine_forecast(database, tenant_id):
    """What the engine forecasts for the tenant's data now, computed in-process as the analysis does."""
    from atlas.ai_engine.analysis import analyse_matrix
    from atlas.ai_engine.services import load
    from atlas.policy.services import analysis_settings

    async with database.tenant_session(uuid.UUID(tenant_id)) as session:
        settings = await analysis_settings(session)
        loaded = await load(session, quiet_days=settings.dead_stock_days)
        assert loaded is not None
        output = analyse_matrix(loaded.y, loaded.start, loaded.inputs, loaded.movements, settings)
        return loaded.keys, output.forecast


def test_anomalies_and_forecasts_are_listed(analysed, stack):
    admin, me, _ = analysed
    anomalies = admin.get("/api/anomalies", params={"limit": 500}).json()
    assert anomalies["total"] >= 10
    assert {"demand_spike", "large_transaction"} <= {a["type"] for a in anomalies["items"]}
    item_id = admin.get("/api/inventory/items", params={"q": "SKU-0001"}).json()["items"][0]["id"]
    forecasts = admin.get("/api/forecasts", params={"item_id": item_id}).json()
    assert forecasts and len(forecasts[0]["forecast"]) == 30
    assert all(
        lo <= f <= hi
        for lo, f, hi in zip(forecasts[0]["lo80"], forecasts[0]["forecast"], forecasts[0]["hi80"], strict=True)
    )
    # The daily quantiles by name (issue 17): q10/q90 are lo80/hi80; q50 is the engine's own median, stored and
    # served rounded to 3 places like the others.
    keys, engine = run(stack.atlas.database_url, lambda database: _engine_forecast(database, me["tenant_id"]))
    for served in forecasts:
        assert served["q10"] == served["lo80"] and served["q90"] == served["hi80"]
        index = keys.index((uuid.UUID(served["item_id"]), uuid.UUID(served["location_id"])))
        assert served["q50"] == [round(float(v), 3) for v in engine.q50[index]]
        assert served["lo80"] == [round(float(v), 3) for v in engine.q10[index]]
        ((stored,),) = stack.atlas.sql("SELECT q50 FROM forecasts WHERE id = %s", (served["id"],))
        assert stored == served["q50"]
    # Somewhere in the tenant the median is not the mean (whole counts with a fractional mean).
    medians = stack.atlas.sql(
        "SELECT count(*) FROM forecasts WHERE tenant_id = %s AND q50 <> forecast", (me["tenant_id"],)
    )
    assert medians[0][0] > 0


def test_other_tenants_and_roles(analysed, stack):
    admin, _, _ = analysed
    other, _ = stack.atlas.new_tenant()
    rec = admin.get("/api/recommendations").json()["items"][0]
    assert other.get(f"/api/recommendations/{rec['id']}").status_code == 404
    assert other.get("/api/recommendations").json()["total"] == 0
    assert other.get("/api/anomalies").json()["total"] == 0
    viewer = stack.atlas.token_client(admin, "viewer")
    assert viewer.get("/api/recommendations").status_code == 200
    assert viewer.post("/api/recommendations").status_code == 403
    operator = stack.atlas.token_client(admin, "operator")
    assert operator.post("/api/recommendations").status_code == 200


def test_a_finished_sync_starts_the_analysis(stack, demo_erp_url):
    import time

    admin, me = stack.atlas.new_tenant()
    connector_id = setup_connector(admin, demo_erp_url)
    run = sync(admin, connector_id)
    deadline = time.monotonic() + 120
    rows: list = []
    while time.monotonic() < deadline:
        rows = stack.atlas.sql(
            "SELECT status, trigger, sync_run_id::text FROM analysis_runs WHERE tenant_id = %s", (me["tenant_id"],)
        )
        if rows and rows[0][0] == "succeeded":
            break
        time.sleep(0.5)
    assert rows == [("succeeded", "sync", run["id"])]
    assert admin.get("/api/recommendations", params={"type": "write_off"}).json()["total"] >= 5
