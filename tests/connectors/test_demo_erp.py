"""The demo ERP as a real HTTP server: auth, read-only, every pagination style walked to the end, determinism,
stock consistency, and the SPEC section 12 scenarios as Atlas sees them through the API."""

from __future__ import annotations

import base64
import json
import statistics
import threading
import warnings
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
import uvicorn
from litestar.exceptions import LitestarDeprecationWarning

from atlas.connectors.demo_erp import data
from atlas.connectors.demo_erp.app import create_app
from tests.services import free_port, wait_until

AS_OF = date(2026, 11, 20)
DEMO = {"X-API-Key": data.DEMO_API_KEY}
ENTERPRISE = {"X-API-Key": data.ENTERPRISE_API_KEY}
API_PATHS = [
    "/api/v1/items",
    "/api/v1/warehouses",
    "/api/v1/stock",
    "/api/v1/warehouses/WH-RUH-01/stock",
    "/api/v1/movements?from=2026-11-01&to=2026-11-02",
]
DAYS = data.HISTORY_DAYS
HISTORY_START = datetime.combine(AS_OF - timedelta(days=DAYS - 1), time(0), data.RIYADH_TZ)  # midnight in Riyadh
HISTORY_END = datetime.combine(AS_OF + timedelta(days=1), time(0), data.RIYADH_TZ)


@pytest.fixture(scope="module")
def erp_url() -> Iterator[str]:
    """The demo ERP under uvicorn on a free port, in a background thread."""
    port = free_port()
    config = uvicorn.Config(
        create_app(AS_OF), host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started, what="demo ERP")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture(scope="module")
def client(erp_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=erp_url, timeout=30) as http:
        yield http


def get_json(client: httpx.Client, url: str, headers: dict[str, str] = DEMO, **params: Any) -> Any:
    response = client.get(url, headers=headers, params=params)
    assert response.status_code == 200, response.text
    return response.json()


# --- walking each pagination style to the end ----------------------------------------------------------------


def walk_pages(client: httpx.Client, path: str, per_page: int, headers: dict[str, str] = DEMO) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    page = 1
    while True:
        body = get_json(client, path, headers, page=page, per_page=per_page)
        meta = body["meta"]
        assert (meta["page"], meta["per_page"]) == (page, per_page)
        assert meta["total_pages"] == -(-meta["total_items"] // per_page)
        if page > meta["total_pages"]:
            assert body["data"] == []
            break
        assert 0 < len(body["data"]) <= per_page
        records += body["data"]
        page += 1
    assert len(records) == meta["total_items"]
    return records


def walk_cursor(client: httpx.Client, limit: int, headers: dict[str, str] = DEMO) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": limit}
    while True:
        body = get_json(client, "/api/v1/stock", headers, **params)
        assert set(body) == {"items", "next_cursor"}
        records += body["items"]
        if body["next_cursor"] is None:
            return records
        assert len(body["items"]) == limit
        params["cursor"] = body["next_cursor"]


def walk_movements(
    client: httpx.Client, erp_url: str, start: datetime, end: datetime, page_size: int, headers: dict[str, str] = DEMO
) -> list[dict[str, Any]]:
    """Every movement in [start, end), in windows of at most 60 days, following the Link headers."""
    records: list[dict[str, Any]] = []
    window_start = start
    while window_start < end:
        window_end = min(end, window_start + timedelta(days=60))
        url: str | None = "/api/v1/movements"
        params: dict[str, Any] | None = {
            "from": window_start.isoformat(),
            "to": window_end.isoformat(),
            "page_size": page_size,
        }
        while url is not None:
            response = client.get(url, headers=headers, params=params)
            assert response.status_code == 200, response.text
            page = response.json()["movements"]
            for movement in page:
                assert window_start <= datetime.fromisoformat(movement["occurred_at"]) < window_end
            records += page
            link = response.headers.get("link")
            if link is None:
                url = None
            else:
                assert len(page) == page_size
                target, rel = link.split(";", 1)
                assert rel.strip() == 'rel="next"'
                url, params = target.strip().removeprefix("<").removesuffix(">"), None
                assert url.startswith(f"{erp_url}/api/v1/movements?"), url  # absolute
        window_start = window_end
    return records


@dataclass
class Snapshot:
    """What a connector collects from the demo ERP with the demo key, through the API."""

    items: list[dict[str, Any]]
    locations: list[dict[str, Any]]
    balances: list[dict[str, Any]]
    movements: list[dict[str, Any]]

    def day(self, movement: dict[str, Any]) -> int:
        """Day index of a movement in the history: 0 .. DAYS-1, the last being AS_OF."""
        return (datetime.fromisoformat(movement["occurred_at"]).date() - (AS_OF - timedelta(days=DAYS - 1))).days

    def daily_sales(self) -> dict[tuple[str, str], list[int]]:
        sales: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0] * DAYS)
        for movement in self.movements:
            if movement["type"] == "SALE":
                sales[(movement["sku"], movement["warehouse_id"])][self.day(movement)] += movement["quantity"]
        return sales

    def balance(self, sku: str, warehouse_id: str) -> dict[str, Any]:
        return next(b for b in self.balances if (b["sku"], b["warehouse_id"]) == (sku, warehouse_id))


@pytest.fixture(scope="module")
def snapshot(client: httpx.Client, erp_url: str) -> Snapshot:
    locations = get_json(client, "/api/v1/warehouses", limit=100)["results"]
    return Snapshot(
        items=walk_pages(client, "/api/v1/items", 40),
        locations=locations,
        balances=walk_cursor(client, 150),
        movements=walk_movements(client, erp_url, HISTORY_START, HISTORY_END, 1000),
    )


def sku(item_id: int) -> str:
    return f"SKU-{item_id:04d}"


# --- health, OpenAPI, auth, read-only ------------------------------------------------------------------------


def test_health_and_openapi_are_public(client: httpx.Client) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    response = client.get("/openapi.json")
    assert response.status_code == 200
    document = json.loads(response.content)
    assert document["openapi"].startswith("3.1")
    assert set(document["paths"]) == {
        "/api/v1/items",
        "/api/v1/warehouses",
        "/api/v1/warehouses/{id}/stock",
        "/api/v1/stock",
        "/api/v1/movements",
        "/api/v1/open-orders",
        "/health",
        "/openapi.json",
    }
    assert document["components"]["securitySchemes"]["ApiKeyAuth"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
    }
    movement_params = {p["name"]: p for p in document["paths"]["/api/v1/movements"]["get"]["parameters"]}
    assert movement_params["from"]["required"] and movement_params["to"]["required"]
    assert "Link" in document["paths"]["/api/v1/movements"]["get"]["responses"]["200"]["headers"]
    assert {"Item", "Warehouse", "StockBalance", "Movement", "Error"} <= set(document["components"]["schemas"])
    assert document["servers"] == [{"url": str(client.base_url).rstrip("/")}]


@pytest.mark.parametrize("path", API_PATHS)
def test_both_keys_are_accepted_and_anything_else_is_401(client: httpx.Client, path: str) -> None:
    assert client.get(path, headers=DEMO).status_code == 200
    assert client.get(path, headers=ENTERPRISE).status_code == 200
    for headers in ({}, {"X-API-Key": "wrong"}, {"X-API-Key": data.DEMO_API_KEY.lower()}, {"X-API-Key": ""}):
        response = client.get(path, headers=headers)
        assert response.status_code == 401, headers
        assert response.headers["content-type"].startswith("application/json")
        error = response.json()["error"]
        assert error["code"] == "unauthorized" and error["message"]
    head = client.head(path)
    assert head.status_code == 401 and head.content == b""


@pytest.mark.parametrize("path", [*API_PATHS, "/health", "/openapi.json"])
def test_only_reads_are_allowed(client: httpx.Client, path: str) -> None:
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        response = client.request(method, path, headers=DEMO, json={"quantity": 1})
        assert response.status_code == 405, (method, path)
        assert response.headers["allow"] == "GET, HEAD, OPTIONS"
        assert response.json()["error"]["code"] == "method_not_allowed"
    options = client.options(path)
    assert options.status_code in (200, 204)
    assert options.headers["allow"] == "GET, HEAD, OPTIONS"
    get, head = client.get(path, headers=DEMO), client.head(path, headers=DEMO)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(get.content))
    assert head.headers.get("link") == get.headers.get("link")


def test_unknown_paths_and_locations_are_404_json(client: httpx.Client) -> None:
    for path in ("/", "/api/v1/nothing", "/api/v2/items"):
        response = client.get(path, headers=DEMO)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    response = client.get("/api/v1/warehouses/WH-XXX-99/stock", headers=DEMO)
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_out_of_range_parameters_are_400_json(client: httpx.Client) -> None:
    for path, params in (
        ("/api/v1/items", {"page": 0}),
        ("/api/v1/items", {"page": "two"}),
        ("/api/v1/items", {"per_page": 201}),
        ("/api/v1/warehouses", {"offset": -1}),
        ("/api/v1/warehouses", {"limit": 0}),
        ("/api/v1/stock", {"limit": 501}),
        ("/api/v1/warehouses/WH-RUH-01/stock", {"per_page": 0}),
        ("/api/v1/movements", {"from": "2026-11-01", "to": "2026-11-02", "page_size": 1001}),
    ):
        response = client.get(path, headers=DEMO, params=params)
        assert response.status_code == 400, (path, params)
        assert response.json()["error"]["code"] == "invalid_parameter"
        assert response.json()["error"]["message"]


# --- pagination ----------------------------------------------------------------------------------------------


def test_item_pages_hold_every_item_once(client: httpx.Client, snapshot: Snapshot) -> None:
    assert [item["id"] for item in snapshot.items] == list(range(1, 101))
    assert [item["item_code"] for item in snapshot.items] == [sku(i) for i in range(1, 101)]
    assert get_json(client, "/api/v1/items")["meta"] == {
        "page": 1,
        "per_page": 50,
        "total_pages": 2,
        "total_items": 100,
    }
    enterprise = walk_pages(client, "/api/v1/items", 200, ENTERPRISE)
    assert [item["id"] for item in enterprise] == list(range(1, 301))

    first = snapshot.items[0]
    assert set(first) == {
        "id",
        "item_code",
        "description",
        "category",
        "uom",
        "cost",
        "supplier",
        "active",
        "updated_at",
        "ordering",
    }
    categories = Counter(item["category"]["code"] for item in snapshot.items)
    assert len(categories) >= 6 and min(categories.values()) >= 5
    for item in enterprise:
        assert item["description"]["en"] and any("\u0600" <= ch <= "\u06ff" for ch in item["description"]["ar"])
        assert item["cost"]["currency"] == "SAR"
        amount = item["cost"]["amount"]
        assert isinstance(amount, str) and amount.count(".") == 1 and len(amount.split(".")[1]) == 2
        assert float(amount) > 0
        assert 3 <= item["supplier"]["lead_time_days"] <= 21
        assert datetime.fromisoformat(item["updated_at"]).utcoffset() == timedelta(hours=3)


def test_warehouse_offsets_hold_every_location_once(client: httpx.Client, snapshot: Snapshot) -> None:
    seen: list[str] = []
    offset = 0
    while True:
        body = get_json(client, "/api/v1/warehouses", offset=offset, limit=3)
        assert (body["offset"], body["limit"], body["total"]) == (offset, 3, 4)
        if not body["results"]:
            break
        seen += [location["id"] for location in body["results"]]
        offset += 3
    assert seen == [location["id"] for location in snapshot.locations]
    assert len(set(seen)) == 4
    assert {location["type"] for location in snapshot.locations} == {"warehouse", "store"}
    riyadh = snapshot.locations[0]
    assert riyadh == {
        "id": "WH-RUH-01",
        "code": "RUH-01",
        "name": {"en": "Riyadh Central Warehouse", "ar": "مستودع الرياض المركزي"},
        "type": "warehouse",
        "address": {"city": "Riyadh", "district": "Al Sulay", "country": "SA"},
    }


def test_stock_cursor_holds_every_balance_once(client: httpx.Client, snapshot: Snapshot) -> None:
    expected = data.dataset(data.Catalogue.DEMO, AS_OF).balances
    keys = [(b["sku"], b["warehouse_id"]) for b in snapshot.balances]
    assert len(keys) == len(set(keys)) == len(expected)
    assert keys == [(b.sku, b.warehouse_id) for b in expected]
    assert walk_cursor(client, 500) == snapshot.balances  # another page size, the same records
    for balance in snapshot.balances:
        assert balance["available"] == balance["on_hand"] - balance["reserved"]
        assert 0 <= balance["reserved"] <= balance["on_hand"]
        assert balance["as_of"] == "2026-11-20T23:59:59+03:00"
    assert len(walk_cursor(client, 500, ENTERPRISE)) == len(data.dataset(data.Catalogue.ENTERPRISE, AS_OF).balances)


def test_per_warehouse_stock_pages_add_up_to_the_stock_list(client: httpx.Client, snapshot: Snapshot) -> None:
    collected: list[dict[str, Any]] = []
    for location in snapshot.locations:
        page = walk_pages(client, f"/api/v1/warehouses/{location['id']}/stock", 25)
        assert {b["warehouse_id"] for b in page} == {location["id"]}
        collected += page

    def key(balance: dict[str, Any]) -> tuple[str, str]:
        return balance["sku"], balance["warehouse_id"]

    assert sorted(collected, key=key) == sorted(snapshot.balances, key=key)


def test_movement_windows_hold_every_movement_once_oldest_first(
    client: httpx.Client, erp_url: str, snapshot: Snapshot
) -> None:
    expected = data.dataset(data.Catalogue.DEMO, AS_OF).movements
    ids = [m["movement_id"] for m in snapshot.movements]
    assert len(ids) == len(set(ids)) == len(expected)
    assert ids == [m.movement_id for m in expected]
    times = [datetime.fromisoformat(m["occurred_at"]) for m in snapshot.movements]
    assert times == sorted(times)
    assert times[0] >= HISTORY_START and times[-1] < HISTORY_END
    assert all(m["occurred_at"].endswith("+03:00") for m in snapshot.movements)
    assert all(m["quantity"] > 0 for m in snapshot.movements)

    # other windows and page sizes give the same movements; windows are half-open
    week = walk_movements(client, erp_url, datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 8, tzinfo=UTC), 97)
    week_start, week_end = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 8, tzinfo=UTC)
    utc_week = [m for m, t in zip(snapshot.movements, times, strict=True) if week_start <= t < week_end]
    assert week == utc_week and len(week) > 97

    # a page token carries on from where it was made, and is absolute in the Link header
    first = client.get("/api/v1/movements", headers=DEMO, params={"from": "2026-11-01", "to": "2026-11-02"})
    link = first.headers["link"]
    query = parse_qs(urlparse(link[1 : link.index(">")]).query)
    assert query["from"] == ["2026-11-01T00:00:00+03:00"] and query["page_size"] == ["200"]
    assert len(first.json()["movements"]) == 200


def test_bad_cursors_tokens_and_windows_are_400(client: httpx.Client) -> None:
    def error(path: str, **params: Any) -> str:
        response = client.get(path, headers=DEMO, params=params)
        assert response.status_code == 400, (path, params, response.text)
        return str(response.json()["error"]["code"])

    def token(payload: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()

    stock_cursor = get_json(client, "/api/v1/stock", limit=5)["next_cursor"]
    window = {"from": "2026-11-01", "to": "2026-11-02"}
    link = client.get("/api/v1/movements", headers=DEMO, params=window).headers["link"]
    page_token = parse_qs(urlparse(link[1 : link.index(">")]).query)["page_token"][0]

    for cursor in (
        "garbage",
        "!!!",
        "",
        token({"k": "stock", "o": -1}),
        token({"k": "stock", "o": 10**9}),
        token({"k": "stock", "o": "5"}),
        token([1, 2]),
        page_token,
    ):
        assert error("/api/v1/stock", cursor=cursor) == "invalid_cursor"
    for bad in ("garbage", "%%%", stock_cursor, token({"k": "movements", "o": 1.5, "w": "x"})):
        assert error("/api/v1/movements", page_token=bad, **window) == "invalid_page_token"
    # a token from one window does not work for another
    assert error("/api/v1/movements", page_token=page_token, **{"from": "2026-11-01", "to": "2026-11-03"}) == (
        "invalid_page_token"
    )
    assert error("/api/v1/movements") == "invalid_window"
    assert error("/api/v1/movements", **{"from": "2026-11-01"}) == "invalid_window"
    assert error("/api/v1/movements", to="2026-11-01") == "invalid_window"
    assert error("/api/v1/movements", **{"from": "yesterday", "to": "2026-11-01"}) == "invalid_window"
    assert error("/api/v1/movements", **{"from": "2026-11-02", "to": "2026-11-01"}) == "invalid_window"
    assert error("/api/v1/movements", **{"from": "2026-06-01", "to": "2026-09-03"}) == "invalid_window"  # 94 days
    longest = client.get("/api/v1/movements", headers=DEMO, params={"from": "2026-06-01", "to": "2026-09-02"})
    assert longest.status_code == 200  # 93 days is the longest window
    # an unencoded '+' (read as a space) still means a UTC offset
    raw = client.get("/api/v1/movements?from=2026-11-01T00:00:00+03:00&to=2026-11-02T00:00:00+03:00", headers=DEMO)
    assert raw.status_code == 200 and raw.headers["link"] == link


# --- determinism and the two catalogues ----------------------------------------------------------------------


def test_the_same_as_of_gives_byte_identical_responses(client: httpx.Client) -> None:
    paths = [
        "/api/v1/items?page=2",
        "/api/v1/stock?limit=300",
        "/api/v1/warehouses/ST-RUH-02/stock",
        "/api/v1/movements?from=2026-10-01&to=2026-10-20&page_size=1000",
    ]
    before = [client.get(path, headers=DEMO).content for path in paths]
    built = data.dataset(data.Catalogue.DEMO, AS_OF)
    data.dataset.cache_clear()
    data._histories.cache_clear()  # rebuild from scratch: the seed alone must decide the data
    rebuilt = data.dataset(data.Catalogue.DEMO, AS_OF)
    assert rebuilt is not built
    assert (rebuilt.items, rebuilt.balances, rebuilt.movements) == (built.items, built.balances, built.movements)
    assert [client.get(path, headers=DEMO).content for path in paths] == before
    other_day = data.dataset(data.Catalogue.DEMO, AS_OF + timedelta(days=1))
    assert other_day.movements[-1].occurred_at.date() == AS_OF + timedelta(days=1)
    assert data.resolve_as_of(None) == (datetime.now(UTC) + timedelta(hours=3)).date()  # Riyadh: UTC+3 all year


def test_the_enterprise_key_sees_more_items_and_the_same_first_100(client: httpx.Client) -> None:
    demo, enterprise = data.dataset(data.Catalogue.DEMO, AS_OF), data.dataset(data.Catalogue.ENTERPRISE, AS_OF)
    assert (len(demo.items), len(enterprise.items)) == (100, 300)
    assert enterprise.items[:100] == demo.items
    first_100 = {sku(i) for i in range(1, 101)}
    assert [b for b in enterprise.balances if b.sku in first_100] == list(demo.balances)
    assert [m for m in enterprise.movements if m.sku in first_100] == list(demo.movements)
    assert client.get("/api/v1/items?per_page=100", headers=DEMO).content == client.get(
        "/api/v1/items?per_page=100", headers=ENTERPRISE
    ).content.replace(b'"total_pages":3,"total_items":300', b'"total_pages":1,"total_items":100')
    packs = get_json(client, "/api/v1/items", ENTERPRISE, page=2, per_page=100)["data"]
    assert packs[0]["description"]["en"].startswith(demo.items[0].name_en + ", Pack of")


# --- consistency ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("catalogue", list(data.Catalogue))
def test_balances_are_opening_stock_plus_the_signed_movements(catalogue: data.Catalogue) -> None:
    built = data.dataset(catalogue, AS_OF)
    running = dict(built.opening_stock)
    assert all(stock >= 0 for stock in running.values())
    for movement in built.movements:  # oldest first: the stock never dips below zero on the way
        key = (movement.sku, movement.warehouse_id)
        running[key] += movement.signed_quantity
        assert running[key] >= 0, movement
    for balance in built.balances:
        assert balance.on_hand == running[(balance.sku, balance.warehouse_id)] >= 0
        assert 0 <= balance.reserved <= balance.on_hand
        assert balance.available == balance.on_hand - balance.reserved
    assert set(running) == {(b.sku, b.warehouse_id) for b in built.balances}

    kinds = Counter(m.type for m in built.movements)
    assert kinds["SALE"] > kinds["GOODS_RECEIPT"] > kinds["ADJUSTMENT"] > 0
    assert kinds["TRANSFER_IN"] == kinds["TRANSFER_OUT"] > 0
    outs = Counter((m.reference, m.sku, m.quantity, m.occurred_at) for m in built.movements if m.type == "TRANSFER_OUT")
    ins = Counter((m.reference, m.sku, m.quantity, m.occurred_at) for m in built.movements if m.type == "TRANSFER_IN")
    assert outs == ins
    directions = {(m.type, m.direction) for m in built.movements}
    assert directions == {
        ("SALE", "out"),
        ("GOODS_RECEIPT", "in"),
        ("TRANSFER_IN", "in"),
        ("TRANSFER_OUT", "out"),
        ("ADJUSTMENT", "in"),
        ("ADJUSTMENT", "out"),
    }


# --- the SPEC section 12 scenarios, as a connector sees them --------------------------------------------------


def test_items_1_to_5_are_near_stockout_at_their_main_location(snapshot: Snapshot) -> None:
    sales = snapshot.daily_sales()
    for item_id in data.SCENARIOS["near_stockout"]:
        main = data.MAIN_LOCATIONS[item_id]
        mean_daily = sum(sales[(sku(item_id), main)][-30:]) / 30
        balance = snapshot.balance(sku(item_id), main)
        assert mean_daily >= 3, item_id  # steady demand...
        assert balance["on_hand"] > 0 and balance["on_hand"] / mean_daily <= 4, (item_id, balance, mean_daily)
        assert balance["available"] / mean_daily <= 4  # ...and only days of cover left


def test_items_6_to_10_have_a_sudden_demand_spike(snapshot: Snapshot) -> None:
    sales = snapshot.daily_sales()
    for item_id in data.SCENARIOS["demand_spike"]:
        daily = [sum(sales[(sku(item_id), loc["id"])][d] for loc in snapshot.locations) for d in range(DAYS)]
        last_7, prior_30 = sum(daily[-7:]) / 7, sum(daily[-37:-7]) / 30
        assert prior_30 > 0 and last_7 >= 3 * prior_30, (item_id, last_7, prior_30)
        main = sales[(sku(item_id), data.MAIN_LOCATIONS[item_id])]
        assert sum(main[-7:]) / 7 >= 3 * sum(main[-37:-7]) / 30
    for item_id in (16, 17, 18, 19, 20):  # normal items do not spike
        daily = [sum(sales[(sku(item_id), loc["id"])][d] for loc in snapshot.locations) for d in range(DAYS)]
        assert sum(daily[-7:]) / 7 < 2 * sum(daily[-37:-7]) / 30


def test_items_11_to_15_have_abnormally_large_transactions(snapshot: Snapshot) -> None:
    def large_recent(item_sku: str, location: str | None) -> list[dict[str, Any]]:
        """SALE or ADJUSTMENT movements of the last 14 days at least 10x the median SALE (of the location)."""
        scope = [m for m in snapshot.movements if m["sku"] == item_sku and location in (None, m["warehouse_id"])]
        sale_sizes = [m["quantity"] for m in scope if m["type"] == "SALE"]
        if not sale_sizes:
            return []
        median = statistics.median(sale_sizes)
        return [
            m
            for m in scope
            if m["type"] in ("SALE", "ADJUSTMENT") and snapshot.day(m) >= DAYS - 14 and m["quantity"] >= 10 * median
        ]

    for item_id in data.SCENARIOS["large_transaction"]:
        main = data.MAIN_LOCATIONS[item_id]
        at_main = large_recent(sku(item_id), main)
        assert 1 <= len(at_main) <= 2, item_id
        assert any(m["type"] == "SALE" for m in at_main)
        assert large_recent(sku(item_id), None)  # also against the item's median over every location
    normal = [i for i in range(16, 101) if i not in data.MAIN_LOCATIONS]
    flagged = [(i, loc["id"]) for i in normal for loc in snapshot.locations if large_recent(sku(i), loc["id"])]
    assert flagged == []


def test_items_61_to_65_are_dead_stock(snapshot: Snapshot) -> None:
    for item_id in data.SCENARIOS["dead_stock"]:
        balance = snapshot.balance(sku(item_id), data.MAIN_LOCATIONS[item_id])
        assert balance["on_hand"] >= 100, balance
        recent_sales = [
            m
            for m in snapshot.movements
            if m["sku"] == sku(item_id) and m["type"] == "SALE" and snapshot.day(m) >= DAYS - 120
        ]
        assert recent_sales == []


def test_normal_items_show_weekly_seasonality_slow_movers_and_replenishment(snapshot: Snapshot) -> None:
    sales = snapshot.daily_sales()
    start = AS_OF - timedelta(days=DAYS - 1)
    per_weekday: dict[int, list[float]] = defaultdict(list)
    zero_day_items = 0
    for item_id in range(1, 101):
        if item_id in data.MAIN_LOCATIONS:
            continue
        daily = [sum(sales[(sku(item_id), loc["id"])][d] for loc in snapshot.locations) for d in range(DAYS)]
        mean = sum(daily) / DAYS
        if daily.count(0) >= DAYS * 0.4:
            zero_day_items += 1
            continue
        by_weekday: dict[int, list[int]] = defaultdict(list)
        for d, quantity in enumerate(daily):
            by_weekday[(start + timedelta(days=d)).weekday()].append(quantity)
        for weekday, quantities in by_weekday.items():
            per_weekday[weekday].append(sum(quantities) / len(quantities) / mean)
    median_by_weekday = {weekday: statistics.median(values) for weekday, values in per_weekday.items()}
    assert max(median_by_weekday.values()) >= 1.2 * min(median_by_weekday.values()), median_by_weekday
    assert max(median_by_weekday, key=median_by_weekday.__getitem__) in (3, 4)  # Thursday or Friday
    assert zero_day_items >= 5  # slow movers: intermittent demand
    receipts = Counter(m["sku"] for m in snapshot.movements if m["type"] == "GOODS_RECEIPT")
    assert all(receipts[sku(i)] >= 2 for i in range(16, 61))  # periodic replenishment


def test_the_app_uses_no_deprecated_litestar_parameter_style() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        create_app(AS_OF)
    assert [w for w in caught if issubclass(w.category, LitestarDeprecationWarning)] == []
