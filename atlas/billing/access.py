"""The subscription guard: what each subscription state allows, enforced on the server for every route.

It runs after `atlas.web.ui.guards.authorize` (so the person is known and may call the route at all) and
uses the tenant's *effective* state, so a trial past its end is blocked before the sweep has run.
Billing routes declare ``opt={"billing": True}``; routes open to any signed-in person (sign-out,
who-am-I, onboarding) count as account routes; public routes, the platform admin's cross-tenant routes
and routes of the execution lock (``execution_lock: True``, which always answer 423) are not gated.
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from atlas.billing.models import Subscription
from atlas.billing.services import SubscriptionRequired
from atlas.billing.states import Access, Status, SubscriptionView, allows, effective_status
from atlas.db.base import utcnow
from atlas.platform.principal import Principal
from atlas.platform.rbac import Permission
from atlas.web.ui.guards import SAFE_METHODS

EXEMPT = None
_CACHED = "subscription_status"

MESSAGES = {
    Status.PAST_DUE: "errors.subscription_past_due",
    Status.CANCELLED: "errors.subscription_cancelled",
    Status.EXPIRED: "errors.subscription_expired",
}


def access_kind(handler: BaseRouteHandler, method: str) -> Access | None:
    """What a request to ``handler`` amounts to; None when the subscription does not gate it."""
    opt = handler.opt
    if opt.get("public") or opt.get("execution_lock"):
        return EXEMPT
    if opt.get("billing"):
        return Access.BILLING
    if opt.get("authenticated"):
        return Access.ACCOUNT
    permission = opt.get("permission")
    if permission == Permission.PLATFORM_TENANTS:
        return EXEMPT  # the operator's cross-tenant work does not depend on the operator's own tenant's plan
    if method in SAFE_METHODS:
        return Access.READ
    if permission == Permission.DECIDE_RECOMMENDATIONS:
        return Access.DECIDE
    return Access.WRITE


async def read_status(session: AsyncSession, tenant_id: uuid.UUID) -> Status | None:
    """The tenant's effective state, read in any transaction that may see the tenant's subscription."""
    row = (
        await session.execute(
            select(
                Subscription.status,
                Subscription.trial_ends_at,
                Subscription.current_period_end,
                Subscription.cancel_at_period_end,
            ).where(Subscription.tenant_id == tenant_id)
        )
    ).first()
    return None if row is None else effective_status(SubscriptionView(*row), utcnow())


def remember_status(connection_scope: Any, status: Status | None) -> None:
    """Cache the state on the request (the request context reads it with the session, in one transaction)."""
    connection_scope.setdefault("state", {})[_CACHED] = status


async def tenant_status(connection: ASGIConnection[Any, Any, Any, Any], principal: Principal) -> Status | None:
    """The tenant's effective state (None before onboarding has started a trial); cached on the request."""
    state = connection.scope.setdefault("state", {})
    if _CACHED in state:
        cached: Status | None = state[_CACHED]
        return cached
    database = connection.scope["litestar_app"].state.db
    async with database.tenant_session(principal.tenant_id) as session:
        status = await read_status(session, principal.tenant_id)
    state[_CACHED] = status
    return status


async def subscription_guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    method = str(connection.scope.get("method", "GET"))
    kind = access_kind(handler, method)
    if kind is None:
        return
    principal = connection.scope.get("user")
    if not isinstance(principal, Principal):
        return  # authorize already refused anything that needs a person
    status = await tenant_status(connection, principal)
    if status is None or allows(status, kind):
        return
    raise SubscriptionRequired(
        MESSAGES[status], extra={"subscription_status": status.value, "billing_url": "/app/subscription"}
    )
