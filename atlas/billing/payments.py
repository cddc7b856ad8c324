"""Payments through Moyasar (SPEC 6): start a payment, verify and apply its outcome, charge the saved card.

The flow, and why each step is where it is:
1. The browser sends the card straight to Moyasar (`/v1/tokens`, publishable key) and gives Atlas only the
   token id and the plan. The server decides the amount from the plan (never from the client).
2. A payment attempt is committed *before* the HTTP call, under a deterministic id that is Moyasar's
   `given_id` (so a retry never charges twice), with the amount, the plan and the period.
3. The payment is created with the secret key and `3ds: true` for the first charge; the browser goes to
   `transaction_url` and comes back to `GET /api/payments/callback`.
4. Nothing is activated from what the browser or a webhook says: the payment is fetched from Moyasar and its
   status, amount, currency and metadata (tenant, plan) must match the stored attempt. Applying a verified
   paid payment is idempotent (the attempt's `applied_at`), so the callback, the webhook and a replay can all
   arrive, in any order, and the subscription is extended and invoiced exactly once.
5. Card data never reaches Atlas; the token is kept encrypted (brand and last four for display).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from atlas.billing import invoices, refunds
from atlas.billing import services as billing
from atlas.billing.models import Invoice, PaymentAttempt, PaymentMethod, Subscription, SubscriptionPlan
from atlas.billing.money import MINIMUM_CHARGE, charge_for, prorated
from atlas.billing.moyasar import MoyasarClient, MoyasarError, MoyasarPayment, PaymentStatus
from atlas.billing.states import Event, Status
from atlas.config import Settings
from atlas.db.base import utcnow
from atlas.db.engine import Database
from atlas.errors import AtlasError, Conflict, ValidationFailed
from atlas.i18n import translate
from atlas.platform.audit import Actor, EventType, record
from atlas.platform.crypto import SecretBox
from atlas.platform.tenancy import TenantRepository

log = structlog.get_logger("atlas.billing.payments")
GIVEN_ID_NAMESPACE = uuid.UUID("6d1b2f6e-3c55-4d8e-9a57-0b8c2e8a7a01")
OPEN = ("created", "initiated")


class PaymentFailed(AtlasError):
    status = 402
    slug = "payment-failed"


class PaymentUnavailable(AtlasError):
    status = 502
    slug = "payment-unavailable"


class PaymentAttemptRepo(TenantRepository[PaymentAttempt]):
    model = PaymentAttempt
    not_found_key = "errors.payment_not_found"


class PaymentMethodRepo(TenantRepository[PaymentMethod]):
    model = PaymentMethod


def given_id(
    subscription_id: uuid.UUID, purpose: str, plan_id: str, period_start: datetime, attempt_no: int
) -> uuid.UUID:
    """The payment's id at Moyasar, derived from what the charge is for: the same charge always has the same id."""
    key = f"atlas-payment:{subscription_id}:{purpose}:{plan_id}:{period_start.isoformat()}:{attempt_no}"
    return uuid.uuid5(GIVEN_ID_NAMESPACE, key)


def callback_url(settings: Settings) -> str:
    return settings.base_url.rstrip("/") + "/api/payments/callback"


def metadata_for(attempt: PaymentAttempt) -> dict[str, str]:
    return {
        "tenant_id": str(attempt.tenant_id),
        "subscription_id": str(attempt.subscription_id),
        "plan": attempt.plan_id,
        "purpose": attempt.purpose,
        "period": f"{attempt.period_start.date().isoformat()}/{attempt.period_end.date().isoformat()}",
    }


def description_for(attempt: PaymentAttempt) -> str:
    return f"Atlas {attempt.plan_id} {attempt.purpose} {attempt.period_start.date().isoformat()}"


# --- verification and applying an outcome -----------------------------------------------------------------


def mismatches(payment: MoyasarPayment, attempt: PaymentAttempt) -> list[str]:
    """What does not match between the payment Moyasar reports and the attempt we recorded."""
    problems = []
    if payment.id != str(attempt.id):
        problems.append("id")
    if payment.amount != attempt.amount_total:
        problems.append("amount")
    if payment.currency != attempt.currency:
        problems.append("currency")
    if payment.metadata.get("tenant_id") != str(attempt.tenant_id):
        problems.append("tenant")
    if payment.metadata.get("plan") != attempt.plan_id:
        problems.append("plan")
    return problems


@dataclass(frozen=True, slots=True)
class Outcome:
    result: str  # paid | failed | pending | mismatch
    message: str | None = None
    invoice_id: uuid.UUID | None = None
    transaction_url: str | None = None


async def apply_payment(
    session: AsyncSession,
    attempt_id: uuid.UUID,
    payment: MoyasarPayment,
    *,
    settings: Settings,
    actor: Actor,
    correlation_id: str,
) -> Outcome:
    """Verify a payment fetched from Moyasar against its attempt and apply it. Idempotent; in the attempt's
    tenant transaction. A mismatch changes nothing but the record of it."""
    subscription = await billing.locked_subscription(session)
    attempt = await PaymentAttemptRepo(session).get(attempt_id)
    problems = mismatches(payment, attempt)
    if problems:
        await record(
            session,
            EventType.PAYMENT_REJECTED,
            actor=actor,
            correlation_id=correlation_id,
            payload={"payment_attempt_id": str(attempt.id), "mismatched": problems, "moyasar_status": payment.status},
        )
        log.warning("payment_rejected", attempt_id=str(attempt.id), mismatched=problems)
        return Outcome("mismatch")
    if payment.status in (PaymentStatus.PAID, PaymentStatus.CAPTURED):
        invoice = await apply_paid(
            session, subscription, attempt, payment, settings=settings, actor=actor, correlation_id=correlation_id
        )
        return Outcome("paid", invoice_id=invoice.id)
    if payment.status == PaymentStatus.FAILED:
        if attempt.status in OPEN:
            attempt.status = "failed"
            attempt.message = payment.message
            await record(
                session,
                EventType.PAYMENT_FAILED,
                actor=actor,
                correlation_id=correlation_id,
                payload={"payment_attempt_id": str(attempt.id), "purpose": attempt.purpose, "message": payment.message},
            )
        return Outcome("failed", message=attempt.message)
    if payment.status == PaymentStatus.INITIATED:
        if attempt.status == "created":
            attempt.status = "initiated"
            attempt.transaction_url = payment.transaction_url
        return Outcome("pending", transaction_url=payment.transaction_url)
    return Outcome("failed", message=payment.status)


async def apply_paid(
    session: AsyncSession,
    subscription: Subscription,
    attempt: PaymentAttempt,
    payment: MoyasarPayment,
    *,
    settings: Settings,
    actor: Actor,
    correlation_id: str,
) -> Invoice:
    """A verified paid payment: activate or extend the subscription and issue the invoice, exactly once."""
    if attempt.applied_at is not None:
        existing: Invoice = (
            await session.execute(invoices.InvoiceRepo(session).select(Invoice.payment_attempt_id == attempt.id))
        ).scalar_one()
        return existing
    now = utcnow()
    method = (
        await PaymentMethodRepo(session).get_or_none(attempt.payment_method_id) if attempt.payment_method_id else None
    )
    if method is not None and (method.brand is None or method.last_four is None):
        method.brand = method.brand or payment.company
        method.last_four = method.last_four or payment.last_four
    changes: dict[str, object] = {
        "billing_mode": "moyasar",
        "past_due_since": None,
        "failed_renewals": 0,
        "expired_at": None,
    }
    if method is not None:
        changes["payment_method_id"] = method.id
    before_plan = subscription.plan_id
    if attempt.purpose == "upgrade":
        changes["plan_id"] = attempt.plan_id
        if subscription.pending_plan_id is not None:
            changes["pending_plan_id"] = None
    else:
        start, end = attempt.period_start, attempt.period_end
        if (
            attempt.purpose == "subscribe"
            and billing.effective(subscription, now) is Status.ACTIVE
            and subscription.current_period_end is not None
            and subscription.current_period_end > now
        ):
            # Paid while a paid period is still running (a second payment that also went through): it buys
            # the next period rather than being lost.
            start = subscription.current_period_end
            end = billing.add_period(start, settings)
            attempt.period_start, attempt.period_end = start, end
        changes.update(
            plan_id=attempt.plan_id,
            current_period_start=start,
            current_period_end=end,
            cancel_at_period_end=False if attempt.purpose == "subscribe" else subscription.cancel_at_period_end,
            cancelled_at=None if attempt.purpose == "subscribe" else subscription.cancelled_at,
            pending_plan_id=None,
        )
    await billing.transition(
        session,
        subscription,
        Event.PAID,
        actor=actor,
        correlation_id=correlation_id,
        reason=f"payment_{attempt.purpose}",
        **changes,
    )
    attempt.status = "paid"
    attempt.applied_at = now
    attempt.message = payment.message
    plan = await billing.get_plan(session, attempt.plan_id)
    original = await period_invoice(session, attempt) if attempt.purpose == "upgrade" else None
    if original is not None:
        # An upgrade charges more for a period already invoiced: a debit note on that period's invoice (383).
        previous = await billing.get_plan(session, before_plan)
        invoice = await invoices.issue_note(
            session,
            settings=settings,
            kind="debit_note",
            original=original,
            net=attempt.amount_net,
            vat=attempt.vat,
            reason=upgrade_reason(previous, plan),
            purpose="upgrade",
            attempt=attempt,
            plan=plan,
            payment_method=method,
            actor=actor,
            correlation_id=correlation_id,
        )
    else:
        invoice = await invoices.issue_invoice(
            session,
            settings=settings,
            tenant_id=attempt.tenant_id,
            attempt=attempt,
            plan=plan,
            payment_method=method,
            actor=actor,
            correlation_id=correlation_id,
        )
    await billing.resolve_notices(session)
    await record(
        session,
        EventType.PAYMENT_SUCCEEDED,
        actor=actor,
        correlation_id=correlation_id,
        payload={
            "payment_attempt_id": str(attempt.id),
            "purpose": attempt.purpose,
            "plan": attempt.plan_id,
            "previous_plan": before_plan,
            "amount": attempt.amount_total,
            "invoice_id": str(invoice.id),
            "period_end": subscription.current_period_end,
        },
    )
    return invoice


async def period_invoice(session: AsyncSession, attempt: PaymentAttempt) -> Invoice | None:
    """The invoice that bought the period an upgrade attempt falls in (same tenant, same period start), or None for
    a period invoiced before notes existed or not invoiced at all."""
    statement = (
        invoices.InvoiceRepo(session, tenant_id=attempt.tenant_id)
        .select(Invoice.kind == "invoice", Invoice.period_start == attempt.period_start)
        .order_by(Invoice.number.desc())
        .limit(1)
    )
    found: Invoice | None = (await session.execute(statement)).scalar_one_or_none()
    return found


def upgrade_reason(previous: SubscriptionPlan, plan: SubscriptionPlan) -> str:
    """The debit note's reason (ZATCA's instruction note), Arabic then English, stored as printed."""
    arabic = translate("billing.notes.upgrade_reason", "ar", old=previous.display_name_ar, new=plan.display_name_ar)
    english = translate("billing.notes.upgrade_reason", "en", old=previous.display_name_en, new=plan.display_name_en)
    return f"{arabic} — {english}"


# --- starting a payment from the payment form --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Started:
    attempt_id: uuid.UUID
    status: str
    amount: int
    currency: str
    redirect_url: str | None
    message: str | None = None


async def new_attempt(
    session: AsyncSession,
    subscription: Subscription,
    plan: SubscriptionPlan,
    *,
    purpose: str,
    net: int,
    period_start: datetime,
    period_end: datetime,
    payment_method_id: uuid.UUID | None,
    settings: Settings,
    actor: Actor,
    correlation_id: str,
    attempt_no: int | None = None,
) -> PaymentAttempt:
    repo = PaymentAttemptRepo(session)
    if attempt_no is None:
        attempt_no = 1 + await repo.count(
            PaymentAttempt.subscription_id == subscription.id,
            PaymentAttempt.purpose == purpose,
            PaymentAttempt.plan_id == plan.id,
            PaymentAttempt.period_start == period_start,
        )
    charge = charge_for(net, settings.vat_rate_bp)
    attempt = await repo.add(
        PaymentAttempt(
            id=given_id(subscription.id, purpose, plan.id, period_start, attempt_no),
            subscription_id=subscription.id,
            purpose=purpose,
            plan_id=plan.id,
            period_start=period_start,
            period_end=period_end,
            attempt_no=attempt_no,
            amount_net=charge.net,
            vat=charge.vat,
            amount_total=charge.total,
            currency=plan.currency,
            status="created",
            payment_method_id=payment_method_id,
            created_by=actor.ref,
        )
    )
    await record(
        session,
        EventType.PAYMENT_STARTED,
        actor=actor,
        correlation_id=correlation_id,
        payload={
            "payment_attempt_id": str(attempt.id),
            "purpose": purpose,
            "plan": plan.id,
            "net": charge.net,
            "vat": charge.vat,
            "total": charge.total,
            "attempt_no": attempt_no,
        },
    )
    return attempt


async def start_subscription_payment(
    database: Database,
    client: MoyasarClient,
    *,
    settings: Settings,
    box: SecretBox,
    tenant_id: uuid.UUID,
    plan_id: str,
    token: str,
    actor: Actor,
    correlation_id: str,
) -> Started:
    """`POST /api/payments`: pay for ``plan_id`` with the card Moyasar tokenised in the browser (3-D Secure)."""
    token_id = token.strip()
    if not token_id.startswith("token_") or len(token_id) > 200:
        raise ValidationFailed("errors.payment_token_invalid", extra={"field": "token"})
    # Tx 1: the attempt, committed before any call to Moyasar.
    async with database.tenant_session(tenant_id) as session:
        subscription = await billing.locked_subscription(session)
        plan = await billing.get_plan(session, plan_id)
        state = billing.effective(subscription)
        if subscription.billing_mode == "contract" and state is Status.ACTIVE:
            raise Conflict("errors.payment_contract_active")
        if state is Status.ACTIVE:
            raise Conflict("errors.payment_already_active")
        if billing.plan_rank(plan.id) < billing.plan_rank(subscription.plan_id) or state is not Status.TRIAL:
            await billing.check_fits(session, plan)
        repo = PaymentAttemptRepo(session)
        recent = await repo.list(
            PaymentAttempt.subscription_id == subscription.id,
            PaymentAttempt.purpose == "subscribe",
            PaymentAttempt.plan_id == plan.id,
            PaymentAttempt.status.in_(OPEN),
            PaymentAttempt.created_at > utcnow() - timedelta(seconds=settings.payment_reuse_seconds),
            order_by=[PaymentAttempt.created_at.desc(), PaymentAttempt.id.desc()],
            limit=1,
        )
        if recent and recent[0].status == "initiated" and recent[0].transaction_url:
            # A double submission: the same payment, not a second one.
            same = recent[0]
            return Started(same.id, "initiated", same.amount_total, same.currency, same.transaction_url)
        method = await PaymentMethodRepo(session).add(PaymentMethod(token_encrypted=box.encrypt(token_id)))
        now = utcnow().replace(microsecond=0)
        attempt = await new_attempt(
            session,
            subscription,
            plan,
            purpose="subscribe",
            net=plan.price_halalas,
            period_start=now,
            period_end=billing.add_period(now, settings),
            payment_method_id=method.id,
            settings=settings,
            actor=actor,
            correlation_id=correlation_id,
        )
        attempt_id = attempt.id
        request = (attempt.amount_total, attempt.currency, description_for(attempt), metadata_for(attempt))
    return await _charge(
        database,
        client,
        settings=settings,
        tenant_id=tenant_id,
        attempt_id=attempt_id,
        token=token_id,
        request=request,
        three_ds=True,
        actor=actor,
        correlation_id=correlation_id,
    )


async def _charge(
    database: Database,
    client: MoyasarClient,
    *,
    settings: Settings,
    tenant_id: uuid.UUID,
    attempt_id: uuid.UUID,
    token: str,
    request: tuple[int, str, str, dict[str, str]],
    three_ds: bool,
    actor: Actor,
    correlation_id: str,
) -> Started:
    amount, currency, description, metadata = request
    try:
        payment = await client.create_token_payment(
            given_id=attempt_id,
            amount=amount,
            currency=currency,
            description=description,
            token=token,
            callback_url=callback_url(settings),
            metadata=metadata,
            three_ds=three_ds,
        )
    except MoyasarError as exc:
        log.warning("payment_not_created", attempt_id=str(attempt_id), code=exc.code, status=exc.status)
        async with database.tenant_session(tenant_id) as session:
            attempt = await PaymentAttemptRepo(session).get(attempt_id)
            if exc.code != "outcome_unknown":  # unknown: leave it open; the webhook or a retry settles it
                attempt.status = "error"
                attempt.message = exc.message
                await record(
                    session,
                    EventType.PAYMENT_FAILED,
                    actor=actor,
                    correlation_id=correlation_id,
                    payload={"payment_attempt_id": str(attempt_id), "error": exc.code},
                )
        if exc.code in ("invalid_request", "given_id_conflict", "used_given_id"):
            raise PaymentFailed(exc.message_key) from None
        raise PaymentUnavailable(exc.message_key) from None
    # Tx 2: what Moyasar answered (fetched again below only when it matters: 3-D Secure comes back later).
    async with database.tenant_session(tenant_id) as session:
        outcome = await apply_payment(
            session, attempt_id, payment, settings=settings, actor=actor, correlation_id=correlation_id
        )
    return Started(
        attempt_id,
        {"pending": "initiated"}.get(outcome.result, outcome.result),
        amount,
        currency,
        outcome.transaction_url if outcome.result == "pending" else None,
        outcome.message,
    )


# --- the callback and the webhook ---------------------------------------------------------------------------


async def settle(
    database: Database,
    client: MoyasarClient,
    *,
    settings: Settings,
    tenant_id: uuid.UUID,
    attempt_id: uuid.UUID,
    actor: Actor,
    correlation_id: str,
) -> Outcome:
    """Fetch the payment from Moyasar and apply it to its attempt (callback and webhook share this)."""
    payment = await client.fetch_payment(str(attempt_id))
    if payment is None:
        return Outcome("mismatch")
    async with database.tenant_session(tenant_id) as session:
        return await apply_payment(
            session, attempt_id, payment, settings=settings, actor=actor, correlation_id=correlation_id
        )


async def attempt_tenant(database: Database, attempt_id: uuid.UUID) -> uuid.UUID | None:
    """Whose payment this is (system transaction: a webhook names no tenant)."""
    async with database.system_session() as session:
        tenant: uuid.UUID | None = await session.scalar(
            select(PaymentAttempt.tenant_id).where(PaymentAttempt.id == attempt_id)
        )
        return tenant


def parse_attempt_id(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value or "")
    except ValueError:
        return None


# --- charging the saved card (upgrades, renewals) -----------------------------------------------------------


async def saved_token(session: AsyncSession, subscription: Subscription, box: SecretBox) -> str | None:
    if subscription.payment_method_id is None:
        return None
    method = await PaymentMethodRepo(session).get_or_none(subscription.payment_method_id)
    return box.decrypt(method.token_encrypted) if method else None


@dataclass(frozen=True, slots=True)
class UpgradeCharge:
    attempt_id: uuid.UUID | None  # None: below Moyasar's minimum charge, applied without one
    net: int


async def prepare_upgrade(
    session: AsyncSession,
    subscription: Subscription,
    plan: SubscriptionPlan,
    *,
    settings: Settings,
    actor: Actor,
    correlation_id: str,
) -> UpgradeCharge:
    """The prorated charge for moving to a dearer plan now: the price difference for the share of the period
    still to run, in whole seconds, rounded half up to the halala (atlas.billing.money)."""
    if subscription.payment_method_id is None or subscription.current_period_end is None:
        raise Conflict("errors.upgrade_needs_card")
    current = await billing.get_plan(session, subscription.plan_id)
    start = subscription.current_period_start or utcnow()
    end = subscription.current_period_end
    now = utcnow()
    net = prorated(
        plan.price_halalas - current.price_halalas,
        int((end - now).total_seconds()),
        max(1, int((end - start).total_seconds())),
    )
    if charge_for(net, settings.vat_rate_bp).total < MINIMUM_CHARGE:
        before = subscription.plan_id
        subscription.plan_id = plan.id
        subscription.pending_plan_id = None
        await record(
            session,
            EventType.SUBSCRIPTION_PLAN_CHANGED,
            actor=actor,
            correlation_id=correlation_id,
            payload={"from": before, "to": plan.id, "effective": "now", "charge": 0, "reason": "below_minimum"},
        )
        return UpgradeCharge(None, 0)
    attempt = await new_attempt(
        session,
        subscription,
        plan,
        purpose="upgrade",
        net=net,
        period_start=start,
        period_end=end,
        payment_method_id=subscription.payment_method_id,
        settings=settings,
        actor=actor,
        correlation_id=correlation_id,
    )
    return UpgradeCharge(attempt.id, net)


async def charge_attempt_with_saved_card(
    database: Database,
    client: MoyasarClient,
    *,
    settings: Settings,
    box: SecretBox,
    tenant_id: uuid.UUID,
    attempt_id: uuid.UUID,
    actor: Actor,
    correlation_id: str,
) -> Started:
    """Charge an attempt already committed, on the subscription's saved card, without 3-D Secure (a merchant-
    initiated charge); an issuer that still asks for 3-D Secure answers `initiated` with a transaction URL."""
    async with database.tenant_session(tenant_id) as session:
        attempt = await PaymentAttemptRepo(session).get(attempt_id)
        method = await PaymentMethodRepo(session).get_or_none(attempt.payment_method_id)
        if method is None:
            raise Conflict("errors.upgrade_needs_card")
        token = box.decrypt(method.token_encrypted)
        request = (attempt.amount_total, attempt.currency, description_for(attempt), metadata_for(attempt))
    return await _charge(
        database,
        client,
        settings=settings,
        tenant_id=tenant_id,
        attempt_id=attempt_id,
        token=token,
        request=request,
        three_ds=False,
        actor=actor,
        correlation_id=correlation_id,
    )


# --- reconciliation: payments whose browser never came back and whose webhook never arrived ----------------


@dataclass(frozen=True, slots=True)
class Reconciled:
    checked: int = 0
    paid: int = 0
    failed: int = 0
    pending: int = 0
    abandoned: int = 0
    errors: int = 0
    # refunds left `requested` by a crash, settled from Moyasar's `refunded` figure (atlas.billing.refunds)
    refunds_checked: int = 0
    refunds_refunded: int = 0
    refunds_failed: int = 0
    refunds_unknown: int = 0


RECONCILE_BATCH = 200
RECONCILE_ACTOR = Actor("system", "payment reconciliation")


async def open_attempts(
    database: Database, *, older_than: datetime, newer_than: datetime
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """(tenant, attempt) of payments still open that Moyasar should have settled by now, oldest first."""
    async with database.system_session() as session:
        rows = (
            await session.execute(
                select(PaymentAttempt.tenant_id, PaymentAttempt.id)
                .where(
                    PaymentAttempt.status.in_(OPEN),
                    PaymentAttempt.created_at < older_than,
                    PaymentAttempt.created_at >= newer_than,
                )
                .order_by(PaymentAttempt.created_at, PaymentAttempt.id)
                .limit(RECONCILE_BATCH)
            )
        ).all()
    return [(tenant_id, attempt_id) for tenant_id, attempt_id in rows]


async def reconcile_open_payments(
    database: Database, client: MoyasarClient, *, settings: Settings, now: datetime | None = None
) -> Reconciled:
    """Ask Moyasar about every payment left open for longer than ``payment_reconcile_after_seconds`` and apply
    what it says, exactly as the callback and the webhook would (the same verification, idempotent). A
    checkout payment Moyasar has never heard of after ``payment_abandon_after_seconds`` was never paid (the
    person left before the card step) and is marked abandoned; renewal attempts stay with their workflow."""
    now = now or utcnow()
    found = await open_attempts(
        database,
        older_than=now - timedelta(seconds=settings.payment_reconcile_after_seconds),
        newer_than=now - timedelta(days=30),
    )
    counts = {"checked": 0, "paid": 0, "failed": 0, "pending": 0, "abandoned": 0, "errors": 0}
    for tenant_id, attempt_id in found:
        counts["checked"] += 1
        try:
            payment = await client.fetch_payment(str(attempt_id))
        except MoyasarError as exc:
            counts["errors"] += 1
            log.warning("reconcile_not_settled", attempt_id=str(attempt_id), code=exc.code)
            continue
        correlation_id = f"reconcile-{attempt_id}"
        async with database.tenant_session(tenant_id) as session:
            if payment is None:
                attempt = await PaymentAttemptRepo(session).get(attempt_id)
                stale = attempt.created_at < now - timedelta(seconds=settings.payment_abandon_after_seconds)
                if attempt.purpose != "renewal" and attempt.status in OPEN and stale:
                    attempt.status = "abandoned"
                    attempt.message = "no payment was made at Moyasar"
                    await record(
                        session,
                        EventType.PAYMENT_FAILED,
                        actor=RECONCILE_ACTOR,
                        correlation_id=correlation_id,
                        payload={
                            "payment_attempt_id": str(attempt.id),
                            "purpose": attempt.purpose,
                            "message": "abandoned",
                        },
                    )
                    counts["abandoned"] += 1
                else:
                    counts["pending"] += 1
                continue
            outcome = await apply_payment(
                session, attempt_id, payment, settings=settings, actor=RECONCILE_ACTOR, correlation_id=correlation_id
            )
        key = {"paid": "paid", "failed": "failed", "pending": "pending"}.get(outcome.result, "errors")
        counts[key] += 1
        if outcome.result == "paid":
            log.info("payment_reconciled", attempt_id=str(attempt_id))
    settled = await refunds.reconcile_open_refunds(database, client, settings=settings, now=now)
    counts["errors"] += settled.errors
    counts.update(
        refunds_checked=settled.checked,
        refunds_refunded=settled.refunded,
        refunds_failed=settled.failed,
        refunds_unknown=settled.unknown,
    )
    return Reconciled(**counts)
