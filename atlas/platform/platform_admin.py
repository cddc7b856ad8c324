"""The platform admin's cross-tenant views are explicit, read-only queries, each one audited: here, the audit of a
view. The views themselves show each tenant's subscription, so they are billing's (``atlas.billing.tenant_views``):
the platform never imports billing."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from atlas.errors import NotFound
from atlas.platform.audit import Actor, EventType, record
from atlas.platform.models import Tenant


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
        actor=Actor(actor.ref.replace("user:", "platform_admin:"), actor.display),
        correlation_id=correlation_id,
        tenant_id=target,
        payload={
            "view": what,
            "viewed_tenant_id": str(viewed_tenant_id) if viewed_tenant_id else None,
            "platform_admin_tenant_id": str(own_tenant_id),
        },
    )
