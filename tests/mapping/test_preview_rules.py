"""The mapping preview shows what each record becomes, against a simulated InvenTree 1.x over real HTTP.

Parts and locations are first synced for real (Temporal, the worker, PostgreSQL); then the preview of the stock
and tracking endpoints shows each record's resolved item and location, a stock-row id mapped as an item (the
mistake these previews exist to catch), records with no location, stock counts and skipped entries.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.browser_pages import signed_in_page
from tests.mapping.test_engine_rules import TRACK_MAPPING
from tests.sims.inventree import TOKEN, InvenTreeApi, inventree_server
from tests.sims.inventree_model import InvenTreeData

PARTS = {
    "fields": {
        "external_id": {"path": "$.pk", "transforms": [{"op": "to_text"}]},
        "sku": {"paths": ["$.IPN", "$.pk"], "transforms": [{"op": "to_text"}]},  # IPN is often empty
        "name": {"path": "$.name"},
        "unit_of_measure": {"path": "$.units", "default": "pcs"},  # "" means pieces
    }
}
LOCATIONS = {
    "fields": {
        "external_id": {"path": "$.pk", "transforms": [{"op": "to_text"}]},
        "code": {"path": "$.pk", "transforms": [{"op": "to_text"}]},  # InvenTree locations have no code
        "name": {"path": "$.pathstring"},
    }
}
STOCK = {
    "fields": {
        "source_id": {"path": "$.pk", "transforms": [{"op": "to_text"}]},
        "item_ref": {"path": "$.part", "transforms": [{"op": "to_text"}]},
        "location_ref": {"path": "$.location", "transforms": [{"op": "to_text"}]},
        "quantity": {"path": "$.quantity"},
        "reserved_qty": {"path": "$.allocated"},
    }
}


@pytest.fixture(scope="module")
def inventree() -> Iterator[tuple[InvenTreeApi, dict[str, int]]]:
    """A small InvenTree: two parts (one without an IPN), a shelf inside a store, lots, stock with no location, and
    a history with additions, a removal, a count and a move."""
    moment = {"now": datetime(2026, 11, 20, 9, 30, tzinfo=UTC)}
    data = InvenTreeData(clock=lambda: moment["now"])
    store = data.add_location("Store")
    shelf = data.add_location("Shelf 1", store.pk)
    bolt = data.add_part("Hex bolt M4", IPN="")
    widget = data.add_part("Widget", IPN="WID-001", units="m")
    lot_a = data.create_stock(bolt.pk, 10, shelf.pk, batch="A")
    data.create_stock(bolt.pk, 5, shelf.pk, batch="B")
    boxed = data.create_stock(widget.pk, 3, store.pk)
    data.create_stock(widget.pk, 2, None)  # in transit: no location
    data.add_stock(boxed.pk, 4)
    data.take_stock(lot_a.pk, 1)
    data.count_stock(lot_a.pk, 8)
    data.move_stock(boxed.pk, shelf.pk)
    data.create_stock(widget.pk, 1, store.pk)  # many more stock items than parts: ids past the parts' ids
    data.create_stock(widget.pk, 1, store.pk)
    with inventree_server(data=data) as api:
        yield api, {"bolt": bolt.pk, "widget": widget.pk, "store": store.pk, "shelf": shelf.pk}


def connector_body(base_url: str) -> dict[str, Any]:
    def endpoint(key: str, resource: str, path: str, **extra: Any) -> dict[str, Any]:
        return {"key": key, "resource": resource, "path": path, "record_path": "$", **extra}

    return {
        "name": f"InvenTree {uuid.uuid4().hex[:6]}",
        "base_url": base_url,
        "environment": "production",
        "auth": {"kind": "header", "scheme": "Token", "credential": TOKEN},
        # Without ``limit`` InvenTree answers a bare array of everything: one page each.
        "endpoints": [
            endpoint("parts", "items", "/api/part/"),
            endpoint("locations", "locations", "/api/stock/location/"),
            endpoint("stock", "stock_balances", "/api/stock/"),
            endpoint("track", "stock_movements", "/api/stock/track/", params={"item_detail": "true"}),
        ],
    }


def sync(admin: Any, connector_id: str, timeout: float = 180) -> dict[str, Any]:
    started = admin.post(f"/api/connectors/{connector_id}/sync")
    assert started.status_code == 202, started.text
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run: dict[str, Any] = admin.get(f"/api/syncs/{started.json()['id']}").json()
        if run["status"] not in ("queued", "running"):
            return run
        time.sleep(0.3)
    raise AssertionError("the sync did not finish")


@pytest.fixture(scope="module")
def synced(stack, inventree) -> tuple[Any, str]:
    api, _ = inventree
    admin, _ = stack.atlas.new_tenant()
    created = admin.post("/api/connectors", json=connector_body(api.base))
    assert created.status_code == 201, created.text
    connector_id = created.json()["id"]
    for key, spec in (("parts", PARTS), ("locations", LOCATIONS)):
        response = admin.post(
            "/api/mappings", json={"connector_id": connector_id, "endpoint_key": key, "spec": spec, "note": "first"}
        )
        assert response.status_code == 201, response.text
    run = sync(admin, connector_id)
    assert run["status"] == "succeeded", run
    return admin, connector_id


def preview(admin: Any, connector_id: str, key: str, spec: dict[str, Any], **headers: str) -> Any:
    return admin.post(
        "/api/mappings/preview",
        json={"connector_id": connector_id, "endpoint_key": key, "spec": spec, "limit": 50},
        headers=headers,
    )


def test_balances_show_the_item_and_location_each_row_resolves_to(synced, inventree):
    admin, connector_id = synced
    _, pk = inventree
    response = preview(admin, connector_id, "stock", STOCK)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["record_count"], body["mapped"], body["failed"], body["skipped"], body["unresolved"]) == (
        6,
        6,
        0,
        0,
        0,
    )
    by_row = {r["source"]["pk"]: r for r in body["records"]}
    bolt = {"sku": str(pk["bolt"]), "name": "Hex bolt M4"}  # no IPN: the SKU is the part's pk
    widget = {"sku": "WID-001", "name": "Widget"}
    shelf = {"code": str(pk["shelf"]), "name": "Store/Shelf 1"}
    store = {"code": str(pk["store"]), "name": "Store"}
    seen = sorted(
        (
            r["values"]["source_id"],
            {k: r["item"][k] for k in ("sku", "name")},
            r["location"] and {k: r["location"][k] for k in ("code", "name")},
            r["unresolved"],
        )
        for r in by_row.values()
    )
    assert seen == sorted(
        [
            ("1", bolt, shelf, []),
            ("2", bolt, shelf, []),
            ("3", widget, shelf, []),  # moved from the store to the shelf
            ("4", widget, None, []),  # no location: the sync's "no location" bucket, not an unknown location
            ("5", widget, store, []),
            ("6", widget, store, []),
        ]
    )
    assert all(uuid.UUID(r["item"]["id"]) for r in by_row.values())


def test_a_stock_row_id_mapped_as_the_item_shows_wrong_and_unknown_items(synced, inventree):
    admin, connector_id = synced
    _, pk = inventree
    wrong = {"fields": {**STOCK["fields"], "item_ref": {"path": "$.pk", "transforms": [{"op": "to_text"}]}}}
    body = preview(admin, connector_id, "stock", wrong).json()
    items = {r["source"]["pk"]: (r["item"] and r["item"]["name"], r["unresolved"]) for r in body["records"]}
    # Stock rows 1 and 2 happen to share ids with the two parts: they resolve, to the wrong parts for row 2.
    assert items[pk["bolt"]] == ("Hex bolt M4", []) and items[pk["widget"]] == ("Widget", [])
    assert [items[row] for row in (3, 4, 5, 6)] == [(None, ["item_ref"])] * 4
    assert (body["mapped"], body["unresolved"]) == (6, 4)
    unknown_place = {"fields": {**STOCK["fields"], "location_ref": {"constant": "Basement"}}}
    body = preview(admin, connector_id, "stock", unknown_place).json()
    assert {tuple(r["unresolved"]) for r in body["records"]} == {("location_ref",)} and body["unresolved"] == 6


def test_tracking_entries_show_skips_counts_and_the_nested_part(synced, inventree):
    admin, connector_id = synced
    _, pk = inventree
    response = preview(admin, connector_id, "track", TRACK_MAPPING)
    assert response.status_code == 200, response.text
    body = response.json()
    records = {r["source"]["pk"]: r for r in body["records"]}
    kinds = {r["source"]["tracking_type"] for r in records.values()}
    assert {1, 10, 11, 12, 20} <= kinds
    for record in records.values():
        tracking_type = record["source"]["tracking_type"]
        if tracking_type == 20:  # a move: skipped by the first rule, neither mapped nor set aside
            assert (record["skipped"], record["values"], record["errors"]) == (0, None, [])
            continue
        assert record["skipped"] is None and record["errors"] == [], record
        values = record["values"]
        assert values["is_count"] == (tracking_type == 10)
        assert values["level_key"] == str(record["source"]["item"])  # the stock row is whose level it is
        part = record["source"]["item_detail"]["part"]
        assert record["item"]["name"] == ("Hex bolt M4" if part == pk["bolt"] else "Widget")
    count = next(r for r in records.values() if r["source"]["tracking_type"] == 10)
    assert (count["values"]["kind"], count["values"]["quantity"], count["values"]["level"]) == (
        "adjustment",
        "0",
        "8.0",
    )
    moves = sum(1 for r in records.values() if r["source"]["tracking_type"] == 20)
    assert (body["skipped"], body["failed"], body["mapped"]) == (moves, 0, len(records) - moves)
    # Entries of the stock row in transit have no location: shown so, and not counted as unresolved.
    assert any(r["values"] and r["values"]["location_ref"] is None and r["location"] is None for r in records.values())
    assert body["unresolved"] == 0


def test_summing_balances_without_row_ids_is_refused_in_both_languages(synced):
    admin, connector_id = synced
    no_ids = {"fields": {k: v for k, v in STOCK["fields"].items() if k != "source_id"}}
    for lang, words in (("en", "$.pk"), ("ar", "\u2066$.pk\u2069")):
        response = preview(admin, connector_id, "stock", no_ids, **{"Accept-Language": lang})
        assert response.status_code == 422, response.text
        problem = response.json()
        assert (problem["field"], problem["reason"]) == ("fields.source_id", "source_id_required")
        assert words in problem["detail"] and "combine" in problem["detail"]
    saved = admin.post(
        "/api/mappings", json={"connector_id": connector_id, "endpoint_key": "stock", "spec": no_ids, "note": "no ids"}
    )
    assert saved.status_code == 422 and saved.json()["reason"] == "source_id_required"
    one_row_per_pair = {"combine": "last", **no_ids}
    assert preview(admin, connector_id, "stock", one_row_per_pair).status_code == 200


def test_another_tenant_cannot_preview_this_connector(stack, synced):
    _, connector_id = synced
    other, _ = stack.atlas.new_tenant()
    response = preview(other, connector_id, "stock", STOCK)
    assert response.status_code == 404, response.text


def test_versions_compare_their_skip_combine_and_count_rules(synced):
    admin, connector_id = synced
    created = admin.post(
        "/api/mappings",
        json={"connector_id": connector_id, "endpoint_key": "track", "spec": TRACK_MAPPING, "note": "1"},
    )
    assert created.status_code == 201, created.text
    mapping_id = created.json()["id"]
    changed = {
        **TRACK_MAPPING,
        "skip": [{"path": "$.tracking_type", "not_in": [10, 11, 12]}],
        "count": {**TRACK_MAPPING["count"], "level_key": {"path": "$.item_detail.pk"}},
    }
    saved = admin.post(f"/api/mappings/{mapping_id}/versions", json={"spec": changed, "note": "2"})
    assert saved.status_code == 201, saved.text
    diff = {d["field"]: d for d in admin.get(f"/api/mappings/{mapping_id}/diff", params={"left": 1, "right": 2}).json()}
    assert diff["skip"]["change"] == "changed" and diff["skip"]["after"] == changed["skip"]
    assert diff["count"]["change"] == "changed" and "combine" not in diff  # neither version has one
    assert diff["quantity"]["change"] == "same"


# --- the editor's preview, in Chromium ------------------------------------------------------------


def signed_in_tab(atlas: Any, browser: Any, client: Any) -> Any:
    _, tab = signed_in_page(browser, atlas.base_url, client, locale="ar-SA")
    return tab


def mapping_of(admin: Any, connector_id: str, key: str, spec: dict[str, Any]) -> dict[str, Any]:
    """The endpoint's mapping, made with ``spec`` unless an earlier test made one."""
    for mapping in admin.get("/api/mappings", params={"connector_id": connector_id}).json():
        if mapping["endpoint_key"] == key:
            return dict(admin.get(f"/api/mappings/{mapping['id']}").json())
    created = admin.post(
        "/api/mappings", json={"connector_id": connector_id, "endpoint_key": key, "spec": spec, "note": "1"}
    )
    assert created.status_code == 201, created.text
    return dict(created.json())


def run_preview(tab: Any) -> None:
    tab.evaluate("document.querySelector('[data-preview-rows]').replaceChildren()")
    tab.get_by_test_id("preview-button").click()
    tab.wait_for_function("() => document.querySelectorAll(\"[data-testid='preview-row']\").length > 0", timeout=60_000)


@pytest.mark.browser
def test_the_editor_preview_shows_resolved_items_unknown_ones_and_no_location(stack, browser, synced):
    admin, connector_id = synced
    wrong = {"combine": "sum", "fields": {**STOCK["fields"], "item_ref": {"path": "$.pk"}}}
    mapping = mapping_of(admin, connector_id, "stock", wrong)
    tab = signed_in_tab(stack.atlas, browser, admin)
    tab.goto(f"{stack.atlas.base_url}/app/connectors/{connector_id}/mappings/stock")
    tab.wait_for_selector("[data-mapping-editor][data-ready]")
    run_preview(tab)
    items = tab.locator("[data-testid='preview-item']")
    assert items.count() == 6
    unknown = tab.locator("[data-testid='preview-item'][data-resolved='false']")
    assert unknown.count() == 4 and "صنف غير معروف" in unknown.first.inner_text()
    assert "4" in tab.get_by_test_id("preview-summary").inner_text()
    # The item is the stock row's part: every row resolves; the one in transit shows it has no location.
    tab.fill("[name='fields.item_ref.path']", "$.part")
    run_preview(tab)
    assert tab.locator("[data-testid='preview-item'][data-resolved='true']").count() == 6
    assert "Widget" in tab.get_by_test_id("preview-table").inner_text()
    places = tab.locator("[data-testid='preview-location'][data-resolved='false']")
    assert places.count() == 1 and "بلا موقع" in places.inner_text()
    tab.get_by_test_id("lang-switch").click()
    tab.wait_for_function("() => document.documentElement.dir === 'ltr'")
    assert "No location" in places.inner_text()
    # Saving from the form keeps what the form does not show (how the rows combine).
    tab.get_by_test_id("save-mapping").click()
    tab.get_by_test_id("save-note").fill("The part, not the stock row")
    tab.get_by_test_id("save-confirm").click()
    tab.wait_for_selector("[data-testid='version-row'][data-version='2'][data-active='true']")
    saved = admin.get(f"/api/mappings/{mapping['id']}").json()["versions"][0]["spec"]
    assert saved["combine"] == "sum" and saved["fields"]["item_ref"] == {"path": "$.part"}


@pytest.mark.browser
def test_the_editor_preview_marks_skipped_records_and_keeps_the_skip_rules(stack, browser, synced):
    admin, connector_id = synced
    mapping = mapping_of(admin, connector_id, "track", TRACK_MAPPING)
    active = next(v for v in mapping["versions"] if v["active"])["spec"]
    expected = preview(admin, connector_id, "track", active).json()["skipped"]
    assert expected > 0
    tab = signed_in_tab(stack.atlas, browser, admin)
    tab.goto(f"{stack.atlas.base_url}/app/connectors/{connector_id}/mappings/track")
    tab.wait_for_selector("[data-mapping-editor][data-ready]")
    run_preview(tab)
    skipped = tab.locator("[data-testid='preview-row'][data-skipped]")
    assert skipped.count() == expected
    assert "تُخطّى بالقاعدة" in skipped.first.inner_text()
    assert f"متخطّاة: {expected}" in tab.get_by_test_id("preview-summary").inner_text()
