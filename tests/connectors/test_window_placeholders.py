"""Time windows inside filter expressions: ``{window.start}`` and ``{window.end}`` in an endpoint's parameters and
path, read through the real engine against a real HTTP server on 127.0.0.1 that filters as the systems do.

The server keeps a ledger of 90 entries, one every 8 hours, each with its ``modified`` time, and answers:

* ``/frappe/ledger``: Frappe's ``filters`` (a JSON list of ``[field, operator, value]``; values in Frappe's
  ``2026-11-01 06:00:00`` form), paged by ``limit_start``/``limit_page_length`` in creation order, no total;
* ``/odata/entries``: OData's ``$filter`` (comparisons joined by ``and``, ``2026-11-01T06:00:00Z`` literals), paged
  by an absolute next link, records under ``value``;
* ``/since/<iso time>``: the window's start in the path;
* ``/parents`` and ``/by-warehouse``: parent records whose values meet the window in one request.

It records every request's raw target, so the tests can prove each value was encoded exactly once. Its truth is
its own ledger, filtered here by plain comparisons, never by what the engine read.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

import pytest

from atlas.connectors.engine import (
    ConnectorConfig,
    ConnectorSession,
    EndpointConfig,
    PaginationConfig,
    PaginationKind,
    ResourceKind,
    TimeWindowConfig,
)
from atlas.connectors.engine.reader import format_time, sends_end, windows
from atlas.execution_lock import NetworkPolicy
from tests.browser_pages import signed_in_page
from tests.sims.odata import ODataError, parse_filter
from tests.sims.serving import QuietHandler, serving

OPEN = NetworkPolicy(allow_private=True)
NOW = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
FIRST = NOW - timedelta(days=30)


@dataclass
class Ledger:
    """90 entries, one every 8 hours over the 30 days before NOW; ``requests`` holds each raw request target."""

    entries: list[dict[str, Any]] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    base: str = ""

    def __post_init__(self) -> None:
        for n in range(90):
            moment = FIRST + timedelta(hours=8 * n, minutes=n % 7, seconds=n % 11)
            self.entries.append(
                {"name": f"E-{n:03d}", "modified": moment, "warehouse": "W {window.start}" if n % 2 else "Stores"}
            )

    def between(self, start: datetime | None, end: datetime | None = None) -> set[str]:
        """The truth: the names of the entries modified in [start, end)."""
        return {
            e["name"]
            for e in self.entries
            if (start is None or e["modified"] >= start) and (end is None or e["modified"] < end)
        }

    def seen(self, path: str) -> list[str]:
        with self.lock:
            return [r for r in self.requests if urlsplit(r).path == path]


def frappe_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _frappe_matches(entry: dict[str, Any], filters: list[list[Any]]) -> bool:
    for name, op, value in filters:
        have = entry[name]
        if name == "modified":
            wanted: Any = datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)  # rejects any other form
        else:
            wanted = value
        if not {">=": have >= wanted, "<": have < wanted, "=": have == wanted}[op]:
            return False
    return True


def _handler(ledger: Ledger) -> type[QuietHandler]:
    class Handler(QuietHandler):
        def do_GET(self) -> None:
            with ledger.lock:
                ledger.requests.append(self.path)
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
            path = parts.path
            try:
                if path == "/frappe/ledger":
                    self.reply(200, self.frappe(query))
                elif path == "/odata/entries":
                    self.reply(200, self.odata(query))
                elif path.startswith("/since/"):
                    start = datetime.fromisoformat(unquote(path.removeprefix("/since/")).replace("Z", "+00:00"))
                    self.reply(200, {"data": [self.public(e) for e in ledger.entries if e["modified"] >= start]})
                elif path == "/parents":
                    self.reply(200, {"data": [{"code": "Stores"}, {"code": "W {window.start}"}]})
                elif path == "/by-warehouse":
                    since = datetime.strptime(query["since"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
                    rows = [
                        self.public(e)
                        for e in ledger.entries
                        if e["warehouse"] == query["warehouse"] and e["modified"] >= since
                    ]
                    self.reply(200, {"data": rows})
                else:
                    self.reply(404, {"error": "not found"})
            except (ValueError, KeyError, ODataError) as exc:  # a filter this server cannot read is a 400
                self.reply(400, {"error": str(exc)})

        @staticmethod
        def public(entry: dict[str, Any]) -> dict[str, Any]:
            return {**entry, "modified": frappe_time(entry["modified"])}

        def frappe(self, query: dict[str, str]) -> dict[str, Any]:
            filters = json.loads(query.get("filters") or "[]")
            kept = [e for e in ledger.entries if _frappe_matches(e, filters)]
            start, size = int(query.get("limit_start") or 0), int(query.get("limit_page_length") or 20)
            return {"data": [self.public(e) for e in kept[start : start + size]]}

        def odata(self, query: dict[str, str]) -> dict[str, Any]:
            rows = [{**e, "modified": iso(e["modified"])} for e in ledger.entries]
            if query.get("$filter"):
                keep = parse_filter(query["$filter"], ["name", "modified", "warehouse"])
                rows = [r for r in rows if keep(r)]
            skip = int(query.get("$skip") or 0)
            page = rows[skip : skip + 7]
            answer: dict[str, Any] = {"value": page}
            if skip + 7 < len(rows):
                kept = {k: v for k, v in query.items() if k != "$skip"}
                link = "&".join(f"{k}={quote(v, safe='$')}" for k, v in kept.items())
                answer["@odata.nextLink"] = f"{ledger.base}/odata/entries?{link}&$skip={skip + 7}"
            return answer

        def reply(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


@pytest.fixture(scope="module")
def ledger() -> Iterator[Ledger]:
    server = Ledger()
    with serving(_handler(server)) as port:
        server.base = f"http://127.0.0.1:{port}"
        yield server


def endpoint(path: str, window: TimeWindowConfig, **options: Any) -> EndpointConfig:
    return EndpointConfig(
        key=options.pop("key", "ledger"),
        resource=ResourceKind.STOCK_MOVEMENTS,
        path=path,
        record_path=options.pop("record_path", "$.data"),
        params=options.pop("params", {}),
        pagination=options.pop("pagination", PaginationConfig()),
        time_window=window,
        parent=options.pop("parent", None),
    )


def read(ledger: Ledger, target: EndpointConfig, *others: EndpointConfig, **kwargs: Any) -> list[dict[str, Any]]:
    config = ConnectorConfig(
        base_url=ledger.base,
        endpoints=(target, *others),
        rate_limit_per_second=1000,
        rate_limit_burst=1000,
        min_backoff_seconds=0.01,
    )

    async def go() -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        async with ConnectorSession(config, network=OPEN) as session:
            async for page in session.read(target, **kwargs):
                records.extend(page.records)
        return records

    return asyncio.run(go())


def names(records: list[dict[str, Any]]) -> list[str]:
    return [r["name"] for r in records]


# --- Frappe: the start inside a JSON filter ------------------------------------------------------------------------


FRAPPE_WINDOW = TimeWindowConfig(start_param="", end_param=None, lookback_days=40, format="datetime_space")
FRAPPE_PAGES = PaginationConfig(
    kind=PaginationKind.OFFSET, offset_param="limit_start", limit_param="limit_page_length", page_size=10
)


def frappe_endpoint() -> EndpointConfig:
    return endpoint(
        "/frappe/ledger",
        FRAPPE_WINDOW,
        params={"filters": '[["warehouse","=","Stores"],["modified",">=","{window.start}"]]'},
        pagination=FRAPPE_PAGES,
    )


def test_the_start_travels_inside_a_json_filter_encoded_once(ledger: Ledger) -> None:
    start = NOW - timedelta(days=5, hours=3, minutes=30, seconds=12, microseconds=500)
    before = len(ledger.requests)
    records = read(ledger, frappe_endpoint(), window_start=start, now=NOW)
    truth = {n for n in ledger.between(start.replace(microsecond=0)) if int(n[2:]) % 2 == 0}
    assert sorted(names(records)) == sorted(truth) and len(records) == len(truth) > 0
    sent = ledger.requests[before:]
    assert len(sent) == -(-len(truth) // 10) + 1  # every page, then the first empty one
    for target in sent:
        query = parse_qs(urlsplit(target).query)
        assert json.loads(query["filters"][0]) == [
            ["warehouse", "=", "Stores"],
            ["modified", ">=", "2026-11-25 20:29:47"],  # UTC, whole seconds: a truncated start reads more, never less
        ]
        assert "%25" not in target and "{" not in target  # encoded once, and filled
        assert set(query) == {"filters", "limit_start", "limit_page_length"}  # no start parameter of its own


def test_a_start_only_window_is_one_read_whatever_its_length(ledger: Ledger) -> None:
    window = frappe_endpoint()
    assert not sends_end(window)
    assert len(windows(FRAPPE_WINDOW, start=None, end=NOW, stepped=sends_end(window))) == 1
    records = read(ledger, window, now=NOW)  # no checkpoint: lookback_days back, everything in one window
    assert sorted(names(records)) == sorted(n for n in ledger.between(None) if int(n[2:]) % 2 == 0)


# --- OData: start and end inside $filter, walked in windows ---------------------------------------------------------


def odata_endpoint(window_hours: int) -> EndpointConfig:
    window = TimeWindowConfig(start_param=None, end_param=None, window_hours=window_hours, lookback_days=30)
    return endpoint(
        "/odata/entries",
        window,
        record_path="$.value",
        params={"$filter": "modified ge {window.start} and modified lt {window.end}"},
        pagination=PaginationConfig(
            kind=PaginationKind.CURSOR, cursor_source="next_url", cursor_path="$['@odata.nextLink']", size_param=""
        ),
    )


def test_start_and_end_inside_an_odata_filter_walk_the_range_in_windows(ledger: Ledger) -> None:
    target = odata_endpoint(24 * 7)
    assert sends_end(target)
    before = len(ledger.requests)
    records = read(ledger, target, now=NOW)
    assert sorted(names(records)) == sorted(ledger.between(FIRST)) and len(records) == 90  # each entry once
    sent = [parse_qs(urlsplit(r).query) for r in ledger.requests[before:]]
    spans = sorted({q["$filter"][0] for q in sent})
    assert len(spans) == 5  # 30 days in steps of 7
    assert spans[0] == "modified ge 2026-11-01T00:00:00Z and modified lt 2026-11-08T00:00:00Z"
    assert all("per_page" not in q for q in sent)  # size_param "": no page size on a next-link read


def test_a_next_link_read_sends_its_page_size_unless_told_not_to(ledger: Ledger) -> None:
    sized = odata_endpoint(24 * 40)
    sized = EndpointConfig(
        **{**sized.__dict__, "pagination": PaginationConfig(**{**sized.pagination.__dict__, "size_param": "per_page"})}
    )
    before = len(ledger.requests)
    read(ledger, sized, now=NOW)
    first = parse_qs(urlsplit(ledger.requests[before]).query)
    assert first["per_page"] == ["100"]


def test_a_checkpoint_reads_only_what_changed_since(ledger: Ledger) -> None:
    start = NOW - timedelta(days=2)
    records = read(ledger, odata_endpoint(24 * 30), window_start=start, now=NOW)
    assert sorted(names(records)) == sorted(ledger.between(start)) and 0 < len(records) < 10


# --- in the path, and beside a parent's values ---------------------------------------------------------------------


def test_a_window_in_the_path_is_percent_encoded(ledger: Ledger) -> None:
    window = TimeWindowConfig(start_param=None, end_param=None, lookback_days=30)
    start = NOW - timedelta(days=3, minutes=1)
    records = read(ledger, endpoint("/since/{window.start}", window), window_start=start, now=NOW)
    assert sorted(names(records)) == sorted(ledger.between(start))
    assert ledger.seen("/since/" + iso(start)) == []  # the raw path is not the bare value...
    assert ledger.requests[-1] == "/since/" + quote(iso(start), safe="")  # ...but the value, encoded once


def test_a_placeholder_may_name_its_own_format(ledger: Ledger) -> None:
    window = TimeWindowConfig(start_param=None, end_param=None, lookback_days=30, format="epoch")
    target = endpoint(
        "/frappe/ledger",
        window,
        params={"filters": '[["modified",">=","{window.start:datetime_space}"]]'},
        pagination=FRAPPE_PAGES,
    )
    start = NOW - timedelta(hours=20)
    assert sorted(names(read(ledger, target, window_start=start, now=NOW))) == sorted(ledger.between(start))
    sent = parse_qs(urlsplit(ledger.requests[-1]).query)["filters"]
    assert sent == [f'[["modified",">=","{format_time(start, "datetime_space")}"]]']


def test_parent_values_and_the_window_are_filled_in_one_pass(ledger: Ledger) -> None:
    """A parent's value that happens to hold ``{window.start}`` is sent as it is, not filled again; and a parent's
    value in a query parameter is encoded once (a space is %20 or +, never %2520)."""
    parents = endpoint("/parents", TimeWindowConfig(), key="warehouses")
    parents = EndpointConfig(**{**parents.__dict__, "time_window": None})
    window = TimeWindowConfig(start_param=None, end_param=None, lookback_days=30, format="datetime_space")
    moves = endpoint(
        "/by-warehouse",
        window,
        params={"warehouse": "{parent.code}", "since": "{window.start}"},
        parent="warehouses",
    )
    start = NOW - timedelta(days=4)
    records = read(ledger, moves, parents, window_start=start, now=NOW)
    assert sorted(names(records)) == sorted(ledger.between(start))
    sent = [parse_qs(urlsplit(r).query) for r in ledger.seen("/by-warehouse")]
    assert sorted(q["warehouse"][0] for q in sent) == ["Stores", "W {window.start}"]
    assert all(q["since"] == [frappe_time(start)] for q in sent)
    assert all("%25" not in r for r in ledger.seen("/by-warehouse"))


# --- validation, through the API ---------------------------------------------------------------------------------


def connector_body(ledger: Ledger, **endpoint_changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "key": "ledger",
        "resource": "stock_movements",
        "path": "/frappe/ledger",
        "record_path": "$.data",
        "params": {"filters": '[["modified",">=","{window.start}"]]'},
        "pagination": {"kind": "offset", "offset_param": "limit_start", "limit_param": "limit_page_length"},
        "time_window": {"start_param": "", "end_param": "", "format": "datetime_space", "lookback_days": 36500},
    }
    body.update(endpoint_changes)
    return {
        "name": f"Windows {datetime.now(UTC).timestamp()}",
        "base_url": ledger.base,
        "endpoints": [body],
        "rate_limit_per_second": 1000,
        "rate_limit_burst": 100,
    }


def test_a_window_in_placeholders_is_accepted_and_stored_as_given(atlas: Any, ledger: Ledger) -> None:
    admin, _ = atlas.new_tenant()
    response = admin.post("/api/connectors", json=connector_body(ledger))
    assert response.status_code == 201, response.text
    stored = response.json()["endpoints"][0]
    assert stored["params"]["filters"] == '[["modified",">=","{window.start}"]]'
    assert stored["time_window"]["start_param"] == "" and stored["time_window"]["format"] == "datetime_space"
    tested = admin.post(f"/api/connectors/{response.json()['id']}/test")
    assert tested.status_code == 200, tested.text
    check = tested.json()["latest"][0]
    assert check["ok"] and check["sample_count"] == 90, check  # the first page, a window reaching back to the start
    since = json.loads(parse_qs(urlsplit(ledger.seen("/frappe/ledger")[-1]).query)["filters"][0])[0][2]
    assert since < "1927-02"  # 36,500 days back: every record a ledger can have


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        (
            {"params": {"filters": '[["modified",">=","{window.begin}"]]'}},
            "errors.window_placeholder_unknown",
            "endpoints[0].params.filters",
        ),
        (
            {"params": {"filters": '[["modified",">=","{window.start:rfc822}"]]'}},
            "errors.window_placeholder_unknown",
            "endpoints[0].params.filters",
        ),
        ({"path": "/since/{window.stat}", "params": {}}, "errors.window_placeholder_unknown", "endpoints[0].path"),
        ({"time_window": None}, "errors.window_placeholder_without_window", "endpoints[0].params.filters"),
        ({"params": {}}, "errors.window_start_unsent", "endpoints[0].time_window.start_param"),
        (
            {"time_window": {"start_param": " ", "end_param": None}},
            "errors.paging_param_empty",
            "endpoints[0].time_window.start_param",
        ),
        (
            {"time_window": {"lookback_days": 36501, "start_param": None, "end_param": None}},
            "errors.out_of_range",
            "endpoints[0].time_window.lookback_days",
        ),
    ],
)
def test_bad_window_placeholders_are_refused_naming_the_field(
    atlas: Any, ledger: Ledger, change: dict[str, Any], code: str, field: str
) -> None:
    admin, _ = atlas.new_tenant()
    response = admin.post("/api/connectors", json=connector_body(ledger, **change))
    assert response.status_code == 422, response.text
    assert (response.json()["code"], response.json()["field"]) == (code, field)
    assert admin.get("/api/connectors").json() == []


def test_an_empty_size_param_means_no_page_size_and_blank_is_still_refused(atlas: Any, ledger: Ledger) -> None:
    admin, _ = atlas.new_tenant()
    next_link = {"kind": "cursor", "cursor_source": "next_url", "cursor_path": "$['@odata.nextLink']"}
    plain = {"time_window": None, "params": {}, "path": "/odata/entries", "record_path": "$.value"}
    accepted = admin.post(
        "/api/connectors", json=connector_body(ledger, **plain, pagination={**next_link, "size_param": ""})
    )
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["endpoints"][0]["pagination"]["size_param"] == ""
    refused = admin.post(
        "/api/connectors", json=connector_body(ledger, **plain, pagination={**next_link, "size_param": " "})
    )
    assert refused.status_code == 422
    assert refused.json()["field"] == "endpoints[0].pagination.size_param"


@pytest.mark.browser
def test_editing_a_windowed_connector_in_the_form_keeps_its_window(atlas: Any, browser: Any, ledger: Ledger) -> None:
    """A connector whose window travels in a placeholder (as the ERPNext preset lays it down: no start parameter of
    its own, Frappe's datetime format, 36,500 days back) opens in the form with those values and saves unchanged."""
    admin, _ = atlas.new_tenant()
    created = admin.post("/api/connectors", json=connector_body(ledger))
    assert created.status_code == 201, created.text
    connector_id = created.json()["id"]
    context, tab = signed_in_page(browser, atlas.base_url, admin, lang="en", locale="en-GB")
    tab.goto(f"{atlas.base_url}/app/connectors/{connector_id}")
    tab.get_by_test_id("edit-connector").click()
    tab.wait_for_selector("[data-connector-form][data-ready]")
    assert tab.input_value("[name='endpoints.0.time_window.start_param']") == ""
    assert tab.input_value("[name='endpoints.0.time_window.format']") == "datetime_space"
    assert tab.input_value("[name='endpoints.0.time_window.lookback_days']") == "36500"
    tab.get_by_test_id("connector-save").click()
    tab.wait_for_url(f"{atlas.base_url}/app/connectors/{connector_id}")
    window = admin.get(f"/api/connectors/{connector_id}").json()["endpoints"][0]["time_window"]
    assert not window["start_param"] and not window["end_param"]  # still none of their own ("" or null alike)
    assert (window["format"], window["lookback_days"]) == ("datetime_space", 36500)
    # Cleared by hand with no placeholder to carry it, the start is refused, named, rather than silently "from".
    tab.get_by_test_id("edit-connector").click()
    tab.wait_for_selector("[data-connector-form][data-ready]")
    tab.locator("[data-param-row] [data-param-value]").first.fill("[]")
    tab.get_by_test_id("connector-save").click()
    tab.wait_for_selector("text=never sends its start")
    context.close()
