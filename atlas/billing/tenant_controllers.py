"""Onboarding and the platform admin's tenant views: HTTP only, for services that join the platform's tenants to
billing's subscriptions (``atlas.billing.onboarding``, ``atlas.billing.tenant_views``).

Their paths are the platform's (``/api/onboarding``, ``/api/platform/tenants``); they live in billing because the
platform never imports billing (docs/architecture.md).
"""

from __future__ import annotations

import uuid

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from sqlalchemy.ext.asyncio import AsyncSession

from atlas.billing import onboarding, tenant_views
from atlas.config import Settings
from atlas.db.engine import Database
from atlas.platform import platform_admin
from atlas.platform import services as platform
from atlas.platform.principal import Principal
from atlas.platform.rbac import Permission
from atlas.platform.schemas import OnboardingComplete, OnboardingStatusRead, TenantDetail, TenantSummary


def _status_read(status: onboarding.OnboardingStatus) -> OnboardingStatusRead:
    return OnboardingStatusRead(
        completed=status.completed,
        company_name=status.company_name,
        org_type=status.org_type,
        use_case=status.use_case,
        subscription_status=status.subscription_status,
        plan_id=status.plan_id,
        trial_ends_at=status.trial_ends_at,
        use_cases=list(platform.USE_CASES),
        coming_soon=list(platform.COMING_SOON_USE_CASES),
    )


class OnboardingController(Controller):
    path = "/api/onboarding"
    tags = ["onboarding"]

    @get("/status", opt={"permission": Permission.READ})
    async def status(self, db: NamedDependency[AsyncSession]) -> OnboardingStatusRead:
        return _status_read(await onboarding.onboarding_status(db))

    @post("/complete", opt={"permission": Permission.MANAGE_TENANT}, status_code=200)
    async def complete(
        self,
        db: NamedDependency[AsyncSession],
        data: OnboardingComplete,
        principal: NamedDependency[Principal],
        correlation_id: NamedDependency[str],
        settings: NamedDependency[Settings],
    ) -> OnboardingStatusRead:
        """Record company name, type and use case, and start the 7-day trial."""
        status = await onboarding.complete_onboarding(
            db,
            company_name=data.company_name,
            org_type=data.org_type,
            use_case=data.use_case,
            plan_id=data.plan,
            actor=principal.actor,
            correlation_id=correlation_id,
            trial_days=settings.trial_days,
        )
        return _status_read(status)


class PlatformController(Controller):
    path = "/api/platform"
    tags = ["platform"]

    @get("/tenants", opt={"permission": Permission.PLATFORM_TENANTS})
    async def tenants(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        correlation_id: NamedDependency[str],
    ) -> list[TenantSummary]:
        """All tenants (platform admins only); the view is audited."""
        async with platform_admin.audited_platform_read(
            database, principal, correlation_id, what="tenant_list"
        ) as session:
            return await tenant_views.list_tenants(session)

    @get("/tenants/{tenant_id:uuid}", opt={"permission": Permission.PLATFORM_TENANTS})
    async def tenant(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        correlation_id: NamedDependency[str],
        tenant_id: FromPath[uuid.UUID],
    ) -> TenantDetail:
        """One tenant, read-only (platform admins only); the view is audited in that tenant's trail."""
        async with platform_admin.audited_platform_read(
            database, principal, correlation_id, what="tenant_detail", viewed_tenant_id=tenant_id
        ) as session:
            return await tenant_views.tenant_detail(session, tenant_id)


CONTROLLERS = [OnboardingController, PlatformController]
