"""Discovery's parts on their own, without a server: paths under a base, published descriptions, pagination
evidence, suggestions checked against other endpoints, and the record-path check of Test connection."""

from __future__ import annotations

import json
from typing import Any

import pytest

from atlas.connectors.demo_erp.openapi import openapi_document
from atlas.connectors.engine.shape import record_problem
from atlas.mapping.discovery import flatten, suggest_mapping
from atlas.mapping.discovery_openapi import parse_document
from atlas.mapping.discovery_paths import description_paths, join, prefixes_under, relative_to
from atlas.mapping.discovery_probe import pagination_candidates, window_params
from atlas.mapping.discovery_suggest import Sample, Suggester
from atlas.mapping.engine import compile_mapping

# --- paths ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("base", "candidate", "expected"),
    [
        ("/api", "api/part/", "/api/part/"),
        ("/api", "part/", "/api/part/"),
        ("", "api/part/", "/api/part/"),
        ("/api/v1", "api/v1/items", "/api/v1/items"),
        ("/api/v1", "v1/items", "/api/v1/items"),
        ("/erp/api", "api/stock", "/erp/api/stock"),
        ("/api", "api-docs", "/api/api-docs"),
    ],
)
def test_a_segment_the_base_already_has_is_never_doubled(base, candidate, expected):
    assert join(base, candidate) == expected


def test_prefixes_and_descriptions_under_a_base_never_repeat_it():
    assert prefixes_under("/api") == ["/api", "/api/v1", "/api/v2"]
    assert prefixes_under("") == ["/", "/api", "/api/v1", "/v1", "/api/v2"]
    paths = description_paths("/api")
    assert "/api/schema/" in paths and "/openapi.json" in paths and "/api/openapi.json" in paths
    assert not [p for p in paths if p.startswith("/api/api/")]
    assert relative_to("/api", "/api/part/") == "/part/" and relative_to("", "/api/part/") == "/api/part/"


# --- descriptions --------------------------------------------------------------------------------------------------


def test_the_demo_erps_openapi_gives_its_list_endpoints_paging_and_enums():
    document = json.dumps(openapi_document("http://erp.example")).encode()
    description = parse_document(document, "application/json", "/openapi.json")
    assert description is not None and description.kind == "openapi"
    assert description.api_key == {"in": "header", "name": "X-API-Key"}
    endpoints = {e.path: e for e in description.endpoints}
    assert set(endpoints) == {
        "/api/v1/items",
        "/api/v1/warehouses",
        "/api/v1/warehouses/{id}/stock",
        "/api/v1/stock",
        "/api/v1/movements",
        "/api/v1/open-orders",
    }
    assert endpoints["/api/v1/warehouses/{id}/stock"].templated
    items = endpoints["/api/v1/items"]
    assert items.record_path == "$.data" and "$.meta.total_pages" in items.envelope
    assert items.params["per_page"].maximum == 200
    movements = endpoints["/api/v1/movements"]
    assert movements.link_header and movements.record_path == "$.movements"
    assert "ADJUSTMENT" in movements.fields["$.type"]["enum"]
    window = window_params(movements)
    assert window is not None and (window["start_param"], window["end_param"], window["format"]) == (
        "from",
        "to",
        "iso",
    )
    assert window["required"] is True
    # The answer's own paging fields, as the description declares them, before anything is read.
    first = pagination_candidates(None, {}, items.record_path, items, 500)[0][0]
    assert first["kind"] == "page" and first["total_pages_path"] == "$.meta.total_pages" and first["page_size"] == 200
    stock = pagination_candidates(None, {}, "$.items", endpoints["/api/v1/stock"], 500)[0][0]
    assert (stock["kind"], stock["cursor_path"], stock["cursor_param"], stock["page_size"]) == (
        "cursor",
        "$.next_cursor",
        "cursor",
        500,
    )


def test_swagger_2_and_yaml_documents_are_read():
    yaml_text = b"""swagger: "2.0"
basePath: /rest
paths:
  /products:
    get:
      parameters:
        - {name: page, in: query, type: integer}
        - {name: page_size, in: query, type: integer, maximum: 250}
      responses:
        "200":
          schema:
            type: object
            properties:
              results: {type: array, items: {$ref: "#/definitions/Product"}}
              count: {type: integer}
definitions:
  Product:
    type: object
    properties:
      code: {type: string}
      name: {type: string}
"""
    description = parse_document(yaml_text, "application/yaml", "/rest/swagger.yaml")
    assert description is not None and description.kind == "swagger"
    (products,) = description.endpoints
    assert products.path == "/rest/products" and products.record_path == "$.results"
    assert set(products.fields) == {"$.code", "$.name"} and products.params["page_size"].maximum == 250


def test_odata_metadata_gives_entity_sets_and_expands_no_entity():
    metadata = b"""<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<edmx:Edmx xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx" Version="4.0">
  <edmx:DataServices>
    <Schema xmlns="http://docs.oasis-open.org/odata/ns/edm" Namespace="NS">
      <EntityType Name="item"><Property Name="number" Type="Edm.String"/><Property Name="inventory" Type="Edm.Decimal"/>
        <Property Name="displayName" Type="Edm.String"/><Annotation Term="x">&secret;</Annotation></EntityType>
      <EntityContainer Name="C"><EntitySet Name="items" EntityType="NS.item"/></EntityContainer>
    </Schema>
  </edmx:DataServices>
</edmx:Edmx>"""
    description = parse_document(metadata, "application/xml", "/api/v2.0/$metadata")
    assert description is not None and description.kind == "odata"
    (items,) = description.endpoints
    assert items.path == "/api/v2.0/items" and items.record_path == "$.value"
    assert items.fields["$.inventory"]["type"] == "number"
    assert "root:" not in repr(description)


def test_what_is_not_a_description_is_not_read_as_one():
    assert parse_document(b'{"server": "InvenTree"}', "application/json", "/api/") is None
    assert parse_document(b"<html><body>login</body></html>", "text/html", "/") is None


# --- pagination evidence -------------------------------------------------------------------------------------------


def test_an_answer_with_count_and_a_next_link_pages_by_offset_first():
    body = {"count": 950, "next": "http://h/api/part/?limit=100&offset=100", "previous": None, "results": [{"pk": 1}]}
    candidates = [c for c, _ in pagination_candidates(body, {}, "$.results", None, 200)]
    assert candidates[0] == {
        "kind": "offset",
        "offset_param": "offset",
        "limit_param": "limit",
        "total_path": "$.count",
        "page_size": 200,
    }
    assert candidates[1]["cursor_source"] == "next_url" and candidates[-1]["kind"] == "none"


# --- suggestions ---------------------------------------------------------------------------------------------------


def sample(key: str, resource: str, records: list[dict[str, Any]], **extra: Any) -> Sample:
    return Sample(key, resource, records, flatten(records), "$", complete=True, **extra)


def test_a_movement_kind_seen_only_on_a_later_page_is_in_the_lookup():
    page_one = [{"id": n, "sku": "A", "type": "SALE", "qty": 1, "date": "2026-01-01T00:00:00Z"} for n in range(20)]
    later = [{"id": 99, "sku": "A", "type": "STOCK_ADJUSTMENT", "qty": 2, "date": "2026-01-02T00:00:00Z"}]
    records = page_one + later
    spec, missing = suggest_mapping("stock_movements", "$", flatten(records), records)
    assert missing == [] and spec is not None
    assert spec["fields"]["kind"]["transforms"][0]["table"] == {"SALE": "sale", "STOCK_ADJUSTMENT": "adjustment"}
    mapped = compile_mapping("stock_movements", spec, strict=True).map_many(records)
    assert all(isinstance(row, dict) for row in mapped)


def test_an_arabic_tenant_gets_arabic_names_and_an_english_one_english():
    records = [{"code": f"C{n}", "name": {"en": f"Water {n}", "ar": f"ماء {n}"}} for n in range(5)]
    items = sample("items", "items", records)
    assert Suggester([items], "ar").suggest(items).spec["fields"]["name"] == {"path": "$.name.ar"}
    assert Suggester([items], "en").suggest(items).spec["fields"]["name"] == {"path": "$.name.en"}
    flat = [{"code": f"C{n}", "name": f"Water {n}", "name_ar": f"ماء {n}"} for n in range(5)]
    both = sample("items", "items", flat)
    assert Suggester([both], "ar").suggest(both).spec["fields"]["name"] == {"path": "$.name_ar"}


def test_a_history_rows_item_that_holds_stock_row_ids_is_never_the_item_reference():
    parts = sample("items", "items", [{"pk": n, "name": f"Part {n}", "category_name": "Tools"} for n in range(1, 11)])
    stock = sample(
        "stock",
        "stock_balances",
        [{"pk": 100 + n, "part": 1 + n % 10, "location": 1, "quantity": 5.0} for n in range(40)],
    )
    history = sample(
        "history",
        "stock_movements",
        [
            {"pk": n, "item": 100 + n % 40, "date": "2026-01-01 10:00", "type": "sale", "quantity": 1.0}
            for n in range(40)
        ],
    )
    suggester = Suggester([parts, stock, history])
    movements = suggester.suggest(history)
    assert "item_ref" not in movements.spec["fields"]
    assert movements.missing == ["item_ref"]
    reasons = [r["key"] for r in movements.confidence["item_ref"]["reasons"]]
    assert "discovery.why.other_entity" in reasons
    assert suggester.detail_wanted == {"history": ["item"]}
    # The balances' reference is checked too: their part holds the parts' pks, which become the items' external id.
    assert suggester.suggest(stock).spec["fields"]["item_ref"] == {"path": "$.part"}
    assert suggester.suggest(parts).spec["fields"]["external_id"] == {"path": "$.pk"}
    assert suggester.suggest(parts).confidence["external_id"]["level"] == "high"


def test_a_numeric_category_is_not_proposed_but_its_name_is():
    numeric = sample("items", "items", [{"sku": f"S{n}", "name": f"N{n}", "category": n % 3} for n in range(9)])
    assert "category" not in Suggester([numeric]).suggest(numeric).spec["fields"]
    named = sample(
        "items", "items", [{"sku": f"S{n}", "name": f"N{n}", "category": 2, "category_name": "Tools"} for n in range(9)]
    )
    assert Suggester([named]).suggest(named).spec["fields"]["category"] == {"path": "$.category_name"}


def test_a_suggested_balance_mapping_sums_rows_by_their_own_id():
    """Stock rows with an id of their own (InvenTree's stock items): the suggestion maps it as the source id, so
    several rows of one item and location add up; it saves as it is (strict compilation)."""
    records = [
        {"pk": 1, "sku": "A-1", "warehouse": "W1", "quantity": 5.0, "reserved": 1.0},
        {"pk": 2, "sku": "A-1", "warehouse": "W1", "quantity": 2.0, "reserved": 0.0},
    ]
    spec, missing = suggest_mapping("stock_balances", "$", flatten(records), records)
    assert spec is not None and missing == []
    assert spec["fields"]["source_id"] == {"path": "$.pk"} and "combine" not in spec
    mapped = compile_mapping("stock_balances", spec, strict=True).map_many(records)
    assert [row["source_id"] for row in mapped] == ["1", "2"]


# --- Test connection's record-path check ---------------------------------------------------------------------------


def test_a_record_path_that_yields_the_envelope_is_named_with_the_right_one():
    assert record_problem("$", [{"data": [{"id": 1}], "meta": {"page": 1}}]) == ("record_path_not_a_list", "$.data")
    assert record_problem("$", [{"value": [{"id": 1}], "@odata.nextLink": None}]) == (
        "record_path_not_a_list",
        "$.value",
    )
    assert record_problem("$.payload", [{"results": [{"id": 1}]}]) == ("record_path_not_a_list", "$.payload.results")
    assert record_problem("$.ids", [1, 2, 3]) == ("records_not_objects", None)
    assert record_problem("$.data", [{"id": 1}, {"id": 2}]) is None
    assert record_problem("$", [{"id": 1, "name": "one record on its own"}]) is None
    assert record_problem("$", []) is None
