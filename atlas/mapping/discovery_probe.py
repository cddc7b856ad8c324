"""Reading a system the way discovery does: counted, read-only requests through the connector engine.

* `Prober.get` sends one GET through the execution lock's client (never a write; a read-RPC endpoint is read with its
  own declared call by the engine, never a GET), counts it, and keeps a 401's ``WWW-Authenticate`` hint.
* `pagination_candidates` lists the ways an answer (and the description) says it pages, most specific first.
* `Prober.sample` reads an endpoint as the engine would, up to a bound (5 pages or 1,000 records): the second page
  verifies the pagination (it must differ from the first; a server that ignores the page parameter repeats it),
  and the records feed the suggestions (lookups from several pages, references checked against other endpoints).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import msgspec

from atlas.connectors.engine import ConnectorSession, EndpointConfig, FetchError, PaginationConfig, PaginationKind
from atlas.connectors.engine.auth import challenge_hint
from atlas.connectors.engine.jsonpath import compile_path
from atlas.connectors.engine.pagination import declared_number, end_signal, fingerprint
from atlas.connectors.engine.reader import link_next
from atlas.execution_lock import ExecutionBlocked, TransportFailure
from atlas.mapping.discovery_fields import flatten, norm
from atlas.mapping.discovery_openapi import DescribedEndpoint

MAX_PAGES = 5
MAX_RECORDS = 1000
PROBE_SIZE = 100
NEXT_URL_NAMES = ("next", "nextLink", "@odata.nextLink", "odata.nextLink", "next_url", "nextUrl", "next_page_url")
CURSOR_NAMES = ("next_cursor", "nextCursor", "cursor", "next_page_token", "nextPageToken", "continuation_token")
TOTAL_NAMES = (
    "total",
    "total_count",
    "totalCount",
    "count",
    "total_items",
    "totalItems",
    "total_results",
    "@odata.count",
)
PAGES_NAMES = ("total_pages", "totalPages", "page_count", "pageCount", "last_page", "lastPage", "pages")
MORE_NAMES = ("has_more", "hasMore", "has_more_page", "hasMorePages", "more")
SIZE_NAMES = ("per_page", "page_size", "pageSize", "limit", "size", "$top", "perPage")
OFFSET_NAMES = ("offset", "skip", "start", "$skip")
PAGE_NAMES = ("page", "page_number", "pageNumber", "p")
# Time filters: (start, end) names that go together, "modified" ones first.
WINDOW_PAIRS = (
    ("updated_after", "updated_before"),
    ("modified_after", "modified_before"),
    ("updated_since", None),
    ("modified_since", None),
    ("changed_since", None),
    ("since", "until"),
    ("from", "to"),
    ("start_date", "end_date"),
    ("date_from", "date_to"),
    ("from_date", "to_date"),
    ("start", "end"),
)


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: Any  # decoded JSON, or None when the answer is not JSON
    raw: bytes


@dataclass
class Sampled:
    """An endpoint read up to the bound, with the pagination that read it."""

    endpoint: EndpointConfig
    records: list[Any]
    pages: int
    complete: bool
    verified: str  # "second_page" | "single_page" | "unverified"
    total: int | None
    first_body: Any = None
    error: FetchError | None = None
    evidence: list[str] = field(default_factory=list)


class Prober:
    def __init__(self, session: ConnectorSession) -> None:
        self.session = session
        parts = urlsplit(session.config.base_url)
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.requests = 0
        self.hint: str | None = None
        self.refused: int | None = None  # 401/403 seen on a probe
        self.auth_error: FetchError | None = None
        self.samples = 0

    @property
    def total_requests(self) -> int:
        return self.requests + self.session.executor.requests

    async def get(self, path: str, params: dict[str, str] | None = None) -> Answer | None:
        """GET ``path`` (absolute) on the connector's host with its authentication; None when nothing answered."""
        session = self.session
        headers: dict[str, str] = dict(session.config.headers)
        query: dict[str, str] = dict(params or {})
        try:
            await session.auth.apply(headers, query)
        except FetchError as exc:
            self.auth_error = exc
            return None
        await session.executor.bucket.acquire()
        self.requests += 1
        try:
            response = await session.http.get(self.origin + path, params=query or None, headers=headers)
        except (TransportFailure, ExecutionBlocked):
            return None
        if response.status in (401, 403):
            self.refused = response.status
            self.hint = challenge_hint(response.headers.get("www-authenticate")) or self.hint
        body: Any = None
        if 200 <= response.status < 300 and response.body.lstrip()[:1] in (b"{", b"["):
            try:
                body = msgspec.json.decode(response.body)
            except msgspec.DecodeError:
                body = None
        return Answer(response.status, response.headers, body, response.body)

    # --- reading an endpoint as the engine does ----------------------------------------------------------------
    async def sample(self, endpoint: EndpointConfig, *, max_pages: int = MAX_PAGES) -> Sampled:
        reader = self.session.reader
        now = datetime.now(UTC)
        # The reader remembers each key's compiled record path: every sample reads under a key of its own.
        self.samples += 1
        endpoint = dataclasses.replace(endpoint, key=f"{endpoint.key}~{self.samples}")
        if endpoint.time_window is not None:
            # The latest window only, as a health check reads it.
            window = endpoint.time_window
            endpoint = dataclasses.replace(
                endpoint, time_window=dataclasses.replace(window, lookback_days=max(1, window.window_hours // 24))
            )
        slots = reader.slots(endpoint, parents=None, window_start=None, now=now)
        if not slots:
            return Sampled(endpoint, [], 0, False, "unverified", None)
        slot = slots[-1]
        kind = endpoint.pagination.kind
        if kind == PaginationKind.CURSOR or endpoint.rpc is not None:
            # Cursors and read-RPC calls (a POST with its paging in the body, never a GET) as the reader reads them.
            return await self._sample_stream(endpoint, max_pages, now)
        records: list[Any] = []
        seen: set[bytes] = set()
        pagination = endpoint.pagination
        total_path = compile_path(pagination.total_path) if pagination.total_path else None
        pages_path = compile_path(pagination.total_pages_path) if pagination.total_pages_path else None
        total: int | None = None
        first_body: Any = None
        pages = 0
        for index in range(max_pages if kind != PaginationKind.NONE else 1):
            try:
                fetched = await self.session.executor.get_json(
                    reader.url_for(slot.path),
                    reader.page_params(endpoint, slot, index) if kind != PaginationKind.NONE else dict(slot.params),
                )
                page_records, body = reader.records(endpoint, fetched), fetched.body
            except FetchError as exc:
                if index == 0:
                    return Sampled(endpoint, [], 0, False, "unverified", None, error=exc)
                return Sampled(endpoint, records, pages, False, "unverified", total, first_body, error=exc)
            pages += 1
            if index == 0:
                first_body = body
            if page_records:
                digest = fingerprint(page_records)
                if digest in seen:
                    repeated = FetchError("repeated_page", url=endpoint.path, detail=f"page {index + 1} repeats")
                    return Sampled(endpoint, records, pages, False, "unverified", total, first_body, error=repeated)
                seen.add(digest)
            records.extend(page_records)
            declared = declared_number(total_path, body) if body is not None else None
            total = declared if declared is not None else total
            page_count = declared_number(pages_path, body) if body is not None else None
            if kind == PaginationKind.NONE:
                return Sampled(endpoint, records, 1, True, "single_page", total, first_body)
            said = end_signal(pagination, body) if body is not None else None
            if (
                not page_records
                or (total is not None and len(records) >= total)
                or (page_count is not None and index + 1 >= page_count)
                or said is True
                or (said is None and total is None and page_count is None and len(page_records) < pagination.page_size)
            ):
                return Sampled(
                    endpoint, records, pages, True, "second_page" if pages > 1 else "single_page", total, first_body
                )
            if len(records) >= MAX_RECORDS:
                break
        return Sampled(endpoint, records, pages, False, "second_page" if pages > 1 else "unverified", total, first_body)

    async def _sample_stream(self, endpoint: EndpointConfig, max_pages: int, now: datetime) -> Sampled:
        records: list[Any] = []
        pages = 0
        start = now - timedelta(hours=endpoint.time_window.window_hours) if endpoint.time_window else None
        try:
            async for page in self.session.reader.read(endpoint, window_start=start, now=now, max_pages=max_pages):
                pages += 1
                records.extend(page.records)
                if len(records) >= MAX_RECORDS:
                    return Sampled(endpoint, records, pages, False, "second_page" if pages > 1 else "unverified", None)
        except FetchError as exc:
            if exc.reason == "too_many_pages":
                return Sampled(endpoint, records, pages, False, "second_page", None)
            return Sampled(endpoint, records, pages, False, "unverified", None, error=exc)
        return Sampled(endpoint, records, pages, True, "second_page" if pages > 1 else "single_page", None)


# --- what an answer says about its pagination ----------------------------------------------------------------------


def _outside_records(body: Any, record_path: str | None) -> dict[str, Any]:
    """The answer's scalar fields (three levels deep) outside the records: where paging values are."""
    if not isinstance(body, dict):
        return {}
    flat: dict[str, Any] = {}
    for stats in flatten([body], depth=3):
        if record_path and stats.path.startswith(record_path):
            continue
        flat[stats.path] = stats.example if stats.example is not None else (stats.values[0] if stats.values else None)
    return flat


def _find(flat: dict[str, Any], names: tuple[str, ...]) -> str | None:
    wanted = [norm(n) for n in names]
    best: tuple[int, int, str] | None = None
    for path in flat:
        last = norm(re.split(r"[.\[\]']+", path.strip("$.[]'"))[-1]) if path != "$" else ""
        if last in wanted:
            rank = (wanted.index(last), path.count("."), path)
            if best is None or rank < best:
                best = rank
    return best[2] if best else None


def _param(described: DescribedEndpoint | None, names: tuple[str, ...]) -> str | None:
    if described is None:
        return None
    lowered = {n.lower(): n for n in described.params}
    for name in names:
        if name.lower() in lowered:
            return lowered[name.lower()]
    return None


def page_size_for(described: DescribedEndpoint | None, size_param: str | None, wanted: int) -> int:
    """The page size to read with: the largest the description allows, at most ``wanted``."""
    if described is not None and size_param and size_param in described.params:
        maximum = described.params[size_param].maximum
        if maximum:
            return max(1, min(wanted, maximum))
    return wanted


def pagination_candidates(
    body: Any, headers: dict[str, str], record_path: str | None, described: DescribedEndpoint | None, wanted: int
) -> list[tuple[dict[str, Any], list[str]]]:
    """Ways this endpoint may page (settings as ``PaginationIn`` takes them, with the evidence), most specific first.
    Each is verified by reading before it is proposed."""
    flat = _outside_records(body, record_path)
    if described is not None:
        for path in described.envelope:
            flat.setdefault(path, None)
    found: list[tuple[dict[str, Any], list[str]]] = []
    total = _find(flat, TOTAL_NAMES)
    more = _find(flat, MORE_NAMES)
    size_param = _param(described, SIZE_NAMES)

    if link_next(headers.get("link")) or (described is not None and described.link_header):
        settings: dict[str, Any] = {"kind": "cursor", "cursor_source": "link_header"}
        found.append((settings, ['Link: rel="next"']))
    next_path = _find(flat, NEXT_URL_NAMES)
    next_value = flat.get(next_path) if next_path else None
    if next_path and (next_value is None or (isinstance(next_value, str) and ("/" in next_value or "?" in next_value))):
        query = {k.lower(): k for k in parse_qs(urlsplit(next_value or "").query)} if next_value else {}
        offset = next((query[n] for n in (o.lower() for o in OFFSET_NAMES) if n in query), None)
        limit = next((query[n] for n in (s.lower() for s in SIZE_NAMES) if n in query), None)
        if offset and limit:
            found.append(
                (
                    {"kind": "offset", "offset_param": offset, "limit_param": limit, "total_path": total},
                    [f"{next_path} has {offset} and {limit}", *([f"{total} (total)"] if total else [])],
                )
            )
        found.append(
            (
                {
                    "kind": "cursor",
                    "cursor_source": "next_url",
                    "cursor_path": next_path,
                    "size_param": limit or size_param,
                },
                [f"{next_path} holds the next page's URL"],
            )
        )
    cursor = _find(flat, CURSOR_NAMES)
    if cursor:
        param = _param(described, ("cursor", "page_token", "pageToken", "continuation_token", "next_cursor"))
        if param is None:
            param = "page_token" if "token" in cursor.lower() else "cursor"
        found.append(
            (
                {
                    "kind": "cursor",
                    "cursor_source": "body",
                    "cursor_path": cursor,
                    "cursor_param": param,
                    "size_param": size_param or "limit",
                },
                [f"{cursor} in the body", f"{param} in the query"],
            )
        )
    pages = _find(flat, PAGES_NAMES)
    page_param = _param(described, PAGE_NAMES)
    if page_param or pages or (more and not cursor):
        size = size_param or _size_from_body(flat) or "per_page"
        settings = {"kind": "page", "page_param": page_param or "page", "size_param": size}
        if pages:
            settings["total_pages_path"] = pages
        if total:
            settings["total_path"] = total
        if more:
            settings["has_more_path"] = more
        found.append(
            (
                settings,
                [
                    e
                    for e in (
                        pages and f"{pages} (pages)",
                        total and f"{total} (total)",
                        more and f"{more} (more)",
                        page_param and f"{page_param} in the query",
                    )
                    if e
                ],
            )
        )
    offset_param = _param(described, OFFSET_NAMES) or (_find(flat, OFFSET_NAMES) and "offset")
    if offset_param or total:
        limit_param = size_param if size_param and size_param != "per_page" else "limit"
        settings = {"kind": "offset", "offset_param": offset_param or "offset", "limit_param": limit_param}
        if total:
            settings["total_path"] = total
        if more:
            settings["has_more_path"] = more
        found.append(
            (
                settings,
                [e for e in (total and f"{total} (total)", offset_param and f"{offset_param} in the query") if e],
            )
        )
    found.append(({"kind": "none"}, []))
    for settings, _ in found:
        size_name = settings.get("size_param") or settings.get("limit_param")
        settings["page_size"] = page_size_for(described, size_name, wanted)
    unique: list[tuple[dict[str, Any], list[str]]] = []
    for settings, evidence in found:
        if settings not in [s for s, _ in unique]:
            unique.append((settings, evidence))
    return unique


def _size_from_body(flat: dict[str, Any]) -> str | None:
    found = _find(flat, SIZE_NAMES)
    return re.split(r"[.\[\]']+", found.strip("$.[]'"))[-1] if found else None


def pagination_config(settings: dict[str, Any]) -> PaginationConfig:
    values = {k: v for k, v in settings.items() if k != "kind" and v is not None}
    return PaginationConfig(kind=PaginationKind(settings["kind"]), **values)


def style_of(settings: dict[str, Any]) -> str:
    kind = settings.get("kind")
    if kind == "cursor":
        return {"link_header": "link_header", "next_url": "next_url"}.get(
            settings.get("cursor_source", ""), "cursor_body"
        )
    return {"page": "page_number", "offset": "offset"}.get(str(kind), "none")


def window_params(described: DescribedEndpoint | None) -> dict[str, Any] | None:
    """A time filter the description declares: ``{"start_param", "end_param", "format", "required", "modified"}``."""
    if described is None:
        return None
    names = {n.lower(): n for n in described.params}
    for start, end in WINDOW_PAIRS:
        if start in names:
            param = described.params[names[start]]
            end_name = names.get(end) if end else None
            fmt = "date" if param.format == "date" else "epoch" if param.type == "integer" else "iso"
            return {
                "start_param": names[start],
                "end_param": end_name,
                "format": fmt,
                "required": param.required or bool(end_name and described.params[end_name].required),
                "modified": "updat" in start or "modif" in start or "chang" in start,
            }
    return None
