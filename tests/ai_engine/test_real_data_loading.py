"""Sane on real data through the database (issue 17): a tenant with a live connector, a connector whose last
movement was two years ago and one connected minutes ago. `services.load` gives each series its first movement and
its connector, so the nightly analysis writes off only the live connector's one dead item (with "value unknown":
it has no unit cost), moves the idle stock of an item that sells at another location, and leaves young stock,
the stale connector and the fresh one alone. Runs in-process as the application role under row-level security."""

from __future__ import annotations

import math
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from atlas.mapping.demo_setup import demo_connector_body
from tests.conftest import Atlas
from tests.execution_lock.seed import run

ZONE = ZoneInfo("Asia/Riyadh")
DAYS = 200  # of movements, longer than the analysis's 180-day window
PATTERN = [4, 5, 6, 5, 4, 6, 5]


async def _seed(database: Any, tenant_id: uuid.UUID, connectors: dict[str, uuid.UUID], today: date) -> None:
    from atlas.mapping.models import Item, Location, StockBalancePart, StockMovement

    def at(days_ago: float) -> datetime:
        return datetime.combine(today, datetime.min.time(), ZONE) - timedelta(days=days_ago) + timedelta(hours=12)

    async with database.tenant_session(tenant_id) as session:
        locations = {
            (name, code): Location(
                tenant_id=tenant_id, connector_id=connector, external_id=code, code=f"{name}-{code}", name=code
            )
            for name, connector in connectors.items()
            for code in ("A", "B")
        }
        specs = [  # sku, connector, unit cost
            *[(f"LIVE-{i}", "live", Decimal("10")) for i in range(4)],
            ("DEAD-0", "live", None),
            ("MOVE-0", "live", Decimal("10")),
            ("YOUNG-0", "live", Decimal("10")),
            *[(f"OLD-{i}", "old", Decimal("10")) for i in range(12)],
            *[(f"FRESH-{i}", "fresh", Decimal("10")) for i in range(5)],
        ]
        items = {
            sku: Item(
                tenant_id=tenant_id,
                connector_id=connectors[name],
                external_id=sku,
                sku=sku,
                name=sku,
                unit_cost=cost,
                lead_time_days=7,
            )
            for sku, name, cost in specs
        }
        session.add_all([*locations.values(), *items.values()])
        await session.flush()
        moves: list[tuple[str, str, str, float, int, str]] = []  # sku, connector, location, days ago, qty, kind
        for sku in [f"LIVE-{i}" for i in range(4)]:
            moves += [(sku, "live", "A", d, PATTERN[d % 7], "sale") for d in range(1, DAYS)]
        moves += [("DEAD-0", "live", "A", d, 3, "sale") for d in range(160, DAYS)]  # idle for 159 days
        moves += [("MOVE-0", "live", "A", d, 3, "sale") for d in range(150, DAYS)]  # idle here ...
        moves += [("MOVE-0", "live", "B", d, PATTERN[d % 7], "sale") for d in range(1, DAYS)]  # ... sells at B
        moves += [("YOUNG-0", "live", "A", 60, -40, "receipt")]  # received 60 days ago, not sold yet
        moves += [(f"OLD-{i}", "old", "A", 730 + i, 1, "sale") for i in range(12)]  # two years ago
        moves += [(f"FRESH-{i}", "fresh", "A", 0.45, 1, "sale") for i in range(5)]  # this morning (today)
        session.add_all(
            StockMovement(
                tenant_id=tenant_id,
                connector_id=connectors[name],
                external_id=f"{sku}-{code}-{days_ago}",
                item_id=items[sku].id,
                location_id=locations[(name, code)].id,
                occurred_at=at(days_ago),
                quantity=Decimal(-quantity),
                kind=kind,
            )
            for sku, name, code, days_ago, quantity, kind in moves
        )
        balances = [(sku, name, "A") for sku, name, _ in specs] + [("MOVE-0", "live", "B")]
        session.add_all(
            StockBalancePart(
                tenant_id=tenant_id,
                connector_id=connectors[name],
                endpoint_key="stock",
                source_id=f"{sku}-{code}",
                item_id=items[sku].id,
                location_id=locations[(name, code)].id,
                quantity=Decimal(40),
                reserved_qty=Decimal(0),
                available_qty=Decimal(40),
                as_of=datetime.now(UTC) - timedelta(hours=1),
                updated_at=datetime.now(UTC),
            )
            for sku, name, code in balances
        )


async def _load_and_analyse(database: Any, tenant_id: uuid.UUID, today: date) -> dict[str, Any]:
    from atlas.ai_engine.services import analyse_tenant, load

    async with database.tenant_session(tenant_id) as session:
        loaded = await load(session, today=today)
        assert loaded is not None
        await analyse_tenant(session, trigger="manual", today=today)
    return {"loaded": loaded}


def test_the_nightly_analysis_on_a_live_a_stale_and_a_fresh_connector(atlas: Atlas) -> None:
    admin, me = atlas.new_tenant()
    connectors = {}
    for name in ("live", "old", "fresh"):
        response = admin.post("/api/connectors", json=demo_connector_body("http://127.0.0.1:9", name=f"{name} ERP"))
        assert response.status_code == 201, response.text
        connectors[name] = uuid.UUID(response.json()["id"])
    tenant_id = uuid.UUID(me["tenant_id"])
    today = datetime.now(ZONE).date()
    run(atlas.database_url, lambda database: _seed(database, tenant_id, connectors, today))
    loaded = run(atlas.database_url, lambda database: _load_and_analyse(database, tenant_id, today))["loaded"]

    # The loader: first movements (before the window: negative columns; none before today: NaN, no history),
    # and each series' connector.
    inputs, days = loaded.inputs, loaded.y.shape[1]
    skus = [label[0] for label in inputs.labels]
    first = dict(zip(skus, inputs.first_movement_day.tolist(), strict=False))  # MOVE-0's first row is at A
    assert first["OLD-0"] == days - 730 and first["YOUNG-0"] == days - 60 and math.isnan(first["FRESH-0"])
    assert first["DEAD-0"] == days - (DAYS - 1)
    assert len(set(inputs.source.tolist())) == 3
    assert not np.asarray(inputs.quiet_last_year).any()

    rows = atlas.sql(
        """SELECT r.type, i.sku, l.code, fl.code, r.value, r.explanation_en, r.explanation_ar
             FROM recommendations r JOIN items i ON i.id = r.item_id JOIN locations l ON l.id = r.location_id
             LEFT JOIN locations fl ON fl.id = r.from_location_id
            WHERE r.tenant_id = %s AND r.type IN ('write_off', 'transfer')""",
        (tenant_id,),
    )
    write_offs = [row for row in rows if row[0] == "write_off"]
    assert [row[1] for row in write_offs] == ["DEAD-0"], rows
    _, _, _, _, value, english, arabic = write_offs[0]
    assert value is None and "value unknown" in english and "القيمة غير معروفة" in arabic and "None" not in english
    assert "159 days" in english and "159 يوماً" in arabic
    moves = [row for row in rows if row[0] == "transfer" and row[1] == "MOVE-0"]
    assert [(row[2], row[3]) for row in moves] == [("live-B", "live-A")], rows
