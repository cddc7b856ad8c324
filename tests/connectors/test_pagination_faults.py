"""Pagination never loses a row and never loops (issue 14): every fault of the simulation through the real engine.

Each test reads one of `tests.sims.pagination_faults`' endpoints through `ConnectorSession` and checks the exact
outcome (the records, or the failure with its reason and numbers) and the exact number of requests the server
received. Property tests make up sources (page sizes, totals, short and empty pages, repeats) and hold the reader
to one rule: it returns exactly the source's records, or it fails; never fewer records with success.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from atlas.connectors.engine import (
    ConnectorConfig,
    ConnectorSession,
    EndpointConfig,
    FetchError,
    PaginationConfig,
    PaginationKind,
    PaginationLoop,
    ResourceKind,
    TimeWindowConfig,
)
from atlas.connectors.engine.config import RpcConfig, RpcProtocol
from atlas.connectors.engine.pagination import EMPTY_RUN_LIMIT, PageGuard, TotalMismatch, end_signal, place
from atlas.connectors.engine.reader import format_end, windows
from atlas.execution_lock import NetworkPolicy
from tests.browser_pages import signed_in_page
from tests.sims.canary import CANARY
from tests.sims.pagination_faults import (
    OVERSTATED,
    RECORDS,
    SYSTEM,
    VISIBLE,
    PaginationFaults,
    Scenario,
    pagination_faults,
)

OPEN = NetworkPolicy(allow_private=True)
ALL = [r["id"] for r in RECORDS]
SERVED = [r["id"] for r in VISIBLE]


@pytest.fixture(scope="module")
def sim() -> Iterator[PaginationFaults]:
    with pagination_faults() as server:
        yield server


def endpoint(path: str, record_path: str = "$.results", **options: Any) -> EndpointConfig:
    params = options.pop("params", {})
    window = options.pop("time_window", None)
    rpc = options.pop("rpc", None)
    return EndpointConfig(
        key="stock",
        resource=ResourceKind.STOCK_BALANCES,
        path=path,
        record_path=record_path,
        params=params,
        pagination=PaginationConfig(**options),
        time_window=window,
        rpc=rpc,
    )


def connector(sim: PaginationFaults, ep: EndpointConfig, **options: Any) -> ConnectorConfig:
    options.setdefault("min_backoff_seconds", 0.01)
    options.setdefault("rate_limit_per_second", 10_000)
    options.setdefault("rate_limit_burst", 10_000)
    options.setdefault("retry_attempts", 2)
    return ConnectorConfig(base_url=sim.base, endpoints=(ep,), **options)


def read(config: ConnectorConfig, **kwargs: Any) -> tuple[list[Any], FetchError | None]:
    """Every record the read yielded, and the error it ended with (None: it succeeded)."""

    async def go() -> tuple[list[Any], FetchError | None]:
        records: list[Any] = []
        try:
            async with ConnectorSession(config, network=OPEN) as session:
                async for page in session.read(config.endpoints[0], **kwargs):
                    records.extend(page.records)
        except FetchError as exc:
            return records, exc
        return records, None

    return asyncio.run(go())


def outcome(sim: PaginationFaults, config: ConnectorConfig, **kwargs: Any) -> tuple[list[Any], FetchError | None, int]:
    """The read's records, its error, and the requests the server received for it."""
    path = config.endpoints[0].path
    before = sim.count(path)
    records, error = read(config, **kwargs)
    return records, error, sim.count(path) - before


def ids(records: list[Any], key: str = "id") -> list[Any]:
    return [r[key] for r in records]


# --- a page that repeats: ends the read at the first repeat -------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "record_path", "options"),
    [
        ("/repeat/cursor", "$.items", {"cursor_path": "$.next_cursor", "size_param": "limit"}),
        ("/repeat/next-url", "$.results", {"cursor_source": "next_url", "cursor_path": "$.next"}),
        ("/repeat/link", "$", {"cursor_source": "link_header"}),
    ],
    ids=["cursor", "next-url", "link"],
)
def test_a_last_page_repeated_for_ever_under_fresh_cursors_stops_after_one_repeat(sim, path, record_path, options):
    params = {} if "size_param" in options else {"limit": "100"}
    ep = endpoint(path, record_path, kind=PaginationKind.CURSOR, page_size=100, params=params, **options)
    records, error, requests = outcome(sim, connector(sim, ep))
    assert isinstance(error, PaginationLoop)
    assert error.reason == "repeated_page"
    assert error.detail == "page 4 has the same records as page 3"
    assert requests == 4  # three real pages and the one repeat
    assert ids(records) == ALL  # the repeat itself is never handed on


@pytest.mark.parametrize(
    ("path", "kind"), [("/abab/offset", PaginationKind.OFFSET), ("/abab/page", PaginationKind.PAGE)]
)
def test_numbered_pages_coming_back_a_b_a_b_stop_at_the_first_repeat(sim, path, kind):
    ep = endpoint(path, kind=kind, page_size=100, size_param="per_page")
    records, error, requests = outcome(sim, connector(sim, ep))
    assert isinstance(error, PaginationLoop) and error.reason == "repeated_page"
    assert error.detail == "page 3 has the same records as page 1"
    assert requests == 3
    assert ids(records) == ALL[:200]


def test_a_b_a_b_with_a_total_is_caught_among_pages_fetched_concurrently(sim):
    ep = endpoint(
        "/abab/offset", kind=PaginationKind.OFFSET, page_size=100, total_path="$.total", params={"total": "1"}
    )
    _, error, requests = outcome(sim, connector(sim, ep, max_concurrency=1))
    assert isinstance(error, PaginationLoop) and error.detail == "page 3 has the same records as page 1"
    assert requests == 3
    # Four pages in flight: the repeat still ends the read, with at most the pages already asked for on the wire.
    _, error, requests = outcome(sim, connector(sim, ep, max_concurrency=4))
    assert isinstance(error, PaginationLoop) and error.detail == "page 3 has the same records as page 1"
    assert 3 <= requests <= 6


# --- a short page mid-stream: never an end ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "kind"), [("/short/offset", PaginationKind.OFFSET), ("/short/page", PaginationKind.PAGE)]
)
def test_a_short_page_mid_stream_without_a_total_reads_on_to_the_empty_page(sim, path, kind):
    ep = endpoint(path, kind=kind, page_size=100, size_param="per_page")
    records, error, requests = outcome(sim, connector(sim, ep))
    assert error is None
    assert ids(records) == SERVED  # 100, then 60 (page 2 short), then 50: nothing after the short page is lost
    assert requests == 4  # and one empty page that ends it


def test_a_short_page_mid_stream_with_a_total_that_counts_it_succeeds(sim):
    ep = endpoint(
        "/short/offset", kind=PaginationKind.OFFSET, page_size=100, total_path="$.total", params={"total": "visible"}
    )
    records, error, requests = outcome(sim, connector(sim, ep))
    assert error is None and ids(records) == SERVED
    assert requests == 4  # three pages, the short one asked twice


def test_a_page_short_once_is_retried_and_read_whole(sim):
    sim.glitched.clear()
    ep = endpoint("/glitch/offset", kind=PaginationKind.OFFSET, page_size=100, total_path="$.total")
    records, error, requests = outcome(sim, connector(sim, ep))
    assert error is None and ids(records) == ALL
    assert requests == 4


# --- a total larger than what is served: a loss, so a failure with both numbers ---------------------------------------


@pytest.mark.parametrize(
    ("ep", "read_count", "declared"),
    [
        (
            endpoint(
                "/short/offset",
                kind=PaginationKind.OFFSET,
                page_size=100,
                total_path="$.total",
                params={"total": "all"},
            ),
            210,
            250,
        ),
        (
            endpoint("/overstated/offset", kind=PaginationKind.OFFSET, page_size=100, total_path="$.total"),
            250,
            OVERSTATED,
        ),
        (
            endpoint(
                "/overstated/next-url",
                kind=PaginationKind.CURSOR,
                cursor_source="next_url",
                cursor_path="$.next",
                total_path="$.count",
                params={"limit": "100"},
            ),
            250,
            OVERSTATED,
        ),
    ],
    ids=["short-pages-total-counts-hidden", "offset-overstated", "next-url-count-overstated"],
)
def test_fewer_records_than_the_declared_total_fail_with_both_numbers(sim, ep, read_count, declared):
    records, error, _ = outcome(sim, connector(sim, ep))
    assert isinstance(error, TotalMismatch)
    assert (error.reason, error.read, error.declared) == ("total_mismatch", read_count, declared)
    assert error.detail == f"read {read_count} of {declared} records the server declared"
    assert error.as_dict()["read"] == read_count and error.as_dict()["declared"] == declared
    assert len(records) == read_count


def test_an_overstated_total_costs_bounded_requests(sim):
    ep = endpoint("/overstated/offset", kind=PaginationKind.OFFSET, page_size=100, total_path="$.total")
    _, error, requests = outcome(sim, connector(sim, ep))
    assert isinstance(error, TotalMismatch)
    # 10 pages declared: two full, the short third and seven empty ones each asked twice, then one past the end.
    assert requests == 2 + 2 + 7 * 2 + 1


# --- end signals: the API's own word ends the read -----------------------------------------------------------------


SIGNALLED = [
    ("/signal/has-more", "$.items", {"kind": PaginationKind.PAGE, "has_more_path": "$.page_context.has_more_page"}),
    ("/signal/next", "$.data", {"kind": PaginationKind.PAGE, "size_param": "limit", "next_path": "$.pagination.next"}),
    ("/signal/has-more-offset", "$.items", {"kind": PaginationKind.OFFSET, "has_more_path": "$.hasMore"}),
]


@pytest.mark.parametrize(("path", "record_path", "options"), SIGNALLED, ids=["zoho", "daftra", "netsuite"])
def test_an_end_signal_ends_the_read_past_a_short_page(sim, path, record_path, options):
    ep = endpoint(path, record_path, page_size=100, **options)
    records, error, requests = outcome(sim, connector(sim, ep))
    assert error is None and ids(records) == SERVED
    assert requests == 3  # no empty page is asked for: the signal said the third page was the last


def test_without_its_end_signal_a_server_with_no_empty_page_fails_loudly_rather_than_loops(sim):
    ep = endpoint("/signal/has-more", "$.items", kind=PaginationKind.PAGE, page_size=100)
    records, error, requests = outcome(sim, connector(sim, ep))
    assert isinstance(error, PaginationLoop) and error.detail == "page 4 has the same records as page 3"
    assert requests == 4 and ids(records) == SERVED


# --- time windows -------------------------------------------------------------------------------------------------


def dated_endpoint(window: TimeWindowConfig) -> EndpointConfig:
    return endpoint(
        "/dated/stock/",
        "$.results",
        kind=PaginationKind.CURSOR,
        cursor_source="next_url",
        cursor_path="$.next",
        total_path="$.count",
        params={"limit": "2"},
        time_window=window,
    )


def test_a_date_only_window_includes_the_changes_made_today(sim):
    window = TimeWindowConfig(
        start_param="updated_after", end_param="updated_before", window_hours=24 * 3, lookback_days=10, format="date"
    )
    since = len(sim.queries)
    records, error, _ = outcome(sim, connector(sim, dated_endpoint(window)), now=sim.now)
    assert error is None
    expected = sim.changed_since((sim.now - timedelta(days=10)).date())
    assert set(ids(records, "pk")) == set(expected)
    assert set(sim.today()) <= set(ids(records, "pk")) and len(sim.today()) == 2
    # The last window ends tomorrow: InvenTree's updated_before is exclusive, so today's date would leave today out.
    sent = [q for p, q, _ in sim.queries[since:] if p == "/dated/stock/"]
    assert max(q["updated_before"] for q in sent) == format_end(sim.now, "date")
    assert format_end(sim.now, "date") > sim.now.date().isoformat() or sim.now == sim.now.replace(hour=0, minute=0)


def test_a_start_only_window_reads_from_the_start_to_now_in_one_window(sim):
    window = TimeWindowConfig(start_param="updated_after", end_param=None, lookback_days=10, format="date")
    before = len(sim.queries)
    records, error, requests = outcome(sim, connector(sim, dated_endpoint(window)), now=sim.now)
    assert error is None
    assert ids(records, "pk") == sim.changed_since((sim.now - timedelta(days=10)).date())
    assert requests == 3  # six records, two a page, one window
    sent = [q for p, q, _ in sim.queries[before:]]
    assert all("updated_before" not in q for q in sent)
    assert sent[0]["updated_after"] == (sim.now - timedelta(days=10)).date().isoformat()


def test_date_window_ends_include_their_last_day_unless_it_ends_at_midnight():
    assert format_end(datetime(2026, 11, 22, 14, 30, tzinfo=UTC), "date") == "2026-11-23"
    assert format_end(datetime(2026, 11, 22, 0, 0, 1, tzinfo=UTC), "date") == "2026-11-23"
    assert format_end(datetime(2026, 11, 22, tzinfo=UTC), "date") == "2026-11-22"
    assert format_end(datetime(2026, 11, 22, 14, 30, tzinfo=UTC), "iso") == "2026-11-22T14:30:00Z"
    now = datetime(2026, 11, 22, 14, 30, tzinfo=UTC)
    only_start = TimeWindowConfig(start_param="updated_after", end_param=None, window_hours=24, lookback_days=30)
    assert windows(only_start, start=None, end=now) == [(now - timedelta(days=30), now)]
    assert len(windows(TimeWindowConfig(window_hours=24, lookback_days=30), start=None, end=now)) == 30


# --- the rules, directly ------------------------------------------------------------------------------------------


def test_the_guard_never_counts_an_empty_page_as_a_repeat_and_keeps_the_largest_total():
    guard = PageGuard(PaginationConfig(total_path="$.total"), "http://erp/x")
    for _ in range(EMPTY_RUN_LIMIT - 1):
        guard.admit([], {"total": 3}, url="http://erp/x", status=200)
    guard.check_empty_run(url="http://erp/x", status=200)  # under the limit: no error
    guard.admit([{"id": 1}], {"total": 5}, url="http://erp/x", status=200)
    guard.admit([{"id": 2}], {"total": "4"}, url="http://erp/x", status=200)
    assert (guard.records, guard.declared, guard.short_of_total()) == (2, 5, True)
    with pytest.raises(PaginationLoop) as repeated:
        guard.admit([{"id": 1}], {}, url="http://erp/x", status=200)
    assert repeated.value.detail == f"page {EMPTY_RUN_LIMIT + 2} has the same records as page {EMPTY_RUN_LIMIT}"
    with pytest.raises(TotalMismatch) as short:
        guard.finish()
    assert (short.value.read, short.value.declared) == (2, 5)
    for _ in range(EMPTY_RUN_LIMIT):
        guard.admit([], {}, url="http://erp/x", status=200)
    with pytest.raises(PaginationLoop) as empty:
        guard.check_empty_run(url="http://erp/x", status=200)
    assert empty.value.reason == "empty_pages"


@pytest.mark.parametrize(
    ("pagination", "body", "said"),
    [
        ({"has_more_path": "$.more"}, {"more": False}, True),
        ({"has_more_path": "$.more"}, {"more": "false"}, True),
        ({"has_more_path": "$.more"}, {"more": True}, False),
        ({"has_more_path": "$.more"}, {"other": False}, None),  # a path that matches nothing says nothing
        ({"has_more_path": "$.more"}, {"more": None}, None),
        ({"next_path": "$.p.next"}, {"p": {"next": None}}, True),
        ({"next_path": "$.p.next"}, {"p": {"next": ""}}, True),
        ({"next_path": "$.p.next"}, {"p": {"next": "/x?page=3"}}, False),
        ({"next_path": "$.p.next"}, {"p": {}}, None),
        ({"has_more_path": "$.more", "next_path": "$.next"}, {"more": False, "next": "/x?page=3"}, False),
        ({}, {"more": False}, None),
    ],
)
def test_end_signals(pagination, body, said):
    assert end_signal(PaginationConfig(**pagination), body) is said


def test_paging_values_go_to_dotted_paths_of_a_body():
    body: dict[str, Any] = {"query": "{ stock { id } }", "variables": {"after": None}}
    place(body, "variables.after", "c2", url="http://erp/graphql")
    place(body, "variables.page.size", 50, url="http://erp/graphql")
    assert body == {"query": "{ stock { id } }", "variables": {"after": "c2", "page": {"size": 50}}}
    with pytest.raises(FetchError) as caught:
        place({"args": [1, 2]}, "args.offset", 0, url="http://erp/json/2/stock.quant/search_read")
    assert caught.value.reason == "paging_path_invalid" and "list" in caught.value.detail


# --- read-RPC bodies ----------------------------------------------------------------------------------------------


def rpc_bodies(sim: PaginationFaults, path: str, since: int) -> list[Any]:
    return [body for p, _, body in sim.queries[since:] if p == path]


def test_odoo_search_read_pages_with_offset_and_limit_in_the_body(sim):
    body = {"domain": [["location_id.usage", "=", "internal"]], "fields": ["product_id", "quantity"]}
    ep = endpoint(
        "/json/2/stock.quant/search_read",
        "$",
        kind=PaginationKind.OFFSET,
        page_size=100,
        params_in="body",
        rpc=RpcConfig(protocol=RpcProtocol.ODOO_JSON2, body=body),
    )
    since = len(sim.queries)
    records, error, requests = outcome(sim, connector(sim, ep))
    assert error is None and ids(records) == ALL
    assert requests == 4  # 100, 100, 50, then the empty page
    sent = rpc_bodies(sim, "/json/2/stock.quant/search_read", since)
    assert [(b["offset"], b["limit"]) for b in sent] == [(0, 100), (100, 100), (200, 100), (300, 100)]
    assert all(b["domain"] == body["domain"] and b["fields"] == body["fields"] for b in sent)
    assert body == {"domain": [["location_id.usage", "=", "internal"]], "fields": ["product_id", "quantity"]}
    assert {s.kind for s in CANARY.seen(system=SYSTEM) if s.path == "/json/2/stock.quant/search_read"} == {"rpc_read"}


def test_an_rpc_list_that_ignores_its_offset_is_a_repeated_page(sim):
    ep = endpoint(
        "/json/2/stock.move/search_read",
        "$",
        kind=PaginationKind.OFFSET,
        page_size=100,
        params_in="body",
        rpc=RpcConfig(protocol=RpcProtocol.ODOO_JSON2, body={"domain": [], "fields": ["quantity"]}),
    )
    _, error, requests = outcome(sim, connector(sim, ep))
    assert isinstance(error, PaginationLoop) and error.detail == "page 2 has the same records as page 1"
    assert requests == 2


GRAPHQL = "query Stock($first: Int!, $after: String) { stock(first: $first, after: $after) { edges { node { id } } } }"


def graphql_endpoint(path: str) -> EndpointConfig:
    return endpoint(
        path,
        "$.data.stock.edges[*].node",
        kind=PaginationKind.CURSOR,
        page_size=100,
        cursor_path="$.data.stock.pageInfo.endCursor",
        has_more_path="$.data.stock.pageInfo.hasNextPage",
        cursor_param="variables.after",
        size_param="variables.first",
        params_in="body",
        rpc=RpcConfig(protocol=RpcProtocol.GRAPHQL, body={"query": GRAPHQL, "variables": {"after": None}}),
    )


def test_a_graphql_cursor_connection_pages_through_its_variables(sim):
    since = len(sim.queries)
    records, error, requests = outcome(sim, connector(sim, graphql_endpoint("/graphql")))
    assert error is None and ids(records) == ALL
    assert requests == 3  # hasNextPage false on the third page
    sent = rpc_bodies(sim, "/graphql", since)
    assert [b["variables"]["first"] for b in sent] == [100, 100, 100]
    assert sent[0]["variables"]["after"] is None and all(b["variables"]["after"] for b in sent[1:])


def test_a_graphql_connection_repeating_its_edges_under_fresh_cursors_stops(sim):
    _, error, requests = outcome(sim, connector(sim, graphql_endpoint("/graphql-loop")))
    assert isinstance(error, PaginationLoop) and error.detail == "page 2 has the same records as page 1"
    assert requests == 2


def test_suiteql_pages_in_the_query_string_of_a_post(sim):
    ep = endpoint(
        "/services/rest/query/v1/suiteql",
        "$.items",
        kind=PaginationKind.OFFSET,
        page_size=100,
        has_more_path="$.hasMore",
        rpc=RpcConfig(protocol=RpcProtocol.SQL, body={"q": "SELECT id, sku, qty FROM item"}),
    )
    since = len(sim.queries)
    records, error, requests = outcome(sim, connector(sim, ep))
    assert error is None and ids(records) == ALL
    assert requests == 3
    sent = [q for p, q, _ in sim.queries[since:] if p == "/services/rest/query/v1/suiteql"]
    assert [(q["offset"], q["limit"]) for q in sent] == [("0", "100"), ("100", "100"), ("200", "100")]


# --- properties ----------------------------------------------------------------------------------------------------


class Reader:
    """One event loop and one session per concurrency for every example of a property (a session's client takes
    about 100 ms to build, which hundreds of examples should not each pay)."""

    def __init__(self, sim: PaginationFaults) -> None:
        self.loop = asyncio.new_event_loop()
        self.sessions = {
            width: ConnectorSession(connector(sim, endpoint("/"), max_concurrency=width), network=OPEN)
            for width in range(1, 5)
        }

    def read(self, ep: EndpointConfig, width: int = 1) -> tuple[list[Any], FetchError | None]:
        async def go() -> tuple[list[Any], FetchError | None]:
            records: list[Any] = []
            try:
                async for page in self.sessions[width].read(ep):
                    records.extend(page.records)
            except FetchError as exc:
                return records, exc
            return records, None

        return self.loop.run_until_complete(go())

    def close(self) -> None:
        for session in self.sessions.values():
            self.loop.run_until_complete(session.http.aclose())
        self.loop.close()


@pytest.fixture(scope="module")
def reader(sim: PaginationFaults) -> Iterator[Reader]:
    made = Reader(sim)
    yield made
    made.close()


def served_pages(scenario: Scenario, size: int) -> list[list[int]]:
    """What the source serves on each of its pages (past the last, numbered pages are empty)."""
    return [scenario.page(index, size) for index in range(-(-len(scenario.ids) // size))]


def empty_mid_stream(pages: list[list[int]]) -> bool:
    """An empty page before the last page with records: without a total or an end signal, no reader can tell it
    from the end, so no reader can promise every record there."""
    filled = [index for index, page in enumerate(pages) if page]
    return bool(filled) and any(not page for page in pages[: filled[-1]])


def longest_empty_run(pages: list[list[int]]) -> int:
    longest = run = 0
    for page in pages:
        run = 0 if page else run + 1
        longest = max(longest, run)
    return longest


def sources(draw: st.DrawFn, kind: str) -> Scenario:
    size = draw(st.integers(1, 12))
    count = draw(st.integers(0, 70))
    ids_ = tuple(range(1, count + 1))
    # Page-then-filter: a few ids never served, so pages come back short, or empty, in the middle.
    hidden = frozenset(draw(st.sets(st.sampled_from(ids_), max_size=count // 2)) if count else set())
    visible = len(ids_) - len(hidden)
    total = draw(st.sampled_from([None, visible, visible + draw(st.integers(1, 30))]))
    pages = -(-count // size)
    # A repeat: page ``repeat_at`` serves page ``repeat_of``'s records (numbered pages may repeat past the end).
    repeat_at = draw(st.none() | st.integers(1, pages + (1 if kind != "cursor" else -1))) if pages > 1 else None
    repeat_of = draw(st.integers(0, repeat_at - 1)) if repeat_at else 0
    scenario = Scenario(kind, ids_, size, hidden, total, kind != "cursor" and draw(st.booleans()))
    if repeat_at is not None and scenario.page(repeat_of, size):  # an empty page repeated is no repeat at all
        scenario = Scenario(kind, ids_, size, hidden, total, scenario.signal, repeat_at, repeat_of)
    if kind == "cursor" and draw(st.booleans()):
        scenario = Scenario(kind, ids_, size, hidden, total, False, scenario.repeat_at, scenario.repeat_of, True)
    return scenario


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_numbered_reads_return_exactly_the_source_or_fail(sim, reader, data):
    scenario = sources(data.draw, data.draw(st.sampled_from(["offset", "page"])))
    concurrency = data.draw(st.integers(1, 4))
    path = sim.add(scenario)
    ep = endpoint(
        path,
        "$.items",
        kind=PaginationKind.OFFSET if scenario.kind == "offset" else PaginationKind.PAGE,
        page_size=scenario.size,
        size_param="per_page",
        total_path="$.total" if scenario.total is not None else None,
        has_more_path="$.has_more" if scenario.signal else None,
    )
    records, error = reader.read(ep, concurrency)
    pages = served_pages(scenario, scenario.size)
    undecidable = scenario.total is None and not scenario.signal and empty_mid_stream(pages)
    if error is None and not undecidable:
        assert ids(records) == scenario.truth, scenario  # never fewer (or other) records with success
    if scenario.total is not None and scenario.total > len(scenario.truth):
        assert error is not None and error.reason in ("total_mismatch", "repeated_page"), (scenario, error)
    truthful = scenario.repeat_at is None and scenario.total in (None, len(scenario.truth))
    readable = not empty_mid_stream(pages) or (scenario.signal and longest_empty_run(pages) < EMPTY_RUN_LIMIT)
    if truthful and readable:
        assert error is None, (scenario, error)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_cursor_reads_return_exactly_the_source_or_fail(sim, reader, data):
    scenario = sources(data.draw, "cursor")
    path = sim.add(scenario)
    ep = endpoint(
        path, "$.items", kind=PaginationKind.CURSOR, cursor_path="$.next", total_path="$.total", size_param=None
    )
    records, error = reader.read(ep)
    if error is None:
        assert ids(records) == scenario.truth, scenario
    pages = served_pages(scenario, scenario.size) or [[]]
    if scenario.repeat_at is not None or scenario.loop_last:
        # A repeated page, or a last page served for ever under fresh cursors (an empty one: the empty-page limit).
        assert error is not None and error.reason in ("repeated_page", "empty_pages"), (scenario, error)
    elif scenario.total is not None and scenario.total > len(scenario.truth):
        assert error is not None and error.reason == "total_mismatch", (scenario, error)
    elif longest_empty_run(pages) < EMPTY_RUN_LIMIT:
        assert error is None, (scenario, error)


# --- through the running Atlas ---------------------------------------------------------------------------------------


def faulty_connector(sim: PaginationFaults, **pagination: Any) -> dict[str, Any]:
    return {
        "name": f"Faulty {len(sim.queries)}-{datetime.now(UTC).timestamp()}",
        "base_url": sim.base,
        "endpoints": [
            {
                "key": "items",
                "resource": "items",
                "path": "/overstated/offset",
                "record_path": "$.results",
                "pagination": {"kind": "offset", "page_size": 100, "total_path": "$.total", **pagination},
            }
        ],
        "rate_limit_per_second": 1000,
        "rate_limit_burst": 100,
    }


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"offset_param": " "}, "errors.paging_param_empty", "endpoints[0].pagination.offset_param"),
        ({"limit_param": ""}, "errors.paging_param_empty", "endpoints[0].pagination.limit_param"),
        ({"size_param": "  "}, "errors.paging_param_empty", "endpoints[0].pagination.size_param"),
        ({"params_in": "body"}, "errors.paging_params_in_body_without_rpc", "endpoints[0].pagination.params_in"),
        ({"has_more_path": "$.[["}, "errors.jsonpath_invalid", "endpoints[0].pagination.has_more_path"),
        ({"next_path": "$..["}, "errors.jsonpath_invalid", "endpoints[0].pagination.next_path"),
    ],
)
def test_bad_paging_settings_are_refused_naming_the_field(atlas, sim, change, code, field):
    admin, _ = atlas.new_tenant()
    response = admin.post("/api/connectors", json=faulty_connector(sim, **change))
    assert response.status_code == 422, response.text
    assert (response.json()["code"], response.json()["field"]) == (code, field)
    assert admin.get("/api/connectors").json() == []


def test_an_empty_window_parameter_is_refused_in_both_languages(atlas, sim):
    admin, _ = atlas.new_tenant()
    body = faulty_connector(sim)
    body["endpoints"][0]["time_window"] = {"start_param": "updated_after", "end_param": " "}
    english = admin.post("/api/connectors", json=body, headers={"Accept-Language": "en"})
    arabic = admin.post("/api/connectors", json=body, headers={"Accept-Language": "ar"})
    assert english.status_code == arabic.status_code == 422
    assert english.json()["field"] == "endpoints[0].time_window.end_param"
    assert "cannot be empty" in english.json()["detail"]
    assert "لا يكون فارغاً" in arabic.json()["detail"]
    # No end parameter at all is a start-only window, and is accepted.
    body["endpoints"][0]["time_window"] = {"start_param": "updated_after", "end_param": None, "format": "date"}
    created = admin.post("/api/connectors", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["endpoints"][0]["time_window"]["end_param"] is None


def test_a_read_rpc_endpoint_may_page_in_its_body(atlas, sim):
    admin, _ = atlas.new_tenant()
    body = faulty_connector(sim, params_in="body")
    body["endpoints"][0]["path"] = "/json/2/stock.quant/search_read"
    body["endpoints"][0]["rpc"] = {"protocol": "odoo_json2", "body": {"domain": []}}
    created = admin.post("/api/connectors", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["endpoints"][0]["pagination"]["params_in"] == "body"
    bad = faulty_connector(sim, params_in="body", offset_param="variables..offset")
    bad["endpoints"][0]["path"] = "/graphql"
    bad["endpoints"][0]["rpc"] = {"protocol": "graphql", "body": {"query": "{ stock { id } }"}}
    refused = admin.post("/api/connectors", json=bad)
    assert refused.status_code == 422 and refused.json()["code"] == "errors.paging_body_path_invalid"
    assert refused.json()["field"] == "endpoints[0].pagination.offset_param"


def test_a_sync_over_a_source_declaring_more_than_it_serves_fails_with_both_numbers(stack, sim):
    admin, _ = stack.atlas.new_tenant()
    connector = admin.post("/api/connectors", json=faulty_connector(sim))
    assert connector.status_code == 201, connector.text
    spec = {
        "record_path": "$.results",
        "fields": {"external_id": {"path": "$.id"}, "sku": {"path": "$.sku"}, "name": {"path": "$.sku"}},
    }
    mapping = admin.post(
        "/api/mappings", json={"connector_id": connector.json()["id"], "endpoint_key": "items", "spec": spec}
    )
    assert mapping.status_code == 201, mapping.text
    started = admin.post(f"/api/connectors/{connector.json()['id']}/sync")
    assert started.status_code == 202, started.text
    run = wait_for_run(admin, started.json()["id"])
    assert run["status"] == "failed", run
    error = run["error"]
    assert error["reason"] == "total_mismatch" and error["endpoint"] == "items"
    assert error["detail"] == f"read 250 of {OVERSTATED} records the server declared"
    assert (error["read"], error["declared"]) == (250, OVERSTATED)
    assert error["url"] == f"{sim.base}/overstated/offset"
    # The 250 records came in one batch, never handed to the writer: the read failed before its last page was done.
    assert run["stats"]["items"]["written"] == 0 and run["summary"]["read"] == 0


def wait_for_run(client: Any, run_id: str, timeout: float = 180) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = client.get(f"/api/syncs/{run_id}").json()
        if run["status"] not in ("queued", "running"):
            return dict(run)
        time.sleep(0.3)
    raise AssertionError(f"sync {run_id} did not finish")


@pytest.mark.browser
def test_the_form_sets_end_signals_body_paging_and_a_start_only_window(atlas, browser, sim):
    admin, _ = atlas.new_tenant()
    context, tab = signed_in_page(browser, atlas.base_url, admin, lang="en", locale="en-GB")
    tab.goto(f"{atlas.base_url}/app/connectors/new")
    tab.wait_for_selector("[data-connector-form][data-ready]")
    tab.fill("[name='name']", "Odoo by hand")
    tab.fill("[name='base_url']", sim.base)

    # A read-RPC endpoint paging in its body, ending by an empty page.
    tab.fill("[name='endpoints.0.path']", "/json/2/stock.quant/search_read")
    tab.fill("[name='endpoints.0.record_path']", "$")
    assert tab.locator("[name='endpoints.0.rpc.protocol']").is_hidden()
    tab.check("[name='endpoints.0.rpc.enabled']")
    tab.select_option("[name='endpoints.0.rpc.protocol']", "odoo_json2")
    tab.fill("[name='endpoints.0.rpc.body']", '{"domain": [], "fields": ["quantity"]}')
    tab.select_option("[name='endpoints.0.pagination.kind']", "offset")
    tab.select_option("[name='endpoints.0.pagination.params_in']", "body")

    # A dated endpoint: page numbers ending by has_more, a window with no end parameter.
    tab.get_by_test_id("add-endpoint").click()
    tab.fill("[name='endpoints.1.path']", "/signal/has-more")
    tab.fill("[name='endpoints.1.record_path']", "$.items")
    tab.select_option("[name='endpoints.1.pagination.kind']", "page")
    assert tab.locator("[name='endpoints.1.pagination.params_in']").is_hidden()  # no read-RPC: the query only
    tab.fill("[name='endpoints.1.pagination.has_more_path']", "$.page_context.has_more_page")
    tab.check("[name='endpoints.1.time_window.enabled']")
    tab.fill("[name='endpoints.1.time_window.start_param']", "updated_after")
    tab.fill("[name='endpoints.1.time_window.end_param']", "")
    tab.select_option("[name='endpoints.1.time_window.format']", "date")
    assert "today's changes" in tab.locator(".field:has([name='endpoints.1.time_window.format'])").inner_text()

    tab.get_by_test_id("connector-save").click()
    tab.wait_for_url(re.compile(r".*/app/connectors/[0-9a-f-]{36}$"))
    connector_id = tab.url.rsplit("/", 1)[-1]
    saved = admin.get(f"/api/connectors/{connector_id}").json()
    odoo, dated = saved["endpoints"]
    assert odoo["rpc"] == {"protocol": "odoo_json2", "body": {"domain": [], "fields": ["quantity"]}}
    assert odoo["pagination"]["kind"] == "offset" and odoo["pagination"]["params_in"] == "body"
    assert dated["pagination"]["has_more_path"] == "$.page_context.has_more_page"
    assert dated["time_window"]["end_param"] is None and dated["time_window"]["format"] == "date"
    assert dated["rpc"] is None
    assert "$.page_context.has_more_page" in tab.get_by_test_id("end-signal").inner_text()
    assert "Odoo JSON-2" in tab.get_by_test_id("rpc").inner_text()
    assert "Start only, up to now" in tab.get_by_test_id("endpoints-table").inner_text()

    # Edit: every new field comes back as saved, and saving again changes nothing.
    tab.get_by_test_id("edit-connector").click()
    tab.wait_for_selector("[data-connector-form][data-ready]")
    assert tab.locator("[name='endpoints.0.rpc.enabled']").is_checked()
    assert tab.input_value("[name='endpoints.0.pagination.params_in']") == "body"
    assert tab.input_value("[name='endpoints.1.time_window.end_param']") == ""
    assert tab.input_value("[name='endpoints.1.pagination.has_more_path']") == "$.page_context.has_more_page"
    tab.get_by_test_id("connector-save").click()
    tab.wait_for_url(f"{atlas.base_url}/app/connectors/{connector_id}")
    again = admin.get(f"/api/connectors/{connector_id}").json()
    assert again["endpoints"] == saved["endpoints"]

    # Test connection reads both: the lock proves the Odoo body a read; the dated API answers its first page.
    tab.get_by_test_id("test-connection").click()
    tab.wait_for_function(
        "() => document.querySelectorAll(\"[data-testid='test-result']\").length === 2", timeout=60_000
    )
    for row in tab.locator("[data-testid='test-result']").all():
        assert row.get_attribute("data-ok") == "true", row.inner_text()
    context.close()
