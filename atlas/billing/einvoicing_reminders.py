"""Reminders before the active invoicing unit's certificate expires (issue 20), its banner and its gauge.

- **The check** (`remind_expiring_certificate`, the `einvoicing.certificate_reminders` activity the billing sweep
  runs on its schedule): at 30, 14, 7, 3 and 1 days before the active production unit's certificate ends, and once
  it has ended, an `einvoicing_certificate_expiring` audit event (`days_left`, `threshold`, `expired`) in the
  operator's trail and a log line (warning; error at 7 days or fewer and once expired). **Once per unit and
  threshold**: the smallest threshold reminded is kept in the unit's JSON (`compliance_checks["certificate_reminder"]`,
  with the expiry it is for), written under the unit row's lock, so two sweeps at once, a restart or a rerun remind
  once; a renewal clears it (a new expiry starts over). A sweep that did not run for days reminds the threshold it
  finds, not the ones it missed. The activity reads the clock; the workflow never does.
- **The banner** (`certificate_notice`): what every platform page shows platform admins when the active unit's
  certificate ends within 30 days or has ended, linking to the renewal form (`/platform/billing#einvoicing-renew`).
- **The gauge** `atlas_einvoicing_certificate_days_left{environment=…}` on `/metrics` (`refresh_certificate_gauge`,
  read when the metrics are scraped): whole days left of the active certificate, negative once expired, no sample
  without an active unit. Alert on `atlas_einvoicing_certificate_days_left < 14`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import structlog
from prometheus_client import Gauge
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio import activity

from atlas.billing.einvoicing_units import EXPIRY_WARNING_DAYS, REMINDER_KEY, _Trail, operator_tenant_id
from atlas.billing.models import EInvoicingUnit
from atlas.db.base import utcnow
from atlas.db.engine import Database
from atlas.platform.audit import Actor, EventType

__all__ = [
    "CERTIFICATE_DAYS_LEFT",
    "THRESHOLDS",
    "CertificateNotice",
    "Reminder",
    "certificate_notice",
    "certificate_reminders",
    "refresh_certificate_gauge",
    "remind_expiring_certificate",
    "threshold_for",
]

log = structlog.get_logger("atlas.billing.einvoicing_reminders")

# Days before the certificate's end at which a reminder is recorded; 0 stands for "expired".
THRESHOLDS: Final = (30, 14, 7, 3, 1)
EXPIRED: Final = 0
RENEWAL_LINK: Final = "/platform/billing#einvoicing-renew"

CERTIFICATE_DAYS_LEFT = Gauge(
    "atlas_einvoicing_certificate_days_left",
    "Whole days until the active ZATCA invoicing unit's certificate expires (negative once expired)",
    ["environment"],
)


def days_until(expires: datetime, now: datetime) -> int:
    """Whole days left, as the platform page counts them (negative once expired)."""
    return (expires - now).days


def threshold_for(expires: datetime, now: datetime) -> int | None:
    """The reminder due: the smallest threshold at or above the days left, `EXPIRED` (0) once the certificate has
    ended, None beyond 30 days."""
    if expires <= now:
        return EXPIRED
    left = days_until(expires, now)
    due = [t for t in THRESHOLDS if left <= t]
    return min(due) if due else None


@dataclass(frozen=True, slots=True)
class Reminder:
    """A reminder the check recorded now."""

    unit_id: str
    days_left: int
    threshold: int
    expired: bool


async def remind_expiring_certificate(database: Database, *, now: datetime | None = None) -> Reminder | None:
    """Record the reminder due for the active unit's certificate, once per unit and threshold; returns it, or None
    when none is due or it was already recorded. One system transaction, under the unit row's lock."""
    moment = now or utcnow()
    async with database.system_session() as session:
        unit = (
            await session.execute(
                select(EInvoicingUnit)
                .where(EInvoicingUnit.active.is_(True), EInvoicingUnit.status == "production")
                .with_for_update()
                .execution_options(populate_existing=True)
            )
        ).scalar_one_or_none()
        if unit is None or unit.certificate_expires_at is None:
            return None
        expires = unit.certificate_expires_at
        threshold = threshold_for(expires, moment)
        if threshold is None:
            return None
        days_left = days_until(expires, moment)
        stored: dict[str, Any] = dict((unit.compliance_checks or {}).get(REMINDER_KEY) or {})
        reminded = stored.get("threshold") if stored.get("expires_at") == expires.isoformat() else None
        if isinstance(reminded, int) and reminded <= threshold:
            return None  # this threshold (or a nearer one) was reminded already
        expired = threshold == EXPIRED
        payload = {
            "unit_id": str(unit.id),
            "name": unit.name,
            "environment": unit.environment,
            "certificate_expires_at": expires,
            "days_left": days_left,
            "threshold": threshold,
            "expired": expired,
        }
        trail = _Trail(await operator_tenant_id(session), Actor.system(), f"einvoicing-reminder-{uuid.uuid4()}")
        await trail.record(session, EventType.EINVOICING_CERTIFICATE_EXPIRING, payload)
        unit.compliance_checks = {
            **(unit.compliance_checks or {}),
            REMINDER_KEY: {"expires_at": expires.isoformat(), "threshold": threshold, "at": moment.isoformat()},
        }
        await session.flush()
        reminder = Reminder(str(unit.id), days_left, threshold, expired)
    event = "einvoicing_certificate.expired" if expired else "einvoicing_certificate.expiring"
    (log.error if threshold <= 7 else log.warning)(
        event,
        unit_id=reminder.unit_id,
        days_left=days_left,
        threshold=threshold,
        certificate_expires_at=expires.isoformat(),
        renew_at=RENEWAL_LINK,
    )
    return reminder


@dataclass
class ReminderResult:
    reminded: bool
    days_left: int | None
    threshold: int | None


@activity.defn(name="einvoicing.certificate_reminders")
async def certificate_reminders() -> ReminderResult:
    """The billing sweep's check of the active unit's certificate (the clock is read here, not in the workflow)."""
    from atlas.durable.runtime import runtime

    database = runtime().db
    reminder = await remind_expiring_certificate(database)
    await refresh_certificate_gauge(database)
    if reminder is None:
        return ReminderResult(False, None, None)
    return ReminderResult(True, reminder.days_left, reminder.threshold)


# --- the banner and the gauge --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CertificateNotice:
    """What the platform pages' banner says: the active unit's certificate ends within 30 days or has ended."""

    unit_id: uuid.UUID
    expires_at: datetime
    days_left: int
    expired: bool
    link: str = RENEWAL_LINK


async def certificate_notice(session: AsyncSession, *, now: datetime | None = None) -> CertificateNotice | None:
    """The banner's notice, or None (no active unit, or more than 30 days left). Any session: the table is global."""
    row = (
        await session.execute(
            select(EInvoicingUnit.id, EInvoicingUnit.certificate_expires_at).where(
                EInvoicingUnit.active.is_(True), EInvoicingUnit.status == "production"
            )
        )
    ).one_or_none()
    if row is None or row.certificate_expires_at is None:
        return None
    moment = now or utcnow()
    days_left = days_until(row.certificate_expires_at, moment)
    if days_left > EXPIRY_WARNING_DAYS:
        return None
    return CertificateNotice(row.id, row.certificate_expires_at, days_left, row.certificate_expires_at <= moment)


async def refresh_certificate_gauge(database: Database, *, now: datetime | None = None) -> int | None:
    """Set the gauge from the active unit (no sample without one); returns the days left it set."""
    async with database.system_session() as session:
        row = (
            await session.execute(
                select(EInvoicingUnit.environment, EInvoicingUnit.certificate_expires_at).where(
                    EInvoicingUnit.active.is_(True), EInvoicingUnit.status == "production"
                )
            )
        ).one_or_none()
    CERTIFICATE_DAYS_LEFT.clear()
    if row is None or row.certificate_expires_at is None:
        return None
    days_left = days_until(row.certificate_expires_at, now or utcnow())
    CERTIFICATE_DAYS_LEFT.labels(environment=row.environment).set(days_left)
    return days_left
