"""Records nested in records (a mapping's ``unnest``): Zoho Inventory's stock per location lives inside each item.
The elements of each record's array become the records, each carrying its parent; pages are still judged as the
server sent them; the rule is validated with the field named and kept by the mapping editor."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from atlas.connectors.engine import (
    ConnectorConfig,
    ConnectorSession,
    EndpointConfig,
    PaginationConfig,
    PaginationKind,
    ResourceKind,
)
from atlas.connectors.engine.config import UnnestConfig
from atlas.connectors.engine.reader import unnest_records
from atlas.errors import ValidationFailed
from atlas.execution_lock import NetworkPolicy
from atlas.mapping.engine import MappingInvalid, compile_mapping
from atlas.mapping.services import validated, with_record_path
from tests.browser_pages import signed_in_page
from tests.services import html_page
from tests.sims.canary import CANARY
from tests.sims.serving import QuietHandler, serving

OPEN = NetworkPolicy(allow_private=True)
STOCK = {
    "record_path": "$.items",
    "unnest": {"path": "$.locations", "parent_as": "item"},
    "combine": "last",
    "fields": {
        "item_ref": {"path": "$.item.item_id"},
        "location_ref": {"path": "$.location_id"},
        "quantity": {"path": "$.location_stock_on_hand"},
    },
}


def test_each_element_becomes_a_record_with_its_parent_without_the_array() -> None:
    records = [
        {
            "item_id": "1",
            "name": "Dates",
            "locations": [{"location_id": "A", "q": "2"}, {"location_id": "B", "q": "0"}],
        },
        {"item_id": "2", "name": "Service", "locations": []},  # no nested records
        {"item_id": "3", "name": "No array"},
        "not an object",
        {"item_id": "4", "tags": ["x"], "locations": [7]},
    ]
    nested = unnest_records(records, UnnestConfig("$.locations", "item"))
    assert nested == [
        {"location_id": "A", "q": "2", "item": {"item_id": "1", "name": "Dates"}},
        {"location_id": "B", "q": "0", "item": {"item_id": "1", "name": "Dates"}},
        {"value": 7, "item": {"item_id": "4", "tags": ["x"]}},
    ]
    assert "locations" in records[0]  # the source records are not changed
    deeper = unnest_records([{"id": 9, "detail": {"lines": [{"n": 1}]}}], UnnestConfig("$.detail.lines", "doc"))
    assert deeper == [{"n": 1, "doc": {"id": 9, "detail": {"lines": [{"n": 1}]}}}]


def test_a_mapping_with_unnest_maps_each_location_of_each_item() -> None:
    mapping = compile_mapping("stock_balances", STOCK, strict=True)
    assert mapping.unnest == ("$.locations", "item")
    records = unnest_records(
        [{"item_id": "1", "locations": [{"location_id": "A", "location_stock_on_hand": "2.5"}]}],
        UnnestConfig(*mapping.unnest),
    )
    [row] = mapping.map_many(records)
    assert isinstance(row, dict) and (row["item_ref"], row["location_ref"], str(row["quantity"])) == ("1", "A", "2.5")
    endpoint = EndpointConfig(key="stock", resource=ResourceKind.STOCK_BALANCES, path="/items", record_path="$")
    assert with_record_path(endpoint, mapping).unnest == UnnestConfig("$.locations", "item")
    assert with_record_path(endpoint, compile_mapping("items", {"fields": ITEM_FIELDS})).unnest is None


ITEM_FIELDS = {"external_id": {"path": "$.id"}, "sku": {"path": "$.id"}, "name": {"path": "$.id"}}


@pytest.mark.parametrize(
    ("unnest", "field"),
    [
        ({"path": "$.locations"}, "unnest"),
        ("$.locations", "unnest"),
        ({"path": "$.locations", "parent_as": "the item"}, "unnest.parent_as"),
        ({"path": "$[", "parent_as": "item"}, "unnest.path"),
        ({"path": "$.locations", "parent_as": "item", "as": "x"}, "unnest.as"),
    ],
)
def test_a_bad_unnest_is_refused_with_the_place_named(unnest: Any, field: str) -> None:
    with pytest.raises(MappingInvalid) as caught:
        compile_mapping("stock_balances", {**STOCK, "unnest": unnest}, strict=True)
    assert caught.value.field == field
    with pytest.raises(ValidationFailed) as refused:
        validated("stock_balances", {**STOCK, "unnest": unnest}, strict=True)
    assert refused.value.extra["field"] == field


# --- pages are judged as the server sent them -------------------------------------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """Three pages of items with an end signal; no item of the second page has a location (services)."""
    pages = {
        1: [{"item_id": "1", "locations": [{"location_id": "A", "location_stock_on_hand": "3"}]}],
        2: [{"item_id": "2", "locations": []}, {"item_id": "3"}],
        3: [{"item_id": "4", "locations": [{"location_id": "B", "location_stock_on_hand": "1"}]}],
    }

    class Handler(QuietHandler):
        def do_GET(self) -> None:
            CANARY.record("unnest_pages", "GET", urlsplit(self.path).path, "read")
            page = int(parse_qs(urlsplit(self.path).query).get("page", ["1"])[0])
            body = json.dumps({"items": pages.get(page, []), "page_context": {"has_more_page": page < 3}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    with serving(Handler) as port:
        yield f"http://127.0.0.1:{port}"


def test_a_page_whose_items_have_no_nested_records_is_not_an_empty_page(server: str) -> None:
    endpoint = EndpointConfig(
        key="stock",
        resource=ResourceKind.STOCK_BALANCES,
        path="/items",
        record_path="$.items",
        pagination=PaginationConfig(
            kind=PaginationKind.PAGE, page_size=2, size_param="per_page", has_more_path="$.page_context.has_more_page"
        ),
    )
    mapping = compile_mapping("stock_balances", STOCK, strict=True)
    config = ConnectorConfig(base_url=server, endpoints=(endpoint,), rate_limit_per_second=1000, rate_limit_burst=1000)

    async def go() -> list[list[Any]]:
        async with ConnectorSession(config, network=OPEN) as session:
            return [page.records async for page in session.reader.read(with_record_path(endpoint, mapping))]

    pages = asyncio.run(go())
    assert [[(r["item"]["item_id"], r["location_id"]) for r in records] for records in pages] == [
        [("1", "A")],
        [],
        [("4", "B")],
    ]


# --- the editor keeps the rule ------------------------------------------------------------------------------------


def test_the_mapping_editor_shows_and_keeps_the_unnest_rule(atlas: Any) -> None:
    admin, _ = atlas.new_tenant()
    connector = admin.post(
        "/api/connectors",
        json={
            "name": "Zoho-like",
            "base_url": "https://www.zohoapis.sa/inventory/v1",
            "endpoints": [{"key": "stock", "resource": "stock_balances", "path": "/items", "record_path": "$.items"}],
        },
    ).json()
    created = admin.post(
        "/api/mappings", json={"connector_id": connector["id"], "endpoint_key": "stock", "spec": STOCK, "note": "n"}
    )
    assert created.status_code == 201, created.text
    editor = html_page(admin, f"/app/connectors/{connector['id']}/mappings/stock").text
    assert 'name="unnest"' in editor and "&#34;parent_as&#34;: &#34;item&#34;" in editor.replace("&quot;", "&#34;")
    bad = admin.post(
        f"/api/mappings/{created.json()['id']}/versions",
        json={"spec": {**STOCK, "unnest": {"path": "$.locations"}}, "note": "no parent name"},
        headers={"Accept-Language": "en"},
    )
    assert bad.status_code == 422 and bad.json()["field"] == "unnest"
    assert "parent_as" in bad.json()["detail"]


@pytest.mark.browser
def test_saving_from_the_editor_keeps_the_unnest_rule(atlas: Any, browser: Any) -> None:
    admin, _ = atlas.new_tenant()
    connector = admin.post(
        "/api/connectors",
        json={
            "name": "Zoho-like",
            "base_url": "https://www.zohoapis.sa/inventory/v1",
            "endpoints": [{"key": "stock", "resource": "stock_balances", "path": "/items", "record_path": "$.items"}],
        },
    ).json()
    mapping = admin.post(
        "/api/mappings", json={"connector_id": connector["id"], "endpoint_key": "stock", "spec": STOCK, "note": "n"}
    ).json()
    context, tab = signed_in_page(browser, atlas.base_url, admin, lang="en", locale="en-GB")
    tab.goto(f"{atlas.base_url}/app/connectors/{connector['id']}/mappings/stock")
    tab.wait_for_selector("[data-mapping-editor][data-ready]")
    assert json.loads(tab.get_by_test_id("unnest").input_value()) == STOCK["unnest"]
    tab.fill("[name='fields.location_ref.path']", "$.location_name")
    tab.get_by_test_id("save-mapping").click()
    tab.get_by_test_id("save-note").fill("Locations by name")
    tab.get_by_test_id("save-confirm").click()
    tab.wait_for_selector("[data-testid='version-row'][data-version='2'][data-active='true']")
    versions = admin.get(f"/api/mappings/{mapping['id']}").json()["versions"]
    second = next(v for v in versions if v["version"] == 2)["spec"]
    assert second["unnest"] == STOCK["unnest"] and second["fields"]["location_ref"] == {"path": "$.location_name"}
    context.close()
