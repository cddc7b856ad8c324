"""The execution lock's audit trail: every refused request is ``action_blocked``, every declared request that
leaves (token request, session login, read-RPC call) is ``declared_request_sent``, and every token or login
answer that was not a token or a session is ``declared_request_failed``.

Each event is written in its own transaction, so it survives whatever the caller's transaction does next. The
payloads name the connector, the kind, the URL without query or user info and, for a read-RPC call, what the
lock proved it reads; never a body, a form, a header or a cookie, which may carry credentials.
"""

from __future__ import annotations

import uuid
from typing import Any

import structlog

from atlas.db.engine import Database
from atlas.execution_lock.transport import (
    BlockedAttempt,
    BlockedHandler,
    DeclaredFailure,
    DeclaredRequest,
    FailedHandler,
    SentHandler,
)
from atlas.platform.audit import Actor, EventType, record

log = structlog.get_logger("atlas.execution_lock")


class LockAuditor:
    """Records the lock's events for one tenant, actor and connector.

    Calling it records a blocked attempt, so it is a `BlockedHandler` wherever one is expected; `sent` and
    `failed` are the `SentHandler` and `FailedHandler` of the same context. `ConnectorSession` takes all three
    from it, so every caller that audits refusals audits the declared requests too."""

    def __init__(
        self,
        database: Database,
        *,
        tenant_id: uuid.UUID,
        actor: Actor,
        correlation_id: str,
        source: str,
        connector_id: uuid.UUID | None = None,
    ) -> None:
        self._database = database
        self._tenant_id = tenant_id
        self._actor = actor
        self._correlation_id = correlation_id
        self.source = source
        self.connector_id = connector_id

    async def _record(self, event: EventType, payload: dict[str, Any]) -> None:
        async with self._database.tenant_session(self._tenant_id) as session:
            await record(
                session,
                event,
                actor=self._actor,
                correlation_id=self._correlation_id,
                payload={
                    **payload,
                    "source": self.source,
                    "connector_id": str(self.connector_id) if self.connector_id else None,
                },
            )

    async def __call__(self, attempt: BlockedAttempt) -> None:
        log.warning("action_blocked", method=attempt.method, url=attempt.url, reason=attempt.reason, source=self.source)
        await self._record(
            EventType.ACTION_BLOCKED,
            {
                "method": attempt.method,
                "url": attempt.url,
                "reason": attempt.reason,  # method_not_allowed, undeclared_post_url, rpc_method_not_read, ...
                "detail": attempt.detail or None,
            },
        )

    async def sent(self, request: DeclaredRequest) -> None:
        await self._record(
            EventType.DECLARED_REQUEST_SENT,
            {
                "kind": str(request.kind),
                "method": "POST",
                "url": request.url,
                "protocol": request.protocol,
                "rpc_method": request.method,
                "subject": request.subject,
            },
        )

    async def failed(self, failure: DeclaredFailure) -> None:
        log.warning("declared_request_failed", kind=failure.kind, url=failure.url, reason=failure.reason)
        await self._record(
            EventType.DECLARED_REQUEST_FAILED,
            {"kind": failure.kind, "url": failure.url, "reason": failure.reason, "status": failure.status},
        )


def blocked_auditor(
    database: Database,
    *,
    tenant_id: uuid.UUID,
    actor: Actor,
    correlation_id: str,
    source: str,
    connector_id: uuid.UUID | None = None,
) -> LockAuditor:
    """The lock's auditor for one context: a `BlockedHandler` that also carries `sent` and `failed`."""
    return LockAuditor(
        database,
        tenant_id=tenant_id,
        actor=actor,
        correlation_id=correlation_id,
        source=source,
        connector_id=connector_id,
    )


def handlers(on_blocked: BlockedHandler | None) -> tuple[SentHandler | None, FailedHandler | None]:
    """The sent and failed handlers that go with a blocked handler, when it is a `LockAuditor`."""
    if isinstance(on_blocked, LockAuditor):
        return on_blocked.sent, on_blocked.failed
    return None, None
