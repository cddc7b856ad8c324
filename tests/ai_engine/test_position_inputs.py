"""Inventory position's inputs (issue 17): the analysis loads what is on order (the source's open purchase orders and
transfers in transit, and Atlas's own approved reorders and transfers until the source shows them or their lead time
plus grace passes), the pack sizes, and an approved reorder is not proposed again the next night; when each part of
what is on order arrives (each open line on its expected day, late: tomorrow, no date: no sooner than a new order),
and the lead time learnt from the receipts of Atlas's approved reorders (`atlas.ai_engine.lead_times`)."""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pytest

from atlas.ai_engine import services
from atlas.ai_engine.lead_times import learn
from atlas.ai_engine.position import own_orders
from atlas.db.engine import Database
from tests.mapping.test_sync import expected_dataset, setup_connector, sync


@pytest.fixture(scope="module")
def synced(stack, demo_erp_url):
    admin, me = stack.atlas.new_tenant()
    connector_id = setup_connector(admin, demo_erp_url)
    run = sync(admin, connector_id)
    assert run["status"] == "succeeded", run
    return admin, me, connector_id


def load(database_url: str, tenant_id: str) -> services.Loaded:
    async def run() -> services.Loaded:
        database = Database(database_url.replace("postgresql://", "postgresql+asyncpg://", 1), app_role="atlas_app")
        try:
            async with database.tenant_session(uuid.UUID(tenant_id)) as session:
                loaded = await services.load(session)
                assert loaded is not None
                return loaded
        finally:
            await database.dispose()

    return asyncio.run(run())


class Series:
    """The loaded inputs by (SKU, location external id)."""

    def __init__(self, stack: Any, tenant_id: str, loaded: services.Loaded) -> None:
        skus = dict(stack.atlas.sql("SELECT id, sku FROM items WHERE tenant_id = %s", (tenant_id,)))
        codes = dict(stack.atlas.sql("SELECT id, external_id FROM locations WHERE tenant_id = %s", (tenant_id,)))
        self.loaded = loaded
        self.index = {(skus[i], codes[loc]): n for n, (i, loc) in enumerate(loaded.keys)}

    def __getitem__(self, key: tuple[str, str]) -> dict[str, float]:
        n, inputs = self.index[key], self.loaded.inputs
        assert inputs.on_order is not None and inputs.min_order_qty is not None and inputs.order_multiple is not None
        return {
            "on_order": float(inputs.on_order[n]),
            "available": float(inputs.available[n]),
            "min_order_qty": float(inputs.min_order_qty[n]),
            "order_multiple": float(inputs.order_multiple[n]),
        }


def test_on_order_is_the_sources_open_lines_and_pack_sizes_come_from_the_items(synced, stack, database_url):
    _, me, _ = synced
    data = expected_dataset()
    series = Series(stack, me["tenant_id"], load(database_url, me["tenant_id"]))
    truth: dict[tuple[str, str], float] = defaultdict(float)
    for line in data.open_orders:
        truth[(line.sku, line.warehouse_id)] += line.open_qty
    assert truth and all(key in series.index for key in truth)
    assert {key: series[key]["on_order"] for key in series.index} == {key: truth.get(key, 0.0) for key in series.index}
    terms = {i.item_code: (i.min_order_qty, i.order_multiple) for i in data.items}
    for sku, location in series.index:
        values = series[(sku, location)]
        assert (values["min_order_qty"], values["order_multiple"]) == terms[sku]


def _approved(
    stack, me, *, kind: str, sku: str, to: str, quantity: int, approved_at: datetime, source: str | None = None
):
    """A reorder or transfer people approved, as the approval workflow leaves it (``blocked_by_lock``)."""
    db = stack.atlas
    tenant = me["tenant_id"]
    (item_id,) = db.sql("SELECT id FROM items WHERE tenant_id = %s AND sku = %s", (tenant, sku))[0]

    def location(code: str) -> Any:
        return db.sql("SELECT id FROM locations WHERE tenant_id = %s AND external_id = %s", (tenant, code))[0][0]

    rec_id = str(uuid.uuid4())
    db.sql(
        """INSERT INTO recommendations (id, tenant_id, key, type, priority, status, item_id, location_id,
               from_location_id, quantity, confidence_score, signals_used, explanation_en, explanation_ar, evidence,
               correlation_id, analysis_run_id, created_at, updated_at, resolved_at, resolved_by, created_by,
               last_changed_by, update_count)
           VALUES (%s, %s, %s, %s, 'medium', 'blocked_by_lock', %s, %s, %s, %s, 0.9, '[]', 'Approved', 'معتمد',
                   '{}', %s, %s, %s, %s, %s, 'user:test', 'ai_engine', 'ai_engine', 0)""",
        (
            rec_id,
            tenant,
            f"{kind}:{item_id}:{location(to)}",
            kind,
            item_id,
            location(to),
            location(source) if source else None,
            Decimal(quantity),
            f"rec-{uuid.uuid4().hex}",
            str(uuid.uuid4()),
            approved_at,
            approved_at,
            approved_at,
        ),
    )
    return item_id, location


def _movement(stack, me, item_id: Any, location_id: Any, kind: str, quantity: int) -> None:
    connector = stack.atlas.sql("SELECT connector_id FROM items WHERE id = %s", (item_id,))[0][0]
    stack.atlas.sql(
        """INSERT INTO stock_movements (tenant_id, connector_id, external_id, item_id, location_id, occurred_at,
                                        quantity, kind)
           VALUES (%s, %s, %s, %s, %s, now(), %s, %s)""",
        (me["tenant_id"], connector, f"test-{uuid.uuid4().hex}", item_id, location_id, Decimal(quantity), kind),
    )


def test_atlas_own_approved_orders_count_until_the_source_shows_them(synced, stack, database_url):
    _, me, _ = synced
    tenant = me["tenant_id"]
    before = Series(stack, tenant, load(database_url, tenant))
    now = datetime.now(UTC)
    # A reorder approved just now, one approved long ago (lead time + grace passed), and a transfer.
    item_id, location = _approved(
        stack, me, kind="reorder", sku="SKU-0020", to="WH-JED-01", quantity=40, approved_at=now
    )
    _approved(
        stack, me, kind="reorder", sku="SKU-0021", to="WH-JED-01", quantity=50, approved_at=now - timedelta(days=60)
    )
    transfer_item, _ = _approved(
        stack, me, kind="transfer", sku="SKU-0022", to="WH-JED-01", source="WH-RUH-01", quantity=7, approved_at=now
    )
    after = Series(stack, tenant, load(database_url, tenant))
    assert after[("SKU-0020", "WH-JED-01")]["on_order"] == before[("SKU-0020", "WH-JED-01")]["on_order"] + 40
    assert after[("SKU-0021", "WH-JED-01")]["on_order"] == before[("SKU-0021", "WH-JED-01")]["on_order"]
    assert after[("SKU-0022", "WH-JED-01")]["on_order"] == before[("SKU-0022", "WH-JED-01")]["on_order"] + 7
    # The units the transfer takes are not the source location's to offer any more.
    assert after[("SKU-0022", "WH-RUH-01")]["available"] == before[("SKU-0022", "WH-RUH-01")]["available"] - 7
    assert sorted(key.split(":")[0] for key in after.loaded.committed) == ["reorder", "transfer"]

    # The source shows them: the reorder's receipt, and the transfer leaving its source location.
    _movement(stack, me, item_id, location("WH-JED-01"), "receipt", 40)
    _movement(stack, me, transfer_item, location("WH-RUH-01"), "transfer_out", -7)
    shown = Series(stack, tenant, load(database_url, tenant))
    assert shown[("SKU-0020", "WH-JED-01")]["on_order"] == before[("SKU-0020", "WH-JED-01")]["on_order"]
    # Shipped but not received: still on order at the destination, no longer taken from the source twice.
    assert shown[("SKU-0022", "WH-JED-01")]["on_order"] == before[("SKU-0022", "WH-JED-01")]["on_order"] + 7
    assert shown[("SKU-0022", "WH-RUH-01")]["available"] == before[("SKU-0022", "WH-RUH-01")]["available"]
    assert len(shown.loaded.committed) == 1


def _wait(stack, rec_id: str, check: Any, what: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = stack.atlas.sql(
            "SELECT status, policy_decision, update_count FROM recommendations WHERE id = %s", (rec_id,)
        )
        row = {"status": rows[0][0], "policy_decision": rows[0][1], "update_count": rows[0][2]}
        if check(row):
            return row
        time.sleep(0.3)
    raise AssertionError(f"{rec_id}: {what} not reached: {row}")


def _wait_for_the_sync_analysis(stack, tenant_id: str, timeout: float = 180) -> None:
    """The analysis a successful sync starts (a child workflow) has run: the test's own analyses and approvals
    then do not race with it (under load it can start after the test has moved on)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = stack.atlas.sql(
            "SELECT count(*) FROM analysis_runs WHERE tenant_id = %s AND trigger = 'sync' AND status <> 'running'",
            (tenant_id,),
        )
        if rows[0][0] >= 1:
            return
        time.sleep(0.3)
    raise AssertionError("the analysis after the sync did not finish")


def test_an_approved_reorder_is_not_proposed_again(stack, demo_erp_url):
    admin, me = stack.atlas.new_tenant()
    connector_id = setup_connector(admin, demo_erp_url)
    assert sync(admin, connector_id)["status"] == "succeeded"
    _wait_for_the_sync_analysis(stack, me["tenant_id"])
    first = admin.post("/api/recommendations")
    assert first.status_code == 200, first.text
    reorders = admin.get("/api/recommendations", params={"type": "reorder", "limit": 500}).json()["items"]
    chosen = next(r for r in reorders if r["sku"] == "SKU-0001")
    _wait(stack, chosen["id"], lambda r: r["policy_decision"] is not None, "policy evaluated")
    approved = admin.post(f"/api/recommendations/{chosen['id']}/approve", json={"comment": "order it"})
    assert approved.status_code == 200, approved.text
    _wait(stack, chosen["id"], lambda r: r["status"] == "blocked_by_lock", "blocked_by_lock")
    drafts = stack.atlas.sql("SELECT count(*) FROM execution_drafts WHERE recommendation_id = %s", (chosen["id"],))
    assert drafts[0][0] >= 1

    # The next night: the same data, and the approved reorder is on order, not a new proposal.
    second = admin.post("/api/recommendations")
    assert second.status_code == 200, second.text
    pending = admin.get("/api/recommendations", params={"type": "reorder", "limit": 500}).json()["items"]
    assert not [r for r in pending if r["item_id"] == chosen["item_id"] and r["location_id"] == chosen["location_id"]]
    rows = stack.atlas.sql(
        "SELECT status, count(*) FROM recommendations WHERE tenant_id = %s AND key = %s GROUP BY 1",
        (me["tenant_id"], f"reorder:{chosen['item_id']}:{chosen['location_id']}"),
    )
    assert dict(rows) == {"blocked_by_lock": 1}
    # Every other reorder of the first night is still there (refreshed in place), none came back twice.
    others = {r["id"] for r in reorders if r["id"] != chosen["id"]}
    assert others <= {r["id"] for r in pending}
    assert second.json()["new"] == 0


def _schedule(loaded: Any) -> list[tuple[int, float, float]]:
    inputs = loaded.inputs
    assert inputs.arrival_series is not None and inputs.arrival_day is not None and inputs.arrival_qty is not None
    return sorted(
        zip(inputs.arrival_series.tolist(), inputs.arrival_day.tolist(), inputs.arrival_qty.tolist(), strict=True)
    )


def test_each_open_line_arrives_on_its_expected_day(synced, stack, database_url):
    _, me, _ = synced
    tenant = me["tenant_id"]
    db = stack.atlas
    # One line loses its date (no sooner than a reorder placed today), one is late (tomorrow).
    lines = db.sql("SELECT id FROM open_orders WHERE tenant_id = %s AND open_qty > 0 ORDER BY external_id", (tenant,))
    assert len(lines) >= 3
    db.sql("UPDATE open_orders SET expected_at = NULL WHERE id = %s", (lines[0][0],))
    db.sql("UPDATE open_orders SET expected_at = now() - interval '5 days' WHERE id = %s", (lines[1][0],))
    loaded = load(database_url, tenant)
    index = {key: n for n, key in enumerate(loaded.keys)}
    rows = db.sql(
        """SELECT item_id, location_id, open_qty,
                  (expected_at AT TIME ZONE 'Asia/Riyadh')::date - (now() AT TIME ZONE 'Asia/Riyadh')::date
           FROM open_orders WHERE tenant_id = %s AND open_qty > 0""",
        (tenant,),
    )
    truth = sorted(
        (
            index[(item, location)],
            math.inf if days is None else (float(days) if days >= 0 else 1.0),
            float(quantity),
        )
        for item, location, quantity, days in rows
        if (item, location) in index
    )
    assert any(day == math.inf for _, day, _ in truth) and any(day == 1.0 for _, day, _ in truth)
    # Atlas's own approved orders the source does not show yet (earlier tests', and any a policy approved) arrive at
    # their approval plus the lead time.
    own = asyncio.run(_own_orders(database_url, tenant))
    today = datetime.now(services.LOCAL_ZONE).date()
    for order in own:
        at = index.get((order.item_id, order.location_id))
        if at is not None and order.approved_at is not None:
            due = (order.approved_at + timedelta(days=order.lead_days)).astimezone(services.LOCAL_ZONE).date()
            truth.append((at, float((due - today).days) if due >= today else 1.0, order.quantity))
    assert _schedule(loaded) == sorted(truth)
    # The schedule adds up to what is on order.
    inputs = loaded.inputs
    assert inputs.on_order is not None
    summed = np.bincount(inputs.arrival_series, weights=inputs.arrival_qty, minlength=len(loaded.keys))
    assert np.allclose(summed, inputs.on_order)


async def _own_orders(database_url: str, tenant_id: str) -> list[Any]:
    database = Database(database_url.replace("postgresql://", "postgresql+asyncpg://", 1), app_role="atlas_app")
    try:
        async with database.tenant_session(uuid.UUID(tenant_id)) as session:
            raw = await services._raw(session)
            return await own_orders(raw, uuid.UUID(tenant_id), now=datetime.now(UTC), grace_days=7)
    finally:
        await database.dispose()


def _ids(db: Any, tenant: str, sku: str, location: str) -> tuple[Any, Any]:
    item = db.sql("SELECT id FROM items WHERE tenant_id = %s AND sku = %s", (tenant, sku))[0][0]
    place = db.sql("SELECT id FROM locations WHERE tenant_id = %s AND external_id = %s", (tenant, location))[0][0]
    return item, place


def _approve(db: Any, tenant: str, item: Any, location: Any, approved_at: datetime, quantity: int = 30) -> None:
    db.sql(
        """INSERT INTO recommendations (id, tenant_id, key, type, priority, status, item_id, location_id, quantity,
               confidence_score, signals_used, explanation_en, explanation_ar, evidence, correlation_id,
               analysis_run_id, created_at, updated_at, resolved_at, resolved_by, created_by, last_changed_by,
               update_count)
           VALUES (%s, %s, %s, 'reorder', 'medium', 'blocked_by_lock', %s, %s, %s, 0.9, '[]', 'Approved', 'معتمد',
                   '{}', %s, %s, %s, %s, %s, 'user:test', 'ai_engine', 'ai_engine', 0)""",
        (
            str(uuid.uuid4()),
            tenant,
            f"reorder:{item}:{location}",
            item,
            location,
            Decimal(quantity),
            f"rec-{uuid.uuid4().hex}",
            str(uuid.uuid4()),
            approved_at,
            approved_at,
            approved_at,
        ),
    )


def _receive(db: Any, tenant: str, item: Any, location: Any, at: datetime, quantity: int = 30) -> None:
    connector = db.sql("SELECT connector_id FROM items WHERE id = %s", (item,))[0][0]
    db.sql(
        """INSERT INTO stock_movements (tenant_id, connector_id, external_id, item_id, location_id, occurred_at,
                                        quantity, kind)
           VALUES (%s, %s, %s, %s, %s, %s, %s, 'receipt')""",
        (tenant, connector, f"test-{uuid.uuid4().hex}", item, location, at, Decimal(quantity)),
    )


def test_the_lead_time_is_learnt_from_the_receipts_of_approved_reorders(synced, stack, database_url):
    _, me, _ = synced
    tenant = me["tenant_id"]
    db = stack.atlas
    # An item with no receipt anywhere in the last 90 days, so only this test's receipts can answer its orders.
    quiet = db.sql(
        """SELECT i.sku, l.external_id, i.lead_time_days FROM items i
           JOIN stock_balances b ON b.item_id = i.id JOIN locations l ON l.id = b.location_id
           WHERE i.tenant_id = %s AND l.type <> 'unassigned' AND NOT EXISTS (
               SELECT 1 FROM stock_movements m WHERE m.item_id = i.id AND m.kind = 'receipt'
                 AND m.occurred_at > now() - interval '90 days')
           ORDER BY i.sku, l.external_id""",
        (tenant,),
    )
    assert quiet
    sku, location_code, declared = quiet[0]
    declared = float(declared) if declared is not None else 7.0
    item, location = _ids(db, tenant, sku, location_code)
    noon = datetime.now(UTC).replace(hour=9, minute=0, second=0, microsecond=0)  # noon in Riyadh
    waits = [int(declared) + 2, int(declared) + 6, int(declared)]
    approvals = [noon - timedelta(days=80), noon - timedelta(days=55), noon - timedelta(days=30)]
    for approved_at, wait in zip(approvals, waits, strict=True):
        _approve(db, tenant, item, location, approved_at)
        _receive(db, tenant, item, location, approved_at + timedelta(days=wait))
        _receive(db, tenant, item, location, approved_at + timedelta(days=wait, hours=2))  # same delivery
    # An approval not answered yet teaches nothing; a receipt before any approval of the item answers none.
    _approve(db, tenant, item, location, noon - timedelta(days=3))
    _receive(db, tenant, item, location, noon - timedelta(days=85))
    loaded = load(database_url, tenant)
    inputs = loaded.inputs
    assert inputs.lead_time_sd is not None and inputs.lead_time_observations is not None
    expected = learn(np.array([declared]), np.zeros(3, dtype=np.int64), np.array(waits, dtype=np.float64))
    rows = [n for n, (i, _) in enumerate(loaded.keys) if i == item]
    assert rows
    learnt = [(inputs.lead_time_observations[n], inputs.lead_time_days[n], inputs.lead_time_sd[n]) for n in rows]
    for n in rows:  # fewer than 5 at one location: every location of the item learns from the item's receipts
        assert inputs.lead_time_observations[n] == 3, (declared, waits, learnt)
        assert inputs.lead_time_days[n] == pytest.approx(expected.mean[0]), (declared, waits, learnt)
        assert inputs.lead_time_sd[n] == pytest.approx(expected.sd[0])
    assert expected.mean[0] == pytest.approx((2 * declared + sum(waits)) / 5)
    assert expected.sd[0] > 0
    # Items without approved reorders keep their declared lead times, with no spread.
    approved = {row[0] for row in db.sql("SELECT item_id FROM recommendations WHERE tenant_id = %s", (tenant,))}
    others = [n for n, (i, _) in enumerate(loaded.keys) if i not in approved]
    assert others
    assert (inputs.lead_time_observations[others] == 0).all() and (inputs.lead_time_sd[others] == 0).all()
