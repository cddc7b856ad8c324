"""Billing API: plans, the subscription (cancel, resume, change plan), the billing profile, meeting requests
and invoices. Every route here is a billing route (``billing: True``): it stays open whatever the
subscription's state, so a tenant can always see where it stands and pay."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

import msgspec
import structlog
from litestar import Controller, Request, Response, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, Parameter
from litestar.response import Redirect
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from atlas.billing import admin, einvoice_views, invoice_pdf, invoices, payments, plan_changes, services, views
from atlas.billing.models import MeetingRequest, MoyasarEvent
from atlas.billing.moyasar import MoyasarClient, MoyasarError, key_mode, parse_webhook_event
from atlas.billing.scheduling import ensure_renewal
from atlas.billing.schemas import (
    BillingOverviewRead,
    BillingProfileIn,
    BillingProfileRead,
    ContractActivation,
    InvoiceRead,
    MeetingRequestIn,
    MeetingRequestRead,
    PaymentStart,
    PaymentStarted,
    PlanChange,
    PlanChangeResult,
    PlanRead,
    SubscriptionRead,
    TenantBillingRead,
    TrialExtension,
)
from atlas.config import Settings
from atlas.db.base import utcnow
from atlas.db.engine import Database
from atlas.errors import BadRequest, NotFound, Unauthenticated, Unavailable
from atlas.i18n import request_lang, translate
from atlas.platform import platform_admin
from atlas.platform.audit import Actor
from atlas.platform.principal import Principal
from atlas.platform.rbac import Permission

log = structlog.get_logger("atlas.billing")
READ = {"permission": Permission.READ, "billing": True}


def moyasar_client(request: Request[Any, Any, Any]) -> MoyasarClient:
    client = getattr(request.app.state, "moyasar", None)
    if client is None:
        raise Unavailable("errors.payments_not_configured")
    return client  # type: ignore[no-any-return]


MANAGE = {"permission": Permission.MANAGE_TENANT, "billing": True}


def meeting_read(row: MeetingRequest) -> MeetingRequestRead:
    return MeetingRequestRead(
        id=row.id,
        contact_name=row.contact_name,
        email=row.email,
        phone=row.phone,
        preferred_times=row.preferred_times,
        notes=row.notes,
        created_at=row.created_at,
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
        request: Request[Any, Any, Any],
        database: NamedDependency[Database],
        data: PlanChange,
        principal: NamedDependency[Principal],
        correlation_id: NamedDependency[str],
        settings: NamedDependency[Settings],
    ) -> PlanChangeResult:
        """Upgrade now (a prorated charge on the saved card) or downgrade from the next period."""
        async with database.tenant_session(principal.tenant_id) as session:
            result = await plan_changes.change_plan(
                session, data.plan, settings=settings, actor=principal.actor, correlation_id=correlation_id
            )
        if isinstance(result, PlanChangeResult):
            return result
        charged: int | None = None
        invoice_id = None
        if result.attempt_id is not None:
            started = await payments.charge_attempt_with_saved_card(
                database,
                moyasar_client(request),
                settings=settings,
                box=request.app.state.secret_box,
                tenant_id=principal.tenant_id,
                attempt_id=result.attempt_id,
                actor=principal.actor,
                correlation_id=correlation_id,
            )
            if started.status == "initiated" and started.redirect_url:
                async with database.tenant_session(principal.tenant_id) as session:
                    subscription = await services.locked_subscription(session)
                    read = await views.subscription_read(session, subscription)
                return PlanChangeResult(
                    "redirect", read, charged_halalas=started.amount, redirect_url=started.redirect_url
                )
            if started.status != "paid":
                raise payments.PaymentFailed("errors.upgrade_declined", message=started.message or started.status)
            charged = started.amount
        async with database.tenant_session(principal.tenant_id) as session:
            subscription = await services.locked_subscription(session)
            read = await views.subscription_read(session, subscription)
            if result.attempt_id is not None:
                invoice = await invoices.invoice_for_attempt(session, result.attempt_id)
                invoice_id = invoice.id if invoice else None
        return PlanChangeResult("upgraded", read, charged_halalas=charged, invoice_id=invoice_id)


class BillingProfileController(Controller):
    path = "/api/billing/profile"
    tags = ["billing"]

    @get("/", opt=READ)
    async def read(self, db: NamedDependency[AsyncSession]) -> BillingProfileRead:
        """Who invoices are made out to: legal names, VAT number, national address and CRN (the company's name
        until a profile is saved)."""
        profile = await services.billing_profile(db)
        company = ""
        if profile is None:
            from atlas.platform.services import TenantRepo

            tenant = await TenantRepo(db).one_or_none()
            company = tenant.name if tenant else ""
        return views.profile_read(profile, company)

    @put("/", opt=MANAGE)
    async def update(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        data: BillingProfileIn,
        principal: NamedDependency[Principal],
        correlation_id: NamedDependency[str],
    ) -> BillingProfileRead:
        """Replace the billing profile: a legal name in Arabic and/or English; an optional VAT number (15 digits,
        starting and ending with 3), with which the national address is required; an optional CRN (10 digits).
        Every problem is answered at once (422, ``errors`` names each field) and nothing is saved."""
        try:
            profile = await services.update_billing_profile(
                db,
                services.ProfileInput(**msgspec.structs.asdict(data)),
                actor=principal.actor,
                correlation_id=correlation_id,
            )
        except services.BillingProfileInvalid as exc:
            raise worded(exc, request_lang(request)) from None
        return views.profile_read(profile, "")


def worded(exc: services.BillingProfileInvalid, lang: str) -> services.BillingProfileInvalid:
    """``exc`` with each field's message in ``lang`` (the labels inside them too), as the other 422s word theirs."""

    def message(problem: services.FieldProblem) -> str:
        return translate(problem.message_key, lang, label=translate(problem.label_key, lang), max=problem.limit)

    exc.params = {**exc.params, "label": translate(exc.problems[0].label_key, lang)}
    exc.extra = {
        **exc.extra,
        "errors": [
            {"field": p.field, "source": "body", "code": p.message_key, "message": message(p)} for p in exc.problems
        ],
    }
    return exc


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
        """The tenant's invoices, newest first, each with where its ZATCA document stands (a standard invoice's QR
        only once cleared)."""
        found = await invoices.list_invoices(db)
        states = await einvoice_views.states_by_invoice(db, [i.id for i in found])
        return [views.invoice_read(i, einvoice=states.get(i.id)) for i in found]

    @get("/{invoice_id:uuid}", opt=READ)
    async def read(self, db: NamedDependency[AsyncSession], invoice_id: FromPath[uuid.UUID]) -> InvoiceRead:
        try:
            invoice = await invoices.get_invoice(db, invoice_id)
        except NotFound:
            raise NotFound("errors.invoice_not_found") from None
        states = await einvoice_views.states_by_invoice(db, [invoice.id])
        return views.invoice_read(invoice, einvoice=states.get(invoice.id))

    @get(
        "/{invoice_id:uuid}/pdf",
        opt=READ,
        media_type="application/pdf",
        response_description="The invoice as a bilingual PDF/A-3 (a download named after its number)",
    )
    async def pdf(
        self,
        db: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        invoice_id: FromPath[uuid.UUID],
    ) -> Response[bytes]:
        """The invoice as a bilingual PDF/A-3b (Arabic first, English beside it, the ZATCA QR code), with the
        signed e-invoice XML embedded as an associated file when the invoice has one."""
        pdf = await invoice_pdf.invoice_pdf(db, invoice_id, settings)
        return Response(content=pdf.content, media_type="application/pdf", headers=pdf.headers)

    @get(
        "/{invoice_id:uuid}/xml",
        opt=READ,
        media_type="application/xml",
        response_description="The invoice's signed ZATCA XML (ZATCA's cleared copy for a standard invoice)",
    )
    async def xml(self, db: NamedDependency[AsyncSession], invoice_id: FromPath[uuid.UUID]) -> Response[bytes]:
        """The signed UBL 2.1 document (issue 20): a standard invoice only once ZATCA cleared it (409 before), a
        simplified one at once; 404 for an invoice without a Phase 2 document."""
        try:
            invoice = await invoices.get_invoice(db, invoice_id)
        except NotFound:
            raise NotFound("errors.invoice_not_found") from None
        content = await einvoice_views.shareable_xml(db, invoice)
        if content is None:
            raise NotFound("errors.einvoice_none")
        name = f"{invoices.display_number(invoice.number)}.xml"
        return Response(
            content=content,
            media_type="application/xml",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )


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
        mrr_self_serve_halalas=data.mrr_self_serve_halalas,
        mrr_contract_halalas=data.mrr_contract_halalas,
        internal_halalas=data.internal_halalas,
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
        """Subscriptions by state, trials ending this week, past-due tenants, meeting requests; customers' MRR
        (self-serve and contract apart) and the operator's internal tenants' plans, which are not revenue."""
        async with platform_admin.audited_platform_read(
            database, principal, correlation_id, what="billing_overview"
        ) as session:
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


class PaymentController(Controller):
    """SPEC 6: start a payment with a Moyasar token, the 3-D Secure return, and Moyasar's webhook."""

    path = "/api"
    tags = ["billing"]

    @post("/payments", opt=MANAGE, status_code=201)
    async def start(
        self,
        request: Request[Any, Any, Any],
        database: NamedDependency[Database],
        data: PaymentStart,
        principal: NamedDependency[Principal],
        correlation_id: NamedDependency[str],
        settings: NamedDependency[Settings],
    ) -> PaymentStarted:
        """Pay for a plan with the token Moyasar gave the browser. The amount comes from the plan (with VAT);
        the answer says where to send the browser for 3-D Secure, or the outcome."""
        started = await payments.start_subscription_payment(
            database,
            moyasar_client(request),
            settings=settings,
            box=request.app.state.secret_box,
            tenant_id=principal.tenant_id,
            plan_id=data.plan,
            token=data.token,
            actor=principal.actor,
            correlation_id=correlation_id,
        )
        if started.status == "paid":
            await after_payment(request, database, principal.tenant_id)
        return PaymentStarted(
            payment_id=started.attempt_id,
            status=started.status,
            amount_halalas=started.amount,
            currency=started.currency,
            redirect_url=started.redirect_url,
            message=started.message,
        )

    @get("/payments/callback", opt=READ)
    async def callback(
        self,
        request: Request[Any, Any, Any],
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        correlation_id: NamedDependency[str],
        settings: NamedDependency[Settings],
        payment_id: str | None = Parameter(query="id", default=None, max_length=200),
    ) -> Redirect:
        """Moyasar sends the browser back here after 3-D Secure. Nothing is taken from the query string but the
        payment's id: the payment is fetched from Moyasar and checked against the attempt before anything
        changes."""
        attempt_id = payments.parse_attempt_id(payment_id)
        if attempt_id is None:
            return outcome_redirect("mismatch")
        async with database.tenant_session(principal.tenant_id) as session:
            mine = await payments.PaymentAttemptRepo(session).get_or_none(attempt_id)
        if mine is None:  # not a payment of this tenant: change nothing
            return outcome_redirect("mismatch")
        try:
            outcome = await payments.settle(
                database,
                moyasar_client(request),
                settings=settings,
                tenant_id=principal.tenant_id,
                attempt_id=attempt_id,
                actor=principal.actor,
                correlation_id=correlation_id,
            )
        except MoyasarError as exc:
            log.warning("callback_not_settled", code=exc.code)
            return outcome_redirect("pending")  # the webhook (or the next visit) settles it
        if outcome.result == "paid":
            await after_payment(request, database, principal.tenant_id)
        return outcome_redirect(outcome.result, outcome.message)

    @post("/webhooks/moyasar", opt={"public": True}, status_code=200)
    async def webhook(
        self,
        request: Request[Any, Any, Any],
        database: NamedDependency[Database],
        settings: NamedDependency[Settings],
        correlation_id: NamedDependency[str],
    ) -> dict[str, str]:
        """Moyasar's notifications. The shared secret is compared in constant time; each event is recorded
        once by its id; the payment is fetched again from Moyasar and applied idempotently."""
        if settings.moyasar_webhook_secret is None or settings.moyasar_secret_key is None:
            raise Unavailable("errors.payments_not_configured")
        try:
            event = parse_webhook_event(await request.body(), secret=settings.moyasar_webhook_secret)
        except MoyasarError as exc:
            if exc.code == "forged_event":
                log.warning("webhook_forged")
                raise Unauthenticated("errors.webhook_forged") from None
            raise BadRequest("errors.webhook_malformed") from None
        if event.live != (key_mode(settings.moyasar_secret_key) == "live"):
            raise BadRequest("errors.webhook_wrong_mode")
        async with database.system_session() as session:
            inserted = await session.scalar(
                pg_insert(MoyasarEvent)
                .values(
                    id=event.id[:100],
                    type=event.type[:50],
                    payment_id=event.payment.id[:100] if event.payment else None,
                )
                .on_conflict_do_nothing(index_elements=["id"])
                .returning(MoyasarEvent.id)
            )
            if inserted is None:
                stored = await session.get(MoyasarEvent, event.id[:100])
                if stored is not None and stored.processed_at is not None:
                    return {"status": "duplicate"}
        outcome = "ignored"
        attempt_id = payments.parse_attempt_id(event.payment.id if event.payment else None)
        tenant_id = await payments.attempt_tenant(database, attempt_id) if attempt_id else None
        if attempt_id is not None and tenant_id is not None:
            try:
                settled = await payments.settle(
                    database,
                    moyasar_client(request),
                    settings=settings,
                    tenant_id=tenant_id,
                    attempt_id=attempt_id,
                    actor=Actor("system", "moyasar webhook"),
                    correlation_id=correlation_id,
                )
            except MoyasarError as exc:
                log.warning("webhook_not_settled", code=exc.code)
                raise Unavailable("errors.moyasar_unavailable") from None  # Moyasar retries the event
            outcome = settled.result
            if outcome == "paid":
                await after_payment(request, database, tenant_id)
        elif attempt_id is None or tenant_id is None:
            outcome = "unknown_payment"
        async with database.system_session() as session:
            stored = await session.get(MoyasarEvent, event.id[:100])
            if stored is not None:
                stored.processed_at = utcnow()
                stored.outcome = outcome
        return {"status": "processed", "outcome": outcome}


def outcome_redirect(result: str, message: str | None = None) -> Redirect:
    query = {"payment": result}
    if message and result == "failed":
        query["message"] = message[:200]
    return Redirect("/app/subscription?" + urlencode(query))


async def after_payment(request: Request[Any, Any, Any], database: Database, tenant_id: uuid.UUID) -> None:
    """A paid payment: make sure the subscription's renewal workflow runs (never fails the request)."""
    async with database.tenant_session(tenant_id) as session:
        subscription = await services.current_subscription(session)
    if subscription is not None and subscription.billing_mode == "moyasar":
        await ensure_renewal(
            request.app.state.temporal,
            request.app.state.settings,
            tenant_id=tenant_id,
            subscription_id=subscription.id,
        )


CONTROLLERS.append(PaymentController)

# ZATCA onboarding of Atlas's invoicing unit (issue 20), platform admins only
from atlas.billing.einvoicing_controllers import EInvoicingUnitsController  # noqa: E402

CONTROLLERS.append(EInvoicingUnitsController)

# correcting a document ZATCA refused (issue 20), platform admins only
from atlas.billing.einvoice_correction_controllers import EInvoiceCorrectionController  # noqa: E402

CONTROLLERS.append(EInvoiceCorrectionController)

# Refunds with credit notes (issue 20), platform admins only
from atlas.billing.refund_controllers import RefundsController  # noqa: E402

CONTROLLERS.append(RefundsController)
