"""The approvals' calls into the execution lock: a recommendation becomes the lock's canonical action here.

The lock (`atlas.execution_lock`) reads no table but its own drafts; it is handed a `CanonicalAction` (plain
data). This module reads what that action is made of from the tenant's own tables: the recommendation's item and
its connector (the action template, never a credential), the locations and the item's available stock at each,
and the anomaly an investigation is about. No network. `attempt` and `dry_run` are the lock's, for a
recommendation: build its action, then hand it over.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from atlas.ai_engine.models import Anomaly, Recommendation
from atlas.connectors.models import Connector
from atlas.execution_lock import lock
from atlas.execution_lock.action import AnomalyFacts, CanonicalAction, ConnectorFacts, ItemFacts, LocationFacts
from atlas.mapping.models import Item, Location, StockBalance
from atlas.platform.audit import Actor
from atlas.platform.tenancy import TenantRepository


class _ItemRepo(TenantRepository[Item]):
    model = Item


class _LocationRepo(TenantRepository[Location]):
    model = Location


class _AnomalyRepo(TenantRepository[Anomaly]):
    model = Anomaly


def _available(tenant_id: uuid.UUID | None, item_id: uuid.UUID, location_id: uuid.UUID) -> Any:
    return (
        select(func.sum(StockBalance.available_qty))
        .where(
            StockBalance.tenant_id == tenant_id,
            StockBalance.item_id == item_id,
            StockBalance.location_id == location_id,
        )
        .scalar_subquery()
    )


async def _location_facts(session: AsyncSession, location_id: uuid.UUID, item_id: uuid.UUID) -> LocationFacts:
    tenant_id = _LocationRepo(session).tenant_id
    available = _available(tenant_id, item_id, location_id)
    row = (
        await session.execute(
            select(Location, available).where(Location.tenant_id == tenant_id, Location.id == location_id)
        )
    ).first()
    if row is None:
        return LocationFacts(location_id, "?", "?", "", (await session.execute(select(available))).scalar_one())
    location, quantity = row
    return LocationFacts(location.id, location.code, location.name, location.external_id, quantity)


async def canonical_action(session: AsyncSession, recommendation: Recommendation) -> CanonicalAction:
    """The action of the recommendation's current revision, from the tenant's own data (no network). An item or
    location that is gone shows as ``?`` in the draft rather than failing the lock."""
    tenant_id = _ItemRepo(session).tenant_id
    found = (
        await session.execute(
            select(Item, Connector)
            .outerjoin(Connector, (Connector.tenant_id == Item.tenant_id) & (Connector.id == Item.connector_id))
            .where(Item.tenant_id == tenant_id, Item.id == recommendation.item_id)
        )
    ).first()
    item, connector = (found[0], found[1]) if found is not None else (None, None)
    if item is None:
        item_facts = ItemFacts(recommendation.item_id, "?", "?", "", None, None, None)
    else:
        item_facts = ItemFacts(
            item.id, item.sku, item.name, item.external_id, item.unit_of_measure, item.unit_cost, item.lead_time_days
        )
    location = await _location_facts(session, recommendation.location_id, recommendation.item_id)
    from_location = (
        await _location_facts(session, recommendation.from_location_id, recommendation.item_id)
        if recommendation.from_location_id
        else None
    )
    anomaly_facts = None
    if recommendation.anomaly_id:
        anomaly = await _AnomalyRepo(session).get_or_none(recommendation.anomaly_id)
        if anomaly is not None:
            anomaly_facts = AnomalyFacts(
                anomaly.type, anomaly.severity, anomaly.observed, anomaly.expected, anomaly.occurred_on
            )
    connector_facts = None
    if connector is not None:
        connector_facts = ConnectorFacts(
            id=connector.id,
            name=connector.name,
            base_url=connector.base_url,
            environment=connector.environment,
            auth_kind=connector.auth_kind,
            auth_settings=dict(connector.auth_settings or {}),
            action_templates=dict(connector.action_templates or {}),
        )
    return CanonicalAction(
        kind=recommendation.type,
        recommendation_id=recommendation.id,
        revision=recommendation.update_count,
        priority=recommendation.priority,
        quantity=recommendation.quantity,
        value=recommendation.value,
        item=item_facts,
        location=location,
        from_location=from_location,
        anomaly=anomaly_facts,
        connector=connector_facts,
    )


async def attempt(
    session: AsyncSession,
    recommendation: Recommendation,
    *,
    actor: Actor,
    correlation_id: str,
    source: str = "approval_workflow",
) -> lock.Blocked:
    """The recommendation meets the lock (`atlas.execution_lock.lock.attempt`): a blocked draft of its current
    revision, once, and ``action_blocked``."""
    action = await canonical_action(session, recommendation)
    return await lock.attempt(session, action, actor=actor, correlation_id=correlation_id, source=source)


async def dry_run(
    session: AsyncSession, recommendation: Recommendation, *, actor: Actor, correlation_id: str
) -> dict[str, Any]:
    """The lock's dry run (`atlas.execution_lock.lock.dry_run`) of the recommendation's current revision."""
    action = await canonical_action(session, recommendation)
    return await lock.dry_run(session, action, actor=actor, correlation_id=correlation_id)
