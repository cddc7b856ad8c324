"""The page shell every server-rendered page shares: the layout's context and ``page``, which renders a template
with it.

In the web layer's lower half (``atlas/web/ui/``; issue 18, pages part). It was the top of ``atlas/web/pages.py``,
which also assembles the dashboard from the AI and approvals cards: every component's pages imported it for the
layout while it imported theirs, a cycle through four modules. It stands on the platform only; what the layout
shows of the tenant's subscription (the trial banner, the billing notice) it asks of the platform's entitlements,
which billing answers (``atlas.platform.entitlements.subscription_standing``), since billing sits above it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from litestar import MediaType, Request
from litestar.di import NamedDependency
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from atlas.db.base import utcnow
from atlas.i18n import direction, request_lang
from atlas.platform.entitlements import subscription_standing
from atlas.platform.principal import Principal
from atlas.platform.services import TenantRepo


@dataclass(frozen=True, slots=True)
class TrialInfo:
    status: str
    days_left: int
    plan_id: str


def days_left(ends_at: datetime | None, now: datetime | None = None) -> int:
    """Whole days left, rounded up: 6 days and 1 hour left is 7 (SPEC 4's banner counts this way)."""
    if ends_at is None:
        return 0
    remaining = (ends_at - (now or utcnow())).total_seconds()
    return max(0, math.ceil(remaining / 86400))


def base_context(request: Request[Any, Any, Any], **extra: Any) -> dict[str, Any]:
    lang = request_lang(request)
    principal = request.scope.get("user")
    settings = request.app.state.settings
    context: dict[str, Any] = {
        "lang": lang,
        "dir": direction(lang),
        "principal": principal,
        "csrf_token": principal.csrf_token if isinstance(principal, Principal) else None,
        "tenant_name": None,
        "demo_mode": settings.demo_mode,
        "nav": None,
        "trial": None,
    }
    context.update(extra)
    return context


async def tenant_context_for(db: NamedDependency[AsyncSession]) -> dict[str, Any]:
    """What the layout shows of the signed-in tenant: its name and, during a trial, the days left."""
    tenant = await TenantRepo(db).one_or_none()
    standing = await subscription_standing(db)
    trial = None
    state = standing.state if standing is not None else None
    if standing is not None and state == "trial":
        trial = TrialInfo(state, days_left(standing.trial_ends_at), standing.plan_id)
    return {
        "tenant_name": tenant.name if tenant else None,
        "time_zone": tenant.time_zone if tenant else None,  # where the date filters show times (atlas.i18n.filters)
        "trial": trial,
        # The subscription's effective state, for the layout's billing notice (past due, cancelling).
        "billing_state": state,
        "billing_cancel_at": standing.cancel_at if standing is not None else None,
    }


def page(request: Request[Any, Any, Any], template: str, **context: Any) -> Template:
    return Template(template, context=base_context(request, **context), media_type=MediaType.HTML)
