"""The subscription state machine (pure): every transition of the table, the refused ones, the effective state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from atlas.billing.states import (
    ALLOWED,
    TRANSITIONS,
    Access,
    Event,
    InvalidTransition,
    Status,
    SubscriptionView,
    effective_status,
    has_full_access,
    next_status,
)

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)

# The lifecycle as the product describes it (SPEC 5 and the issue), written out independently of the code's table.
EXPECTED = {
    ("trial", "trial_ended"): "expired",
    ("trial", "paid"): "active",
    ("trial", "trial_extended"): "trial",
    ("trial", "contract_activated"): "active",
    ("active", "paid"): "active",  # a renewal
    ("active", "renewal_failed"): "past_due",
    ("active", "period_ended_cancelled"): "cancelled",
    ("active", "contract_activated"): "active",
    ("past_due", "paid"): "active",  # a dunning retry or a manual payment
    ("past_due", "renewal_failed"): "past_due",
    ("past_due", "dunning_exhausted"): "expired",
    ("past_due", "contract_activated"): "active",
    ("cancelled", "paid"): "active",  # paying again reactivates
    ("cancelled", "contract_activated"): "active",
    ("expired", "paid"): "active",
    ("expired", "trial_extended"): "trial",
    ("expired", "contract_activated"): "active",
}


@pytest.mark.parametrize(("state", "event"), sorted(EXPECTED), ids=lambda v: str(v))
def test_every_allowed_transition(state, event):
    assert next_status(state, Event(event)) == EXPECTED[(state, event)]


def test_the_table_has_exactly_the_expected_transitions():
    assert {(s.value, e.value): t.value for (s, e), t in TRANSITIONS.items()} == EXPECTED


@pytest.mark.parametrize("state", [s.value for s in Status])
@pytest.mark.parametrize("event", [e.value for e in Event])
def test_every_other_move_is_refused(state, event):
    if (state, event) in EXPECTED:
        return
    with pytest.raises(InvalidTransition):
        next_status(state, Event(event))


def test_a_trial_past_its_end_is_expired_before_any_sweep():
    running = SubscriptionView("trial", trial_ends_at=NOW + timedelta(seconds=1))
    ended = SubscriptionView("trial", trial_ends_at=NOW - timedelta(seconds=1))
    assert effective_status(running, NOW) is Status.TRIAL
    assert effective_status(ended, NOW) is Status.EXPIRED
    assert effective_status(SubscriptionView("trial", trial_ends_at=NOW), NOW) is Status.EXPIRED


def test_a_cancellation_takes_effect_at_the_period_end():
    view = SubscriptionView("active", current_period_end=NOW + timedelta(days=3), cancel_at_period_end=True)
    assert effective_status(view, NOW) is Status.ACTIVE
    assert effective_status(view, NOW + timedelta(days=3)) is Status.CANCELLED
    not_cancelling = SubscriptionView("active", current_period_end=NOW - timedelta(days=1))
    assert effective_status(not_cancelling, NOW) is Status.ACTIVE  # the renewal decides, not the clock


def test_access_per_state_matches_spec_5():
    full = set(Access)
    assert ALLOWED[Status.TRIAL] == full
    assert ALLOWED[Status.ACTIVE] == full
    assert ALLOWED[Status.PAST_DUE] == {Access.READ, Access.DECIDE, Access.BILLING, Access.ACCOUNT}
    assert ALLOWED[Status.CANCELLED] == {Access.READ, Access.BILLING, Access.ACCOUNT}
    assert ALLOWED[Status.EXPIRED] == {Access.BILLING, Access.ACCOUNT}
    assert [s for s in Status if has_full_access(s)] == [Status.TRIAL, Status.ACTIVE]
