"""The engine and the three kinds of session Atlas opens.

One request, activity or job is one transaction (ARCHITECTURE rule 4): each
context manager below begins a transaction, sets who it is for, yields the
session, and commits when the block ends without an exception (or rolls back).
Services never commit.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import event, exc, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

Scope = Literal["tenant", "system", "platform_read", "anonymous"]
BeforeCommit = Callable[[AsyncSession], Awaitable[None]]
_BEFORE_COMMIT = "atlas.before_commit"


@dataclass(frozen=True, slots=True)
class TenantContext:
    """Who a transaction works for. Kept on the session's ``info`` for repositories."""

    scope: Scope
    tenant_id: uuid.UUID | None = None


def _on_connect(role: str) -> Any:
    def set_role(dbapi_connection: Any, _record: Any) -> None:
        # Superusers and table owners bypass row-level security; every query of
        # the application runs as a role that is neither.
        cursor = dbapi_connection.cursor()
        cursor.execute(f'SET ROLE "{role}"')
        cursor.close()

    return set_role


def _reject_closed(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Hand out no pooled connection the server has closed (a restart, an administrator's termination).

    The driver knows without a round trip: the server's goodbye and the closed socket reach it as soon as the
    event loop runs. Raising `DisconnectionError` makes the pool drop the connection and check out (or open)
    another. SQLAlchemy's ``pool_pre_ping`` asks the server instead, three round trips (BEGIN, an empty query,
    ROLLBACK) before every transaction: 4.7 of the 13.7 transactions PostgreSQL counted per approval
    (benchmarks/README.md, Approvals). A connection broken without a word (a network cut) still fails its first
    statement, as it would have failed the ping.
    """
    driver = getattr(dbapi_connection, "driver_connection", None)
    if driver is not None and driver.is_closed():
        raise exc.DisconnectionError("the server closed this connection")


class Database:
    """Owns the connection pool. One per process."""

    def __init__(self, url: str, *, app_role: str, pool_size: int = 10, echo: bool = False) -> None:
        self.engine: AsyncEngine = create_async_engine(url, pool_size=pool_size, max_overflow=pool_size, echo=echo)
        event.listen(self.engine.sync_engine, "connect", _on_connect(app_role))
        event.listen(self.engine.sync_engine.pool, "checkout", _reject_closed)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False, autoflush=True)

    async def dispose(self) -> None:
        await self.engine.dispose()

    @asynccontextmanager
    async def _session(
        self, context: TenantContext, *, read_only: bool = False, snapshot: bool = False
    ) -> AsyncIterator[AsyncSession]:
        async with self._sessions() as session, session.begin():
            if snapshot:
                await session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
            elif read_only:
                await session.execute(text("SET TRANSACTION READ ONLY"))
            await session.execute(
                text("SELECT set_config('app.tenant_id', :tenant, true), set_config('app.scope', :scope, true)"),
                {"tenant": str(context.tenant_id) if context.tenant_id else "", "scope": context.scope},
            )
            session.info["tenant_context"] = context
            yield session
            # The block ended without an exception: the last writes (the audit chain's), then COMMIT.
            for hook in session.info.pop(_BEFORE_COMMIT, ()):
                await hook(session)

    def tenant_session(self, tenant_id: uuid.UUID) -> Any:
        """A transaction that sees and writes only ``tenant_id``'s rows."""
        return self._session(TenantContext("tenant", tenant_id))

    def system_session(self) -> Any:
        """A transaction for the few explicit cross-tenant operations (sign-in, provisioning, verification)."""
        return self._session(TenantContext("system"))

    def system_snapshot_session(self) -> Any:
        """A READ ONLY, REPEATABLE READ transaction across tenants: every query sees one snapshot (the audit
        verifier reads a tenant's events, chain head and checkpoints as of one moment while others write)."""
        return self._session(TenantContext("system"), snapshot=True)

    def platform_read_session(self) -> Any:
        """A READ ONLY transaction that sees every tenant, for a platform admin's audited views."""
        return self._session(TenantContext("platform_read"), read_only=True)

    def anonymous_session(self) -> Any:
        """A transaction for public pages: it sees the global tables (plans) and no tenant's rows."""
        return self._session(TenantContext("anonymous"), read_only=True)

    async def ping(self) -> bool:
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        return True


def before_commit(session: AsyncSession, hook: BeforeCommit) -> None:
    """Run ``hook`` once at the end of this transaction, after the block's work and just before COMMIT (not
    when the block raised: the transaction is rolled back then)."""
    hooks: list[BeforeCommit] = session.info.setdefault(_BEFORE_COMMIT, [])
    if hook not in hooks:
        hooks.append(hook)


def tenant_context(session: AsyncSession) -> TenantContext:
    context = session.info.get("tenant_context")
    if not isinstance(context, TenantContext):
        raise RuntimeError("this session was not opened through atlas.db.Database")
    return context
