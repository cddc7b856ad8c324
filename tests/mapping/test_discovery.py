"""Capability discovery against the demo ERP: what answers, how it pages, and mappings that sync unedited."""

from __future__ import annotations

from atlas.mapping.demo_setup import demo_connector_body
from tests.mapping.test_sync import sync


def test_discovery_reports_and_suggests_mappings_that_sync_without_edits(stack, demo_erp_url):
    admin, me = stack.atlas.new_tenant()
    body = demo_connector_body(demo_erp_url)
    body["endpoints"] = [e for e in body["endpoints"] if e["key"] in ("items", "warehouses")]
    connector = admin.post("/api/connectors", json=body).json()
    result = admin.post(f"/api/connectors/{connector['id']}/discover")
    assert result.status_code == 200, result.text
    found = {r["path"]: r for r in result.json()["resources"]}
    items = found["/api/v1/items"]
    assert items["source"] == "configured" and items["reachable"] and items["resource"] == "items"
    # Reads only: GET answered and HEAD was tried. OPTIONS is not sent (not one of the lock's declared kinds).
    assert set(items["methods"]) == {"GET", "HEAD"}
    assert items["pagination"]["style"] == "page_number" and items["record_count"] == 100
    assert {"$.item_code", "$.description.en", "$.cost.amount"} <= {f["path"] for f in items["fields"]}
    assert items["suggested_mapping"]["fields"]["sku"] == {"path": "$.item_code"}
    assert items["suggested_mapping"]["fields"]["name"] == {"path": "$.description.en"}
    assert items["unmapped_required"] == []
    # A common path that was not configured is found too: the stock endpoint, cursor-paged.
    stock = found["/api/v1/stock"]
    assert stock["source"] == "common_path" and stock["pagination"]["style"] == "cursor_body"
    assert stock["suggested_mapping"]["fields"]["quantity"] == {"path": "$.on_hand"}
    # The demo's stock rows have no id of their own: the suggestion keeps one row per item and location, which
    # saving accepts (a summed balance mapping needs the rows' ids).
    assert stock["suggested_mapping"]["combine"] == "last" and "source_id" not in stock["suggested_mapping"]["fields"]
    assert stock["unmapped_required"] == []
    # The suggestions for items and locations sync correctly with no edits.
    for key in ("items", "warehouses"):
        resource = found["/api/v1/items" if key == "items" else "/api/v1/warehouses"]
        response = admin.post(
            "/api/mappings",
            json={
                "connector_id": connector["id"],
                "endpoint_key": key,
                "spec": resource["suggested_mapping"],
                "note": "discovered",
            },
        )
        assert response.status_code == 201, response.text
    run = sync(admin, connector["id"])
    assert run["status"] == "succeeded", run
    assert run["stats"]["items"]["inserted"] == 100 and run["stats"]["locations"]["inserted"] == 4
    rows = stack.atlas.sql(
        "SELECT sku, name, category FROM items WHERE tenant_id = %s AND sku = 'SKU-0001'", (me["tenant_id"],)
    )
    assert rows == [("SKU-0001", "Bottled Drinking Water 330ml", "Beverages")]
    # Discovery used reads only.
    assert stack.atlas.sql(
        "SELECT count(*) FROM audit_events WHERE tenant_id = %s AND event_type = 'action_blocked'", (me["tenant_id"],)
    ) == [(0,)]


def test_discovery_of_an_unreachable_endpoint_reports_it(stack, demo_erp_url):
    admin, _ = stack.atlas.new_tenant()
    body = demo_connector_body(demo_erp_url, api_key="WRONG-KEY")
    body["endpoints"] = body["endpoints"][:1]
    connector = admin.post("/api/connectors", json=body).json()
    report = admin.post(f"/api/connectors/{connector['id']}/discover").json()
    items = report["resources"][0]
    assert items["reachable"] is False and items["status"] == 401 and items["error"].startswith("unauthorized")


def test_a_suggested_balance_mapping_sums_rows_by_their_own_id():
    """Stock rows with an id of their own (InvenTree's stock items): the suggestion maps it as the source id, so
    several rows of one item and location add up; it saves as it is (strict compilation)."""
    from atlas.mapping.discovery import flatten, suggest_mapping
    from atlas.mapping.engine import compile_mapping

    records = [
        {"pk": 1, "sku": "A-1", "warehouse": "W1", "quantity": 5.0, "reserved": 1.0},
        {"pk": 2, "sku": "A-1", "warehouse": "W1", "quantity": 2.0, "reserved": 0.0},
    ]
    spec, missing = suggest_mapping("stock_balances", "$", flatten(records), records)
    assert spec is not None and missing == []
    assert spec["fields"]["source_id"] == {"path": "$.pk"} and "combine" not in spec
    mapped = compile_mapping("stock_balances", spec, strict=True).map_many(records)
    assert [row["source_id"] for row in mapped] == ["1", "2"]
