"""The immutable audit trail (SPEC 7.6, ARCHITECTURE rule 3).

`record` appends an event in the caller's transaction, so an event exists if and
only if the change it records was committed. Each tenant's events carry a
gapless sequence number and a SHA-256 hash chained to the previous event; the
chain head's row lock serialises concurrent writers of one tenant.
`verify_chain` recomputes every hash and names the first broken event.
"""

from __future__ import annotations

import enum
import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from atlas.db.base import utcnow
from atlas.db.engine import tenant_context
from atlas.platform.models import AuditChainHead, AuditEvent

GENESIS_HASH = "0" * 64


class EventType(enum.StrEnum):
    # SPEC 7.6
    SIGNAL_RECEIVED = "signal_received"
    DECISION_GENERATED = "decision_generated"
    POLICY_EVALUATED = "policy_evaluated"
    APPROVAL_REQUESTED = "approval_requested"
    APPROVAL_RESOLVED = "approval_resolved"
    ACTION_BLOCKED = "action_blocked"
    # The platform's own
    TENANT_PROVISIONED = "tenant_provisioned"
    ONBOARDING_COMPLETED = "onboarding_completed"
    TRIAL_STARTED = "trial_started"
    USER_SIGNED_IN = "user_signed_in"
    USER_SIGNED_OUT = "user_signed_out"
    INVITATION_CREATED = "invitation_created"
    INVITATION_REVOKED = "invitation_revoked"
    INVITATION_ACCEPTED = "invitation_accepted"
    MEMBER_ROLE_CHANGED = "member_role_changed"
    MEMBER_REMOVED = "member_removed"
    API_TOKEN_CREATED = "api_token_created"
    API_TOKEN_REVOKED = "api_token_revoked"
    CROSS_TENANT_VIEW = "cross_tenant_view"
    PLATFORM_ROLE_GRANTED = "platform_role_granted"
    CONNECTOR_CREATED = "connector_created"
    CONNECTOR_UPDATED = "connector_updated"
    CONNECTOR_DELETED = "connector_deleted"
    CONNECTOR_TESTED = "connector_tested"
    MAPPING_CREATED = "mapping_created"
    MAPPING_VERSION_SAVED = "mapping_version_saved"
    MAPPING_ACTIVATED = "mapping_activated"
    SYNC_STARTED = "sync_started"
    SYNC_FINISHED = "sync_finished"
    QUARANTINE_REPROCESSED = "quarantine_reprocessed"
    ANALYSIS_COMPLETED = "analysis_completed"
    RECOMMENDATION_RETIRED = "recommendation_retired"
    # Billing (issue 7)
    SUBSCRIPTION_STATUS_CHANGED = "subscription_status_changed"
    SUBSCRIPTION_PLAN_CHANGED = "subscription_plan_changed"
    SUBSCRIPTION_CANCEL_SCHEDULED = "subscription_cancel_scheduled"
    SUBSCRIPTION_RESUMED = "subscription_resumed"
    PAYMENT_STARTED = "payment_started"
    PAYMENT_SUCCEEDED = "payment_succeeded"
    PAYMENT_FAILED = "payment_failed"
    PAYMENT_REJECTED = "payment_rejected"
    INVOICE_ISSUED = "invoice_issued"
    MEETING_REQUESTED = "meeting_requested"
    BILLING_PROFILE_UPDATED = "billing_profile_updated"
    TRIAL_EXTENDED = "trial_extended"
    CONTRACT_ACTIVATED = "contract_activated"
    # Policies and the execution lock's drafts (issue 6)
    POLICY_CHANGED = "policy_changed"
    DRY_RUN_COMPLETED = "dry_run_completed"
    # The approval workflow (issue 6)
    APPROVAL_REMINDER = "approval_reminder"
    RECOMMENDATION_CHANGED = "recommendation_changed"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who caused an event: ``user:<id>``, ``token:<id>``, ``system`` or ``platform_admin:<id>``."""

    ref: str
    display: str | None = None

    @classmethod
    def system(cls) -> Actor:
        return cls("system")


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def event_hash(
    *,
    tenant_id: uuid.UUID,
    seq: int,
    occurred_at: datetime,
    event_type: str,
    actor: str,
    correlation_id: str,
    payload: dict[str, Any],
    prev_hash: str,
) -> str:
    body = canonical_json(
        {
            "tenant_id": str(tenant_id),
            "seq": seq,
            "occurred_at": _utc(occurred_at).isoformat(timespec="microseconds"),
            "event_type": event_type,
            "actor": actor,
            "correlation_id": correlation_id,
            "payload": payload,
            "prev_hash": prev_hash,
        }
    )
    return hashlib.sha256(body.encode()).hexdigest()


def _normalise(payload: dict[str, Any]) -> dict[str, Any]:
    # What comes back from JSONB must hash the same as what went in.
    normalised: dict[str, Any] = json.loads(canonical_json(payload))
    return normalised


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("audit timestamps must be timezone-aware")
    return moment.astimezone(UTC)


async def ensure_chain(session: AsyncSession, tenant_id: uuid.UUID) -> None:
    """Create the tenant's chain head (once, when the tenant is created)."""
    session.add(AuditChainHead(tenant_id=tenant_id, last_seq=0, last_hash=GENESIS_HASH))
    await session.flush()


async def record(
    session: AsyncSession,
    event_type: EventType | str,
    *,
    actor: Actor,
    correlation_id: str,
    payload: dict[str, Any] | None = None,
    tenant_id: uuid.UUID | None = None,
) -> AuditEvent:
    """Append one event to the tenant's chain, in the caller's transaction."""
    context = tenant_context(session)
    target = tenant_id or context.tenant_id
    if target is None:
        raise ValueError("an audit event needs a tenant")
    if context.scope == "tenant" and target != context.tenant_id:
        raise PermissionError("a tenant transaction may only write its own tenant's audit events")
    head = (
        await session.execute(select(AuditChainHead).where(AuditChainHead.tenant_id == target).with_for_update())
    ).scalar_one()
    body = _normalise(payload or {})
    if actor.display:
        body.setdefault("actor_display", actor.display)
    occurred_at = _utc(utcnow())
    seq = head.last_seq + 1
    digest = event_hash(
        tenant_id=target,
        seq=seq,
        occurred_at=occurred_at,
        event_type=str(event_type),
        actor=actor.ref,
        correlation_id=correlation_id,
        payload=body,
        prev_hash=head.last_hash,
    )
    event = AuditEvent(
        tenant_id=target,
        seq=seq,
        occurred_at=occurred_at,
        event_type=str(event_type),
        actor=actor.ref,
        correlation_id=correlation_id,
        payload=body,
        prev_hash=head.last_hash,
        hash=digest,
    )
    session.add(event)
    head.last_seq = seq
    head.last_hash = digest
    await session.flush()
    return event


@dataclass(frozen=True, slots=True)
class ChainBreak:
    tenant_id: uuid.UUID
    seq: int | None
    event_id: int | None
    reason: str


async def verify_chain(session: AsyncSession, tenant_id: uuid.UUID) -> ChainBreak | None:
    """Recompute a tenant's chain; return the first break, or None when it is intact."""
    prev_hash = GENESIS_HASH
    expected_seq = 1
    result = await session.stream(select(AuditEvent).where(AuditEvent.tenant_id == tenant_id).order_by(AuditEvent.seq))
    async for event in result.scalars():
        if event.seq != expected_seq:
            return ChainBreak(tenant_id, expected_seq, None, f"event seq {expected_seq} is missing")
        if event.prev_hash != prev_hash:
            return ChainBreak(tenant_id, event.seq, event.id, "prev_hash does not match the previous event")
        recomputed = event_hash(
            tenant_id=event.tenant_id,
            seq=event.seq,
            occurred_at=_utc(event.occurred_at),
            event_type=event.event_type,
            actor=event.actor,
            correlation_id=event.correlation_id,
            payload=event.payload,
            prev_hash=event.prev_hash,
        )
        if recomputed != event.hash:
            return ChainBreak(tenant_id, event.seq, event.id, "hash does not match the event's content")
        prev_hash = event.hash
        expected_seq += 1
    head = (
        await session.execute(select(AuditChainHead).where(AuditChainHead.tenant_id == tenant_id))
    ).scalar_one_or_none()
    if head is not None and (head.last_seq != expected_seq - 1 or head.last_hash != prev_hash):
        return ChainBreak(
            tenant_id,
            head.last_seq,
            None,
            f"chain head says seq {head.last_seq}; events end at {expected_seq - 1}",
        )
    return None


async def all_tenant_ids(session: AsyncSession) -> list[uuid.UUID]:
    rows = await session.execute(text("SELECT id FROM tenants ORDER BY created_at"))
    return [row[0] for row in rows]
