"""The subscription state machine and the access each state gives (SPEC 5). Pure: no database, no clock.

| state | access |
| --- | --- |
| trial, active | full |
| past_due | read, approve/reject recommendations, billing; no new connectors, syncs or other writes |
| cancelled | read-only, billing |
| expired | billing only (plus sign-in/out and who-am-I) |

The *effective* state is what the stored state means now: a trial past its end is expired even before
the sweep has written so, and a cancellation takes effect when the paid period ends.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class Status(enum.StrEnum):
    TRIAL = "trial"
    ACTIVE = "active"
    PAST_DUE = "past_due"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class Event(enum.StrEnum):
    """What can happen to a subscription."""

    TRIAL_ENDED = "trial_ended"
    PAID = "paid"  # a first payment, a renewal, a reactivation or a dunning retry succeeded
    RENEWAL_FAILED = "renewal_failed"
    DUNNING_EXHAUSTED = "dunning_exhausted"
    PERIOD_ENDED_CANCELLED = "period_ended_cancelled"
    CONTRACT_ACTIVATED = "contract_activated"
    TRIAL_EXTENDED = "trial_extended"


TRANSITIONS: dict[tuple[Status, Event], Status] = {
    (Status.TRIAL, Event.TRIAL_ENDED): Status.EXPIRED,
    (Status.TRIAL, Event.PAID): Status.ACTIVE,
    (Status.TRIAL, Event.TRIAL_EXTENDED): Status.TRIAL,
    (Status.TRIAL, Event.CONTRACT_ACTIVATED): Status.ACTIVE,
    (Status.ACTIVE, Event.PAID): Status.ACTIVE,
    (Status.ACTIVE, Event.RENEWAL_FAILED): Status.PAST_DUE,
    (Status.ACTIVE, Event.PERIOD_ENDED_CANCELLED): Status.CANCELLED,
    (Status.ACTIVE, Event.CONTRACT_ACTIVATED): Status.ACTIVE,
    (Status.PAST_DUE, Event.PAID): Status.ACTIVE,
    (Status.PAST_DUE, Event.RENEWAL_FAILED): Status.PAST_DUE,
    (Status.PAST_DUE, Event.DUNNING_EXHAUSTED): Status.EXPIRED,
    (Status.PAST_DUE, Event.CONTRACT_ACTIVATED): Status.ACTIVE,
    (Status.CANCELLED, Event.PAID): Status.ACTIVE,
    (Status.CANCELLED, Event.CONTRACT_ACTIVATED): Status.ACTIVE,
    (Status.EXPIRED, Event.PAID): Status.ACTIVE,
    (Status.EXPIRED, Event.TRIAL_EXTENDED): Status.TRIAL,
    (Status.EXPIRED, Event.CONTRACT_ACTIVATED): Status.ACTIVE,
}


class InvalidTransition(ValueError):
    def __init__(self, status: str, event: str) -> None:
        super().__init__(f"a {status} subscription cannot take {event}")
        self.status = status
        self.event = event


def next_status(status: str, event: Event) -> Status:
    """The state after ``event``; raises `InvalidTransition` for a move the table does not allow."""
    found = TRANSITIONS.get((Status(status), event))
    if found is None:
        raise InvalidTransition(status, event)
    return found


@dataclass(frozen=True, slots=True)
class SubscriptionView:
    """What the effective state depends on (a plain copy of the row)."""

    status: str
    trial_ends_at: datetime | None = None
    current_period_end: datetime | None = None
    cancel_at_period_end: bool = False


def effective_status(view: SubscriptionView, now: datetime) -> Status:
    status = Status(view.status)
    if status is Status.TRIAL and view.trial_ends_at is not None and view.trial_ends_at <= now:
        return Status.EXPIRED
    if (
        status is Status.ACTIVE
        and view.cancel_at_period_end
        and view.current_period_end is not None
        and view.current_period_end <= now
    ):
        return Status.CANCELLED
    return status


class Access(enum.StrEnum):
    """What a request does, as far as the subscription is concerned."""

    READ = "read"  # GET, HEAD, OPTIONS
    DECIDE = "decide"  # approve/reject recommendations (Permission.DECIDE_RECOMMENDATIONS routes)
    WRITE = "write"  # any other change
    BILLING = "billing"  # billing pages and APIs (routes with opt billing=True)
    ACCOUNT = "account"  # sign-out, who-am-I, onboarding: routes open to any signed-in person


ALLOWED: dict[Status, frozenset[Access]] = {
    Status.TRIAL: frozenset(Access),
    Status.ACTIVE: frozenset(Access),
    Status.PAST_DUE: frozenset({Access.READ, Access.DECIDE, Access.BILLING, Access.ACCOUNT}),
    Status.CANCELLED: frozenset({Access.READ, Access.BILLING, Access.ACCOUNT}),
    Status.EXPIRED: frozenset({Access.BILLING, Access.ACCOUNT}),
}


def allows(status: Status, access: Access) -> bool:
    return access in ALLOWED[status]


def has_full_access(status: Status) -> bool:
    """Whether background work (scheduled syncs, analyses) may run for the tenant."""
    return status in (Status.TRIAL, Status.ACTIVE)
