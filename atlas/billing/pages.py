"""Billing pages: the subscription page (plans, payment form, trial-ended screens, invoices, billing profile)
and the printable invoice. Billing routes: open in every subscription state."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from atlas.billing import admin, einvoice_views, invoice_pdf, invoices, onboarding, refunds, services, views, zatca
from atlas.billing.einvoicing_reminders import certificate_notice
from atlas.billing.einvoicing_units import list_units, unit_summary
from atlas.billing.states import Status
from atlas.config import Settings
from atlas.db.engine import Database
from atlas.i18n import translate
from atlas.platform import people, platform_admin
from atlas.platform.principal import Principal
from atlas.platform.rbac import Permission
from atlas.web.ui.layout import page, tenant_context_for

READ = {"permission": Permission.READ, "billing": True}
PAYMENT_OUTCOMES = ("paid", "failed", "mismatch", "pending")


class BillingPages(Controller):
    include_in_schema = False

    @get("/app/subscription", opt=READ)
    async def subscription(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        settings: NamedDependency[Settings],
    ) -> Any:
        status = await onboarding.onboarding_status(db)
        if not status.completed:
            return Redirect("/onboarding")
        subscription = await services.current_subscription(db)
        if subscription is None:
            return Redirect("/onboarding")
        ctx = await tenant_context_for(db)
        state = services.effective(subscription)
        profile = await services.billing_profile(db)
        outcome = request.query_params.get("payment")
        tenant_invoices = await invoices.list_invoices(db)
        return page(
            request,
            "billing/subscription.html",
            nav="subscription",
            subscription=await views.subscription_read(db, subscription),
            state=state.value,
            trial_ended=state is Status.EXPIRED and subscription.current_period_start is None,
            org_type=status.org_type,
            plans=[views.plan_read(p, settings.vat_rate_bp) for p in await services.list_plans(db)],
            can_manage=principal.can(Permission.MANAGE_TENANT),
            profile=views.profile_read(profile, status.company_name or ""),
            invoices=[views.invoice_read(i) for i in tenant_invoices],
            einvoice_states=await einvoice_views.states_by_invoice(db, [i.id for i in tenant_invoices]),
            notices=await services.open_notices(db),
            meetings=await services.meeting_requests(db),
            payment_outcome=outcome if outcome in PAYMENT_OUTCOMES else None,
            payment_message=(request.query_params.get("message") or "")[:200] or None,
            moyasar=payment_form_settings(request),
            principal_email=principal.email,
            **ctx,
        )

    @get("/app/invoices/{invoice_id:uuid}", opt=READ)
    async def invoice(
        self, request: Request[Any, Any, Any], db: NamedDependency[AsyncSession], invoice_id: FromPath[uuid.UUID]
    ) -> Template:
        """The printable, bilingual tax invoice with its ZATCA QR code."""
        invoice = await invoices.get_invoice(db, invoice_id)
        # Phase 2 (issue 20): a standard invoice is shown only once cleared; the QR is the document's
        einvoice = await einvoice_views.einvoice_view(db, invoice)
        ctx = await tenant_context_for(db)
        return page(
            request,
            "billing/invoice.html",
            nav="subscription",
            invoice=views.invoice_read(invoice),
            einvoice=einvoice,
            qr_payload=einvoice.qr,
            qr_svg=zatca.qr_svg(einvoice.qr) if einvoice.qr else None,
            bi=lambda key: (translate(key, "ar"), translate(key, "en")),
            **ctx,
        )

    @get("/app/invoices/{invoice_id:uuid}/pdf", opt=READ, media_type="application/pdf")
    async def invoice_pdf_download(
        self,
        db: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        invoice_id: FromPath[uuid.UUID],
    ) -> Response[bytes]:
        """The invoice as a bilingual PDF/A-3 (a download), with the signed XML embedded when there is one."""
        pdf = await invoice_pdf.invoice_pdf(db, invoice_id, settings)
        return Response(content=pdf.content, media_type="application/pdf", headers=pdf.headers)


class PlatformBillingPages(Controller):
    include_in_schema = False

    @get("/platform/billing", opt={"permission": Permission.PLATFORM_TENANTS})
    async def overview(
        self,
        request: Request[Any, Any, Any],
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        correlation_id: NamedDependency[str],
        settings: NamedDependency[Settings],
    ) -> Template:
        """Across tenants: subscriptions by state, trials ending, past due, MRR, meeting requests; with actions."""
        async with platform_admin.audited_platform_read(
            database, principal, correlation_id, what="billing_overview"
        ) as session:
            data = await admin.overview(session)
            plans = await services.list_plans(session)
            # who asked for each meeting, by name (issue 19): read in the same audited platform read
            requesters = await admin.meeting_requesters(session, (r["id"] for r in data.meeting_requests))
            names = await people.actor_names_across_tenants(session, requesters.values())
            # Atlas's ZATCA invoicing units (issue 20): the newest first, no secret (unit_summary)
            units = [unit_summary(u) for u in await list_units(session)]
            # documents refused by ZATCA (with its messages), simplified ones reported late (HB, issue 20)
            einvoice_issues = await einvoice_views.platform_einvoices(session)
            # refunds whose outcome at Moyasar is unknown or still unsettled, across tenants (issue 20)
            refunds_to_check = await refunds.refunds_to_check(session)
        async with database.tenant_session(principal.tenant_id) as session:
            ctx = await tenant_context_for(session)
            ctx["einvoicing_certificate"] = await certificate_notice(session)  # the ZATCA certificate's banner
        return page(
            request,
            "billing/platform.html",
            nav="platform",
            overview=data,
            plans=plans,
            requesters=requesters,
            actor_names=names,
            einvoicing_units=units,
            einvoice_issues=einvoice_issues,
            refunds_to_check=refunds_to_check,
            # the active unit onboarded for another VAT number than the seller's: invoices get no Phase 2 document
            einvoicing_vat_mismatch=(
                units[0].vat_number
                if units and units[0].active and units[0].vat_number != settings.seller_vat_number
                else None
            ),
            seller_vat_number=settings.seller_vat_number,
            **ctx,
        )


def payment_form_settings(request: Request[Any, Any, Any]) -> dict[str, Any] | None:
    """What the browser needs to send a card straight to Moyasar (publishable key and URL), if configured."""
    provider = getattr(request.app.state, "moyasar_browser", None)
    return provider if isinstance(provider, dict) else None


PAGES = [BillingPages, PlatformBillingPages]
