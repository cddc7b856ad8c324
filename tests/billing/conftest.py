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


# --- Atlas with the local Moyasar ------------------------------------------------------------------------------

import uuid as _uuid  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from dataclasses import dataclass  # noqa: E402

import pytest  # noqa: E402

from tests.billing.moyasar_helpers import StandIn, moyasar_stand_in  # noqa: E402
from tests.conftest import Atlas  # noqa: E402
from tests.services import WorkerProcess, atlas_server, free_port  # noqa: E402

WEBHOOK_SECRET = "atlas-test-webhook-secret-0123456789"


@dataclass
class Paying:
    atlas: Atlas
    moyasar: StandIn
    worker: WorkerProcess | None = None


def paying_settings(moyasar: StandIn, database_url: str, oidc_url: str, **extra: str) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "OIDC_ISSUER": oidc_url,
        "MOYASAR_BASE_URL": moyasar.api,
        "MOYASAR_SECRET_KEY": moyasar.secret_key,
        "MOYASAR_PUBLISHABLE_KEY": moyasar.publishable_key,
        "MOYASAR_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "ATLAS_LOGIN_RATE_LIMIT": "100000",
        "ATLAS_TOKEN_RATE_LIMIT": "100000",
        "ATLAS_ALLOW_PRIVATE_NETWORKS": "true",
        "ATLAS_SELLER_NAME": "Atlas Enterprise AI Layer",
        "ATLAS_SELLER_VAT_NUMBER": "311111111100003",
        "ATLAS_LOG_LEVEL": "WARNING",
        **extra,
    }


@pytest.fixture(scope="session")
def paying(database_url: str, oidc_url: str) -> Iterator[Paying]:
    """Atlas with the local Moyasar as a real HTTP server (webhooks to Atlas), without Temporal."""
    port = free_port()
    with moyasar_stand_in(
        webhook_url=f"http://127.0.0.1:{port}/api/webhooks/moyasar", webhook_secret=WEBHOOK_SECRET
    ) as moyasar:
        settings = paying_settings(moyasar, database_url, oidc_url, TEMPORAL_ADDRESS="127.0.0.1:1")
        with atlas_server({**settings, "port": port}) as base_url:
            yield Paying(Atlas(base_url, oidc_url, database_url), moyasar)


@pytest.fixture(scope="module")
def renewing(database_url: str, oidc_url: str, temporal_address: str) -> Iterator[Paying]:
    """Atlas, the local Moyasar, Temporal and a worker, with billing durations in seconds."""
    port = free_port()
    with moyasar_stand_in(
        webhook_url=f"http://127.0.0.1:{port}/api/webhooks/moyasar", webhook_secret=WEBHOOK_SECRET
    ) as moyasar:
        settings = paying_settings(
            moyasar,
            database_url,
            oidc_url,
            TEMPORAL_ADDRESS=temporal_address,
            TEMPORAL_TASK_QUEUE=f"atlas-billing-{_uuid.uuid4().hex[:8]}",
            ATLAS_BILLING_PERIOD_SECONDS="8",
            ATLAS_BILLING_DAY_SECONDS="2",
            ATLAS_DUNNING_SCHEDULE_DAYS="1,2,3",
            ATLAS_TRIAL_SWEEP_SECONDS="3",
            ATLAS_HOUSEKEEPING_SECONDS="86400",
            ATLAS_CONNECTOR_HEALTH_SECONDS="86400",
        )
        worker = WorkerProcess(settings)
        worker.start()
        try:
            with atlas_server({**settings, "port": port}) as base_url:
                yield Paying(Atlas(base_url, oidc_url, database_url), moyasar, worker)
        finally:
            worker.stop()
