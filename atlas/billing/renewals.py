"""Renewals and dunning, as decisions over the database (the Temporal workflow only sleeps and asks).

At the period's end the saved card is charged for the next period (the plan waiting for it, if a downgrade
was scheduled). A failure makes the subscription ``past_due`` and schedules retries after the first failure
(default days 1, 3, 5 and 7, `ATLAS_DUNNING_SCHEDULE_DAYS`), each a new attempt with its own deterministic
given_id, with an in-app notice to the admins; after the last failed retry the subscription is ``expired``.
A charge the issuer answers with a 3-D Secure challenge (``initiated``) needs the customer: ``past_due`` and a
notice with the link. A cancellation takes effect when the period ends (``cancelled``, read-only).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from atlas.billing import services as billing
from atlas.billing.models import PaymentAttempt, Subscription
from atlas.billing.payments import PaymentAttemptRepo, given_id, new_attempt
from atlas.billing.states import Event, Status
from atlas.config import Settings
from atlas.db.base import utcnow
from atlas.platform.audit import Actor

ACTOR = Actor("system", "renewals")


@dataclass
class Step:
    kind: str  # wait | charge | done
    seconds: float = 0.0
    reason: str = ""


def next_retry_at(subscription: Subscription, settings: Settings) -> datetime | None:
    """When the next dunning retry is due, or None when every retry has been made."""
    retries_done = max(0, subscription.failed_renewals - 1)
    schedule = settings.dunning_days
    if subscription.past_due_since is None or retries_done >= len(schedule):
        return None
    return subscription.past_due_since + timedelta(seconds=schedule[retries_done] * settings.billing_day_seconds)


async def next_step(
    session: AsyncSession, subscription_id: uuid.UUID, settings: Settings, *, correlation_id: str
) -> Step:
    """What the subscription's workflow does next; persists what time alone has decided (a cancellation that
    took effect, dunning that ran out)."""
    subscription = await billing.locked_subscription(session)
    if subscription.id != subscription_id:
        return Step("done", reason="replaced")
    now = utcnow()
    state = billing.effective(subscription, now)
    if subscription.billing_mode != "moyasar":
        return Step("done", reason="contract")
    if state is Status.CANCELLED:
        if subscription.status == Status.ACTIVE:
            await billing.transition(
                session,
                subscription,
                Event.PERIOD_ENDED_CANCELLED,
                actor=ACTOR,
                correlation_id=correlation_id,
                reason="cancelled_at_period_end",
            )
        return Step("done", reason="cancelled")
    if state in (Status.TRIAL, Status.EXPIRED):
        return Step("done", reason=state.value)
    if state is Status.ACTIVE:
        end = subscription.current_period_end
        if end is None:
            return Step("done", reason="no_period")
        if end > now:
            return Step("wait", seconds=(end - now).total_seconds(), reason="period_running")
        return Step("charge", reason="period_ended")
    # past due
    due = next_retry_at(subscription, settings)
    if due is None:
        await billing.transition(
            session,
            subscription,
            Event.DUNNING_EXHAUSTED,
            actor=ACTOR,
            correlation_id=correlation_id,
            reason="dunning_exhausted",
            expired_at=now,
        )
        await billing.resolve_notices(session)
        await billing.add_notice(
            session,
            "renewal_failed_final",
            params={"message": await last_failure_message(session, subscription)},
            action_url="/app/subscription#payment",
        )
        return Step("done", reason="expired")
    if due > now:
        return Step("wait", seconds=(due - now).total_seconds(), reason="dunning_wait")
    return Step("charge", reason="dunning_retry")


async def last_failure_message(session: AsyncSession, subscription: Subscription) -> str:
    rows = await PaymentAttemptRepo(session).list(
        PaymentAttempt.subscription_id == subscription.id,
        PaymentAttempt.purpose == "renewal",
        order_by=[PaymentAttempt.created_at.desc(), PaymentAttempt.id.desc()],
        limit=1,
    )
    return (rows[0].message if rows and rows[0].message else "—")[:200]


async def prepare_renewal(
    session: AsyncSession, subscription_id: uuid.UUID, settings: Settings, *, correlation_id: str
) -> uuid.UUID | None:
    """The renewal attempt for the period that follows the current one (deterministic id per subscription,
    period and attempt number); None when there is nothing to charge now. An attempt already decided (the
    activity ran before and crashed after) is returned as it is, never charged again."""
    subscription = await billing.locked_subscription(session)
    if subscription.id != subscription_id or subscription.current_period_end is None:
        return None
    state = billing.effective(subscription)
    if state not in (Status.ACTIVE, Status.PAST_DUE):
        return None
    period_start = subscription.current_period_end
    plan = await billing.get_plan(session, subscription.pending_plan_id or subscription.plan_id)
    attempt_no = subscription.failed_renewals + 1
    attempt_id = given_id(subscription.id, "renewal", plan.id, period_start, attempt_no)
    if await PaymentAttemptRepo(session).get_or_none(attempt_id) is not None:
        return attempt_id
    attempt = await new_attempt(
        session,
        subscription,
        plan,
        purpose="renewal",
        net=plan.price_halalas,
        period_start=period_start,
        period_end=billing.add_period(period_start, settings),
        payment_method_id=subscription.payment_method_id,
        settings=settings,
        actor=ACTOR,
        correlation_id=correlation_id,
        attempt_no=attempt_no,
    )
    return attempt.id


async def record_failure(
    session: AsyncSession,
    attempt_id: uuid.UUID,
    settings: Settings,
    *,
    message: str | None,
    transaction_url: str | None,
    correlation_id: str,
) -> None:
    """A renewal charge failed (or needs the customer's 3-D Secure): ``past_due``, count it, tell the admins."""
    subscription = await billing.locked_subscription(session)
    attempt = await PaymentAttemptRepo(session).get(attempt_id)
    if attempt.applied_at is not None or attempt.attempt_no <= subscription.failed_renewals:
        return  # already counted (an activity retry) or paid meanwhile
    now = utcnow()
    await billing.transition(
        session,
        subscription,
        Event.RENEWAL_FAILED,
        actor=ACTOR,
        correlation_id=correlation_id,
        reason="renewal_needs_action" if transaction_url else "renewal_failed",
        failed_renewals=attempt.attempt_no,
        past_due_since=subscription.past_due_since or now,
    )
    await billing.resolve_notices(session)
    if transaction_url:
        await billing.add_notice(session, "action_required", params={}, action_url=transaction_url)
    else:
        due = next_retry_at(subscription, settings)
        await billing.add_notice(
            session,
            "renewal_failed",
            params={
                "message": (message or "—")[:200],
                "next_retry": due.strftime("%Y-%m-%d %H:%M UTC") if due else "—",
            },
            action_url="/app/subscription#payment",
        )
