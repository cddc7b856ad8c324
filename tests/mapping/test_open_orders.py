"""Open orders (issue 17): purchase-order lines and transfers in transit land in Atlas exactly as the source holds
them, a full read replaces the open set, items carry their pack sizes, and the list is tenant-scoped."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlparse

import pytest

from atlas.mapping.engine import compile_mapping
from tests.mapping.test_sync import expected_dataset, setup_connector, sync
from tests.services import free_port
from tests.sims.canary import CANARY


@pytest.fixture(scope="module")
def synced(stack, demo_erp_url):
    admin, me = stack.atlas.new_tenant()
    connector_id = setup_connector(admin, demo_erp_url)
    run = sync(admin, connector_id)
    assert run["status"] == "succeeded", run
    return admin, me, connector_id, run


def test_the_demo_erp_open_orders_land_as_the_source_holds_them(synced, stack):
    admin, me, _, run = synced
    data = expected_dataset()
    assert data.open_orders and {o.type for o in data.open_orders} == {"purchase", "transfer"}
    assert any(o.received_qty for o in data.open_orders)  # partly received lines: open = ordered − received
    assert run["stats"]["open_orders"]["inserted"] == len(data.open_orders)
    assert run["stats"]["open_orders"]["quarantined"] == 0
    rows = stack.atlas.sql(
        """SELECT o.external_id, i.sku, l.external_id, o.open_qty, o.kind, o.expected_at, o.reference
           FROM open_orders o JOIN items i ON i.id = o.item_id JOIN locations l ON l.id = o.location_id
           WHERE o.tenant_id = %s""",
        (me["tenant_id"],),
    )
    truth = {
        (
            o.line_id,
            o.sku,
            o.warehouse_id,
            Decimal(o.ordered_qty - o.received_qty),
            o.type,
            o.expected_at,
            o.order_number,
        )
        for o in data.open_orders
    }
    assert {(e, s, loc, Decimal(q), k, at, ref) for e, s, loc, q, k, at, ref in rows} == truth


def test_items_carry_their_pack_sizes(synced, stack):
    _, me, _, _ = synced
    data = expected_dataset()
    rows = stack.atlas.sql(
        "SELECT sku, min_order_qty, order_multiple FROM items WHERE tenant_id = %s", (me["tenant_id"],)
    )
    assert {(sku, int(moq), int(multiple)) for sku, moq, multiple in rows} == {
        (i.item_code, i.min_order_qty, i.order_multiple) for i in data.items
    }
    assert any(multiple > 1 for _, _, multiple in rows)


def test_the_open_orders_list_pages_filters_and_stays_in_its_tenant(synced, stack):
    admin, me, _, _ = synced
    data = expected_dataset()
    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 50, **({"cursor": cursor} if cursor else {})}
        body = admin.get("/api/inventory/open-orders", params=params).json()
        assert body["total"] == len(data.open_orders)
        seen.extend(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert sorted(r["external_id"] for r in seen) == sorted(o.line_id for o in data.open_orders)
    transfers = admin.get("/api/inventory/open-orders", params={"kind": "transfer", "limit": 200}).json()
    assert transfers["total"] == sum(1 for o in data.open_orders if o.type == "transfer")
    assert {r["kind"] for r in transfers["items"]} == {"transfer"}
    line = next(o for o in data.open_orders if o.received_qty)
    found = admin.get("/api/inventory/open-orders", params={"q": line.order_number}).json()["items"]
    assert [(r["sku"], r["location_code"], Decimal(str(r["open_qty"]))) for r in found] == [
        (line.sku, next(loc.code for loc in data.locations if loc.id == line.warehouse_id), Decimal(line.open_qty))
    ]
    other, _ = stack.atlas.new_tenant()
    assert other.get("/api/inventory/open-orders").json()["total"] == 0


def test_the_inventory_page_lists_open_orders_in_both_languages(synced):
    admin, _, _, _ = synced
    data = expected_dataset()
    line = next(o for o in data.open_orders if o.type == "transfer")
    for lang, kind in (("en", "Transfer in transit"), ("ar", "تحويل في الطريق")):
        admin.cookies.set("atlas_lang", lang)
        page = admin.get("/app/inventory", params={"tab": "open_orders", "q": line.order_number})
        assert page.status_code == 200, page.text
        assert line.order_number in page.text and line.sku in page.text and kind in page.text
        assert 'data-testid="inventory-row"' in page.text
    admin.cookies.delete("atlas_lang")
    empty = admin.get("/app/inventory", params={"tab": "open_orders", "q": "no-such-order"})
    assert empty.status_code == 200 and 'data-testid="inventory-no-results"' in empty.text


def test_the_demo_mapping_reads_ordered_minus_received():
    from atlas.mapping.demo_setup import DEMO_MAPPINGS

    mapping = compile_mapping("open_orders", DEMO_MAPPINGS["open-orders"], strict=True)
    row = mapping.map_record(
        {
            "line_id": "PO-1-1",
            "order_number": "PO-1",
            "type": "transfer",
            "sku": "SKU-0001",
            "warehouse_id": "ST-RUH-02",
            "ordered_qty": 12,
            "received_qty": 5,
            "expected_date": "2026-12-09T08:00:00+03:00",
        }
    )
    assert isinstance(row, dict)
    assert (row["open_qty"], row["kind"], row["external_id"]) == (Decimal(7), "transfer", "PO-1-1")
    bad = mapping.map_record({"line_id": "X", "type": "return", "sku": "A", "ordered_qty": 1})
    assert isinstance(bad, list) and [(e.field, e.code) for e in bad] == [("kind", "unknown_order_kind")]


def test_multiply_by_a_field_gives_the_open_quantity_in_the_stock_unit():
    """ERPNext counts a purchase-order line as (qty - received_qty) x conversion_factor: subtract, then multiply by
    the line's own factor. An absent or null factor multiplies by 1 (as an absent subtrahend takes nothing away); a
    factor that is not a number sets the record aside with the reason, as any transform failure does."""
    rule = {
        "path": "$.qty",
        "transforms": [{"op": "subtract", "path": "$.received_qty"}, {"op": "multiply", "path": "$.conversion_factor"}],
    }
    mapping = compile_mapping(
        "open_orders", {"fields": {"item_ref": {"path": "$.item_code"}, "open_qty": rule}}, strict=True
    )

    def open_qty(**line: Any) -> Any:
        row = mapping.map_record({"item_code": "TEA", **line})
        return row["open_qty"] if isinstance(row, dict) else [(e.field, e.code, e.detail) for e in row]

    assert open_qty(qty=10, received_qty=4, conversion_factor=12) == Decimal(72)  # 6 boxes of 12
    assert open_qty(qty="10", received_qty=4.5, conversion_factor="0.5") == Decimal("2.75")
    assert open_qty(qty=10, received_qty=4) == Decimal(6)  # no factor: times 1
    assert open_qty(qty=10, received_qty=4, conversion_factor=None) == Decimal(6)
    assert open_qty(qty=5, received_qty=8, conversion_factor=2) == Decimal(-6)  # over-received: kept, counts as nothing
    assert open_qty(qty=10, conversion_factor="box") == [("open_qty", "not_a_number", "box")]
    assert open_qty(qty=10, conversion_factor=True) == [("open_qty", "not_a_number", "True")]
    assert open_qty(received_qty=1, conversion_factor=12) == [("open_qty", "required", "open_qty")]
    # The constant factor is unchanged, and the fast path agrees with the exact one.
    twice = {"path": "$.q", "transforms": [{"op": "multiply", "factor": 2}]}
    doubled = compile_mapping("open_orders", {"fields": {"item_ref": {"path": "$.i"}, "open_qty": twice}})
    records = [{"i": "A", "q": 3}, {"i": "B", "q": "x"}]
    assert doubled.map_record(records[0])["open_qty"] == Decimal(6)  # type: ignore[index]
    assert mapping.map_many([{"item_code": "A", "qty": 3, "conversion_factor": 4}]) == [
        mapping.map_exact({"item_code": "A", "qty": 3, "conversion_factor": 4})
    ]
    assert isinstance(doubled.map_many(records)[1], list)


@pytest.mark.parametrize(
    "transform",
    [
        {"op": "multiply"},
        {"op": "multiply", "factor": 2, "path": "$.conversion_factor"},
        {"op": "multiply", "path": ""},
        {"op": "multiply", "path": "$.["},
        {"op": "multiply", "path": 12},
        {"op": "multiply", "factor": "twelve"},
    ],
)
def test_multiply_needs_one_factor_or_one_path(transform):
    from atlas.mapping.engine import MappingInvalid

    spec = {"fields": {"item_ref": {"path": "$.i"}, "open_qty": {"path": "$.q", "transforms": [transform]}}}
    with pytest.raises(MappingInvalid) as refused:
        compile_mapping("open_orders", spec, strict=True)
    assert refused.value.field == "fields.open_qty.transforms[0]"
    assert refused.value.code in ("bad_transform", "bad_path")


# --- a source whose open set changes ------------------------------------------------------------------------

STATE: dict[str, Any] = {}


@contextmanager
def erp() -> Iterator[str]:
    """Two items, two locations and an open-order list that the test changes between syncs."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            path = urlparse(self.path).path
            CANARY.record("open-orders-erp", "GET", path, "read")
            records = {
                "/items": [{"sku": "A-1", "name": "Tea"}, {"sku": "B-2", "name": "Rice", "moq": 24, "case": 12}],
                "/locations": [{"code": "WH"}, {"code": "ST"}],
                "/open-orders": STATE["lines"],
            }.get(path)
            body = json.dumps(records if records is not None else {"error": "not found"}).encode()
            self.send_response(200 if records is not None else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        server.server_close()


MAPPINGS = {
    "items": {
        "fields": {
            "sku": {"path": "$.sku"},
            "name": {"path": "$.name"},
            "min_order_qty": {"path": "$.moq"},
            "order_multiple": {"path": "$.case"},
        }
    },
    "locations": {"fields": {"code": {"path": "$.code"}, "name": {"path": "$.code"}}},
    "open-orders": {
        "fields": {
            "external_id": {"path": "$.id"},
            "item_ref": {"path": "$.sku"},
            "location_ref": {"path": "$.to"},
            "open_qty": {"path": "$.qty", "transforms": [{"op": "subtract", "path": "$.received"}]},
            "expected_at": {"path": "$.eta"},
            "kind": {"path": "$.kind"},
        }
    },
}


def line(id_: str, sku: str, to: str, qty: int, received: int = 0, kind: str = "purchase") -> dict[str, Any]:
    return {"id": id_, "sku": sku, "to": to, "qty": qty, "received": received, "kind": kind, "eta": "2026-12-10"}


def open_set(stack, tenant_id: str) -> set[tuple[str, str, str, Decimal, str]]:
    rows = stack.atlas.sql(
        """SELECT o.external_id, i.sku, l.code, o.open_qty, o.kind
           FROM open_orders o JOIN items i ON i.id = o.item_id JOIN locations l ON l.id = o.location_id
           WHERE o.tenant_id = %s""",
        (tenant_id,),
    )
    return {(e, s, c, Decimal(q).normalize(), k) for e, s, c, q, k in rows}


def test_a_full_read_replaces_the_open_set(stack):
    admin, me = stack.atlas.new_tenant()
    with erp() as url:
        body = {
            "name": "Open orders ERP",
            "environment": "sandbox",
            "endpoints": [
                {"key": "items", "resource": "items", "path": "/items"},
                {"key": "locations", "resource": "locations", "path": "/locations"},
                {"key": "open-orders", "resource": "open_orders", "path": "/open-orders"},
            ],
        }
        connector_id = setup_connector(admin, url, mappings=MAPPINGS, **body)
        STATE["lines"] = [
            line("PO-1", "A-1", "WH", 10, received=4),
            line("PO-2", "B-2", "ST", 24),
            line("TR-1", "A-1", "ST", 3, kind="transfer"),
            line("PO-9", "NOPE", "WH", 5),  # an item Atlas does not know: set aside, not lost
        ]
        first = sync(admin, connector_id)
        assert first["status"] in ("succeeded", "needs_attention"), first
        assert first["stats"]["open_orders"]["quarantined"] == 1
        assert open_set(stack, me["tenant_id"]) == {
            ("PO-1", "A-1", "WH", Decimal(6), "purchase"),
            ("PO-2", "B-2", "ST", Decimal(24), "purchase"),
            ("TR-1", "A-1", "ST", Decimal(3), "transfer"),
        }
        # PO-1 received in full (gone from the source), PO-2 partly received, a new line.
        STATE["lines"] = [line("PO-2", "B-2", "ST", 24, received=12), line("PO-3", "B-2", "WH", 36)]
        second = sync(admin, connector_id)
        assert second["status"] == "succeeded", second
        assert open_set(stack, me["tenant_id"]) == {
            ("PO-2", "B-2", "ST", Decimal(12), "purchase"),
            ("PO-3", "B-2", "WH", Decimal(36), "purchase"),
        }
        assert second["progress"]["open-orders"]["closed"] == 2
        # Nothing open any more: the set is empty.
        STATE["lines"] = []
        assert sync(admin, connector_id)["status"] == "succeeded"
        assert open_set(stack, me["tenant_id"]) == set()
    items = stack.atlas.sql(
        "SELECT sku, min_order_qty, order_multiple FROM items WHERE tenant_id = %s ORDER BY sku", (me["tenant_id"],)
    )
    assert [(s, m, c) for s, m, c in items] == [("A-1", None, None), ("B-2", Decimal(24), Decimal(12))]


def test_expected_at_without_a_time_zone_is_read_in_the_mapping_zone():
    mapping = compile_mapping("open_orders", MAPPINGS["open-orders"], timezone="Asia/Riyadh")
    row = mapping.map_record(line("PO-1", "A-1", "WH", 2))
    assert isinstance(row, dict) and isinstance(row["expected_at"], datetime)
    assert row["expected_at"].utcoffset() is not None and row["expected_at"].utcoffset().total_seconds() == 3 * 3600


def test_blank_if_reads_a_placeholder_as_no_value():
    """Business Central writes a blank date as 0001-01-01 (AL's 0D): read as no expected date, the line is kept (the
    engine assumes it arrives at the lead time), never set aside as an unreadable date. Other values pass unchanged."""
    from atlas.mapping.engine import MappingInvalid

    rule = {"path": "$.expectedReceiptDate", "transforms": [{"op": "blank_if", "values": ["0001-01-01"]}]}
    fields = {"item_ref": {"path": "$.i"}, "open_qty": {"path": "$.q"}, "expected_at": rule}
    spec = {"timezone": "UTC", "fields": fields}
    mapping = compile_mapping("open_orders", spec, strict=True)
    kept = mapping.map_record({"i": "A", "q": 3, "expectedReceiptDate": "0001-01-01"})
    assert isinstance(kept, dict) and kept["expected_at"] is None and kept["open_qty"] == Decimal(3)
    dated = mapping.map_record({"i": "A", "q": 3, "expectedReceiptDate": "2026-12-20"})
    assert isinstance(dated, dict) and dated["expected_at"].isoformat() == "2026-12-20T00:00:00+00:00"
    # Without the transform the placeholder is an unreadable date: the record is set aside with its reason.
    plain = {**spec, "fields": {**spec["fields"], "expected_at": {"path": "$.expectedReceiptDate"}}}
    refused = compile_mapping("open_orders", plain, strict=True).map_record(
        {"i": "A", "q": 3, "expectedReceiptDate": "0001-01-01"}
    )
    assert isinstance(refused, list) and [e.field for e in refused] == ["expected_at"]
    assert mapping.map_many([{"i": "B", "q": 1, "expectedReceiptDate": " 0001-01-01 "}]) == [
        mapping.map_exact({"i": "B", "q": 1, "expectedReceiptDate": " 0001-01-01 "})
    ]
    for bad in ({"op": "blank_if"}, {"op": "blank_if", "values": []}, {"op": "blank_if", "values": "0001-01-01"}):
        broken = {**spec, "fields": {**spec["fields"], "expected_at": {"path": "$.d", "transforms": [bad]}}}
        with pytest.raises(MappingInvalid) as invalid:
            compile_mapping("open_orders", broken, strict=True)
        assert invalid.value.code == "bad_transform"
