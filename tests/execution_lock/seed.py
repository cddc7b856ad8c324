"""A tenant's worth of canonical data and recommendations, written through Atlas's own services and models
(as the application role, under row-level security), for the lock's and the policy's tests."""

from __future__ import annotations

import asyncio
import concurrent.futures
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

import msgspec

from atlas.db.base import utcnow
from atlas.db.engine import Database

T = TypeVar("T")

API_KEY = "SECRET-KEY-do-not-leak-4711"
TEMPLATES: dict[str, Any] = {
    "reorder": {
        "method": "POST",
        "path": "/api/v1/purchase-orders",
        "body": {
            "line.sku": "item_sku",
            "line.quantity": "quantity",
            "line.warehouse": "location_code",
            "line.needed_by": "needed_by",
            "source": {"value": "atlas"},
        },
    },
    "transfer": {
        "method": "put",
        "path": "/api/v1/items/{item_external_id}/transfers",
        "body": {"from": "from_location_code", "to": "to_location_code", "qty": "quantity"},
    },
}


def async_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+asyncpg://", 1)


def run(database_url: str, work: Callable[[Database], Awaitable[T]]) -> T:
    """Run ``work`` with a Database that connects as the application role, then dispose of it."""

    async def go() -> T:
        database = Database(async_url(database_url), app_role="atlas_app", pool_size=2)
        try:
            return await work(database)
        finally:
            await database.dispose()

    # In a thread of its own: a browser test's Playwright already runs an event loop in this one.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, go()).result()


@dataclass
class Seeded:
    tenant_id: uuid.UUID
    connector_id: uuid.UUID
    item_id: uuid.UUID
    warehouse_id: uuid.UUID
    store_id: uuid.UUID
    recs: dict[str, uuid.UUID] = field(default_factory=dict)


async def new_tenant(database: Database) -> uuid.UUID:
    from atlas.platform.audit import Actor
    from atlas.platform.services import provision_tenant

    async with database.system_session() as session:
        tenant = await provision_tenant(
            session, name=f"Lock {uuid.uuid4().hex[:6]}", actor=Actor("system", "test"), correlation_id="seed"
        )
    return tenant.id


async def seed(
    database: Database,
    tenant_id: uuid.UUID,
    *,
    environment: str = "production",
    templates: dict[str, Any] | None = None,
    unit_cost: Decimal | None = Decimal("12.50"),
    lead_time_days: int | None = 5,
) -> Seeded:
    """A connector (API key in a header), one item at a warehouse and a store, and one pending
    recommendation of each type (marked as having its workflow, so no approval sweep picks them up)."""
    from atlas.ai_engine.models import Anomaly, Recommendation
    from atlas.config import Settings
    from atlas.connectors import services as connectors
    from atlas.connectors.schemas import ConnectorCreate
    from atlas.execution_lock import NetworkPolicy
    from atlas.mapping.models import Item, Location, StockBalancePart
    from atlas.platform.audit import Actor
    from atlas.platform.crypto import SecretBox

    actor = Actor("system", "test")
    body = msgspec.convert(
        {
            "name": f"ERP {uuid.uuid4().hex[:6]}",
            "base_url": "http://127.0.0.1:9/erp/",
            "environment": environment,
            "auth": {"kind": "api_key", "key_name": "X-API-Key", "key_location": "header", "api_key": API_KEY},
            "endpoints": [{"key": "items", "resource": "items", "path": "/items"}],
            "action_templates": TEMPLATES if templates is None else templates,
        },
        ConnectorCreate,
    )
    async with database.tenant_session(tenant_id) as session:
        connector, _ = await connectors.create_connector(
            session,
            body,
            actor=actor,
            correlation_id="seed",
            box=SecretBox(Settings().fernet_key()),
            network=NetworkPolicy(allow_private=True),
        )
        item = Item(
            tenant_id=tenant_id,
            connector_id=connector.id,
            external_id="ext/1 a",
            sku="SKU-1",
            name="Widget ودجت",
            unit_of_measure="pcs",
            unit_cost=unit_cost,
            lead_time_days=lead_time_days,
        )
        warehouse = Location(
            tenant_id=tenant_id, connector_id=connector.id, external_id="w1", code="WH-1", name="Main Warehouse"
        )
        store = Location(
            tenant_id=tenant_id, connector_id=connector.id, external_id="s1", code="ST-1", name="Store One"
        )
        session.add_all([item, warehouse, store])
        await session.flush()
        for location, available in ((warehouse, Decimal(100)), (store, Decimal(4))):
            session.add(
                StockBalancePart(  # a balance is the sum of its parts (the stock_balances view)
                    tenant_id=tenant_id,
                    connector_id=connector.id,
                    endpoint_key="stock",
                    source_id=f"{item.external_id}@{location.external_id}",
                    item_id=item.id,
                    location_id=location.id,
                    quantity=available,
                    reserved_qty=Decimal(0),
                    available_qty=available,
                )
            )
        run_id = uuid.uuid4()
        anomaly = Anomaly(
            tenant_id=tenant_id,
            key=f"spike:{item.id}",
            type="demand_spike",
            severity="high",
            item_id=item.id,
            location_id=store.id,
            occurred_on=date(2026, 11, 30),
            p_value=0.0001,
            zscore=6.2,
            observed=40.0,
            expected=4.0,
            details={},
            analysis_run_id=run_id,
        )
        session.add(anomaly)
        await session.flush()
        seeded = Seeded(tenant_id, connector.id, item.id, warehouse.id, store.id)
        specs: list[dict[str, Any]] = [
            {"type": "reorder", "priority": "high", "location_id": store.id, "quantity": Decimal(40), "value": None},
            {
                "type": "transfer",
                "priority": "medium",
                "location_id": store.id,
                "from_location_id": warehouse.id,
                "quantity": Decimal(20),
                "value": None,
            },
            {
                "type": "write_off",
                "priority": "low",
                "location_id": warehouse.id,
                "quantity": Decimal("30.5"),
                "value": Decimal("381.25"),
            },
            {
                "type": "investigate",
                "priority": "high",
                "location_id": store.id,
                "quantity": Decimal(0),
                "value": None,
                "anomaly_id": anomaly.id,
            },
        ]
        now = utcnow()
        for spec in specs:
            rec = Recommendation(
                tenant_id=tenant_id,
                key=f"{spec['type']}:{item.id}:{spec['location_id']}",
                status="pending",
                item_id=item.id,
                confidence_score=0.9,
                signals_used=["test"],
                explanation_en="test",
                explanation_ar="اختبار",
                evidence={},
                correlation_id=f"rec-{uuid.uuid4().hex}",
                analysis_run_id=run_id,
                workflow_started_at=now,
                **spec,
            )
            session.add(rec)
            await session.flush()
            seeded.recs[spec["type"]] = rec.id
    return seeded


async def load_recommendation(database: Database, tenant_id: uuid.UUID, rec_id: uuid.UUID) -> Any:
    from atlas.ai_engine.services import RecommendationRepo

    async with database.tenant_session(tenant_id) as session:
        return await RecommendationRepo(session).get(rec_id)
