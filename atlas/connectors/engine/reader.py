"""Reading an endpoint: pagination, time windows, parent-child fan-out, read-RPC bodies, bounded concurrency.

A read never loses a row and never loops; it fails, saying why, where it cannot be exact. Each slot (one
parent record × one time window) is read by one paginator, whose pages pass through a `PageGuard`
(`atlas.connectors.engine.pagination`):

- Every kind compares page contents: a page repeating any earlier page of the slot (a last page served for
  ever under fresh cursors, numbered pages coming back A, B, A, B) is a `PaginationLoop` at the first repeat.
  Cursor kinds also stop on a repeated cursor or next link.
- A short page never ends a read. Without a total, a read goes on to an empty page or to the API's own end
  signal (``has_more_path``, ``next_path``); a cursor read ends when no next cursor or link comes.
- With a total, numbered pages are fetched concurrently, a page shorter than the total says is retried once,
  the read goes on while fewer records were read than declared, and ends with the total checked: fewer
  records than the source declared is a `TotalMismatch`. A page count alone (``total_pages_path``) cannot
  tell a short page from a lost one, so there a page still short after its retry fails (``short_page``).
- A bad page is never read as an empty page: a record path that matches nothing fails the fetch.
- Records nested in records (a mapping's ``unnest``: Zoho's per-location stock inside each item) are taken out
  after paging, so the paging rules see the pages as the server sent them (a page of items none of which has a
  location is not an empty page).

A date-only time window sends an end that includes the window's last day (date filters are exclusive at the
source); a window with no end parameter is one window from its start to now. A read-RPC endpoint (a POST read)
places its paging values, and its window values, at dotted paths of its body when ``params_in`` is ``body``.

A window can also travel inside an expression the API filters by: ``{window.start}`` and ``{window.end}`` in the
endpoint's path or parameters (Frappe's ``filters=[["modified",">=","{window.start}"]]``, OData's
``$filter=lastModifiedDateTime gt {window.start}``), in the window's format or in the one named after a colon
(``{window.start:date}``). They are filled like ``{parent.x}``: in the one pass that fills the parent's values, so
a value read from the source is never filled again. A path gets them percent-encoded; a parameter gets them as
they are, since the HTTP client encodes the query string once.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import re
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import quote, urljoin

from atlas.connectors.engine.config import (
    WINDOW_FORMATS,
    ConnectorConfig,
    EndpointConfig,
    PaginationKind,
    TimeWindowConfig,
    UnnestConfig,
)
from atlas.connectors.engine.errors import FetchError, PaginationLoop
from atlas.connectors.engine.fetch import FetchedPage, RequestExecutor
from atlas.connectors.engine.jsonpath import CompiledPath, _simple_steps, compile_path
from atlas.connectors.engine.pagination import PageGuard, declared_number, end_signal, place

PLACEHOLDER = re.compile(r"\{parent\.([^{}]+)\}")
# ``{window.start}``, ``{window.end}``, each optionally with a format: ``{window.start:date}``. Anything else that
# starts with ``{window.`` is refused when the connector is saved (`window_placeholder_problem`).
WINDOW_PLACEHOLDER = re.compile(r"\{window\.([^{}:]*)(?::([^{}]*))?\}")
WINDOW_NAMES = ("start", "end")
_FILLED = re.compile(r"\{(parent|window)\.([^{}]+)\}")
LINK_NEXT = re.compile(r"<([^>]+)>\s*;[^,]*\brel=\"?next\"?", re.IGNORECASE)
T = TypeVar("T")


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
    params: dict[str, str]  # the query string: the endpoint's parameters, and its window unless that is in the body
    window: tuple[datetime, datetime] | None
    parent: Any
    body_values: dict[str, Any] = field(default_factory=dict)  # window values at dotted paths of a read-RPC body


def link_next(header: str | None) -> str | None:
    if not header:
        return None
    match = LINK_NEXT.search(header)
    return match.group(1) if match else None


def unnest_records(records: list[Any], unnest: UnnestConfig) -> list[Any]:
    """Each record's nested records (the array at ``unnest.path``), each with its record under ``unnest.parent_as``
    (without that array when it is a field of the record itself, ``$.locations``; whole for a deeper path); an
    element that is not an object becomes ``{"value": element}``. A record that is not an object, or has no such
    array, has no nested records."""
    path = compile_path(unnest.path)
    steps = _simple_steps(path.expression)
    container = steps[0] if steps and len(steps) == 1 and isinstance(steps[0], str) else None
    result: list[Any] = []
    for record in records:
        if not isinstance(record, dict):
            continue
        found = path.find(record)
        elements = found[0] if len(found) == 1 and isinstance(found[0], list) else found
        if not elements:
            continue
        parent = {k: v for k, v in record.items() if k != container} if container else dict(record)
        for element in elements:
            nested = dict(element) if isinstance(element, dict) else {"value": element}
            nested[unnest.parent_as] = parent
            result.append(nested)
    return result


def shaped(endpoint: EndpointConfig, page: Page) -> Page:
    """The page as its mapping sees it: with its nested records taken out when the mapping says so."""
    if endpoint.unnest is None:
        return page
    return dataclasses.replace(page, records=unnest_records(page.records, endpoint.unnest))


def window_placeholders(path: str, params: Mapping[str, str]) -> list[tuple[str, str, str | None]]:
    """Every ``{window.…}`` placeholder of an endpoint's path and parameters: (where, name, format), where is
    ``path`` or ``params.<name>``."""
    found = [("path", m.group(1), m.group(2)) for m in WINDOW_PLACEHOLDER.finditer(path)]
    for key, value in params.items():
        found += [(f"params.{key}", m.group(1), m.group(2)) for m in WINDOW_PLACEHOLDER.finditer(value)]
    return found


def window_placeholder_problem(name: str, style: str | None) -> str | None:
    """Why ``{window.<name>[:<style>]}`` is not a placeholder the reader fills, or None when it is."""
    if name not in WINDOW_NAMES:
        return f"window.{name}"
    if style is not None and style not in WINDOW_FORMATS:
        return f"{name}:{style}"
    return None


def sends_end(endpoint: EndpointConfig) -> bool:
    """Whether the window's end goes out (a parameter of its own or a ``{window.end}`` placeholder): then the range
    is walked in windows of ``window_hours``; otherwise one window runs from its start to now."""
    window = endpoint.time_window
    if window is None:
        return False
    placeholders = window_placeholders(endpoint.path, endpoint.params)
    return bool(window.end_param) or any(name == "end" for _, name, _ in placeholders)


def windows(
    config: TimeWindowConfig, *, start: datetime | None, end: datetime, stepped: bool | None = None
) -> list[tuple[datetime, datetime]]:
    """The windows of [start, end): steps of ``window_hours``, or one window when the API takes only a start.
    ``stepped`` says whether the end is sent (`sends_end`); None: whether ``end_param`` is set."""
    begin = start or end - timedelta(days=config.lookback_days)
    if not (bool(config.end_param) if stepped is None else stepped):
        return [(begin, end)] if begin < end else []
    step = timedelta(hours=max(1, config.window_hours))
    result = []
    while begin < end:
        result.append((begin, min(begin + step, end)))
        begin += step
    return result


def format_time(moment: datetime, style: str) -> str:
    """A window bound in UTC: ``iso`` 2026-11-01T06:30:00Z (a fraction when there is one), ``date`` 2026-11-01,
    ``epoch`` seconds, ``datetime_space`` 2026-11-01 06:30:00 (whole seconds, Frappe's form). A truncated start
    reads a little more, never less."""
    moment = moment.astimezone(UTC)
    if style == "date":
        return moment.date().isoformat()
    if style == "epoch":
        return str(int(moment.timestamp()))
    if style == "datetime_space":
        return moment.strftime("%Y-%m-%d %H:%M:%S")
    return moment.isoformat().replace("+00:00", "Z")


def format_end(moment: datetime, style: str) -> str:
    """The end value of the window [start, moment).

    A date-only end is exclusive at the source (InvenTree's ``updated_before``): sending ``moment``'s own date
    would leave out everything changed on that day, today's changes included. So a date end is the day after
    ``moment``, unless ``moment`` is exactly midnight (then its date already ends the window exactly). The
    overlap with the next window is harmless, since writes are idempotent; a gap would lose rows."""
    if style != "date":
        return format_time(moment, style)
    moment = moment.astimezone(UTC)
    day = moment.date()
    if moment != moment.replace(hour=0, minute=0, second=0, microsecond=0):
        day += timedelta(days=1)
    return day.isoformat()


class EndpointReader:
    def __init__(self, connector: ConnectorConfig, executor: RequestExecutor) -> None:
        self.connector = connector
        self.executor = executor
        self._record_paths: dict[str, CompiledPath] = {}

    # --- building requests ------------------------------------------------------------------------
    def url_for(self, path: str) -> str:
        return urljoin(self.connector.base_url.rstrip("/") + "/", path.lstrip("/"))

    @staticmethod
    def fill(
        template: str,
        parent: Any,
        *,
        window: tuple[datetime, datetime] | None = None,
        style: str = "iso",
        in_path: bool = True,
    ) -> str:
        """``template`` with its ``{parent.x}`` values from ``parent`` and its ``{window.start}`` / ``{window.end}``
        from ``window`` (in ``style``, or the placeholder's own format), in one pass. In a path each value is
        percent-encoded; in a query parameter it is left as it is (the HTTP client encodes the query once)."""

        def value(match: re.Match[str]) -> str:
            kind, rest = match.group(1), match.group(2)
            if kind == "window":
                name, _, own = rest.partition(":")
                if window is None or name not in WINDOW_NAMES:
                    return match.group(0)  # no window here (validation refuses such an endpoint)
                chosen = own or style
                text = format_time(window[0], chosen) if name == "start" else format_end(window[1], chosen)
            else:
                if parent is None:
                    return match.group(0)
                found = compile_path("$." + rest).find(parent)
                if not found or found[0] is None or isinstance(found[0], dict | list):
                    raise FetchError("parent_field_missing", url=template, detail=f"parent.{rest}")
                text = str(found[0])
            return quote(text, safe="") if in_path else text

        return _FILLED.sub(value, template)

    @staticmethod
    def in_body(endpoint: EndpointConfig) -> bool:
        """Whether paging (and window) values go into a read-RPC body rather than the query string."""
        return endpoint.rpc is not None and endpoint.pagination.params_in == "body"

    def slots(
        self, endpoint: EndpointConfig, *, parents: list[Any] | None, window_start: datetime | None, now: datetime
    ) -> list[Slot]:
        window = endpoint.time_window
        spans: list[tuple[datetime, datetime] | None] = (
            list(windows(window, start=window_start, end=now, stepped=sends_end(endpoint))) if window else [None]
        )
        style = window.format if window else "iso"
        in_body = self.in_body(endpoint)
        result = []
        for parent in (parents if endpoint.parent else [None]) or []:
            for span in spans:
                path = self.fill(endpoint.path, parent, window=span, style=style)
                params = {
                    k: self.fill(v, parent, window=span, style=style, in_path=False) for k, v in endpoint.params.items()
                }
                values: dict[str, str] = {}
                if span is not None and window is not None:
                    if window.start_param:
                        values[window.start_param] = format_time(span[0], window.format)
                    if window.end_param:
                        values[window.end_param] = format_end(span[1], window.format)
                if in_body and window is not None:
                    body_values: dict[str, Any] = {
                        k: int(v) if window.format == "epoch" else v for k, v in values.items()
                    }
                    slot = Slot(path=path, params=params, window=span, parent=parent, body_values=body_values)
                else:
                    slot = Slot(path=path, params={**params, **values}, window=span, parent=parent)
                result.append(slot)
        return result

    def paging(self, endpoint: EndpointConfig, index: int) -> dict[str, int]:
        """The paging values of the ``index``-th page (0-based) for offset or page-number pagination."""
        pagination = endpoint.pagination
        if pagination.kind == PaginationKind.OFFSET:
            return {pagination.offset_param: index * pagination.page_size, pagination.limit_param: pagination.page_size}
        values = {pagination.page_param: pagination.start_page + index}
        if pagination.size_param:
            values[pagination.size_param] = pagination.page_size
        return values

    def page_params(self, endpoint: EndpointConfig, slot: Slot, index: int) -> dict[str, str]:
        """The query string of the ``index``-th page (0-based) for offset or page-number pagination (a body-paged
        read-RPC endpoint carries its paging values in the body instead)."""
        params = dict(slot.params)
        if not self.in_body(endpoint):
            params.update({name: str(value) for name, value in self.paging(endpoint, index).items()})
        return params

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
                yield shaped(endpoint, page)
            return
        queue: asyncio.Queue[Page | BaseException | None] = asyncio.Queue(maxsize=4 * self.connector.max_concurrency)
        gate = asyncio.Semaphore(max(1, self.connector.max_concurrency))

        async def run(slot: Slot) -> None:
            async with gate:
                async for page in self._paginate(endpoint, slot, max_pages):
                    await queue.put(shaped(endpoint, page))

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
            await _stop([producer])

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
            return shaped(endpoint, page)
        raise FetchError("no_page", url=self.url_for(endpoint.path))

    async def _fetch(
        self, endpoint: EndpointConfig, slot: Slot, url: str, paging: dict[str, Any] | None, *, follow: bool = False
    ) -> tuple[FetchedPage, Page]:
        """One page: a GET, or the endpoint's read-RPC POST. ``paging`` holds this page's paging values (query
        parameters, or dotted body paths); ``follow`` means ``url`` is a next link that carries its own query."""
        in_body = self.in_body(endpoint)
        params: dict[str, str] | None = None
        if not follow:
            params = dict(slot.params)
            if paging and not in_body:
                params.update({name: str(value) for name, value in paging.items()})
        if endpoint.rpc is None:
            fetched = await self.executor.get_json(url, params)
        else:
            body = copy.deepcopy(endpoint.rpc.body)
            if in_body:
                for dotted, value in {**slot.body_values, **(paging or {})}.items():
                    place(body, dotted, value, url=url)
            fetched = await self.executor.rpc_json(url, body, protocol=endpoint.rpc.protocol, params=params)
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
            url = self.url_for(slot.path)
            guard = PageGuard(endpoint.pagination, url)
            fetched, page = await self._fetch(endpoint, slot, url, None)
            guard.admit(page.records, fetched.body, url=fetched.url, status=fetched.status)
            yield page
            guard.finish()
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
        guard = PageGuard(pagination, url)
        size: dict[str, Any] = {}
        # The page size goes on the first request (the next links carry it on): without it some APIs answer
        # everything at once, or a bare list (InvenTree without ``limit``).
        if source in ("body", "next_url") and pagination.size_param and pagination.size_param not in slot.params:
            size[pagination.size_param] = pagination.page_size
        paging: dict[str, Any] | None = dict(size)
        follow = False
        seen: set[str] = set()
        for number in range(limit):
            fetched, page = await self._fetch(endpoint, slot, url, paging, follow=follow)
            if source == "link_header":
                following = link_next(fetched.headers.get("link"))
            else:
                if cursor_path is None:
                    raise FetchError("cursor_path_missing", url=fetched.url, detail="set the JSONPath of the cursor")
                value = cursor_path.first(fetched.body)
                following = None if value in (None, "", False) else str(value)
            said = end_signal(pagination, fetched.body)
            if said is False and not following:
                raise FetchError(
                    "cursor_missing",
                    url=fetched.url,
                    status=fetched.status,
                    detail=f"the server says more pages follow but gave no {_cursor_word(source)}",
                )
            last = said is True or not following
            if not last and following in seen:
                raise PaginationLoop(
                    "repeated_cursor",
                    url=fetched.url,
                    status=fetched.status,
                    detail=f"the server repeated a {_cursor_word(source)}",
                )
            guard.admit(page.records, fetched.body, url=fetched.url, status=fetched.status)
            yield page
            if last:
                guard.finish()
                return
            assert following is not None
            if not page.records:
                guard.check_empty_run(url=fetched.url, status=fetched.status)
            seen.add(following)
            if source == "body":
                paging = {**size, pagination.cursor_param: following}
            else:
                url = urljoin(fetched.full_url, following)
                paging, follow = None, True  # the next link carries its own query string
            if number + 1 >= limit:
                raise FetchError("too_many_pages", url=fetched.url, detail=f"more than {limit} pages")

    def _page_count(self, endpoint: EndpointConfig, body: Any) -> int | None:
        pagination = endpoint.pagination
        if pagination.kind == PaginationKind.PAGE and pagination.total_pages_path:
            pages = declared_number(compile_path(pagination.total_pages_path), body)
            if pages is not None:
                return pages
        if pagination.total_path:
            total = declared_number(compile_path(pagination.total_path), body)
            if total is not None:
                return _pages_for(total, pagination.page_size)
        return None

    def _expected_size(self, endpoint: EndpointConfig, body: Any, index: int) -> int | None:
        pagination = endpoint.pagination
        if not pagination.total_path:
            return None
        total = declared_number(compile_path(pagination.total_path), body)
        if total is None:
            return None
        return max(0, min(pagination.page_size, total - index * pagination.page_size))

    async def _numbered(self, endpoint: EndpointConfig, slot: Slot, limit: int) -> AsyncIterator[Page]:
        pagination = endpoint.pagination
        url = self.url_for(slot.path)
        guard = PageGuard(pagination, url)
        fetched, first = await self._fetch(endpoint, slot, url, self.paging(endpoint, 0))
        guard.admit(first.records, fetched.body, url=fetched.url, status=fetched.status)
        yield first
        count = self._page_count(endpoint, fetched.body)
        counted = count is not None and pagination.total_path is not None and guard.declared is not None
        if count is not None:
            if count > limit:
                raise FetchError("too_many_pages", url=fetched.url, detail=f"{count} pages, more than {limit}")
            # The total is known: fetch the rest concurrently, each checked against the size it must have.
            async for page in self._known_pages(endpoint, slot, url, fetched.body, range(1, count), guard):
                yield page
            if not counted:
                return  # a page count alone: every page it names was read, each one full but the last
            if not guard.short_of_total() and count >= _pages_for(guard.declared or 0, pagination.page_size):
                guard.finish()
                return
            start = max(1, count)  # fewer records than declared, or the total grew: read on
        else:
            said = end_signal(pagination, fetched.body)
            if said is True or (said is None and not first.records):
                guard.finish()
                return
            if not first.records:
                guard.check_empty_run(url=fetched.url, status=fetched.status)
            start = 1
        for index in range(start, limit):
            fetched, page = await self._fetch(endpoint, slot, url, self.paging(endpoint, index))
            guard.admit(page.records, fetched.body, url=fetched.url, status=fetched.status)
            if page.records:
                yield page
            said = end_signal(pagination, fetched.body)
            if said is True or (said is None and not page.records):
                break  # the API's last page, or (without an end signal) the first empty page
            if not page.records:
                guard.check_empty_run(url=fetched.url, status=fetched.status)
            if (
                counted
                and not guard.short_of_total()
                and index + 1 >= _pages_for(guard.declared or 0, pagination.page_size)
            ):
                break  # every record declared was read, through every page the (largest) total implies
        else:
            raise FetchError("too_many_pages", url=url, detail=f"more than {limit} pages")
        guard.finish()

    async def _known_pages(
        self, endpoint: EndpointConfig, slot: Slot, url: str, first_body: Any, indexes: range, guard: PageGuard
    ) -> AsyncIterator[Page]:
        pagination = endpoint.pagination

        async def fetch(index: int) -> tuple[FetchedPage, Page]:
            expected = self._expected_size(endpoint, first_body, index)
            if expected is None and index != indexes.stop - 1:
                expected = pagination.page_size  # a page count: every page but the last is full
            for attempt in range(2):
                fetched, page = await self._fetch(endpoint, slot, url, self.paging(endpoint, index))
                if expected is None or len(page.records) >= expected:
                    return fetched, page
                if attempt == 1:
                    if pagination.total_path:
                        return fetched, page  # kept: the total is checked when the read ends
                    raise FetchError(
                        "short_page",
                        url=fetched.url,
                        status=fetched.status,
                        detail=f"page {index + 1} has {len(page.records)} records where {expected} were due",
                    )
            raise AssertionError("unreachable")

        async for fetched, page in _bounded_map(fetch, list(indexes), self.connector.max_concurrency):
            guard.admit(page.records, fetched.body, url=fetched.url, status=fetched.status)
            yield page


def _cursor_word(source: str) -> str:
    return "cursor" if source == "body" else "next link"


def _pages_for(total: int, page_size: int) -> int:
    return -(-total // max(1, page_size)) if total else 0


async def _bounded_map(func: Callable[[int], Coroutine[Any, Any, T]], items: list[int], width: int) -> AsyncIterator[T]:
    """Run ``func`` over ``items`` with at most ``width`` at once; yield results in order."""
    width = max(1, width)
    pending: list[asyncio.Task[T]] = []
    position = 0
    try:
        while position < len(items) or pending:
            while position < len(items) and len(pending) < width:
                pending.append(asyncio.create_task(func(items[position])))
                position += 1
            yield await pending.pop(0)
    finally:
        await _stop(pending)


async def _stop(tasks: list[asyncio.Task[Any]]) -> None:
    """Cancel ``tasks`` and wait until they are done, without raising what they raised (the read has already
    ended or failed) and without swallowing a cancellation of the task that waits (Temporal cancelling the
    attempt), as ``suppress(CancelledError)`` around an ``await`` would."""
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks)
    for task in tasks:
        if not task.cancelled():
            task.exception()  # retrieved, so asyncio does not report it as never retrieved
