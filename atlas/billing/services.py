"""Subscriptions: the trial, the effective state, plan limits, plan changes, cancellation, the billing
profile, meeting requests and in-app notices. Payments and invoices build on these
(`atlas.billing.payments`, `atlas.billing.invoices`).

Every change goes through `atlas.billing.states` (so only the table's transitions happen) and writes
its audit event in the caller's transaction.
"""

from __future__ import annotations

import calendar
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from atlas.billing.models import BillingNotice, BillingProfile, MeetingRequest, Subscription, SubscriptionPlan
from atlas.billing.states import Event, Status, SubscriptionView, effective_status, has_full_access, next_status
from atlas.config import Settings
from atlas.db.base import utcnow
from atlas.errors import AtlasError, Conflict, NotFound, ValidationFailed
from atlas.i18n.text import clean_optional_name
from atlas.invoice_party import (
    TEXT_LIMITS,
    address_problems,
    compact_digits,
    crn_ok,
    has_arabic_letters,
    vat_number_ok,
)
from atlas.platform import entitlements
from atlas.platform.audit import Actor, EventType, record
from atlas.platform.emails import normalise_email
from atlas.platform.entitlements import PlanLimit
from atlas.platform.tenancy import TenantRepository

PLAN_ORDER = ("basic", "professional", "enterprise")


class SubscriptionRepository(TenantRepository[Subscription]):
    model = Subscription
    not_found_key = "errors.subscription_not_found"


class BillingProfileRepo(TenantRepository[BillingProfile]):
    model = BillingProfile


class MeetingRequestRepo(TenantRepository[MeetingRequest]):
    model = MeetingRequest


class NoticeRepo(TenantRepository[BillingNotice]):
    model = BillingNotice


class SubscriptionRequired(AtlasError):
    """The tenant's subscription does not allow this request (HTTP 402 with the state and what to do)."""

    status = 402
    slug = "subscription-required"
    html_redirect = "/app/subscription"


# --- plans --------------------------------------------------------------------------------------


async def list_plans(session: AsyncSession) -> list[SubscriptionPlan]:
    result = await session.execute(select(SubscriptionPlan).order_by(SubscriptionPlan.sort_order, SubscriptionPlan.id))
    return list(result.scalars())


async def get_plan(session: AsyncSession, plan_id: str) -> SubscriptionPlan:
    plan = await session.get(SubscriptionPlan, plan_id)
    if plan is None:
        raise ValidationFailed("errors.unknown_plan", plan=plan_id, extra={"field": "plan"})
    return plan


def default_plan_for(org_type: str) -> str:
    return "enterprise" if org_type == "enterprise" else "professional"


def limit_of(plan: SubscriptionPlan, feature: str) -> int | None:
    value = (plan.features or {}).get(feature)
    return int(value) if value is not None else None


async def plan_lifting(session: AsyncSession, feature: str, needed: int) -> SubscriptionPlan | None:
    """The cheapest plan whose ``feature`` limit allows ``needed``."""
    for plan in await list_plans(session):
        limit = limit_of(plan, feature)
        if limit is None or limit >= needed:
            return plan
    return None


# --- periods ------------------------------------------------------------------------------------


def add_calendar_month(start: datetime) -> datetime:
    """The same day next month; the 31st becomes the month's last day."""
    month = start.month % 12 + 1
    year = start.year + (1 if start.month == 12 else 0)
    day = min(start.day, calendar.monthrange(year, month)[1])
    return start.replace(year=year, month=month, day=day)


def add_period(start: datetime, settings: Settings) -> datetime:
    """One billing period after ``start``: a calendar month, or the test setting's number of seconds."""
    if settings.billing_period_seconds:
        return start + timedelta(seconds=settings.billing_period_seconds)
    return add_calendar_month(start)


# --- the subscription and its state -------------------------------------------------------------


def view_of(subscription: Subscription) -> SubscriptionView:
    return SubscriptionView(
        status=subscription.status,
        trial_ends_at=subscription.trial_ends_at,
        current_period_end=subscription.current_period_end,
        cancel_at_period_end=subscription.cancel_at_period_end,
    )


def effective(subscription: Subscription, now: datetime | None = None) -> Status:
    return effective_status(view_of(subscription), now or utcnow())


async def start_trial(
    session: AsyncSession,
    *,
    plan_id: str,
    trial_days: int,
    actor: Actor,
    correlation_id: str,
    tenant_id: object | None = None,
) -> Subscription:
    """Start the free trial (SPEC 4): status ``trial`` until ``trial_ends_at``. Idempotent per tenant."""
    plan = await session.get(SubscriptionPlan, plan_id)
    if plan is None:
        raise ValidationFailed("errors.unknown_plan", plan=plan_id)
    repo = SubscriptionRepository(session, tenant_id=tenant_id)  # type: ignore[arg-type]
    existing = await repo.one_or_none()
    if existing is not None:
        return existing
    now = utcnow()
    subscription = await repo.add(
        Subscription(plan_id=plan.id, status="trial", trial_ends_at=now + timedelta(days=trial_days))
    )
    await record(
        session,
        EventType.TRIAL_STARTED,
        actor=actor,
        correlation_id=correlation_id,
        payload={"plan": plan.id, "trial_ends_at": subscription.trial_ends_at},
        tenant_id=repo.tenant_id,
    )
    return subscription


async def current_subscription(session: AsyncSession, tenant_id: object | None = None) -> Subscription | None:
    return await SubscriptionRepository(session, tenant_id=tenant_id).one_or_none()  # type: ignore[arg-type]


async def access_status(session: AsyncSession, tenant_id: uuid.UUID | None = None) -> Status | None:
    """The tenant's effective state now (None before onboarding has started a trial)."""
    subscription = await current_subscription(session, tenant_id)
    return None if subscription is None else effective(subscription)


async def background_work_refused(session: AsyncSession, tenant_id: uuid.UUID | None = None) -> str | None:
    """Why scheduled syncs and analyses must not run for this tenant now, or None when they may."""
    status = await access_status(session, tenant_id)
    if status is None or has_full_access(status):
        return None
    return f"subscription_{status.value}"


async def locked_subscription(session: AsyncSession, tenant_id: uuid.UUID | None = None) -> Subscription:
    """The tenant's subscription, row-locked for the rest of the transaction (serialises billing changes)."""
    repo = SubscriptionRepository(session, tenant_id=tenant_id)
    found: Subscription | None = (await session.execute(repo.select().with_for_update())).scalar_one_or_none()
    if found is None:
        raise NotFound("errors.subscription_not_found")
    return found


async def transition(
    session: AsyncSession,
    subscription: Subscription,
    event: Event,
    *,
    actor: Actor,
    correlation_id: str,
    reason: str,
    **changes: Any,
) -> Subscription:
    """Move the subscription along the state machine, set ``changes``, and audit it."""
    before = subscription.status
    # A stored 'trial' whose end has passed is expired in effect; treat the move from there.
    if before == Status.TRIAL and event is not Event.TRIAL_ENDED and effective(subscription) is Status.EXPIRED:
        before_effective = Status.EXPIRED
    else:
        before_effective = Status(before)
    after = next_status(before_effective, event)
    subscription.status = after.value
    for key, value in changes.items():
        setattr(subscription, key, value)
    subscription.updated_at = utcnow()
    await session.flush()
    await record(
        session,
        EventType.SUBSCRIPTION_STATUS_CHANGED,
        actor=actor,
        correlation_id=correlation_id,
        tenant_id=subscription.tenant_id,
        payload={
            "subscription_id": str(subscription.id),
            "from": before,
            "to": after.value,
            "event": event.value,
            "reason": reason,
            "plan": subscription.plan_id,
            "current_period_end": subscription.current_period_end,
        },
    )
    return subscription


async def expire_ended_trials(session: AsyncSession, *, now: datetime | None = None) -> int:
    """The trial sweep (system transaction): persist ``expired`` for every trial past its end."""
    moment = now or utcnow()
    rows = list(
        (
            await session.execute(
                select(Subscription)
                .where(Subscription.status == "trial", Subscription.trial_ends_at <= moment)
                .with_for_update(skip_locked=True)
            )
        ).scalars()
    )
    for subscription in rows:
        await transition(
            session,
            subscription,
            Event.TRIAL_ENDED,
            actor=Actor("system", "trial sweep"),
            correlation_id="trial-sweep",
            reason="trial_ended",
            expired_at=moment,
        )
    return len(rows)


# --- plan limits ----------------------------------------------------------------------------------


# What billing answers through the platform's entitlements (atlas.billing.entitlements): the limits are checked
# where the rows are, by connectors and mapping, and counted there too (atlas.platform.entitlements.usage).


async def limit_for(
    session: AsyncSession, feature: str, tenant_id: uuid.UUID | None = None, *, lock: bool = False
) -> PlanLimit | None:
    """The tenant's limit for ``feature`` from its plan (the trial's plan during the trial). ``lock`` row-locks the
    subscription first, so two requests at once cannot both take the last place."""
    if lock:
        repo = SubscriptionRepository(session, tenant_id=tenant_id)
        subscription = (await session.execute(repo.select().with_for_update())).scalar_one_or_none()
    else:
        subscription = await current_subscription(session, tenant_id)
    if subscription is None:
        return None
    plan = await get_plan(session, subscription.plan_id)
    return PlanLimit(feature, limit_of(plan, feature), plan.id)


async def usage(session: AsyncSession) -> dict[str, int]:
    """The tenant's connectors and records now, as counted by connectors and mapping."""
    tenant_id = SubscriptionRepository(session).tenant_id
    assert tenant_id is not None  # a tenant transaction
    return {
        "connectors": await entitlements.usage(session, "max_connectors", tenant_id),
        "records": await entitlements.usage(session, "max_records", tenant_id),
    }


# --- cancellation and plan changes --------------------------------------------------------------


async def schedule_cancellation(session: AsyncSession, *, actor: Actor, correlation_id: str) -> Subscription:
    """Cancel at the period's end: access stays until then, then the subscription is ``cancelled``."""
    subscription = await locked_subscription(session)
    status = effective(subscription)
    if status is not Status.ACTIVE or subscription.billing_mode != "moyasar":
        raise Conflict("errors.cancel_not_active", state=status.value)
    if not subscription.cancel_at_period_end:
        subscription.cancel_at_period_end = True
        subscription.cancelled_at = utcnow()
        await record(
            session,
            EventType.SUBSCRIPTION_CANCEL_SCHEDULED,
            actor=actor,
            correlation_id=correlation_id,
            payload={"subscription_id": str(subscription.id), "access_until": subscription.current_period_end},
        )
    return subscription


async def resume(session: AsyncSession, *, actor: Actor, correlation_id: str) -> Subscription:
    """Undo a scheduled cancellation before the period ends."""
    subscription = await locked_subscription(session)
    if effective(subscription) is not Status.ACTIVE or not subscription.cancel_at_period_end:
        raise Conflict("errors.resume_not_scheduled")
    subscription.cancel_at_period_end = False
    subscription.cancelled_at = None
    await record(
        session,
        EventType.SUBSCRIPTION_RESUMED,
        actor=actor,
        correlation_id=correlation_id,
        payload={"subscription_id": str(subscription.id)},
    )
    return subscription


def plan_rank(plan_id: str) -> int:
    return PLAN_ORDER.index(plan_id) if plan_id in PLAN_ORDER else len(PLAN_ORDER)


async def check_fits(session: AsyncSession, plan: SubscriptionPlan) -> None:
    """Refuse a smaller plan that today's usage would not fit, saying which limit and by how much."""
    used = await usage(session)
    for feature, used_key, key in (
        ("max_connectors", "connectors", "errors.downgrade_connectors"),
        ("max_records", "records", "errors.downgrade_records"),
    ):
        limit = limit_of(plan, feature)
        if limit is not None and used[used_key] > limit:
            raise Conflict(key, plan=plan.id, limit=limit, used=used[used_key], extra={"limit": feature, "max": limit})


async def schedule_downgrade(
    session: AsyncSession, subscription: Subscription, plan: SubscriptionPlan, *, actor: Actor, correlation_id: str
) -> Subscription:
    """A cheaper plan from the next period, refused when today's usage would not fit it."""
    await check_fits(session, plan)
    subscription.pending_plan_id = plan.id
    await record(
        session,
        EventType.SUBSCRIPTION_PLAN_CHANGED,
        actor=actor,
        correlation_id=correlation_id,
        payload={
            "subscription_id": str(subscription.id),
            "from": subscription.plan_id,
            "to": plan.id,
            "effective": "next_period",
            "from_date": subscription.current_period_end,
        },
    )
    return subscription


# --- the billing profile ------------------------------------------------------------------------


def validate_vat_number(value: str | None) -> str | None:
    """The VAT number as stored (15 ASCII digits), or None when empty. Arabic-Indic digits and spaces are
    normalised first (``٣١٠ ١٢٢ ٣٩٣٥ ٠٠٠٠٣`` is ``310122393500003``)."""
    if value is None or not value.strip():
        return None
    digits = compact_digits(value)
    if not vat_number_ok(digits):
        raise ValidationFailed("errors.vat_number_invalid", extra={"field": "vat_number"})
    return digits


@dataclass(frozen=True)
class ProfileInput:
    """What a person asks the billing profile to be, as sent (`atlas.billing.schemas.BillingProfileIn`).
    ``legal_name`` is the one-name form of clients from before issue 20: it fills the Arabic or the English name by
    its script when neither is given."""

    legal_name_ar: str | None = None
    legal_name_en: str | None = None
    legal_name: str | None = None
    vat_number: str | None = None
    street: str | None = None
    building_number: str | None = None
    additional_number: str | None = None
    district: str | None = None
    city: str | None = None
    postal_code: str | None = None
    country: str | None = None
    crn: str | None = None


@dataclass(frozen=True)
class FieldProblem:
    """One field's problem: its catalogue message and the field's label key (for "… is required")."""

    field: str
    message_key: str
    label_key: str
    limit: int | None = None  # the longest the field may be, for "too long"


class BillingProfileInvalid(ValidationFailed):
    """Every problem of a billing profile at once (a 422): the detail is the first, ``errors`` names each field;
    the API words each in the request's language (`atlas.billing.controllers`)."""

    def __init__(self, problems: list[FieldProblem]) -> None:
        first = problems[0]
        super().__init__(
            first.message_key,
            label=first.label_key,
            max=first.limit,
            extra={"field": first.field, "errors": [{"field": p.field, "code": p.message_key} for p in problems]},
        )
        self.problems = problems


PROFILE_MESSAGES = {
    "required": "errors.billing_profile.required_with_vat",
    "too_long": "errors.billing_profile.too_long",
    "building_number": "errors.billing_profile.building_number",
    "additional_number": "errors.billing_profile.additional_number",
    "postal_code": "errors.billing_profile.postal_code",
    "country": "errors.billing_profile.country",
}


def profile_label(field: str) -> str:
    return f"billing.profile.{field}"


def _text(value: str | None) -> str | None:
    return clean_optional_name(value)


def _code(value: str | None) -> str | None:
    return compact_digits(value) or None if value is not None else None


def checked_profile(data: ProfileInput) -> dict[str, Any]:
    """The profile's stored values from ``data``, or `BillingProfileInvalid` with every problem: legal names 2 to
    200 characters (at least one), the VAT number's form, the national address a standard invoice needs when there
    is a VAT number (`atlas.invoice_party`), the CRN's 10 digits."""
    problems: list[FieldProblem] = []
    name_ar, name_en = _text(data.legal_name_ar), _text(data.legal_name_en)
    fields = {"ar": "legal_name_ar", "en": "legal_name_en"}
    if name_ar is None and name_en is None and (legacy := _text(data.legal_name)) is not None:
        name_ar, name_en = (legacy, None) if has_arabic_letters(legacy) else (None, legacy)
        fields = {"ar": "legal_name", "en": "legal_name"}  # a problem names the field that was sent
    if name_ar is None and name_en is None:
        problems.append(
            FieldProblem("legal_name_ar", "errors.billing_profile.legal_name_required", profile_label("legal_name_ar"))
        )
    for field, name in ((fields["ar"], name_ar), (fields["en"], name_en)):
        if name is not None and not 2 <= len(name) <= 200:
            problems.append(FieldProblem(field, "errors.legal_name_length", profile_label(field)))
    vat: str | None = None
    if data.vat_number is not None and data.vat_number.strip():
        vat = compact_digits(data.vat_number)
        if not vat_number_ok(vat):
            problems.append(FieldProblem("vat_number", "errors.vat_number_invalid", profile_label("vat_number")))
    address: dict[str, str | None] = {
        "street": _text(data.street),
        "building_number": _code(data.building_number),
        "additional_number": _code(data.additional_number),
        "district": _text(data.district),
        "city": _text(data.city),
        "postal_code": _code(data.postal_code),
        "country": (_code(data.country) or "SA").upper(),
    }
    for problem in address_problems(address, vat_registered=vat is not None):
        key = PROFILE_MESSAGES[problem.field if problem.kind == "form" else problem.kind]
        limit = TEXT_LIMITS.get(problem.field) if problem.kind == "too_long" else None
        problems.append(FieldProblem(problem.field, key, profile_label(problem.field), limit))
    crn = _code(data.crn)
    if crn is not None and not crn_ok(crn):
        problems.append(FieldProblem("crn", "errors.billing_profile.crn", profile_label("crn")))
    if problems:
        raise BillingProfileInvalid(problems)
    return {"legal_name_ar": name_ar, "legal_name_en": name_en, "vat_number": vat, **address, "crn": crn}


async def billing_profile(session: AsyncSession, tenant_id: uuid.UUID | None = None) -> BillingProfile | None:
    return await BillingProfileRepo(session, tenant_id=tenant_id).one_or_none()


async def update_billing_profile(
    session: AsyncSession, data: ProfileInput, *, actor: Actor, correlation_id: str
) -> BillingProfile:
    """Replace the tenant's billing profile with ``data`` once every field passes (`checked_profile`): nothing
    partial is saved. Audited with every stored value (none of them is a secret)."""
    values = checked_profile(data)
    repo = BillingProfileRepo(session)
    profile = await repo.one_or_none()
    if profile is None:
        profile = await repo.add(BillingProfile(**values))
    else:
        await repo.update_values(profile, **values, updated_at=utcnow())
    await record(
        session,
        EventType.BILLING_PROFILE_UPDATED,
        actor=actor,
        correlation_id=correlation_id,
        payload=values,
    )
    return profile


# --- meeting requests ---------------------------------------------------------------------------

PHONE_RE = re.compile(r"^\+?[0-9][0-9 ()\-]{6,30}$")


async def request_meeting(
    session: AsyncSession,
    *,
    contact_name: str,
    email: str,
    phone: str,
    preferred_times: str,
    notes: str | None,
    actor: Actor,
    correlation_id: str,
) -> MeetingRequest:
    """Store an enterprise prospect's request to meet the sales team (listed for platform admins)."""
    name = " ".join(contact_name.split())
    if not 2 <= len(name) <= 200:
        raise ValidationFailed("errors.meeting_contact_name", extra={"field": "contact_name"})
    address = normalise_email(email)
    phone_value = phone.strip()
    if not PHONE_RE.match(phone_value):
        raise ValidationFailed("errors.meeting_phone", extra={"field": "phone"})
    times = preferred_times.strip()
    if not 2 <= len(times) <= 1000:
        raise ValidationFailed("errors.meeting_preferred_times", extra={"field": "preferred_times"})
    note = (notes or "").strip() or None
    if note is not None and len(note) > 4000:
        raise ValidationFailed("errors.meeting_notes_length", extra={"field": "notes"})
    meeting = await MeetingRequestRepo(session).add(
        MeetingRequest(
            contact_name=name,
            email=address,
            phone=phone_value,
            preferred_times=times,
            notes=note,
            created_by=actor.ref,
        )
    )
    await record(
        session,
        EventType.MEETING_REQUESTED,
        actor=actor,
        correlation_id=correlation_id,
        payload={"meeting_request_id": str(meeting.id), "contact_name": name, "email": address},
    )
    return meeting


async def meeting_requests(session: AsyncSession) -> list[MeetingRequest]:
    return await MeetingRequestRepo(session).list(order_by=[MeetingRequest.created_at.desc(), MeetingRequest.id.desc()])


# --- notices ------------------------------------------------------------------------------------


async def add_notice(
    session: AsyncSession,
    kind: str,
    *,
    params: dict[str, Any],
    action_url: str | None = None,
    tenant_id: uuid.UUID | None = None,
) -> BillingNotice:
    return await NoticeRepo(session, tenant_id=tenant_id).add(
        BillingNotice(kind=kind, params=params, action_url=action_url)
    )


async def resolve_notices(session: AsyncSession, tenant_id: uuid.UUID | None = None) -> None:
    await NoticeRepo(session, tenant_id=tenant_id).bulk_update(
        BillingNotice.resolved_at.is_(None), values={"resolved_at": utcnow()}
    )


async def open_notices(session: AsyncSession) -> list[BillingNotice]:
    return await NoticeRepo(session).list(
        BillingNotice.resolved_at.is_(None),
        order_by=[BillingNotice.created_at.desc(), BillingNotice.id.desc()],
        limit=5,
    )
