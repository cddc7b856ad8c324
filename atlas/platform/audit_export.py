"""A tenant's audit trail as a file, and its verification offline.

The export is JSON lines, one event per line in sequence order, with exactly the fields the event's hash covers
(and the hash). `verify_export` needs nothing but that file, the tenant's checkpoints file
(``GET /api/audit/checkpoints``) and the public key(s) (``GET /api/audit/checkpoints/public-key``): no database,
no Atlas settings. It recomputes the chain, checks every checkpoint's signature, and reports events missing or
changed behind a checkpoint (``atlas audit verify-export``).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from atlas.platform.audit import ChainBreak, ChainWalk, SealedHead, canonical_json
from atlas.platform.models import AuditEvent

EXPORT_MEDIA_TYPE = "application/x-ndjson"


def event_document(event: AuditEvent) -> dict[str, Any]:
    return {
        "tenant_id": str(event.tenant_id),
        "seq": event.seq,
        "occurred_at": event.occurred_at.astimezone(UTC).isoformat(timespec="microseconds"),
        "event_type": event.event_type,
        "actor": event.actor,
        "correlation_id": event.correlation_id,
        "payload": event.payload,
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }


@dataclass(frozen=True, slots=True)
class Export:
    content: bytes
    events: int
    last_seq: int


async def export_events(session: AsyncSession, tenant_id: uuid.UUID) -> Export:
    """Every event of the tenant, oldest first, one JSON document per line."""
    lines: list[str] = []
    last_seq = 0
    result = await session.stream(select(AuditEvent).where(AuditEvent.tenant_id == tenant_id).order_by(AuditEvent.seq))
    async for event in result.scalars():
        lines.append(canonical_json(event_document(event)))
        last_seq = event.seq
    content = "".join(line + "\n" for line in lines).encode()
    return Export(content=content, events=len(lines), last_seq=last_seq)


class ExportUnreadable(ValueError):
    """A line of the export or the checkpoints file is not what Atlas writes."""


def _checkpoint(document: dict[str, Any]) -> SealedHead:
    try:
        return SealedHead(
            id=int(document["id"]) if document.get("id") is not None else None,
            tenant_id=uuid.UUID(str(document["tenant_id"])),
            seq=int(document["seq"]),
            head_hash=str(document["head_hash"]),
            sealed_at=datetime.fromisoformat(str(document["sealed_at"])),
            key_id=str(document["key_id"]),
            signature=str(document["signature"]),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise ExportUnreadable(f"a checkpoint is not readable: {error}") from None


def parse_checkpoints(document: Any) -> list[SealedHead]:
    """The checkpoints file: ``{"checkpoints": [...]}`` as the API serves it, or a bare list."""
    items = document.get("checkpoints") if isinstance(document, dict) else document
    if not isinstance(items, list):
        raise ExportUnreadable("the checkpoints file has no list of checkpoints")
    return [_checkpoint(item) for item in items]


@dataclass(frozen=True, slots=True)
class ExportReport:
    tenant_id: uuid.UUID | None
    events: int
    last_seq: int
    checkpoints: int
    latest_checkpoint_seq: int | None
    broken: ChainBreak | None


def verify_export(
    lines: Iterable[str], checkpoints: list[SealedHead], keys: dict[str, Ed25519PublicKey]
) -> ExportReport:
    """Recompute the exported chain and hold it against the signed checkpoints."""
    walk: ChainWalk | None = None
    events = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
            tenant_id = uuid.UUID(str(event["tenant_id"]))
            seq = int(event["seq"])
            occurred_at = datetime.fromisoformat(str(event["occurred_at"]))
            payload = dict(event["payload"])
            texts = [str(event[name]) for name in ("event_type", "actor", "correlation_id", "prev_hash", "hash")]
        except (KeyError, TypeError, ValueError) as error:
            raise ExportUnreadable(f"line {number} is not an exported event: {error}") from None
        if walk is None:
            walk = ChainWalk(tenant_id, watch={c.seq for c in checkpoints})
        elif tenant_id != walk.tenant_id:
            raise ExportUnreadable(f"line {number} belongs to another tenant")
        events += 1
        event_type, actor, correlation_id, prev_hash, digest = texts
        broken = walk.feed(
            seq=seq,
            event_id=None,
            occurred_at=occurred_at,
            event_type=event_type,
            actor=actor,
            correlation_id=correlation_id,
            payload=payload,
            prev_hash=prev_hash,
            hash=digest,
        )
        if broken is not None:
            return _report(walk, events, checkpoints, broken)
    if walk is None:
        tenant = checkpoints[0].tenant_id if checkpoints else None
        walk = ChainWalk(tenant or uuid.UUID(int=0))
    return _report(walk, events, checkpoints, walk.against(checkpoints, keys))


def _report(walk: ChainWalk, events: int, checkpoints: list[SealedHead], broken: ChainBreak | None) -> ExportReport:
    return ExportReport(
        tenant_id=walk.tenant_id,
        events=events,
        last_seq=walk.last_seq,
        checkpoints=len(checkpoints),
        latest_checkpoint_seq=max((c.seq for c in checkpoints), default=None),
        broken=broken,
    )
