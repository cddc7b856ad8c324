"""The immutable audit trail (SPEC 7.6, ARCHITECTURE rule 3).

`record` appends an event in the caller's transaction, so an event exists if and
only if the change it records was committed. Each tenant's events carry a
gapless sequence number and a SHA-256 hash chained to the previous event; the
chain head's row lock serialises concurrent writers of one tenant. The events of
a transaction are written together just before it commits, so that lock is held
for one statement and the commit, not for the whole transaction.
`verify_chain` recomputes every hash and names the first broken event; it also compares the chain with its head
(missing, rolled back) and with the tenant's signed checkpoints (`atlas.platform.checkpoints`), so events cut off
behind a checkpoint are a break too.
"""

from __future__ import annotations

import enum
import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Table, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from atlas.db.base import utcnow
from atlas.db.engine import before_commit, tenant_context
from atlas.platform.models import AuditChainHead, AuditEvent
from atlas.platform.signatures import checkpoint_message, signature_valid

GENESIS_HASH = "0" * 64
APPEND_CHUNK = 1000  # audit rows per INSERT when a transaction's events are appended
_PENDING = "atlas.audit.pending"
_HEADS: Table = AuditChainHead.__table__  # type: ignore[assignment]


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
    TENANT_SETTINGS_CHANGED = "tenant_settings_changed"  # the tenant's own settings (its time zone)
    CONNECTOR_CREATED = "connector_created"
    CONNECTOR_UPDATED = "connector_updated"
    CONNECTOR_DELETED = "connector_deleted"
    CONNECTOR_TESTED = "connector_tested"
    PRESET_APPLIED = "preset_applied"
    DISCOVERY_APPLIED = "discovery_applied"  # a discovery proposal laid down as a connector and its mappings
    MAPPING_CREATED = "mapping_created"
    MAPPING_VERSION_SAVED = "mapping_version_saved"
    MAPPING_ACTIVATED = "mapping_activated"
    SYNC_STARTED = "sync_started"
    SYNC_FINISHED = "sync_finished"
    QUARANTINE_REPROCESSED = "quarantine_reprocessed"
    BALANCE_VANISHED = "balance_vanished"  # a full read no longer has the balance: set to zero, kept
    # A request other than GET/HEAD that left Atlas for a customer system: one of the lock's declared read kinds
    # (an OAuth2 token request, a session login, a read-RPC call). Never anything else: that is action_blocked.
    DECLARED_REQUEST_SENT = "declared_request_sent"
    DECLARED_REQUEST_FAILED = "declared_request_failed"  # a token or login answer that was not a token or session
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
    # A refused ZATCA document corrected by a replacement invoice (issue 20)
    INVOICE_CORRECTED = "invoice_corrected"
    # Credit and debit notes, refunds with money back (issue 20)
    CREDIT_NOTE_ISSUED = "credit_note_issued"
    DEBIT_NOTE_ISSUED = "debit_note_issued"
    REFUND_REQUESTED = "refund_requested"
    REFUND_SUCCEEDED = "refund_succeeded"
    REFUND_FAILED = "refund_failed"
    MEETING_REQUESTED = "meeting_requested"
    BILLING_PROFILE_UPDATED = "billing_profile_updated"
    TRIAL_EXTENDED = "trial_extended"
    CONTRACT_ACTIVATED = "contract_activated"
    # Policies and the execution lock's drafts (issue 6)
    POLICY_CHANGED = "policy_changed"
    DRY_RUN_COMPLETED = "dry_run_completed"
    # Approved drafts exported in a preset's import format (issue 15): every draft's hash and the file's hash
    DRAFT_IMPORT_EXPORTED = "draft_import_exported"
    # The approval workflow (issue 6)
    APPROVAL_REMINDER = "approval_reminder"
    RECOMMENDATION_CHANGED = "recommendation_changed"
    # The audit trail's own (issue 16): a checkpoint sealed on demand, the trail downloaded
    AUDIT_CHECKPOINT_SEALED = "audit_checkpoint_sealed"
    AUDIT_EXPORTED = "audit_exported"
    # Atlas's ZATCA invoicing unit (issue 20): onboarding, renewal of its certificate, reminders before it expires
    EINVOICING_UNIT_ONBOARDING_STARTED = "einvoicing_unit_onboarding_started"
    EINVOICING_COMPLIANCE_CSID_ISSUED = "einvoicing_compliance_csid_issued"
    EINVOICING_COMPLIANCE_CHECKS_PASSED = "einvoicing_compliance_checks_passed"
    EINVOICING_UNIT_ACTIVATED = "einvoicing_unit_activated"
    EINVOICING_UNIT_ONBOARDING_FAILED = "einvoicing_unit_onboarding_failed"
    EINVOICING_UNIT_RETIRED = "einvoicing_unit_retired"
    EINVOICING_RENEWAL_STARTED = "einvoicing_renewal_started"
    EINVOICING_RENEWAL_SUCCEEDED = "einvoicing_renewal_succeeded"
    EINVOICING_RENEWAL_FAILED = "einvoicing_renewal_failed"
    EINVOICING_CERTIFICATE_EXPIRING = "einvoicing_certificate_expiring"


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
) -> None:
    """Append one event to the tenant's chain, in the caller's transaction.

    The event is appended when the transaction commits (`append_pending`, just before COMMIT), with the
    transaction's other events: the chain head stays locked only for that append and the commit, not for the
    rest of the transaction, so one tenant's writers queue for milliseconds rather than for whole transactions.
    An event therefore exists if and only if the transaction commits; it is not readable before then."""
    context = tenant_context(session)
    target = tenant_id or context.tenant_id
    if target is None:
        raise ValueError("an audit event needs a tenant")
    if context.scope == "tenant" and target != context.tenant_id:
        raise PermissionError("a tenant transaction may only write its own tenant's audit events")
    body = _normalise(payload or {})
    if actor.display:
        body.setdefault("actor_display", actor.display)
    pending: list[_Pending] = session.info.setdefault(_PENDING, [])
    pending.append(_Pending(target, str(event_type), actor.ref, correlation_id, body))
    before_commit(session, append_pending)


@dataclass(frozen=True, slots=True)
class _Pending:
    tenant_id: uuid.UUID
    event_type: str
    actor: str
    correlation_id: str
    payload: dict[str, Any]


async def append_pending(session: AsyncSession) -> None:
    """Write the transaction's recorded events, in the order they were recorded: per tenant, lock the chain
    head, number and hash the events, insert them and move the head in one statement. Runs just before COMMIT."""
    pending: list[_Pending] = session.info.pop(_PENDING, [])
    by_tenant: dict[uuid.UUID, list[_Pending]] = {}
    for item in pending:
        by_tenant.setdefault(item.tenant_id, []).append(item)
    # Heads are always locked in the same order, so two transactions writing to two tenants cannot deadlock.
    for target in sorted(by_tenant, key=str):
        head_id, seq, prev_hash = (
            await session.execute(
                select(_HEADS.c.id, _HEADS.c.last_seq, _HEADS.c.last_hash)
                .where(_HEADS.c.tenant_id == target)
                .with_for_update()
            )
        ).one()
        items = by_tenant[target]
        # At most APPEND_CHUNK rows per statement (a driver takes at most 32,767 parameters, and an analysis
        # can record tens of thousands of events); the last statement also moves the head.
        for first in range(0, len(items), APPEND_CHUNK):
            chunk = items[first : first + APPEND_CHUNK]
            last = first + APPEND_CHUNK >= len(items)
            params: dict[str, Any] = {"tenant_id": target}
            values: list[str] = []
            for n, item in enumerate(chunk):
                seq += 1
                occurred_at = _utc(utcnow())
                digest = event_hash(
                    tenant_id=target,
                    seq=seq,
                    occurred_at=occurred_at,
                    event_type=item.event_type,
                    actor=item.actor,
                    correlation_id=item.correlation_id,
                    payload=item.payload,
                    prev_hash=prev_hash,
                )
                values.append(
                    f"(:tenant_id, :seq{n}, :at{n}, :type{n}, :actor{n}, :cid{n}, CAST(:payload{n} AS jsonb), "
                    f":prev{n}, :hash{n})"
                )
                params.update(
                    {
                        f"seq{n}": seq,
                        f"at{n}": occurred_at,
                        f"type{n}": item.event_type,
                        f"actor{n}": item.actor,
                        f"cid{n}": item.correlation_id,
                        f"payload{n}": canonical_json(item.payload),
                        f"prev{n}": prev_hash,
                        f"hash{n}": digest,
                    }
                )
                prev_hash = digest
            # Plain text statements: SQLAlchemy would compile a multi-row insert afresh every time.
            insert_rows = (
                "INSERT INTO audit_events (tenant_id, seq, occurred_at, event_type, actor, correlation_id, payload, "
                f"prev_hash, hash) VALUES {', '.join(values)}"
            )
            if not last:
                await session.execute(text(insert_rows), params)
                continue
            params.update({"head_id": head_id, "last_seq": seq, "last_hash": prev_hash})
            await session.execute(
                text(
                    f"WITH appended AS ({insert_rows}) "
                    "UPDATE audit_chain_heads SET last_seq = :last_seq, last_hash = :last_hash WHERE id = :head_id"
                ),
                params,
            )


@dataclass(frozen=True, slots=True)
class ChainBreak:
    tenant_id: uuid.UUID
    seq: int | None
    event_id: int | None
    reason: str
    checkpoint_id: int | None = None


@dataclass(frozen=True, slots=True)
class SealedHead:
    """A signed checkpoint: the tenant's chain head (seq, hash) at ``sealed_at``, signed by key ``key_id``."""

    id: int | None
    tenant_id: uuid.UUID
    seq: int
    head_hash: str
    sealed_at: datetime
    key_id: str
    signature: str

    def message(self) -> bytes:
        return checkpoint_message(
            tenant_id=self.tenant_id, seq=self.seq, head_hash=self.head_hash, sealed_at=self.sealed_at, kid=self.key_id
        )

    @property
    def name(self) -> str:
        which = f"checkpoint #{self.id}" if self.id is not None else "checkpoint"
        return f"{which} (seq {self.seq}, sealed {self.sealed_at.astimezone(UTC).isoformat(timespec='seconds')})"


class ChainWalk:
    """Recomputes a chain event by event (from the database or from an export file) and remembers the hashes at
    the sequence numbers of interest (the checkpoints'). ``start_seq``/``start_hash`` begin mid-chain, after an
    event already trusted (the seal's incremental check)."""

    def __init__(
        self, tenant_id: uuid.UUID, *, watch: set[int] | None = None, after_seq: int = 0, after_hash: str = GENESIS_HASH
    ) -> None:
        self.tenant_id = tenant_id
        self.prev_hash = after_hash
        self.last_seq = after_seq
        self.watch = watch or set()
        self.seen: dict[int, str] = {}

    def feed(
        self,
        *,
        seq: int,
        event_id: int | None,
        occurred_at: datetime,
        event_type: str,
        actor: str,
        correlation_id: str,
        payload: dict[str, Any],
        prev_hash: str,
        hash: str,  # noqa: A002 - the column's name
    ) -> ChainBreak | None:
        expected = self.last_seq + 1
        if seq != expected:
            return ChainBreak(self.tenant_id, expected, None, f"event seq {expected} is missing")
        if prev_hash != self.prev_hash:
            return ChainBreak(self.tenant_id, seq, event_id, "prev_hash does not match the previous event")
        recomputed = event_hash(
            tenant_id=self.tenant_id,
            seq=seq,
            occurred_at=_utc(occurred_at),
            event_type=event_type,
            actor=actor,
            correlation_id=correlation_id,
            payload=payload,
            prev_hash=prev_hash,
        )
        if recomputed != hash:
            return ChainBreak(self.tenant_id, seq, event_id, "hash does not match the event's content")
        if seq in self.watch:
            self.seen[seq] = hash
        self.prev_hash = hash
        self.last_seq = seq
        return None

    def against(self, checkpoints: list[SealedHead], keys: dict[str, Ed25519PublicKey]) -> ChainBreak | None:
        """The chain walked so far against signed checkpoints: each must be validly signed by a trusted key, and
        the chain must reach it with the same hash (events cut off or rolled back behind it are a break)."""
        for checkpoint in sorted(checkpoints, key=lambda c: (c.seq, c.id or 0)):
            public = keys.get(checkpoint.key_id)
            if checkpoint.tenant_id != self.tenant_id:
                return self._broken(checkpoint, "belongs to another tenant")
            if public is None:
                return self._broken(checkpoint, f"is signed by an unknown key {checkpoint.key_id}")
            if not signature_valid(public, checkpoint.message(), checkpoint.signature):
                return self._broken(checkpoint, "has a signature that is not valid")
            if checkpoint.seq > self.last_seq:
                return self._broken(
                    checkpoint, f"is ahead of the chain: events end at seq {self.last_seq} (truncated or rolled back)"
                )
            at_seq = self.seen.get(checkpoint.seq) if checkpoint.seq else GENESIS_HASH
            if at_seq != checkpoint.head_hash:
                return self._broken(checkpoint, f"does not match event seq {checkpoint.seq}'s hash (rewritten)")
        return None

    def _broken(self, checkpoint: SealedHead, what: str) -> ChainBreak:
        return ChainBreak(self.tenant_id, checkpoint.seq, None, f"{checkpoint.name} {what}", checkpoint.id)


def feed_event(walk: ChainWalk, event: AuditEvent) -> ChainBreak | None:
    return walk.feed(
        seq=event.seq,
        event_id=event.id,
        occurred_at=event.occurred_at,
        event_type=event.event_type,
        actor=event.actor,
        correlation_id=event.correlation_id,
        payload=event.payload,
        prev_hash=event.prev_hash,
        hash=event.hash,
    )


async def verify_chain(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    checkpoints: list[SealedHead] | None = None,
    keys: dict[str, Ed25519PublicKey] | None = None,
) -> ChainBreak | None:
    """Recompute a tenant's chain; compare it with its chain head and its signed checkpoints; return the first
    break, or None when it is intact. Run it in one snapshot (`Database.system_snapshot_session`), or a write
    committed between reading the events and the head looks like a break."""
    checkpoints = checkpoints or []
    walk = ChainWalk(tenant_id, watch={c.seq for c in checkpoints})
    result = await session.stream(select(AuditEvent).where(AuditEvent.tenant_id == tenant_id).order_by(AuditEvent.seq))
    async for event in result.scalars():
        broken = feed_event(walk, event)
        if broken is not None:
            return broken
    head = (
        await session.execute(select(AuditChainHead).where(AuditChainHead.tenant_id == tenant_id))
    ).scalar_one_or_none()
    if head is None:
        return ChainBreak(tenant_id, None, None, f"the chain head is missing (events end at seq {walk.last_seq})")
    if head.last_seq < walk.last_seq:
        return ChainBreak(
            tenant_id,
            head.last_seq,
            None,
            f"the chain head (seq {head.last_seq}) is behind the newest event (seq {walk.last_seq}): rolled back",
        )
    if head.last_seq != walk.last_seq or head.last_hash != walk.prev_hash:
        return ChainBreak(
            tenant_id,
            head.last_seq,
            None,
            f"chain head says seq {head.last_seq}; events end at {walk.last_seq}",
        )
    return walk.against(checkpoints, keys or {})


async def all_tenant_ids(session: AsyncSession) -> list[uuid.UUID]:
    rows = await session.execute(text("SELECT id FROM tenants ORDER BY created_at"))
    return [row[0] for row in rows]
