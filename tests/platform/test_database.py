"""The connection pool hands out no connection the server has closed."""

from __future__ import annotations

import asyncio

import psycopg
from sqlalchemy import text

from atlas.db.engine import Database


async def _backend_pids_across_a_termination(url: str) -> tuple[int, int, int]:
    database = Database(url.replace("postgresql://", "postgresql+asyncpg://", 1), app_role="atlas_app", pool_size=1)
    try:

        async def backend() -> int:
            async with database.system_session() as session:
                return int((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())

        first = await backend()
        again = await backend()  # the same pooled connection
        with psycopg.connect(url, autocommit=True) as admin:  # as a restart or an administrator would
            admin.execute("SELECT pg_terminate_backend(%s)", (first,))
        await asyncio.sleep(0.3)  # the server's goodbye reaches the idle connection
        return first, again, await backend()
    finally:
        await database.dispose()


def test_a_connection_the_server_closed_is_replaced_not_used(database_url: str) -> None:
    first, again, after = asyncio.run(_backend_pids_across_a_termination(database_url))
    assert again == first
    assert after != first  # a new connection, and the transaction on it worked
