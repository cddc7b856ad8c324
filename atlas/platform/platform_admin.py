"""The platform admin's cross-tenant views are explicit, read-only queries, each one audited: here, the audit of a
view. The views themselves show each tenant's subscription, so they are billing's (``atlas.billing.tenant_views``):
the platform never imports billing."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession

from atlas.db.engine import Database
from atlas.errors import NotFound
from atlas.platform.audit import Actor, EventType, record
from atlas.platform.models import Tenant
from atlas.platform.principal import Principal


def as_platform_admin(actor: Actor) -> Actor:
    """A platform admin acting across tenants, as the audit trail names them (``platform_admin:<id>``)."""
    return Actor(actor.ref.replace("user:", "platform_admin:"), actor.display)


async def record_view(
    session: AsyncSession,
    *,
    actor: Actor,
    correlation_id: str,
    viewed_tenant_id: uuid.UUID | None,
    own_tenant_id: uuid.UUID,
    what: str,
) -> None:
    """Audit a cross-tenant view in the viewed tenant's chain (or the admin's own for the list). System tx."""
    target = viewed_tenant_id or own_tenant_id
    if viewed_tenant_id is not None and await session.get(Tenant, viewed_tenant_id) is None:
        raise NotFound("errors.tenant_not_found")
    await record(
        session,
        EventType.CROSS_TENANT_VIEW,
        actor=as_platform_admin(actor),
        correlation_id=correlation_id,
        tenant_id=target,
        payload={
            "view": what,
            "viewed_tenant_id": str(viewed_tenant_id) if viewed_tenant_id else None,
            "platform_admin_tenant_id": str(own_tenant_id),
        },
    )


@asynccontextmanager
async def audited_platform_read(
    database: Database,
    principal: Principal,
    correlation_id: str,
    *,
    what: str,
    viewed_tenant_id: uuid.UUID | None = None,
) -> AsyncIterator[AsyncSession]:
    """A platform admin's cross-tenant read: the view is audited first, in its own committed system transaction
    (an unknown tenant is a 404 before anything is read), then the read runs in a platform read session (read-only,
    every tenant visible). Every cross-tenant page and route reads through this, so none can forget the audit."""
    await audit_view(database, principal, correlation_id, what=what, viewed_tenant_id=viewed_tenant_id)
    async with database.platform_read_session() as session:
        yield session


async def audit_view(
    database: Database,
    principal: Principal,
    correlation_id: str,
    *,
    what: str,
    viewed_tenant_id: uuid.UUID | None = None,
) -> None:
    """Audit a platform admin's cross-tenant read in its own committed system transaction (404 for an unknown
    tenant), for a read that then goes through the tenant's own session (a service that opens it itself)."""
    async with database.system_session() as session:
        await record_view(
            session,
            actor=principal.actor,
            correlation_id=correlation_id,
            viewed_tenant_id=viewed_tenant_id,
            own_tenant_id=principal.tenant_id,
            what=what,
        )
