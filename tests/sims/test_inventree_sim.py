"""The InvenTree simulation behaves as the real server does, so tests against it can be trusted.

Each test names the behaviour of InvenTree 1.x it holds the simulation to (sources in tests/sims/inventree.py).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.sims.canary import CANARY
from tests.sims.inventree import (
    API_VERSION,
    INVALID_CHOICE,
    PASSWORD,
    TOKEN,
    USERNAME,
    InvenTreeApi,
    inventree_server,
)
from tests.sims.inventree_data import SERIALS_IN_ONE_PLACE
from tests.sims.inventree_model import (
    SPLIT_CHILD_ITEM,
    SPLIT_FROM_PARENT,
    STOCK_ADD,
    STOCK_COUNT,
    STOCK_MOVE,
    STOCK_REMOVE,
    InvenTreeData,
)

AUTH = {"Authorization": f"Token {TOKEN}"}
MINUTES = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d$")


@pytest.fixture(scope="module")
def server() -> Iterator[InvenTreeApi]:
    with inventree_server(seed=14) as api:
        yield api


@pytest.fixture(scope="module")
def client(server: InvenTreeApi) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base, headers=AUTH, timeout=60) as http:
        yield http


def small() -> tuple[InvenTreeData, dict[str, int]]:
    """A hand-made inventory: one part in two locations, a clock the test moves."""
    moment = {"now": datetime(2026, 11, 20, 9, 30, 15, tzinfo=UTC)}
    data = InvenTreeData(clock=lambda: moment["now"])
    store = data.add_location("Store")
    shelf = data.add_location("Shelf 1", store.pk)
    bolt = data.add_part("Hex bolt M4", IPN="")
    return data, {"store": store.pk, "shelf": shelf.pk, "part": bolt.pk}


def total(rows: list[dict[str, Any]]) -> dict[tuple[int, int | None], tuple[Decimal, Decimal]]:
    sums: dict[tuple[int, int | None], tuple[Decimal, Decimal]] = {}
    for row in rows:
        key = (row["part"], row["location"])
        quantity, allocated = sums.get(key, (Decimal(0), Decimal(0)))
        sums[key] = (quantity + Decimal(repr(row["quantity"])), allocated + Decimal(repr(row["allocated"])))
    return sums


# --- the server's answers -----------------------------------------------------------------------------


def test_api_root_answers_without_login(server: InvenTreeApi) -> None:
    info = httpx.get(f"{server.base}/api/").json()
    assert info["server"] == "InvenTree" and info["apiVersion"] == API_VERSION == 421
    assert info["version"].startswith("1.") and info["database"] is None  # staff-only fields hidden


def test_without_limit_a_list_is_a_bare_array_of_everything(server: InvenTreeApi, client: httpx.Client) -> None:
    rows = client.get("/api/stock/").json()
    assert isinstance(rows, list) and len(rows) == len(server.data.items) > 1000
    assert isinstance(client.get("/api/stock/?limit=0").json(), list)  # not a positive limit: no pagination
    assert isinstance(client.get("/api/stock/?limit=abc").json(), list)
    assert isinstance(client.get("/api/part/").json(), list) and len(client.get("/api/part/").json()) == 500


def test_with_limit_pages_carry_absolute_links_that_keep_the_query(client: httpx.Client) -> None:
    everything = client.get("/api/stock/").json()
    first = client.get("/api/stock/", params={"zzz": "kept", "limit": 300}).json()
    assert list(first) == ["count", "next", "previous", "results"]
    assert first["count"] == len(everything) and first["previous"] is None
    assert first["next"] == f"{client.base_url}/api/stock/?limit=300&offset=300&zzz=kept"  # sorted, absolute
    seen, url = list(first["results"]), first["next"]
    while url:
        page = httpx.get(url, headers=AUTH).json()
        seen.extend(page["results"])
        url = page["next"]
    assert [r["pk"] for r in seen] == [r["pk"] for r in everything]  # every row once, in the same order
    second = client.get("/api/stock/?limit=300&offset=300").json()
    assert second["previous"] == f"{client.base_url}/api/stock/?limit=300"  # offset 0 is dropped
    past = client.get("/api/stock/?limit=10&offset=999999").json()
    assert past["results"] == [] and past["next"] is None and past["count"] == len(everything)


def test_unknown_parameters_are_ignored_so_a_misspelt_filter_returns_everything(
    server: InvenTreeApi, client: httpx.Client
) -> None:
    part = server.landmarks.serial_part if server.landmarks else 1
    assert len(client.get("/api/stock/", params={"prt": part}).json()) == len(server.data.items)
    assert len(client.get("/api/stock/", params={"part": part}).json()) == SERIALS_IN_ONE_PLACE
    assert client.get("/api/stock/", params={"part": "nope"}).status_code == 400  # a known filter is validated


def test_paths_end_in_a_slash_and_a_missing_slash_is_a_404_not_a_redirect(client: httpx.Client) -> None:
    response = client.get("/api/stock", follow_redirects=False)
    assert response.status_code == 404
    assert response.json() == {"detail": "API endpoint not found", "url": f"{client.base_url}/api/stock"}
    assert client.get("/api/stock/999999/").status_code == 404


def test_head_answers_without_a_body_and_options_with_metadata(server: InvenTreeApi, client: httpx.Client) -> None:
    head = client.head("/api/stock/?limit=1")
    assert head.status_code == 200 and head.content == b"" and int(head.headers["Content-Length"]) > 0
    with CANARY.deliberate():  # not a read: the canary files it with the writes
        options = client.options("/api/stock/track/")
    assert options.status_code == 200 and options.headers["Allow"] == "GET, HEAD, OPTIONS"
    assert "results" not in options.json() and isinstance(options.json(), dict)


def test_token_and_basic_authenticate_a_bearer_with_the_same_key_does_not(server: InvenTreeApi) -> None:
    url = f"{server.base}/api/part/?limit=1"
    assert httpx.get(url, headers={"Authorization": f"token {TOKEN}"}).status_code == 200  # keyword: any case
    basic = base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()
    assert httpx.get(url, headers={"Authorization": f"Basic {basic}"}).status_code == 200
    bearer = httpx.get(url, headers={"Authorization": f"Bearer {TOKEN}"})
    assert bearer.status_code == 401 and bearer.headers["WWW-Authenticate"] == "Token"
    assert bearer.json() == {"detail": "Authentication credentials were not provided."}
    wrong = httpx.get(url, headers={"Authorization": "Token not-a-token"})
    assert wrong.status_code == 401 and wrong.json() == {"detail": "Invalid token."}
    bad_basic = base64.b64encode(b"admin:wrong").decode()
    failed = httpx.get(url, headers={"Authorization": f"Basic {bad_basic}"})
    assert failed.status_code == 401 and failed.headers["WWW-Authenticate"] == "Token"
    assert httpx.get(f"{url}&token={TOKEN}").status_code == 401  # no key in the query string
    assert httpx.get(f"{server.base}/api/nowhere/").status_code == 404  # not found needs no login


def test_representation_matches_inventree(server: InvenTreeApi, client: httpx.Client) -> None:
    stock = client.get("/api/stock/").json()
    assert all(isinstance(r["quantity"], float) and isinstance(r["allocated"], float) for r in stock)
    assert all(MINUTES.match(r["updated"]) for r in stock)
    assert any(r["location"] is None for r in stock)
    assert any(r["allocated"] > 0 for r in stock)
    assert stock[0]["part_detail"]["pk"] == stock[0]["part"] and "location_detail" not in stock[0]
    priced = [r["part_detail"]["pricing_min"] for r in stock if r["part_detail"]["pricing_min"] is not None]
    assert priced and all(isinstance(p, str) and re.match(r"^\d+\.\d{6}$", p) for p in priced)
    parts = client.get("/api/part/").json()
    assert sum(1 for p in parts if p["IPN"] in ("", None)) > 100
    assert any(p["units"] == "" for p in parts) and any(p["units"] not in ("", None) for p in parts)
    assert any(p["category"] is None and p["category_name"] is None for p in parts)
    named = next(p for p in parts if p["category"] is not None)
    assert named["category_name"] == server.data.categories[named["category"]].name
    locations = client.get("/api/stock/location/").json()
    assert all("code" not in loc and "address" not in loc for loc in locations)
    nested = next(loc for loc in locations if loc["level"] == 2)
    assert nested["pathstring"].count("/") == 2 and nested["pathstring"].endswith(nested["name"])
    assert any(loc["location_type_detail"] is None for loc in locations)
    assert any(loc["location_type_detail"] and loc["location_type_detail"]["name"] for loc in locations)


def test_generated_data_has_the_mess_of_real_stock(server: InvenTreeApi, client: httpx.Client) -> None:
    landmarks = server.landmarks
    assert landmarks is not None
    serials = client.get("/api/stock/", params={"part": landmarks.serial_part}).json()
    assert {r["location"] for r in serials} == {landmarks.serial_location}
    assert len(serials) == SERIALS_IN_ONE_PLACE and all(r["quantity"] == 1.0 and r["serial"] for r in serials)
    assert len({r["serial"] for r in serials}) == SERIALS_IN_ONE_PLACE
    rows = client.get("/api/stock/").json()
    per_pair: dict[tuple[int, int | None], int] = {}
    for row in rows:
        per_pair[(row["part"], row["location"])] = per_pair.get((row["part"], row["location"]), 0) + 1
    assert sum(1 for n in per_pair.values() if n > 1) > 100  # lots, serials, splits
    assert any(r["batch"] for r in rows) and any(r["parent"] for r in rows)  # batches; split stock
    assert any(r["consumed_by"] is not None and r["location"] is None for r in rows)  # consumed by a build


def test_the_truth_is_what_the_stock_list_holds(server: InvenTreeApi, client: httpx.Client) -> None:
    truth = server.data.truth_balances()
    assert total(client.get("/api/stock/").json()) == truth
    serial = server.landmarks.serial_part if server.landmarks else 0
    assert truth[(serial, server.landmarks.serial_location if server.landmarks else 0)][0] == SERIALS_IN_ONE_PLACE


def test_same_seed_same_data() -> None:
    def snapshot() -> list[tuple[Any, ...]]:
        from tests.sims.inventree_data import populate

        data = InvenTreeData()
        populate(data, seed=3, parts=60, as_of=datetime(2026, 11, 30, tzinfo=UTC))
        return [(i.pk, i.part, i.location, i.quantity, i.batch, i.serial, i.updated) for i in data.items.values()]

    assert snapshot() == snapshot()


# --- history and filters --------------------------------------------------------------------------


def test_tracking_items_are_stock_rows_and_item_detail_names_the_part(
    server: InvenTreeApi, client: httpx.Client
) -> None:
    entries = client.get("/api/stock/track/", params={"item_detail": "true", "limit": 50}).json()["results"]
    assert [e["date"] for e in entries] == sorted((e["date"] for e in entries), reverse=True)  # -date
    for entry in entries:
        item = server.data.items[entry["item"]]
        assert entry["item_detail"]["pk"] == entry["item"] and entry["item_detail"]["part"] == item.part
        assert entry["item_detail"]["location"] == item.location  # where the item is now
        assert MINUTES.match(entry["date"])
    assert any(e["item"] != e["item_detail"]["part"] for e in entries)
    all_entries = client.get("/api/stock/track/").json()
    assert "item_detail" not in all_entries[0]
    # No date filter: a date parameter is unknown, so ignored.
    assert len(client.get("/api/stock/track/", params={"updated_after": "2030-01-01"}).json()) == len(all_entries)


def test_date_filters_take_dates_after_inclusive_before_exclusive_and_refuse_anything_else() -> None:
    data, ids = small()
    day = date(2026, 11, 22)
    moments = {
        "day_before": datetime(2026, 11, 21, 23, 59, 40, tzinfo=UTC),
        "midnight": datetime(2026, 11, 22, 0, 0, tzinfo=UTC),
        "morning": datetime(2026, 11, 22, 6, 8, 30, tzinfo=UTC),
        "next_day": datetime(2026, 11, 23, 0, 0, 20, tzinfo=UTC),
    }
    pks = {name: data.create_stock(ids["part"], 5, ids["shelf"], at=at).pk for name, at in moments.items()}
    with inventree_server(data=data) as api, httpx.Client(base_url=api.base, headers=AUTH) as http:

        def read(**params: str) -> set[int]:
            return {r["pk"] for r in http.get("/api/stock/", params=params).json()}

        after = read(updated_after="2026-11-22")
        # ``updated > midnight``: the whole day counts, except a change at exactly 00:00:00.000000
        assert after == {pks["morning"], pks["next_day"]} == set(data.stock_updated(after=day))
        before = read(updated_before="2026-11-23")
        assert before == {pks["day_before"], pks["midnight"], pks["morning"]}
        assert read(updated_after="2026-11-22", updated_before="2026-11-23") == {pks["morning"]}
        assert read(updated_after="") == set(pks.values())  # an empty value is no filter
        for bad in ("2026-11-22 06:08", "22/11/2026", "2026-13-01", "yesterday"):
            response = http.get("/api/stock/", params={"updated_after": bad})
            assert response.status_code == 400, bad
            assert response.json() == {"updated_after": ["Enter a valid date."]}
        assert http.get("/api/stock/", params={"updated_before": "x", "updated_after": "y"}).json() == {
            "updated_after": ["Enter a valid date."],
            "updated_before": ["Enter a valid date."],
        }
        row = http.get(f"/api/stock/{pks['morning']}/").json()
        assert row["updated"] == "2026-11-22 06:08"  # minutes, no zone


def test_using_up_a_stock_item_deletes_it_with_its_history() -> None:
    data, ids = small()
    lot_a = data.create_stock(ids["part"], 10, ids["shelf"], batch="A").pk
    lot_b = data.create_stock(ids["part"], 4, ids["shelf"], batch="B").pk
    data.add_stock(lot_a, 5)
    data.remove_stock(lot_a, 3)
    assert data.truth_balances() == {(ids["part"], ids["shelf"]): (Decimal(16), Decimal(0))}
    with inventree_server(data=data) as api, httpx.Client(base_url=api.base, headers=AUTH) as http:
        history = http.get("/api/stock/track/", params={"item": lot_a}).json()
        assert [e["tracking_type"] for e in history] == [STOCK_REMOVE, STOCK_ADD, 1]
        assert history[0]["deltas"] == {"removed": 3.0, "quantity": 12.0}
        assert history[1]["deltas"] == {"added": 5.0, "quantity": 15.0}
        data.use_up(lot_a)
        assert [r["pk"] for r in http.get("/api/stock/").json()] == [lot_b]
        assert {e["item"] for e in http.get("/api/stock/track/").json()} == {lot_b}
        gone = http.get("/api/stock/track/", params={"item": lot_a})
        assert gone.status_code == 400 and gone.json() == {"item": [INVALID_CHOICE]}  # the item no longer exists
        assert http.get(f"/api/stock/{lot_a}/").status_code == 404
    assert data.truth_balances() == {(ids["part"], ids["shelf"]): (Decimal(4), Decimal(0))}


def test_a_count_records_only_the_counted_quantity() -> None:
    data, ids = small()
    lot = data.create_stock(ids["part"], "12.5", ids["shelf"]).pk
    data.remove_stock(lot, "2.25")
    data.count_stock(lot, 9)
    with inventree_server(data=data) as api, httpx.Client(base_url=api.base, headers=AUTH) as http:
        latest = http.get("/api/stock/track/", params={"item": lot}).json()[0]
        assert latest["tracking_type"] == STOCK_COUNT and latest["deltas"] == {"quantity": 9.0}
        assert latest["label"] == "Stock counted"
        assert http.get(f"/api/stock/{lot}/").json()["stocktake_date"] == "2026-11-20"
    count = next(t for t in data.truth_track() if t.tracking_type == STOCK_COUNT)
    assert count.change == Decimal("-1.25") and count.level == Decimal(9)  # 9 counted, 10.25 before
    data.count_stock(lot, 0)
    assert lot not in data.items and data.truth_track() == []  # a count of zero deletes it, history and all


def test_a_move_keeps_the_pk_and_a_split_makes_a_new_one() -> None:
    data, ids = small()
    lot = data.create_stock(ids["part"], 20, ids["shelf"]).pk
    data.move_stock(lot, ids["store"])
    assert data.items[lot].location == ids["store"]
    assert data.truth_balances() == {(ids["part"], ids["store"]): (Decimal(20), Decimal(0))}
    child = data.split_stock(lot, 6)
    assert child != lot and data.items[child].location == ids["store"] and data.items[child].parent == lot
    moved = data.move_stock(lot, ids["shelf"], quantity=4)  # part of it: split into the new place
    assert moved not in (lot, child) and data.items[moved].location == ids["shelf"]
    assert data.truth_balances() == {
        (ids["part"], ids["store"]): (Decimal(16), Decimal(0)),
        (ids["part"], ids["shelf"]): (Decimal(4), Decimal(0)),
    }
    with inventree_server(data=data) as api, httpx.Client(base_url=api.base, headers=AUTH) as http:
        parent = http.get("/api/stock/track/", params={"item": lot}).json()
        assert [e["tracking_type"] for e in parent] == [SPLIT_CHILD_ITEM, SPLIT_CHILD_ITEM, STOCK_MOVE, 1]
        assert parent[2]["deltas"]["location"] == ids["store"]
        assert parent[2]["deltas"]["location_detail"]["pathstring"] == "Store"
        assert parent[1]["deltas"] == {
            "removed": 6.0,
            "quantity": 14.0,
            "stockitem": child,
            "stockitem_detail": parent[1]["deltas"]["stockitem_detail"],
        }
        born = http.get("/api/stock/track/", params={"item": child}).json()
        assert [e["tracking_type"] for e in born] == [SPLIT_FROM_PARENT]
        assert born[0]["deltas"]["stockitem"] == lot and born[0]["deltas"]["quantity"] == 6.0


def test_a_reservation_changes_allocated_but_not_updated() -> None:
    data, ids = small()
    lot = data.create_stock(ids["part"], 8, ids["shelf"]).pk
    stamp = data.items[lot].updated
    data.clock = lambda: stamp + timedelta(days=2)
    data.allocate(lot, 3)
    data.allocate(lot, 2, to="build")
    assert data.items[lot].updated == stamp
    assert data.truth_balances() == {(ids["part"], ids["shelf"]): (Decimal(8), Decimal(5))}
    data.deallocate(lot, 1)
    assert data.truth_balances()[(ids["part"], ids["shelf"])] == (Decimal(8), Decimal(4))


def test_serialising_copies_the_history_onto_every_serial_item() -> None:
    data, ids = small()
    board = data.add_part("Controller board", trackable=True).pk
    bulk = data.create_stock(board, 3, ids["shelf"]).pk
    data.add_stock(bulk, 1)
    serials = data.serialize_stock(bulk, ["1", "2", "3"], ids["shelf"])
    assert data.items[bulk].quantity == 1 and len(serials) == 3
    copied = [e for e in data.tracking.values() if e.item == serials[0]]
    assert sorted(e.tracking_type for e in copied) == [1, 1, 6, STOCK_ADD]  # own CREATED, the copies, serial
    data.take_stock(bulk, 1)
    assert bulk not in data.items  # the original is used up and deleted
    assert data.truth_balances() == {(board, ids["shelf"]): (Decimal(3), Decimal(0))}


def test_consumed_stock_stays_listed_without_a_location() -> None:
    data, ids = small()
    lot = data.create_stock(ids["part"], 10, ids["shelf"]).pk
    build = data.add_build(ids["part"]).pk
    data.allocate(lot, 4, to="build")
    consumed = data.consume_for_build(lot, 4, build)
    assert consumed != lot and data.items[consumed].location is None and not data.items[consumed].in_stock
    assert data.truth_balances() == {
        (ids["part"], ids["shelf"]): (Decimal(6), Decimal(0)),
        (ids["part"], None): (Decimal(4), Decimal(0)),
    }
    assert data.truth_balances(in_stock_only=True) == {(ids["part"], ids["shelf"]): (Decimal(6), Decimal(0))}


def test_a_broken_source_can_leave_out_most_pairs(server: InvenTreeApi, client: httpx.Client) -> None:
    everything = total(client.get("/api/stock/").json())
    hidden = server.data.answer_without_pairs(0.6)
    try:
        shown = total(client.get("/api/stock/").json())
        assert len(hidden) == round(len(everything) * 0.6)
        assert set(shown) == set(everything) - hidden and server.data.truth_balances() == everything
    finally:
        server.data.answer_everything()
    assert total(client.get("/api/stock/").json()) == everything


# --- writes ---------------------------------------------------------------------------------------


def test_writes_change_the_data_and_the_canary_hears_every_request() -> None:
    data, ids = small()
    lot = data.create_stock(ids["part"], 10, ids["shelf"]).pk
    before = len(CANARY.seen(system="inventree", kind="write"))
    with inventree_server(data=data) as api, httpx.Client(base_url=api.base, headers=AUTH) as http:
        with CANARY.deliberate():
            counted = http.post("/api/stock/count/", json={"items": [{"pk": lot, "quantity": 7}], "notes": "audit"})
            assert counted.status_code == 201
            created = http.post("/api/stock/", json={"part": ids["part"], "quantity": 3, "location": ids["store"]})
            assert created.status_code == 201 and isinstance(created.json(), list)
            assert http.post("/api/stock/track/", json={"item": lot}).status_code == 405
            assert http.patch(f"/api/stock/{lot}/", json={"batch": "X1"}).status_code == 200
            assert http.post("/api/part/", json={}).json() == {"name": ["This field is required."]}
            assert http.delete(f"/api/part/{ids['part']}/").status_code == 400  # still active
        assert data.items[lot].quantity == 7 and data.items[lot].batch == "X1"
        assert data.truth_balances()[(ids["part"], ids["store"])] == (Decimal(3), Decimal(0))
        http.get("/api/stock/")
    writes = CANARY.seen(system="inventree", kind="write")[before:]
    assert [w.method for w in writes] == ["POST", "POST", "POST", "PATCH", "POST", "DELETE"]
    assert all(w.deliberate for w in writes)
    assert CANARY.seen(system="inventree", kind="read")[-1].path == "/api/stock/"
