"""The Temporal client, connected lazily so the web app starts (and reports not-ready) without Temporal."""

from __future__ import annotations

import asyncio

from temporalio.client import Client

from atlas.config import Settings


class TemporalConnection:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._client: Client | None = None
        self._lock = asyncio.Lock()

    async def client(self, *, timeout: float = 5.0) -> Client:
        async with self._lock:
            if self._client is None:
                self._client = await asyncio.wait_for(
                    Client.connect(self.settings.temporal_address, namespace=self.settings.temporal_namespace),
                    timeout,
                )
            return self._client

    async def healthy(self, *, timeout: float = 3.0) -> bool:
        try:
            client = await self.client(timeout=timeout)
            return bool(await asyncio.wait_for(client.service_client.check_health(), timeout))
        except Exception:  # any failure to reach Temporal means "not ready"
            self._client = None
            return False
