"""Helpers for billing tests: put a tenant's subscription into a given state behind the app's back."""

from __future__ import annotations

from typing import Any

STATES = {
    # state -> SQL assignments for the tenant's subscription
    "trial": "status = 'trial', trial_ends_at = now() + interval '5 days', current_period_start = NULL, "
    "current_period_end = NULL, cancel_at_period_end = false",
    "active": "status = 'active', current_period_start = now(), current_period_end = now() + interval '30 days', "
    "cancel_at_period_end = false",
    "past_due": "status = 'past_due', current_period_start = now() - interval '31 days', "
    "current_period_end = now() - interval '1 day', past_due_since = now(), cancel_at_period_end = false",
    "cancelled": "status = 'cancelled', current_period_end = now() - interval '1 day', cancel_at_period_end = true",
    "expired": "status = 'expired', expired_at = now()",
    # stored as a trial, but its end has passed: expired in effect, before any sweep
    "trial_ended": "status = 'trial', trial_ends_at = now() - interval '1 minute', current_period_start = NULL, "
    "current_period_end = NULL",
}


def set_state(atlas: Any, tenant_id: str, state: str) -> None:
    atlas.sql(f"UPDATE subscriptions SET {STATES[state]} WHERE tenant_id = %s", (tenant_id,))


def subscription(atlas: Any, tenant_id: str) -> dict[str, Any]:
    rows = atlas.sql(
        "SELECT status, plan_id, trial_ends_at, current_period_start, current_period_end, cancel_at_period_end, "
        "pending_plan_id, failed_renewals, payment_method_id, billing_mode FROM subscriptions WHERE tenant_id = %s",
        (tenant_id,),
    )
    keys = (
        "status",
        "plan_id",
        "trial_ends_at",
        "current_period_start",
        "current_period_end",
        "cancel_at_period_end",
        "pending_plan_id",
        "failed_renewals",
        "payment_method_id",
        "billing_mode",
    )
    return dict(zip(keys, rows[0], strict=True))
