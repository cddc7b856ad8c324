"""Billing API: plans, the subscription (cancel, resume, change plan), the billing profile, meeting requests
and invoices. Every route here is a billing route (``billing: True``): it stays open whatever the
subscription's state, so a tenant can always see where it stands and pay."""

from __future__ import annotations

import uuid

from litestar import Controller, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath
from sqlalchemy.ext.asyncio import AsyncSession

from atlas.billing import admin, invoices, services, views
from atlas.billing.schemas import (
    BillingOverviewRead,
    BillingProfileIn,
    BillingProfileRead,
    ContractActivation,
    InvoiceRead,
    MeetingRequestIn,
    MeetingRequestRead,
    PlanChange,
    PlanChangeResult,
    PlanRead,
    SubscriptionRead,
    TenantBillingRead,
    TrialExtension,
)
from atlas.config import Settings
from atlas.db.engine import Database
from atlas.errors import NotFound
from atlas.platform import platform_admin
from atlas.platform.principal import Principal
from atlas.policy.rbac import Permission

READ = {"permission": Permission.READ, "billing": True}
MANAGE = {"permission": Permission.MANAGE_TENANT, "billing": True}


def meeting_read(row: object) -> MeetingRequestRead:
    return MeetingRequestRead(
        id=row.id,  # type: ignore[attr-defined]
        contact_name=row.contact_name,  # type: ignore[attr-defined]
        email=row.email,  # type: ignore[attr-defined]
        phone=row.phone,  # type: ignore[attr-defined]
        preferred_times=row.preferred_times,  # type: ignore[attr-defined]
        notes=row.notes,  # type: ignore[attr-defined]
        created_at=row.created_at,  # type: ignore[attr-defined]
    )


class PlansController(Controller):
    path = "/api/subscription-plans"
    tags = ["billing"]

    @get("/", opt={"public": True})
    async def plans(self, database: NamedDependency[Database], settings: NamedDependency[Settings]) -> list[PlanRead]:
        """The price list: monthly prices in halalas, excluding VAT, with the VAT and the total."""
        async with database.anonymous_session() as session:
            return [views.plan_read(p, settings.vat_rate_bp) for p in await services.list_plans(session)]


class SubscriptionController(Controller):
    path = "/api/subscriptions"
    tags = ["billing"]

    @get("/", opt=READ)
    async def subscriptions(self, db: NamedDependency[AsyncSession]) -> list[SubscriptionRead]:
        """The tenant's subscription with its effective state, period, saved card, usage and limits."""
        subscription = await services.current_subscription(db)
        return [] if subscription is None else [await views.subscription_read(db, subscription)]

    @post("/cancel", opt=MANAGE, status_code=200)
    async def cancel(
        self,
        db: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        correlation_id: NamedDependency[str],
    ) -> SubscriptionRead:
        """Cancel at the end of the paid period (access stays until then; then read-only)."""
        subscription = await services.schedule_cancellation(db, actor=principal.actor, correlation_id=correlation_id)
        return await views.subscription_read(db, subscription)

    @post("/resume", opt=MANAGE, status_code=200)
    async def resume(
        self,
        db: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        correlation_id: NamedDependency[str],
    ) -> SubscriptionRead:
        """Keep the subscription after all (undo a cancellation before the period ends)."""
        subscription = await services.resume(db, actor=principal.actor, correlation_id=correlation_id)
        return await views.subscription_read(db, subscription)

    @post("/change-plan", opt=MANAGE, status_code=200)
    async def change_plan(
        self,
        db: NamedDependency[AsyncSession],
        data: PlanChange,
        principal: NamedDependency[Principal],
        correlation_id: NamedDependency[str],
        settings: NamedDependency[Settings],
    ) -> PlanChangeResult:
        """Upgrade now (a prorated charge on the saved card) or downgrade from the next period."""
        from atlas.billing.plan_changes import change_plan

        return await change_plan(db, data.plan, settings=settings, actor=principal.actor, correlation_id=correlation_id)


class BillingProfileController(Controller):
    path = "/api/billing/profile"
    tags = ["billing"]

    @get("/", opt=READ)
    async def read(self, db: NamedDependency[AsyncSession]) -> BillingProfileRead:
        """Who invoices are made out to (the company's name until a legal name is set)."""
        profile = await services.billing_profile(db)
        if profile is None:
            from atlas.platform.services import TenantRepo

            tenant = await TenantRepo(db).one_or_none()
            return BillingProfileRead(legal_name=tenant.name if tenant else "", vat_number=None, updated_at=None)
        return BillingProfileRead(
            legal_name=profile.legal_name, vat_number=profile.vat_number, updated_at=profile.updated_at
        )

    @put("/", opt=MANAGE)
    async def update(
        self,
        db: NamedDependency[AsyncSession],
        data: BillingProfileIn,
        principal: NamedDependency[Principal],
        correlation_id: NamedDependency[str],
    ) -> BillingProfileRead:
        """Set the legal name and the optional VAT number (15 digits, starting and ending with 3)."""
        profile = await services.update_billing_profile(
            db,
            legal_name=data.legal_name,
            vat_number=data.vat_number,
            actor=principal.actor,
            correlation_id=correlation_id,
        )
        return BillingProfileRead(
            legal_name=profile.legal_name, vat_number=profile.vat_number, updated_at=profile.updated_at
        )


class MeetingRequestController(Controller):
    path = "/api/meeting-requests"
    tags = ["billing"]

    @get("/", opt=READ)
    async def list_requests(self, db: NamedDependency[AsyncSession]) -> list[MeetingRequestRead]:
        return [meeting_read(m) for m in await services.meeting_requests(db)]

    @post("/", opt=MANAGE, status_code=201)
    async def create(
        self,
        db: NamedDependency[AsyncSession],
        data: MeetingRequestIn,
        principal: NamedDependency[Principal],
        correlation_id: NamedDependency[str],
    ) -> MeetingRequestRead:
        """Ask to meet the sales team (contact, phone, preferred times, notes); platform admins see it."""
        meeting = await services.request_meeting(
            db,
            contact_name=data.contact_name,
            email=data.email,
            phone=data.phone,
            preferred_times=data.preferred_times,
            notes=data.notes,
            actor=principal.actor,
            correlation_id=correlation_id,
        )
        return meeting_read(meeting)


class InvoiceController(Controller):
    path = "/api/invoices"
    tags = ["billing"]

    @get("/", opt=READ)
    async def list_invoices(self, db: NamedDependency[AsyncSession]) -> list[InvoiceRead]:
        """The tenant's invoices, newest first."""
        return [views.invoice_read(i) for i in await invoices.list_invoices(db)]

    @get("/{invoice_id:uuid}", opt=READ)
    async def read(self, db: NamedDependency[AsyncSession], invoice_id: FromPath[uuid.UUID]) -> InvoiceRead:
        try:
            return views.invoice_read(await invoices.get_invoice(db, invoice_id))
        except NotFound:
            raise NotFound("errors.invoice_not_found") from None


CONTROLLERS = [
    PlansController,
    SubscriptionController,
    BillingProfileController,
    MeetingRequestController,
    InvoiceController,
]


def overview_read(data: admin.BillingOverview) -> BillingOverviewRead:
    def tenant(t: admin.TenantBilling) -> TenantBillingRead:
        return TenantBillingRead(**t.__dict__)

    return BillingOverviewRead(
        by_state=data.by_state,
        mrr_halalas=data.mrr_halalas,
        trials_ending_this_week=[tenant(t) for t in data.trials_ending_this_week],
        past_due=[tenant(t) for t in data.past_due],
        subscriptions=[tenant(t) for t in data.subscriptions],
        meeting_requests=[MeetingRequestRead(**m) for m in data.meeting_requests],
    )


class PlatformBillingController(Controller):
    """Platform admins only. Reads are platform-read transactions, audited; each action is a system transaction
    audited in the target tenant's trail."""

    path = "/api/platform"
    tags = ["platform"]

    @get("/billing", opt={"permission": Permission.PLATFORM_TENANTS})
    async def billing_overview(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        correlation_id: NamedDependency[str],
    ) -> BillingOverviewRead:
        """Subscriptions by state, trials ending this week, past-due tenants, MRR, meeting requests."""
        async with database.system_session() as session:
            await platform_admin.record_view(
                session,
                actor=principal.actor,
                correlation_id=correlation_id,
                viewed_tenant_id=None,
                own_tenant_id=principal.tenant_id,
                what="billing_overview",
            )
        async with database.platform_read_session() as session:
            return overview_read(await admin.overview(session))

    @post("/tenants/{tenant_id:uuid}/extend-trial", opt={"permission": Permission.PLATFORM_TENANTS}, status_code=200)
    async def extend_trial(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        correlation_id: NamedDependency[str],
        tenant_id: FromPath[uuid.UUID],
        data: TrialExtension,
    ) -> dict[str, object]:
        """Give a tenant more days of trial (from now, if it has ended)."""
        async with database.system_session() as session:
            subscription = await admin.extend_trial(
                session, tenant_id, days=data.days, actor=principal.actor, correlation_id=correlation_id
            )
            return {"status": subscription.status, "trial_ends_at": subscription.trial_ends_at}

    @post(
        "/tenants/{tenant_id:uuid}/activate-contract", opt={"permission": Permission.PLATFORM_TENANTS}, status_code=200
    )
    async def activate_contract(
        self,
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        correlation_id: NamedDependency[str],
        tenant_id: FromPath[uuid.UUID],
        data: ContractActivation,
    ) -> dict[str, object]:
        """Set an enterprise tenant active by contract (invoiced outside Moyasar) for a number of months."""
        async with database.system_session() as session:
            subscription = await admin.activate_by_contract(
                session,
                tenant_id,
                plan_id=data.plan,
                months=data.months,
                reference=data.reference,
                actor=principal.actor,
                correlation_id=correlation_id,
            )
            return {
                "status": subscription.status,
                "plan_id": subscription.plan_id,
                "billing_mode": subscription.billing_mode,
                "current_period_end": subscription.current_period_end,
            }


CONTROLLERS.append(PlatformBillingController)
