"""Server-rendered pages of the tenant and the platform: the landing page, sign-in, onboarding, the dashboard, the
team, API tokens, the audit trail and the platform admin's tenants. Each handler gathers its context through the
same services as the API.

The top of the web layer: the dashboard assembles cards from the AI engine, the approvals and mapping, with the
getting-started checklist and the charts of ``atlas.web.dashboard`` (issue 19), and nothing imports this module but
the app. The layout every page shares (``page``, ``tenant_context_for``) moved down to
``atlas.web.ui.layout`` in issue 18's pages part, so that the components' pages no longer import this module.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from atlas.ai_engine.dashboard_figures import TYPE_ORDER
from atlas.ai_engine.pages import dashboard_cards
from atlas.approvals.pages import reminder_notices
from atlas.billing import onboarding, tenant_views
from atlas.billing import services as billing
from atlas.billing.einvoicing_reminders import certificate_notice
from atlas.db.base import utcnow
from atlas.db.engine import Database
from atlas.i18n import LANGS, request_lang, translate
from atlas.i18n.typed_input import parse_local_time, zone_city
from atlas.mapping.freshness import sync_freshness
from atlas.platform import people, platform_admin, services
from atlas.platform.controllers import EVENT_TYPES
from atlas.platform.principal import Principal
from atlas.platform.rbac import Permission, Role
from atlas.web import dashboard as dashboard_view
from atlas.web import params as paging
from atlas.web.ui.layout import page, tenant_context_for

# The demo's accounts (seeded by ``atlas.demo``), each with the catalogue key of the one line that says what it
# shows, so a visitor picks the journey they came to see; ``code`` is a value the line needs (the test card),
# shown isolated left to right after it, never inside the translated sentence.
DEMO_ACCOUNTS = [
    {"email": "admin@demo.atlas.sa", "role": "admin", "shows": "signin.demo.shows.admin"},
    {"email": "operator@demo.atlas.sa", "role": "operator", "shows": "signin.demo.shows.operator"},
    {
        "email": "owner@smb.demo.atlas.sa",
        "role": "admin",
        "shows": "signin.demo.shows.smb",
        "code": "4111 1111 1111 1111",
    },
    {"email": "enterprise@demo.atlas.sa", "role": "admin", "shows": "signin.demo.shows.enterprise"},
    {"email": "platform@atlas.sa", "role": "platform_admin", "shows": "signin.demo.shows.platform"},
]


class PublicPages(Controller):
    include_in_schema = False

    @get("/", opt={"public": True})
    async def landing(self, request: Request[Any, Any, Any], database: NamedDependency[Database]) -> Template:
        async with database.anonymous_session() as session:
            plans = await billing.list_plans(session)
        return page(request, "landing.html", plans=plans)

    @get("/signin", opt={"public": True})
    async def signin(self, request: Request[Any, Any, Any], error: str | None = None) -> Template:
        from atlas.platform.login import safe_return_path

        nxt = safe_return_path(request.query_params.get("next"))
        return page(
            request,
            "signin.html",
            error=(error or "")[:40] or None,
            signed_out=request.query_params.get("signed_out") == "1",
            next=nxt,
            demo_accounts=DEMO_ACCOUNTS,
        )


class TenantPages(Controller):
    include_in_schema = False

    @get("/onboarding", opt={"authenticated": True})
    async def onboarding(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
    ) -> Any:
        status = await onboarding.onboarding_status(db)
        if status.completed:
            return Redirect("/app")
        ctx = await tenant_context_for(db)
        return page(
            request,
            "onboarding.html",
            status=status,
            can_complete=principal.can(Permission.MANAGE_TENANT),
            use_cases=list(services.USE_CASES),
            coming_soon=list(services.COMING_SOON_USE_CASES),
            tenant_name=ctx["tenant_name"],
        )

    @get("/app", opt={"permission": Permission.READ})
    async def dashboard(self, request: Request[Any, Any, Any], db: NamedDependency[AsyncSession]) -> Any:
        status = await onboarding.onboarding_status(db)
        if not status.completed:
            return Redirect("/onboarding")
        ctx = await tenant_context_for(db)
        members = await services.UserRepo(db).count()
        recent = await services.audit_page(db, limit=8)
        freshness = await sync_freshness(db)
        from atlas.mapping.outcomes import sync_cards

        return page(
            request,
            "dashboard.html",
            nav="dashboard",
            # approvals about to expire (issue 6): read here, above both, and shown among the AI's cards
            ai_summary=await dashboard_cards(db, await reminder_notices(db), TYPE_ORDER),
            sync_cards=await sync_cards(db, request_lang(request)),
            # issue 19: the getting-started steps ticked from the tenant's data, and the charts
            checklist=await dashboard_view.checklist(db, freshness, members),
            charts=await dashboard_view.charts(db, freshness, utcnow(), ctx["time_zone"]),
            status=status,
            member_count=members,
            recent_events=recent.events,
            actor_names=await people.actor_names(db, (e.actor for e in recent.events)),  # people by name (issue 19)
            **ctx,
        )

    @get("/app/team", opt={"permission": Permission.READ})
    async def team(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
    ) -> Template:
        ctx = await tenant_context_for(db)
        members = [
            {
                "id": m.id,
                "email": m.email,
                "display_name": m.display_name,
                "role": m.role,
                "created_at": m.created_at,
                "is_me": m.id == principal.user_id,
            }
            for m in await services.list_members(db)
        ]
        return page(
            request,
            "team.html",
            nav="team",
            members=members,
            invitations=await services.list_invitations(db),
            can_manage=principal.can(Permission.MANAGE_MEMBERS),
            roles=[str(r) for r in Role],
            **ctx,
        )

    @get("/app/tokens", opt={"permission": Permission.MANAGE_TOKENS})
    async def tokens(self, request: Request[Any, Any, Any], db: NamedDependency[AsyncSession]) -> Template:
        ctx = await tenant_context_for(db)
        return page(
            request,
            "tokens.html",
            nav="tokens",
            tokens=await services.list_tokens(db),
            now=utcnow(),
            roles=[str(r) for r in Role],
            **ctx,
        )

    @get("/app/audit", opt={"permission": Permission.READ})
    async def audit(self, request: Request[Any, Any, Any], db: NamedDependency[AsyncSession]) -> Template:
        ctx = await tenant_context_for(db)
        q = request.query_params
        filters = {k: (q.get(k) or "")[:100] for k in ("event_type", "correlation_id", "since", "until")}
        # The time filters are wall-clock times in the tenant's zone, typed in ISO order in either language's
        # digits (issue 19); one that does not read as a time is left out and marked beside its field.
        zone = ctx.get("time_zone")
        moments = {name: _local_filter(filters[name], zone, end=name == "until") for name in ("since", "until")}
        invalid = [name for name, moment in moments.items() if filters[name] and moment is None]
        result = await services.audit_page(
            db,
            event_type=filters["event_type"] or None,
            correlation_id=filters["correlation_id"] or None,
            since=moments["since"],
            until=moments["until"],
            cursor=q.get("cursor") or None,
            limit=50,
            cursor_key=paging.cursor_key(request),
        )
        return page(
            request,
            "audit.html",
            nav="audit",
            events=result.events,
            actor_names=await people.actor_names(db, (e.actor for e in result.events)),  # people by name (issue 19)
            filters=filters,
            invalid_filters=invalid,
            # "From (Riyadh time)": the zone's city as CLDR names it in each language, both for the switch
            filter_labels={
                name: {
                    lang: translate(f"auditpage.filter.{name}_in_zone", lang, city=zone_city(zone, lang))
                    for lang in LANGS
                }
                for name in ("since", "until")
            },
            event_types=EVENT_TYPES,
            next_cursor=result.next_cursor,
            **ctx,
        )


def _local_filter(text: str, zone: str | None, *, end: bool) -> datetime | None:
    """A time filter as typed (``2026-12-07 14:30`` in the tenant's zone) as its UTC moment; None when empty or
    unreadable."""
    if not text:
        return None
    try:
        return parse_local_time(text, zone, end=end)
    except ValueError:
        return None


class PlatformPages(Controller):
    include_in_schema = False

    @get("/platform", opt={"permission": Permission.PLATFORM_TENANTS})
    async def tenants(
        self,
        request: Request[Any, Any, Any],
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        correlation_id: NamedDependency[str],
    ) -> Template:
        async with platform_admin.audited_platform_read(
            database, principal, correlation_id, what="tenant_list"
        ) as session:
            tenants = await tenant_views.list_tenants(session)
        async with database.tenant_session(principal.tenant_id) as session:
            ctx = await tenant_context_for(session)
            ctx["einvoicing_certificate"] = await certificate_notice(session)  # the ZATCA certificate's banner
        return page(request, "platform_tenants.html", nav="platform", tenants=tenants, **ctx)

    @get("/platform/tenants/{tenant_id:uuid}", opt={"permission": Permission.PLATFORM_TENANTS})
    async def tenant(
        self,
        request: Request[Any, Any, Any],
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        correlation_id: NamedDependency[str],
        tenant_id: FromPath[uuid.UUID],
    ) -> Template:
        async with platform_admin.audited_platform_read(
            database, principal, correlation_id, what="tenant_detail", viewed_tenant_id=tenant_id
        ) as session:
            detail = await tenant_views.tenant_detail(session, tenant_id)
            billing_documents = await tenant_views.tenant_documents(session, tenant_id)  # invoices, notes, refunds
            # people by name, the reference on hover (issue 19): read in the same audited platform read
            names = await people.actor_names_across_tenants(session, (e.actor for e in detail.recent_events))
        async with database.tenant_session(principal.tenant_id) as session:
            ctx = await tenant_context_for(session)
            ctx["einvoicing_certificate"] = await certificate_notice(session)  # the ZATCA certificate's banner
        subscription = (
            {
                "status": detail.tenant.subscription_status,
                "plan_id": detail.tenant.plan_id,
                "trial_ends_at": detail.trial_ends_at,
            }
            if detail.tenant.subscription_status
            else None
        )
        tenant = {
            "id": detail.tenant.id,
            "name": detail.tenant.name,
            "org_type": detail.tenant.org_type,
            "use_case": detail.use_case,
            "created_at": detail.tenant.created_at,
        }
        return page(
            request,
            "platform_tenant.html",
            nav="platform",
            tenant=tenant,
            subscription=subscription,
            members=detail.members,
            recent_events=detail.recent_events,
            actor_names=names,
            billing_documents=billing_documents,
            **ctx,
        )


PAGE_CONTROLLERS = [PublicPages, TenantPages, PlatformPages]
