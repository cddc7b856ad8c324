"""The REST connector engine: reads any inventory API as configured, with no code per system.

`ConnectorSession` puts the parts together for one connector: the read-only
client of the execution lock, authentication, the connector's token bucket,
retries, and the endpoint reader with its paginators.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urljoin

from atlas.connectors.engine.auth import Authenticator
from atlas.connectors.engine.config import (
    OAUTH2_KINDS,
    AuthConfig,
    AuthKind,
    ConnectorConfig,
    EndpointConfig,
    PaginationConfig,
    PaginationKind,
    ResourceKind,
    TimeWindowConfig,
)
from atlas.connectors.engine.errors import FetchError, PaginationLoop
from atlas.connectors.engine.fetch import RequestExecutor
from atlas.connectors.engine.ratelimit import bucket_for
from atlas.connectors.engine.reader import EndpointReader, Page
from atlas.connectors.engine.shape import record_problem
from atlas.execution_lock import BlockedAttempt, NetworkPolicy, NetworkRefused, ReadOnlyHttp
from atlas.execution_lock.audit import handlers as lock_handlers
from atlas.execution_lock.transport import BlockedHandler, SentHandler
from atlas.i18n import stored as stored_message

__all__ = [
    "AuthConfig",
    "AuthKind",
    "BlockedAttempt",
    "ConnectorConfig",
    "ConnectorSession",
    "EndpointConfig",
    "EndpointHealth",
    "FetchError",
    "Page",
    "PaginationConfig",
    "PaginationKind",
    "PaginationLoop",
    "ResourceKind",
    "TimeWindowConfig",
]


@dataclass(frozen=True, slots=True)
class EndpointHealth:
    endpoint: str
    ok: bool
    latency_ms: float | None
    sample_count: int | None
    status: int | None = None
    reason: str | None = None
    detail: str | None = None
    url: str | None = None
    hint: str | None = None  # what a 401 said the server expects (WWW-Authenticate's scheme and realm)


class ConnectorSession:
    def __init__(
        self,
        config: ConnectorConfig,
        *,
        network: NetworkPolicy,
        on_blocked: BlockedHandler | None = None,
        on_sent: SentHandler | None = None,
    ) -> None:
        self.config = config
        # What this connector declares to the execution lock: its token or login URL (refused, blocked and audited
        # if it shares a path with a data endpoint), the read-RPC protocols of its endpoints, and its data paths.
        # The lock's auditor, when the caller gave one, also records every declared request that leaves.
        auth = config.auth
        token_urls = [auth.token_url] if auth.kind in OAUTH2_KINDS and auth.token_url else []
        login_urls = [auth.login_url] if auth.kind == AuthKind.SESSION_LOGIN and auth.login_url else []
        audited_sent, on_failed = lock_handlers(on_blocked)
        on_sent = on_sent or audited_sent
        self.http = ReadOnlyHttp(
            network=network,
            token_urls=token_urls,
            login_urls=login_urls,
            rpc_protocols={str(e.rpc.protocol) for e in config.endpoints if e.rpc is not None},
            data_paths=[urljoin(config.base_url.rstrip("/") + "/", e.path.lstrip("/")) for e in config.endpoints],
            on_blocked=on_blocked,
            on_sent=on_sent,
            on_failed=on_failed,
            timeout=config.timeout_seconds,
            max_connections=max(2, config.max_concurrency * 2),
            max_body_bytes=config.max_body_bytes,
        )
        self.auth = Authenticator(config.auth, self.http)
        self.executor = RequestExecutor(
            config, self.http, self.auth, bucket_for(config.id, config.rate_limit_per_second, config.rate_limit_burst)
        )
        self.reader = EndpointReader(config, self.executor)

    async def __aenter__(self) -> ConnectorSession:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.aclose()

    async def parent_records(self, endpoint: EndpointConfig, *, now: datetime | None = None) -> list[Any] | None:
        if not endpoint.parent:
            return None
        parent = self.config.endpoint(endpoint.parent)
        records: list[Any] = []
        async for page in self.read(parent, now=now):
            records.extend(page.records)
        return records

    async def read(
        self, endpoint: EndpointConfig, *, window_start: datetime | None = None, now: datetime | None = None
    ) -> AsyncIterator[Page]:
        """Every page of an endpoint (reading its parent endpoint first when it has one)."""
        parents = await self.parent_records(endpoint, now=now)
        async for page in self.reader.read(endpoint, parents=parents, window_start=window_start, now=now):
            yield page

    async def check(self, endpoint: EndpointConfig) -> EndpointHealth:
        """Reachability, authentication, latency and a one-page sample of an endpoint, whose record path must yield
        a list of objects (when it does not, the check fails and its detail is the record path that would).

        A check is a probe: it tries twice at most and gives up within seconds, rather than
        spending the sync's retry budget on a system that is down."""
        started = time.perf_counter()
        with self.probing():
            return await self._check(endpoint, started)

    @contextlib.contextmanager
    def probing(self) -> Iterator[None]:
        """Requests that try twice at most and give up within seconds: a probe (a check, a set-up's test) does
        not spend a sync's retry budget on a system that is down or on an address that is not the system."""
        saved = self.executor.config
        self.executor.config = dataclasses.replace(
            saved,
            retry_attempts=min(2, saved.retry_attempts),
            retry_max_seconds=min(5.0, saved.retry_max_seconds),
            min_backoff_seconds=min(0.5, saved.min_backoff_seconds),
        )
        try:
            yield
        finally:
            self.executor.config = saved

    async def _check(self, endpoint: EndpointConfig, started: float) -> EndpointHealth:
        try:
            parents = None
            if endpoint.parent:
                parent = self.config.endpoint(endpoint.parent)
                parents = (await self.reader.first_page(parent)).records
            page = await self.reader.first_page(endpoint, parents=parents)
        except (FetchError, NetworkRefused) as exc:
            elapsed = (time.perf_counter() - started) * 1000
            if isinstance(exc, FetchError):
                return EndpointHealth(
                    endpoint.key,
                    False,
                    round(elapsed, 1),
                    None,
                    exc.status,
                    exc.reason,
                    exc.detail or None,
                    exc.url,
                    exc.hint,
                )
            # Atlas's own message (key and parameters), translated when the check is read, in the reader's language.
            detail = stored_message.pack(exc.message_key, exc.params)
            return EndpointHealth(endpoint.key, False, round(elapsed, 1), None, None, exc.slug, detail)
        # The record path must yield records: "$" on {"data": [...]} yields one envelope, which is no record. The
        # check fails and names the path where the records are (the detail), for the connector page to show.
        problem = record_problem(endpoint.record_path, page.records)
        if problem is not None:
            reason, suggested = problem
            return EndpointHealth(
                endpoint.key, False, round(page.elapsed_ms, 1), len(page.records), 200, reason, suggested, page.url
            )
        return EndpointHealth(
            endpoint.key, True, round(page.elapsed_ms, 1), len(page.records), 200, None, None, page.url
        )
