"""The worker's listener for issued ZATCA documents (issue 20): a document's transaction sends
``NOTIFY einvoice_issued, '<unit id>'``, which PostgreSQL delivers only once it commits; this starts or signals the
unit's submission workflow (``atlas.workflows.einvoicing``) at once. The billing sweep is the backstop for a
notification missed while no worker listened."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import structlog

from atlas.billing.einvoice_activities import ensure_submission, pending_unit_ids
from atlas.billing.einvoice_chain import ISSUED_CHANNEL
from atlas.config import Settings
from atlas.db.engine import Database

log = structlog.get_logger("atlas.worker")


async def listen_for_issued_documents(
    client: Any, settings: Settings, *, database: Database | None = None, stop: asyncio.Event | None = None
) -> None:
    """Start/signal a unit's submission workflow for every committed `einvoice_issued` notification; once
    listening, nudge every unit that already has pending documents (issued while no worker listened)."""
    # the worker's one direct connection: LISTEN needs one held open, outside the pool
    url = "postgresql://" + settings.database_url.split("://", 1)[1]
    connection = await asyncpg.connect(url)
    pending: set[asyncio.Task[bool]] = set()

    def notified(_connection: Any, _pid: int, _channel: str, payload: str) -> None:
        task = asyncio.get_running_loop().create_task(ensure_submission(client, settings, payload))
        pending.add(task)
        task.add_done_callback(pending.discard)

    await connection.add_listener(ISSUED_CHANNEL, notified)
    log.info("einvoice_listener_started")
    if database is not None:
        for unit_id in await pending_unit_ids(database):
            await ensure_submission(client, settings, unit_id)
    try:
        await (stop.wait() if stop is not None else asyncio.Event().wait())
    finally:
        await connection.remove_listener(ISSUED_CHANNEL, notified)
        await connection.close()
