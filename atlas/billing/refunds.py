"""Money back with a credit note (issue 20): a platform admin refunds a paid invoice or debit note of a tenant.

Three kinds: ``refund`` (an amount, nothing else changes), ``cancellation`` (the unused share of the document's net
plus its VAT; the subscription is cancelled now) and ``downgrade`` (the unused share of the price difference plus
VAT; the subscription moves to the cheaper plan now). Every amount is integer halalas, VAT included, and at most
what is still refundable on the document (its total less its credit notes', and Moyasar's remaining on the payment).

Moyasar's refund API is not idempotent (moyasar.md: never retry a refund blindly), so the flow is:

1. fetch the payment (``refunded_before`` = Moyasar's ``refunded`` figure now), then in one transaction (the
   subscription row locked) check the amounts and record the refund ``requested`` — at most one per payment;
2. call Moyasar once, outside any transaction;
3. settle in a second transaction: Moyasar's ``refunded`` = ``refunded_before`` + amount → ``refunded``: the credit
   note (381 in the chain with an active invoicing unit) is issued and the cancellation or downgrade applied; a clear
   refusal → ``failed`` (nothing changed); a timeout, 5xx or unreadable answer → the payment is fetched again:
   refunded → as success, unchanged → ``failed`` (safe to try again), anything else → ``unknown`` (logged at error
   level, shown to platform admins, never retried automatically).

A refund left ``requested`` by a crash between 2 and 3 is settled the same way by `reconcile_open_refunds` (run by
the payment reconciliation, `atlas.billing.payments.reconcile_open_payments`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from atlas.billing import invoices
from atlas.billing import services as billing
from atlas.billing.models import Invoice, PaymentAttempt, Refund, Subscription, SubscriptionPlan
from atlas.billing.money import charge_for, prorated, sar, vat_of
from atlas.billing.moyasar import MoyasarClient, MoyasarError, MoyasarPayment
from atlas.billing.states import Event, InvalidTransition, Status
from atlas.config import Settings
from atlas.db.base import utcnow
from atlas.db.engine import Database
from atlas.errors import AtlasError, Conflict, NotFound, ValidationFailed
from atlas.platform.audit import Actor, EventType, record
from atlas.platform.models import Tenant
from atlas.platform.tenancy import TenantRepository

log = structlog.get_logger("atlas.billing.refunds")

KINDS = ("refund", "cancellation", "downgrade")
RECONCILE_ACTOR = Actor("system", "refund reconciliation")


class RefundRepo(TenantRepository[Refund]):
    model = Refund
    not_found_key = "errors.refund_not_found"


class RefundUnavailable(AtlasError):
    status = 502
    slug = "refund-unavailable"


class RefundRefused(AtlasError):
    status = 502
    slug = "refund-refused"


@dataclass(frozen=True, slots=True)
class Split:
    net: int
    vat: int

    @property
    def total(self) -> int:
        return self.net + self.vat


@dataclass(frozen=True, slots=True)
class Quote:
    """What a refund of one document would be: the suggestion, the most that may be refunded, what else happens."""

    invoice_id: uuid.UUID
    number: str
    kind: str
    plan_id: str | None
    paid_total: int  # the document's total
    credited_total: int  # its credit notes' totals so far
    moyasar_remaining: int  # what Moyasar still holds of the payment
    remaining: Split  # the document's total less its credit notes (net and VAT apart)
    maximum_total: int  # min(remaining total, Moyasar's remaining)
    suggested: Split  # the default amount (the maximum for `refund`)
    effect: str  # none | cancel_now | plan_now
    refunded_before: int = field(default=0, repr=False)


def split_amount(amount: int, rate_bp: int) -> Split | None:
    """The net whose net + VAT (rounded half up) is exactly ``amount``, or None when no net gives it."""
    if amount <= 0:
        return None
    guess = amount * 10_000 // (10_000 + rate_bp)
    for net in range(max(0, guess - 2), guess + 3):
        if net + vat_of(net, rate_bp) == amount:
            return Split(net, vat_of(net, rate_bp))
    return None


def nearest_amounts(amount: int, rate_bp: int, maximum: int, remaining: Split) -> list[int]:
    """The reachable amounts just below and just above ``amount`` (each within 1..maximum)."""
    reachable = {remaining.total} if remaining.total <= maximum else set()
    for delta in range(1, 6):
        for candidate in (amount - delta, amount + delta):
            if 0 < candidate <= maximum and split_amount(candidate, rate_bp) is not None:
                reachable.add(candidate)
    below = [a for a in reachable if a < amount]
    above = [a for a in reachable if a > amount]
    return ([max(below)] if below else []) + ([min(above)] if above else [])


def amount_split(amount: int, quote: Quote, rate_bp: int) -> Split:
    """``amount`` as net and VAT for a credit note on the quoted document; problem details when it cannot be."""
    if amount <= 0:
        raise ValidationFailed("errors.refund_amount_positive", extra={"field": "amount"})
    if amount > quote.maximum_total:
        raise ValidationFailed(
            "errors.refund_too_much",
            amount=sar(amount),
            max=sar(quote.maximum_total),
            extra={"field": "amount", "maximum_halalas": quote.maximum_total},
        )
    if amount == quote.remaining.total:
        return quote.remaining  # all that is left: exactly the document's remaining net and VAT
    split = split_amount(amount, rate_bp)
    if split is None or split.net > quote.remaining.net or split.vat > quote.remaining.vat:
        nearest = nearest_amounts(amount, rate_bp, quote.maximum_total, quote.remaining)
        raise ValidationFailed(
            "errors.refund_amount_unreachable",
            amount=sar(amount),
            nearest=" / ".join(sar(a) for a in nearest) or "—",
            extra={"field": "amount", "nearest_halalas": nearest},
        )
    return split


async def _document(session: AsyncSession, invoice_id: uuid.UUID) -> tuple[Invoice, PaymentAttempt]:
    """The tenant's paid document to refund (404 for another tenant's), with the payment that paid it."""
    document = await invoices.InvoiceRepo(session).get_or_none(invoice_id)
    if document is None:
        raise NotFound("errors.invoice_not_found")
    if document.kind == "credit_note":
        raise Conflict("errors.refund_credit_note", number=invoices.display_number(document.number))
    if document.payment_attempt_id is None:
        raise Conflict("errors.refund_no_payment", number=invoices.display_number(document.number))
    attempt = await session.get(PaymentAttempt, document.payment_attempt_id)
    if attempt is None or attempt.status != "paid":
        raise Conflict("errors.refund_no_payment", number=invoices.display_number(document.number))
    return document, attempt


async def _remaining(session: AsyncSession, document: Invoice) -> Split:
    notes = (
        await session.execute(
            select(Invoice.net, Invoice.vat).where(
                Invoice.original_invoice_id == document.id, Invoice.kind == "credit_note"
            )
        )
    ).all()
    return Split(document.net - sum(n for n, _ in notes), document.vat - sum(v for _, v in notes))


def _unused(amount_net: int, start: datetime, end: datetime, now: datetime) -> int:
    """The share of ``amount_net`` for the part of [start, end) still to run, in whole seconds."""
    return prorated(amount_net, int((end - now).total_seconds()), max(1, int((end - start).total_seconds())))


async def quote(
    session: AsyncSession,
    *,
    invoice_id: uuid.UUID,
    kind: str,
    plan_id: str | None,
    payment: MoyasarPayment,
    settings: Settings,
    now: datetime | None = None,
) -> Quote:
    """What a refund of ``kind`` on the document would give back, in the tenant's transaction."""
    now = now or utcnow()
    if kind not in KINDS:
        raise ValidationFailed("errors.refund_kind", extra={"field": "kind"})
    document, _ = await _document(session, invoice_id)
    remaining = await _remaining(session, document)
    moyasar_remaining = max(0, payment.amount - payment.refunded)
    maximum = max(0, min(remaining.total, moyasar_remaining))
    if maximum <= 0:
        raise Conflict("errors.refund_nothing_left", number=invoices.display_number(document.number))
    rate = document.vat_rate_bp
    effect = "none"
    target: SubscriptionPlan | None = None
    if kind == "refund":
        if plan_id is not None:
            raise ValidationFailed("errors.refund_plan_only_downgrade", extra={"field": "plan_id"})
        suggested = remaining if maximum == remaining.total else (split_amount(maximum, rate) or Split(0, 0))
    else:
        subscription = await billing.current_subscription(session)
        if (
            subscription is None
            or billing.effective(subscription, now) is not Status.ACTIVE
            or subscription.billing_mode != "moyasar"
            or subscription.current_period_end is None
        ):
            state = billing.effective(subscription, now).value if subscription else "none"
            raise Conflict("errors.refund_subscription_not_active", state=state)
        if kind == "cancellation":
            if plan_id is not None:
                raise ValidationFailed("errors.refund_plan_only_downgrade", extra={"field": "plan_id"})
            # a debit note covers only the rest of its period from the moment it was issued
            start = document.issued_at if document.kind == "debit_note" else document.period_start
            unused = _unused(document.net, start, document.period_end, now)
            effect = "cancel_now"
        else:
            if plan_id is None:
                raise ValidationFailed("errors.refund_plan_required", extra={"field": "plan_id"})
            try:
                target = await billing.get_plan(session, plan_id)
            except NotFound:
                raise ValidationFailed("errors.refund_plan_required", extra={"field": "plan_id"}) from None
            current = await billing.get_plan(session, subscription.plan_id)
            if target.price_halalas >= current.price_halalas or target.id == current.id:
                raise ValidationFailed(
                    "errors.refund_plan_not_cheaper", plan=target.id, current=current.id, extra={"field": "plan_id"}
                )
            start = subscription.current_period_start or document.period_start
            unused = _unused(current.price_halalas - target.price_halalas, start, subscription.current_period_end, now)
            effect = "plan_now"
        wanted = charge_for(unused, rate)
        if wanted.total >= maximum:
            suggested = remaining if maximum == remaining.total else (split_amount(maximum, rate) or Split(0, 0))
        else:
            suggested = Split(wanted.net, wanted.vat)
    return Quote(
        invoice_id=document.id,
        number=invoices.display_number(document.number),
        kind=kind,
        plan_id=target.id if target else None,
        paid_total=document.total,
        credited_total=document.total - remaining.total,
        moyasar_remaining=moyasar_remaining,
        remaining=remaining,
        maximum_total=maximum,
        suggested=suggested,
        effect=effect,
        refunded_before=payment.refunded,
    )


async def fetch_payment(client: MoyasarClient, payment_id: str) -> MoyasarPayment:
    """The payment as Moyasar reports it now (GET, retried where safe)."""
    try:
        payment = await client.fetch_payment(payment_id)
    except MoyasarError as exc:
        raise RefundUnavailable("errors.refund_moyasar_unavailable", message=exc.message) from None
    if payment is None:
        raise Conflict("errors.refund_payment_missing")
    return payment


async def payment_id_of(database: Database, tenant_id: uuid.UUID, invoice_id: uuid.UUID) -> str:
    async with database.tenant_session(tenant_id) as session:
        _, attempt = await _document(session, invoice_id)
        return str(attempt.id)  # the attempt's id is the payment's given_id at Moyasar


async def quote_refund(
    database: Database,
    client: MoyasarClient,
    *,
    settings: Settings,
    tenant_id: uuid.UUID,
    invoice_id: uuid.UUID,
    kind: str,
    plan_id: str | None,
) -> Quote:
    payment = await fetch_payment(client, await payment_id_of(database, tenant_id, invoice_id))
    async with database.tenant_session(tenant_id) as session:
        return await quote(
            session, invoice_id=invoice_id, kind=kind, plan_id=plan_id, payment=payment, settings=settings
        )


async def begin_refund(
    database: Database,
    client: MoyasarClient,
    *,
    settings: Settings,
    tenant_id: uuid.UUID,
    invoice_id: uuid.UUID,
    kind: str,
    amount: int | None,
    plan_id: str | None,
    reason: str,
    actor: Actor,
    correlation_id: str,
) -> Refund:
    """Transaction 1: the payment fetched (``refunded_before``), the amounts checked with the subscription row
    locked, the refund recorded ``requested``. Nothing has been asked of Moyasar when this raises."""
    reason = reason.strip()
    if not reason:
        raise ValidationFailed("errors.refund_reason_required", extra={"field": "reason"})
    payment_id = await payment_id_of(database, tenant_id, invoice_id)
    payment = await fetch_payment(client, payment_id)
    try:
        async with database.tenant_session(tenant_id) as session:
            await billing.locked_subscription(session)
            in_flight = await RefundRepo(session).one_or_none(
                Refund.payment_attempt_id == uuid.UUID(payment_id), Refund.status == "requested"
            )
            if in_flight is not None:
                raise Conflict("errors.refund_in_flight")
            found = await quote(
                session, invoice_id=invoice_id, kind=kind, plan_id=plan_id, payment=payment, settings=settings
            )
            document = await invoices.InvoiceRepo(session).get(invoice_id)
            split = found.suggested if amount is None else amount_split(amount, found, document.vat_rate_bp)
            if split.total <= 0:
                raise Conflict("errors.refund_nothing_unused", number=found.number)
            refund = await RefundRepo(session).add(
                Refund(
                    invoice_id=document.id,
                    payment_attempt_id=uuid.UUID(payment_id),
                    moyasar_payment_id=payment.id,
                    kind=kind,
                    plan_id=found.plan_id,
                    amount_net=split.net,
                    vat=split.vat,
                    amount_total=split.total,
                    currency=document.currency,
                    reason=reason,
                    status="requested",
                    refunded_before=payment.refunded,
                    requested_by=actor.ref,
                )
            )
            await record(
                session,
                EventType.REFUND_REQUESTED,
                actor=actor,
                correlation_id=correlation_id,
                tenant_id=tenant_id,
                payload={
                    "refund_id": str(refund.id),
                    "invoice_id": str(document.id),
                    "number": found.number,
                    "kind": kind,
                    "plan": found.plan_id,
                    "net": split.net,
                    "vat": split.vat,
                    "total": split.total,
                    "refunded_before": payment.refunded,
                    "reason": reason,
                },
            )
    except IntegrityError:
        # the partial unique index: another refund of this payment was recorded at the same moment
        raise Conflict("errors.refund_in_flight") from None
    return refund


def outcome_of(refund: Refund, payment: MoyasarPayment | None) -> str:
    """What Moyasar's figure says about the refund: refunded, failed (unchanged) or unknown."""
    if payment is None:
        return "unknown"
    if payment.refunded == refund.refunded_before + refund.amount_total:
        return "refunded"
    if payment.refunded == refund.refunded_before:
        return "failed"
    return "unknown"


async def call_moyasar(client: MoyasarClient, refund: Refund) -> tuple[str, str | None]:
    """Step 2: ask Moyasar once, then read what happened: (refunded | failed | unknown | requested, message).
    ``requested``: Moyasar could not be asked again after an ambiguous answer (reconciliation settles it)."""
    try:
        payment = await client.refund_payment(refund.moyasar_payment_id, amount=refund.amount_total)
    except MoyasarError as exc:
        refusal = exc.status is not None and 400 <= exc.status < 500 and exc.status != 429 and not exc.retryable
        if refusal:
            return "failed", exc.message
        log.warning("refund_answer_unclear", refund_id=str(refund.id), code=exc.code, status=exc.status)
        try:
            again = await client.fetch_payment(refund.moyasar_payment_id)
        except MoyasarError as fetch_error:
            log.warning("refund_not_settled", refund_id=str(refund.id), code=fetch_error.code)
            return "requested", exc.message
        outcome = outcome_of(refund, again)
        if outcome == "failed":
            return "failed", exc.message
        return outcome, None if outcome == "refunded" else f"{exc.message} (refunded {again and again.refunded})"
    outcome = outcome_of(refund, payment)
    if outcome == "refunded":
        return "refunded", None
    again = None
    try:
        again = await client.fetch_payment(refund.moyasar_payment_id)
    except MoyasarError:
        return "requested", None
    outcome = outcome_of(refund, again)
    return (
        ("unknown", f"Moyasar reports refunded={again.refunded if again else '?'}")
        if outcome != "refunded"
        else (
            "refunded",
            None,
        )
    )


async def settle(
    database: Database,
    *,
    settings: Settings,
    tenant_id: uuid.UUID,
    refund_id: uuid.UUID,
    outcome: str,
    message: str | None,
    actor: Actor,
    correlation_id: str,
) -> Refund:
    """Transaction 2: record the outcome once (a refund no longer ``requested`` is left as it is)."""
    async with database.tenant_session(tenant_id) as session:
        subscription = await billing.locked_subscription(session)
        refund: Refund = (
            await session.execute(
                RefundRepo(session)
                .select(Refund.id == refund_id)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
        ).scalar_one()
        if refund.status != "requested" or outcome == "requested":
            return refund
        now = utcnow()
        refund.completed_at = now
        refund.message = message
        if outcome == "refunded":
            await _refunded(session, settings, subscription, refund, actor=actor, correlation_id=correlation_id)
        else:
            refund.status = outcome
            if outcome == "unknown":
                log.error(
                    "refund_unknown",
                    refund_id=str(refund.id),
                    tenant_id=str(tenant_id),
                    payment_id=refund.moyasar_payment_id,
                    amount=refund.amount_total,
                    refunded_before=refund.refunded_before,
                    message=message,
                    correlation_id=correlation_id,
                )
            await record(
                session,
                EventType.REFUND_FAILED,
                actor=actor,
                correlation_id=correlation_id,
                tenant_id=tenant_id,
                payload={
                    "refund_id": str(refund.id),
                    "invoice_id": str(refund.invoice_id),
                    "status": outcome,
                    "total": refund.amount_total,
                    "message": message,
                },
            )
        await session.flush()
        return refund


async def _refunded(
    session: AsyncSession,
    settings: Settings,
    subscription: Subscription,
    refund: Refund,
    *,
    actor: Actor,
    correlation_id: str,
) -> None:
    """The money went back: the credit note, then the cancellation or downgrade, audited."""
    document = await invoices.InvoiceRepo(session).get(refund.invoice_id)
    note = await invoices.issue_note(
        session,
        settings=settings,
        kind="credit_note",
        original=document,
        net=refund.amount_net,
        vat=refund.vat,
        reason=refund.reason,
        purpose=refund.kind,
        actor=actor,
        correlation_id=correlation_id,
    )
    refund.status = "refunded"
    refund.credit_note_id = note.id
    applied = "none"
    now = utcnow()
    try:
        if refund.kind == "cancellation":
            await billing.transition(
                session,
                subscription,
                Event.PERIOD_ENDED_CANCELLED,
                actor=actor,
                correlation_id=correlation_id,
                reason="cancelled_with_refund",
                cancel_at_period_end=False,
                cancelled_at=now,
                current_period_end=now,
                pending_plan_id=None,
            )
            applied = "cancelled"
        elif refund.kind == "downgrade" and refund.plan_id is not None:
            before = subscription.plan_id
            subscription.plan_id = refund.plan_id
            subscription.pending_plan_id = None
            await record(
                session,
                EventType.SUBSCRIPTION_PLAN_CHANGED,
                actor=actor,
                correlation_id=correlation_id,
                payload={
                    "subscription_id": str(subscription.id),
                    "from": before,
                    "to": refund.plan_id,
                    "effective": "now",
                    "refund_id": str(refund.id),
                },
            )
            applied = "downgraded"
    except InvalidTransition as exc:
        # the money is back and the credit note issued either way; the subscription moved on meanwhile
        log.error("refund_change_not_applied", refund_id=str(refund.id), error=str(exc))
        applied = "not_applied"
    await record(
        session,
        EventType.REFUND_SUCCEEDED,
        actor=actor,
        correlation_id=correlation_id,
        tenant_id=refund.tenant_id,
        payload={
            "refund_id": str(refund.id),
            "invoice_id": str(refund.invoice_id),
            "credit_note_id": str(note.id),
            "credit_note_number": invoices.display_number(note.number),
            "kind": refund.kind,
            "net": refund.amount_net,
            "vat": refund.vat,
            "total": refund.amount_total,
            "applied": applied,
        },
    )


async def refund_document(
    database: Database,
    client: MoyasarClient,
    *,
    settings: Settings,
    tenant_id: uuid.UUID,
    invoice_id: uuid.UUID,
    kind: str,
    amount: int | None,
    plan_id: str | None,
    reason: str,
    actor: Actor,
    correlation_id: str,
) -> Refund:
    """The whole flow: record, ask Moyasar once, settle."""
    refund = await begin_refund(
        database,
        client,
        settings=settings,
        tenant_id=tenant_id,
        invoice_id=invoice_id,
        kind=kind,
        amount=amount,
        plan_id=plan_id,
        reason=reason,
        actor=actor,
        correlation_id=correlation_id,
    )
    outcome, message = await call_moyasar(client, refund)
    return await settle(
        database,
        settings=settings,
        tenant_id=tenant_id,
        refund_id=refund.id,
        outcome=outcome,
        message=message,
        actor=actor,
        correlation_id=correlation_id,
    )


# --- reconciliation: refunds left `requested` by a crash between the call and transaction 2 ---------------------


@dataclass(frozen=True, slots=True)
class RefundsReconciled:
    checked: int = 0
    refunded: int = 0
    failed: int = 0
    unknown: int = 0
    errors: int = 0


async def reconcile_open_refunds(
    database: Database, client: MoyasarClient, *, settings: Settings, now: datetime | None = None
) -> RefundsReconciled:
    """Settle every refund left ``requested`` for longer than ``payment_reconcile_after_seconds`` by reading the
    payment's ``refunded`` figure at Moyasar (never by refunding again)."""
    now = now or utcnow()
    older_than = now - timedelta(seconds=settings.payment_reconcile_after_seconds)
    async with database.system_session() as session:
        rows = (
            await session.execute(
                select(Refund.tenant_id, Refund.id)
                .where(Refund.status == "requested", Refund.created_at < older_than)
                .order_by(Refund.created_at, Refund.id)
                .limit(200)
            )
        ).all()
        open_refunds = {refund_id: (tenant_id, await session.get(Refund, refund_id)) for tenant_id, refund_id in rows}
    counts = {"checked": 0, "refunded": 0, "failed": 0, "unknown": 0, "errors": 0}
    for refund_id, (tenant_id, refund) in open_refunds.items():
        if refund is None:
            continue
        counts["checked"] += 1
        try:
            payment = await client.fetch_payment(refund.moyasar_payment_id)
        except MoyasarError as exc:
            counts["errors"] += 1
            log.warning("refund_reconcile_not_settled", refund_id=str(refund_id), code=exc.code)
            continue
        outcome = outcome_of(refund, payment)
        message = None if outcome == "refunded" else "settled by reconciliation"
        settled = await settle(
            database,
            settings=settings,
            tenant_id=tenant_id,
            refund_id=refund_id,
            outcome=outcome,
            message=message,
            actor=RECONCILE_ACTOR,
            correlation_id=f"reconcile-refund-{refund_id}",
        )
        if settled.status in counts:
            counts[settled.status] += 1
    return RefundsReconciled(**counts)


@dataclass(frozen=True, slots=True)
class RefundToCheck:
    """A refund a platform admin must look at on the platform billing page: ``unknown`` (Moyasar's figure matched
    neither outcome: look at the payment in Moyasar's dashboard) or ``requested`` for longer than the reconciliation
    should take."""

    tenant_id: uuid.UUID
    tenant_name: str
    invoice_number: str
    moyasar_payment_id: str
    amount_total: int
    status: str
    message: str | None
    created_at: datetime


STALE_REQUESTED = timedelta(minutes=30)


async def refunds_to_check(session: AsyncSession, *, now: datetime | None = None) -> list[RefundToCheck]:
    """Across tenants (the platform's audited read, system scope): ``unknown`` refunds, and ``requested`` ones older
    than ``STALE_REQUESTED``, oldest first."""
    moment = now or utcnow()
    rows = (
        await session.execute(
            select(Refund, Invoice.number, Tenant.name)
            .join(Invoice, Invoice.id == Refund.invoice_id)
            .join(Tenant, Tenant.id == Refund.tenant_id)
            .where(
                (Refund.status == "unknown")
                | ((Refund.status == "requested") & (Refund.created_at < moment - STALE_REQUESTED))
            )
            .order_by(Refund.created_at)
        )
    ).all()
    return [
        RefundToCheck(
            tenant_id=refund.tenant_id,
            tenant_name=name,
            invoice_number=invoices.display_number(number),
            moyasar_payment_id=refund.moyasar_payment_id,
            amount_total=refund.amount_total,
            status=refund.status,
            message=refund.message,
            created_at=refund.created_at,
        )
        for refund, number, name in rows
    ]
