"""Reading an endpoint: pagination, time windows, parent-child fan-out, and bounded concurrency.

Every paginator stops on a clear condition and treats the odd ones as errors,
never as an end: a repeated cursor, next link or page is a `PaginationLoop`; a
short page where the total says more should follow is retried once and then
fails; a record path that matches nothing fails the fetch. A bad page is never
read as an empty page.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urljoin

import msgspec

from atlas.connectors.engine.config import ConnectorConfig, EndpointConfig, PaginationKind, TimeWindowConfig
from atlas.connectors.engine.errors import FetchError, PaginationLoop
from atlas.connectors.engine.fetch import FetchedPage, RequestExecutor
from atlas.connectors.engine.jsonpath import CompiledPath, compile_path

PLACEHOLDER = re.compile(r"\{parent\.([^{}]+)\}")
LINK_NEXT = re.compile(r"<([^>]+)>\s*;[^,]*\brel=\"?next\"?", re.IGNORECASE)
_encoder = msgspec.json.Encoder()


@dataclass(frozen=True, slots=True)
class Page:
    endpoint: str
    url: str
    records: list[Any]
    elapsed_ms: float
    attempts: int
    window: tuple[datetime, datetime] | None = None
    parent: Any = None


@dataclass(frozen=True, slots=True)
class Slot:
    path: str
    params: dict[str, str]
    window: tuple[datetime, datetime] | None
    parent: Any


def link_next(header: str | None) -> str | None:
    if not header:
        return None
    match = LINK_NEXT.search(header)
    return match.group(1) if match else None


def windows(config: TimeWindowConfig, *, start: datetime | None, end: datetime) -> list[tuple[datetime, datetime]]:
    begin = start or end - timedelta(days=config.lookback_days)
    step = timedelta(hours=max(1, config.window_hours))
    result = []
    while begin < end:
        result.append((begin, min(begin + step, end)))
        begin += step
    return result


def format_time(moment: datetime, style: str) -> str:
    moment = moment.astimezone(UTC)
    if style == "date":
        return moment.date().isoformat()
    if style == "epoch":
        return str(int(moment.timestamp()))
    return moment.isoformat().replace("+00:00", "Z")


class EndpointReader:
    def __init__(self, connector: ConnectorConfig, executor: RequestExecutor) -> None:
        self.connector = connector
        self.executor = executor
        self._record_paths: dict[str, CompiledPath] = {}

    # --- building requests ------------------------------------------------------------------------
    def url_for(self, path: str) -> str:
        return urljoin(self.connector.base_url.rstrip("/") + "/", path.lstrip("/"))

    @staticmethod
    def fill(template: str, parent: Any) -> str:
        def value(match: re.Match[str]) -> str:
            found = compile_path("$." + match.group(1)).find(parent)
            if not found or found[0] is None or isinstance(found[0], dict | list):
                raise FetchError("parent_field_missing", url=template, detail=f"parent.{match.group(1)}")
            return quote(str(found[0]), safe="")

        return PLACEHOLDER.sub(value, template)

    def slots(
        self, endpoint: EndpointConfig, *, parents: list[Any] | None, window_start: datetime | None, now: datetime
    ) -> list[Slot]:
        spans: list[tuple[datetime, datetime] | None] = (
            list(windows(endpoint.time_window, start=window_start, end=now)) if endpoint.time_window else [None]
        )
        result = []
        for parent in (parents if endpoint.parent else [None]) or []:
            path = self.fill(endpoint.path, parent) if parent is not None else endpoint.path
            params = {k: self.fill(v, parent) if parent is not None else v for k, v in endpoint.params.items()}
            for span in spans:
                slot_params = dict(params)
                if span is not None and endpoint.time_window is not None:
                    slot_params[endpoint.time_window.start_param] = format_time(span[0], endpoint.time_window.format)
                    if endpoint.time_window.end_param:
                        slot_params[endpoint.time_window.end_param] = format_time(
                            span[1], endpoint.time_window.format
                        )
                result.append(Slot(path=path, params=slot_params, window=span, parent=parent))
        return result

    def records(self, endpoint: EndpointConfig, page: FetchedPage) -> list[Any]:
        path = self._record_paths.get(endpoint.key)
        if path is None:
            path = self._record_paths[endpoint.key] = compile_path(endpoint.record_path)
        found = path.find(page.body)
        if not found:
            raise FetchError(
                "record_path_matched_nothing",
                url=page.url,
                status=page.status,
                detail=f"{endpoint.record_path} found nothing in the response",
            )
        if len(found) == 1:
            value = found[0]
            if isinstance(value, list):
                return value
            if value is None:
                raise FetchError(
                    "record_path_matched_nothing",
                    url=page.url,
                    status=page.status,
                    detail=f"{endpoint.record_path} is null",
                )
            return [value]
        return found

    # --- reading ----------------------------------------------------------------------------------
    async def read(
        self,
        endpoint: EndpointConfig,
        *,
        parents: list[Any] | None = None,
        window_start: datetime | None = None,
        now: datetime | None = None,
        max_pages: int | None = None,
    ) -> AsyncIterator[Page]:
        """Every page of the endpoint. Slots (parents × windows) and pages run concurrently where safe."""
        slots = self.slots(endpoint, parents=parents, window_start=window_start, now=now or datetime.now(UTC))
        if len(slots) == 1:
            async for page in self._paginate(endpoint, slots[0], max_pages):
                yield page
            return
        queue: asyncio.Queue[Page | BaseException | None] = asyncio.Queue(maxsize=4 * self.connector.max_concurrency)
        gate = asyncio.Semaphore(max(1, self.connector.max_concurrency))

        async def run(slot: Slot) -> None:
            async with gate:
                async for page in self._paginate(endpoint, slot, max_pages):
                    await queue.put(page)

        async def produce() -> None:
            try:
                async with asyncio.TaskGroup() as group:
                    for slot in slots:
                        group.create_task(run(slot))
            except BaseException as exc:  # handed to the consumer, which raises it
                errors = exc.exceptions if isinstance(exc, BaseExceptionGroup) else [exc]
                await queue.put(errors[0])
                return
            await queue.put(None)

        producer = asyncio.create_task(produce())
        try:
            while True:
                item = await queue.get()
                if item is None:
                    break
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            if not producer.done():
                producer.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await producer

    async def first_page(
        self, endpoint: EndpointConfig, *, parents: list[Any] | None = None, now: datetime | None = None
    ) -> Page:
        """One page, for health checks and previews: the first parent, the latest window."""
        slots = self.slots(
            endpoint,
            parents=(parents or [])[:1] if endpoint.parent else None,
            window_start=None,
            now=now or datetime.now(UTC),
        )
        if not slots:
            raise FetchError("no_parent_records", url=self.url_for(endpoint.path))
        async for page in self._paginate(endpoint, slots[-1], 1):
            return page
        raise FetchError("no_page", url=self.url_for(endpoint.path))

    async def _get(
        self, endpoint: EndpointConfig, slot: Slot, url: str, params: dict[str, str] | None
    ) -> tuple[FetchedPage, Page]:
        fetched = await self.executor.get_json(url, params)
        page = Page(
            endpoint=endpoint.key,
            url=fetched.url,
            records=self.records(endpoint, fetched),
            elapsed_ms=fetched.elapsed_ms,
            attempts=fetched.attempts,
            window=slot.window,
            parent=slot.parent,
        )
        return fetched, page

    async def _paginate(self, endpoint: EndpointConfig, slot: Slot, max_pages: int | None) -> AsyncIterator[Page]:
        kind = endpoint.pagination.kind
        limit = max_pages or endpoint.pagination.max_pages
        if kind == PaginationKind.NONE:
            _, page = await self._get(endpoint, slot, self.url_for(slot.path), dict(slot.params))
            yield page
        elif kind == PaginationKind.CURSOR:
            async for page in self._cursor(endpoint, slot, limit):
                yield page
        else:
            async for page in self._numbered(endpoint, slot, limit):
                yield page

    async def _cursor(self, endpoint: EndpointConfig, slot: Slot, limit: int) -> AsyncIterator[Page]:
        pagination = endpoint.pagination
        source = pagination.cursor_source
        cursor_path = compile_path(pagination.cursor_path) if pagination.cursor_path else None
        url: str = self.url_for(slot.path)
        params: dict[str, str] | None = dict(slot.params)
        if source == "body" and pagination.size_param:
            assert params is not None
            params.setdefault(pagination.size_param, str(pagination.page_size))
        seen: set[str] = set()
        for number in range(limit):
            fetched, page = await self._get(endpoint, slot, url, params)
            yield page
            if source == "link_header":
                following = link_next(fetched.headers.get("link"))
            else:
                if cursor_path is None:
                    raise FetchError("cursor_path_missing", url=fetched.url, detail="set the JSONPath of the cursor")
                value = cursor_path.first(fetched.body)
                following = None if value in (None, "", False) else str(value)
            if not following:
                return
            if following in seen:
                raise PaginationLoop(
                    "repeated_cursor",
                    url=fetched.url,
                    status=fetched.status,
                    detail=f"the server repeated a {'cursor' if source == 'body' else 'next link'}",
                )
            seen.add(following)
            if source == "body":
                params = {**slot.params, pagination.cursor_param: following}
                if pagination.size_param:
                    params.setdefault(pagination.size_param, str(pagination.page_size))
            else:
                url = urljoin(fetched.full_url, following)
                params = None  # the next link carries its own query string
            if number + 1 >= limit:
                raise FetchError("too_many_pages", url=fetched.url, detail=f"more than {limit} pages")

    def page_params(self, endpoint: EndpointConfig, slot: Slot, index: int) -> dict[str, str]:
        """Request parameters of the ``index``-th page (0-based) for offset or page-number pagination."""
        pagination = endpoint.pagination
        params = dict(slot.params)
        if pagination.kind == PaginationKind.OFFSET:
            params[pagination.offset_param] = str(index * pagination.page_size)
            params[pagination.limit_param] = str(pagination.page_size)
        else:
            params[pagination.page_param] = str(pagination.start_page + index)
            if pagination.size_param:
                params[pagination.size_param] = str(pagination.page_size)
        return params

    def _page_count(self, endpoint: EndpointConfig, body: Any) -> int | None:
        pagination = endpoint.pagination
        if pagination.kind == PaginationKind.OFFSET and pagination.total_path:
            total = compile_path(pagination.total_path).first(body)
            if isinstance(total, int) and total >= 0:
                return -(-total // pagination.page_size) if total else 0
        if pagination.kind == PaginationKind.PAGE and pagination.total_pages_path:
            pages = compile_path(pagination.total_pages_path).first(body)
            if isinstance(pages, int) and pages >= 0:
                return pages
        if pagination.kind == PaginationKind.PAGE and pagination.total_path:
            total = compile_path(pagination.total_path).first(body)
            if isinstance(total, int) and total >= 0:
                return -(-total // pagination.page_size) if total else 0
        return None

    def _expected_size(self, endpoint: EndpointConfig, body: Any, index: int) -> int | None:
        pagination = endpoint.pagination
        if not pagination.total_path:
            return None
        total = compile_path(pagination.total_path).first(body)
        if not isinstance(total, int):
            return None
        return max(0, min(pagination.page_size, total - index * pagination.page_size))

    async def _numbered(self, endpoint: EndpointConfig, slot: Slot, limit: int) -> AsyncIterator[Page]:
        url = self.url_for(slot.path)
        size = endpoint.pagination.page_size
        fetched, first = await self._get(endpoint, slot, url, self.page_params(endpoint, slot, 0))
        count = self._page_count(endpoint, fetched.body)
        yield first
        if count is not None:
            if count > limit:
                raise FetchError("too_many_pages", url=fetched.url, detail=f"{count} pages, more than {limit}")
            # The total is known: fetch the rest concurrently, each checked against the size it must have.
            async for page in self._known_pages(endpoint, slot, url, fetched.body, range(1, count)):
                yield page
            return
        previous = _fingerprint(first.records)
        if len(first.records) < size:
            return
        for index in range(1, limit):
            fetched, page = await self._get(endpoint, slot, url, self.page_params(endpoint, slot, index))
            if not page.records:
                return
            fingerprint = _fingerprint(page.records)
            if fingerprint == previous:
                raise PaginationLoop(
                    "repeated_page",
                    url=fetched.url,
                    status=fetched.status,
                    detail="the server returned the same page twice",
                )
            previous = fingerprint
            yield page
            if len(page.records) < size:
                return
        raise FetchError("too_many_pages", url=url, detail=f"more than {limit} pages")

    async def _known_pages(
        self, endpoint: EndpointConfig, slot: Slot, url: str, first_body: Any, indexes: range
    ) -> AsyncIterator[Page]:
        async def fetch(index: int) -> Page:
            params = self.page_params(endpoint, slot, index)
            expected = self._expected_size(endpoint, first_body, index)
            last = index == indexes.stop - 1
            for attempt in range(2):
                fetched, page = await self._get(endpoint, slot, url, params)
                short = (expected is not None and len(page.records) != expected) or (
                    expected is None and not last and len(page.records) < endpoint.pagination.page_size
                )
                if not short:
                    return page
                if attempt == 1:
                    raise FetchError(
                        "short_page",
                        url=fetched.url,
                        status=fetched.status,
                        detail=f"page {index + 1} has {len(page.records)} records where "
                        f"{expected if expected is not None else endpoint.pagination.page_size} were due",
                    )
            raise AssertionError("unreachable")

        async for page in _bounded_map(fetch, list(indexes), self.connector.max_concurrency):
            yield page


def _fingerprint(records: list[Any]) -> str:
    return hashlib.blake2b(_encoder.encode(records), digest_size=16).hexdigest()


async def _bounded_map(
    func: Callable[[int], Coroutine[Any, Any, Page]], items: list[int], width: int
) -> AsyncIterator[Page]:
    """Run ``func`` over ``items`` with at most ``width`` at once; yield results in order."""
    width = max(1, width)
    pending: list[asyncio.Task[Page]] = []
    position = 0
    try:
        while position < len(items) or pending:
            while position < len(items) and len(pending) < width:
                pending.append(asyncio.create_task(func(items[position])))
                position += 1
            yield await pending.pop(0)
    finally:
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
