"""Signed checkpoints of the audit trail: truncation and rollback become provable.

A checkpoint seals a tenant's chain head (tenant, seq, hash, time) with an Ed25519 signature
(`atlas.platform.signing`) whose key the database never holds. Checkpoints live in ``audit_checkpoints``, a table of
their own that the application may only read and append to, outside the rows they cover. Before sealing, the events
since the previous checkpoint are checked (the previous one's hash, then every hash onward), so a checkpoint never
vouches for a chain that is already broken. Sealing runs on a schedule (`atlas.workflows.audit_seal`, only tenants
whose head moved) and on demand (``POST /api/audit/checkpoints``, ``atlas audit seal``); a seal on demand is itself
an audit event, and its checkpoint covers that event.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import msgspec
import structlog
from sqlalchemy import BigInteger, DateTime, Index, String, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from atlas.db.base import Base, TenantOwned, utcnow
from atlas.db.engine import Database
from atlas.errors import Conflict
from atlas.platform.audit import (
    GENESIS_HASH,
    Actor,
    ChainBreak,
    ChainWalk,
    EventType,
    SealedHead,
    all_tenant_ids,
    append_pending,
    feed_event,
    record,
)
from atlas.platform.models import AuditChainHead, AuditEvent
from atlas.platform.signing import ALGORITHM, SigningKey, signature_valid

log = structlog.get_logger("atlas.audit")


class AuditCheckpoint(TenantOwned, Base):
    """One signed chain head. The database rejects UPDATE, DELETE and TRUNCATE on this table."""

    __tablename__ = "audit_checkpoints"
    __table_args__ = (Index("ix_audit_checkpoints_tenant_seq", "tenant_id", "seq"),)
    tenant_id_index = False

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    seq: Mapped[int] = mapped_column(BigInteger, nullable=False)
    head_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    sealed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    key_id: Mapped[str] = mapped_column(String(64), nullable=False)
    signature: Mapped[str] = mapped_column(String(200), nullable=False)
    sealed_by: Mapped[str] = mapped_column(String(200), nullable=False)

    def sealed(self) -> SealedHead:
        return SealedHead(
            id=self.id,
            tenant_id=self.tenant_id,
            seq=self.seq,
            head_hash=self.head_hash,
            sealed_at=self.sealed_at,
            key_id=self.key_id,
            signature=self.signature,
        )


class CheckpointRead(msgspec.Struct):
    """A checkpoint as published to the tenant (an item of the checkpoints file the offline verifier reads)."""

    id: int
    tenant_id: uuid.UUID
    seq: int
    head_hash: str
    sealed_at: datetime
    key_id: str
    algorithm: str
    signature: str
    sealed_by: str


class CheckpointListRead(msgspec.Struct):
    tenant_id: uuid.UUID
    checkpoints: list[CheckpointRead]


def checkpoint_read(checkpoint: AuditCheckpoint) -> CheckpointRead:
    return CheckpointRead(
        id=checkpoint.id,
        tenant_id=checkpoint.tenant_id,
        seq=checkpoint.seq,
        head_hash=checkpoint.head_hash,
        sealed_at=checkpoint.sealed_at,
        key_id=checkpoint.key_id,
        algorithm=ALGORITHM,
        signature=checkpoint.signature,
        sealed_by=checkpoint.sealed_by,
    )


class ChainBroken(Conflict):
    """The chain does not hold up since the last checkpoint: nothing is sealed."""


async def tenant_checkpoints(session: AsyncSession, tenant_id: uuid.UUID) -> list[AuditCheckpoint]:
    rows = await session.execute(
        select(AuditCheckpoint)
        .where(AuditCheckpoint.tenant_id == tenant_id)
        .order_by(AuditCheckpoint.seq, AuditCheckpoint.id)
    )
    return list(rows.scalars())


async def _latest(session: AsyncSession, tenant_id: uuid.UUID) -> AuditCheckpoint | None:
    return (
        await session.execute(
            select(AuditCheckpoint)
            .where(AuditCheckpoint.tenant_id == tenant_id)
            .order_by(AuditCheckpoint.seq.desc(), AuditCheckpoint.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()


async def _check_since(
    session: AsyncSession, tenant_id: uuid.UUID, latest: AuditCheckpoint | None, key: SigningKey, head_seq: int
) -> ChainBreak | None:
    """The events since the latest checkpoint chain on from it and end at the head being sealed."""
    after_seq, after_hash = 0, GENESIS_HASH
    # A checkpoint sealed by a retired key is not trusted as a start: the whole chain is checked instead.
    if latest is not None and latest.key_id == key.key_id:
        sealed = latest.sealed()
        if not signature_valid(key.public, sealed.message(), latest.signature):
            return ChainBreak(tenant_id, latest.seq, None, f"{sealed.name} has a signature that is not valid")
        after_seq, after_hash = latest.seq, latest.head_hash
    if after_seq > head_seq:
        return ChainBreak(
            tenant_id, head_seq, None, f"the chain head (seq {head_seq}) is behind checkpoint seq {after_seq}"
        )
    if after_seq:
        at = (
            await session.execute(
                select(AuditEvent.hash).where(AuditEvent.tenant_id == tenant_id, AuditEvent.seq == after_seq)
            )
        ).scalar_one_or_none()
        if at != after_hash:
            return ChainBreak(tenant_id, after_seq, None, f"event seq {after_seq} no longer matches its checkpoint")
    walk = ChainWalk(tenant_id, after_seq=after_seq, after_hash=after_hash)
    events = await session.stream(
        select(AuditEvent)
        .where(AuditEvent.tenant_id == tenant_id, AuditEvent.seq > after_seq, AuditEvent.seq <= head_seq)
        .order_by(AuditEvent.seq)
    )
    async for event in events.scalars():
        broken = feed_event(walk, event)
        if broken is not None:
            return broken
    if walk.last_seq != head_seq:
        return ChainBreak(tenant_id, walk.last_seq + 1, None, f"event seq {walk.last_seq + 1} is missing")
    return None


async def seal(
    session: AsyncSession, tenant_id: uuid.UUID, key: SigningKey, *, sealed_by: str, only_if_moved: bool = False
) -> AuditCheckpoint | None:
    """Seal the tenant's chain head as it is in this transaction (including events this transaction appended).
    Returns None when ``only_if_moved`` and the head has not moved since the latest checkpoint."""
    head = (
        await session.execute(
            select(AuditChainHead.last_seq, AuditChainHead.last_hash).where(AuditChainHead.tenant_id == tenant_id)
        )
    ).one_or_none()
    if head is None:
        raise ChainBroken("errors.audit_chain_broken", reason="no chain head")
    head_seq, head_hash = int(head[0]), str(head[1])
    latest = await _latest(session, tenant_id)
    if only_if_moved and latest is not None and latest.seq == head_seq and latest.head_hash == head_hash:
        return None
    broken = await _check_since(session, tenant_id, latest, key, head_seq)
    if broken is None and head_seq > 0:
        last_hash = (
            await session.execute(
                select(AuditEvent.hash).where(AuditEvent.tenant_id == tenant_id, AuditEvent.seq == head_seq)
            )
        ).scalar_one_or_none()
        if last_hash != head_hash:
            broken = ChainBreak(tenant_id, head_seq, None, "the chain head's hash is not the newest event's")
    if broken is not None:
        log.error("audit_chain_broken", tenant_id=str(tenant_id), seq=broken.seq, reason=broken.reason)
        raise ChainBroken("errors.audit_chain_broken", reason=broken.reason)
    sealed_at = utcnow()
    message = SealedHead(None, tenant_id, head_seq, head_hash, sealed_at, key.key_id, "").message()
    checkpoint = AuditCheckpoint(
        tenant_id=tenant_id,
        seq=head_seq,
        head_hash=head_hash,
        sealed_at=sealed_at,
        key_id=key.key_id,
        signature=key.sign(message),
        sealed_by=sealed_by,
    )
    session.add(checkpoint)
    await session.flush()
    return checkpoint


async def seal_on_demand(
    session: AsyncSession, tenant_id: uuid.UUID, key: SigningKey, *, actor: Actor, correlation_id: str
) -> AuditCheckpoint:
    """Record the seal as an event, append it now, and seal the head that includes it."""
    await record(
        session,
        EventType.AUDIT_CHECKPOINT_SEALED,
        actor=actor,
        correlation_id=correlation_id,
        payload={"key_id": key.key_id},
        tenant_id=tenant_id,
    )
    await append_pending(session)
    checkpoint = await seal(session, tenant_id, key, sealed_by=actor.ref)
    if checkpoint is None:  # pragma: no cover - only_if_moved is off
        raise RuntimeError("a seal on demand always seals")
    return checkpoint


@dataclass(frozen=True, slots=True)
class SealSweep:
    sealed: int
    unchanged: int
    broken: int


async def seal_all(database: Database, key: SigningKey, *, only: uuid.UUID | None = None) -> SealSweep:
    """Seal every tenant (or ``only`` one) whose chain head moved since its latest checkpoint, each in its own
    transaction. A broken chain is logged and left unsealed; the others are sealed."""
    if only is not None:
        tenant_ids = [only]
    else:
        async with database.system_session() as session:
            tenant_ids = await all_tenant_ids(session)
    sealed = unchanged = broken = 0
    for tenant_id in tenant_ids:
        try:
            async with database.tenant_session(tenant_id) as session:
                done = await seal(session, tenant_id, key, sealed_by="system", only_if_moved=True)
        except ChainBroken:
            broken += 1
            continue
        if done is None:
            unchanged += 1
        else:
            sealed += 1
    return SealSweep(sealed=sealed, unchanged=unchanged, broken=broken)
