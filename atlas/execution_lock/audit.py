"""Every refused write is recorded as ``action_blocked`` in its tenant's audit trail."""

from __future__ import annotations

import uuid

import structlog

from atlas.db.engine import Database
from atlas.execution_lock.transport import BlockedAttempt, BlockedHandler
from atlas.platform.audit import Actor, EventType, record

log = structlog.get_logger("atlas.execution_lock")


def blocked_auditor(
    database: Database,
    *,
    tenant_id: uuid.UUID,
    actor: Actor,
    correlation_id: str,
    source: str,
    connector_id: uuid.UUID | None = None,
) -> BlockedHandler:
    """A callback for the guarded transport: records the attempt in its own transaction, so it survives
    whatever the caller's transaction does next."""

    async def on_blocked(attempt: BlockedAttempt) -> None:
        log.warning("action_blocked", method=attempt.method, url=attempt.url, source=source)
        async with database.tenant_session(tenant_id) as session:
            await record(
                session,
                EventType.ACTION_BLOCKED,
                actor=actor,
                correlation_id=correlation_id,
                payload={
                    "method": attempt.method,
                    "url": attempt.url,
                    "source": source,
                    "connector_id": str(connector_id) if connector_id else None,
                    "reason": "execution_lock",
                },
            )

    return on_blocked
