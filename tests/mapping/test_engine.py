"""The mapping engine: known answers, bad mappings refused, and properties over arbitrary JSON."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonpath_ng.ext.parser import parse as jsonpath_parse

from atlas.connectors.engine.jsonpath import CompiledPath
from atlas.mapping.engine import FieldError, MappingInvalid, compile_mapping

ITEM = {
    "id": 7,
    "item_code": " SKU-0007 ",
    "description": {"en": "Water 330ml", "ar": "مياه"},
    "category": {"code": "BEV"},
    "uom": "ea",
    "cost": {"amount": "12.50"},
    "supplier": {"lead_time_days": 9},
    "tags": ["a", "b"],
}


def test_items_with_paths_transforms_and_constants():
    mapping = compile_mapping(
        "items",
        {
            "record_path": "$.data",
            "fields": {
                "external_id": {"path": "$.id", "transforms": [{"op": "to_text"}]},
                "sku": {"path": "$.item_code", "transforms": [{"op": "trim"}]},
                "name": {"path": "$.description.en"},
                "category": {
                    "path": "$.category.code",
                    "transforms": [{"op": "lookup", "table": {"BEV": "Beverages"}, "default": "Other"}],
                },
                "unit_of_measure": {"path": "$.uom", "transforms": [{"op": "upper"}]},
                "unit_cost": {"path": "$.cost.amount", "transforms": [{"op": "to_number"}]},
                "lead_time_days": {"path": "$.supplier.lead_time_days"},
            },
        },
    )
    assert mapping.map_record(ITEM) == {
        "external_id": "7",
        "sku": "SKU-0007",
        "name": "Water 330ml",
        "category": "Beverages",
        "unit_of_measure": "EA",
        "unit_cost": Decimal("12.50"),
        "lead_time_days": 9,
    }
    assert mapping.record_path == "$.data"


def test_external_id_defaults_to_the_natural_key():
    mapping = compile_mapping(
        "items",
        {"fields": {"sku": {"path": "$.item_code", "transforms": [{"op": "trim"}]}, "name": {"constant": "Unnamed"}}},
    )
    assert mapping.map_record(ITEM)["external_id"] == "SKU-0007"


def test_movements_sign_kind_lookup_time_zone_and_content_hash():
    mapping = compile_mapping(
        "stock_movements",
        {
            "timezone": "Asia/Riyadh",
            "fields": {
                "item_ref": {"path": "$.sku"},
                "location_ref": {"path": "$.wh"},
                "occurred_at": {
                    "path": "$.at",
                    "transforms": [{"op": "parse_datetime", "format": "%d/%m/%Y %H:%M", "timezone": "Asia/Riyadh"}],
                },
                "quantity": {
                    "path": "$.qty",
                    "transforms": [{"op": "negate_when", "path": "$.dir", "values": ["out"]}],
                },
                "kind": {
                    "path": "$.type",
                    "transforms": [{"op": "lookup", "table": {"SALE": "sale", "GRN": "receipt"}}],
                },
            },
        },
    )
    record = {"sku": "S1", "wh": "W1", "at": "20/11/2026 10:15", "qty": 3, "dir": "out", "type": "SALE"}
    mapped = mapping.map_record(record)
    assert mapped["quantity"] == Decimal(-3) and mapped["kind"] == "sale"
    assert mapped["occurred_at"] == datetime(2026, 11, 20, 7, 15, tzinfo=UTC)
    assert mapped["external_id"].startswith("sha:")
    assert mapping.map_record(dict(record))["external_id"] == mapped["external_id"]
    assert mapping.map_record({**record, "qty": 4})["external_id"] != mapped["external_id"]
    unknown = mapping.map_record({**record, "type": "TELEPORT"})
    assert unknown == [FieldError("kind", "not_in_lookup", "TELEPORT")]


def test_balances_fill_reserved_and_available():
    mapping = compile_mapping(
        "stock_balances",
        {
            "fields": {
                "item_ref": {"path": "$.sku"},
                "location_ref": {"path": "$.loc"},
                "quantity": {"path": "$.on_hand"},
                "as_of": {"path": "$.at"},
            }
        },
    )
    mapped = mapping.map_record({"sku": "S", "loc": "L", "on_hand": "12.5", "at": "2026-11-20T10:15"})
    assert mapped["reserved_qty"] == 0 and mapped["available_qty"] == Decimal("12.5")
    assert mapped["as_of"] == datetime(2026, 11, 20, 10, 15, tzinfo=UTC)  # no zone in the source: UTC
    riyadh = compile_mapping(
        "stock_balances",
        {
            "timezone": "Asia/Riyadh",
            "fields": {
                "item_ref": {"path": "$.sku"},
                "location_ref": {"path": "$.loc"},
                "quantity": {"path": "$.on_hand"},
                "as_of": {"path": "$.at"},
            },
        },
    )
    assert riyadh.map_record({"sku": "S", "loc": "L", "on_hand": 1, "at": "2026-11-20T10:15"})["as_of"] == datetime(
        2026, 11, 20, 10, 15, tzinfo=timezone(timedelta(hours=3))
    )


def test_numbers_in_arabic_digits_and_with_separators():
    mapping = compile_mapping(
        "stock_balances",
        {
            "fields": {
                "item_ref": {"path": "$.sku"},
                "location_ref": {"path": "$.loc"},
                "quantity": {"path": "$.q", "transforms": [{"op": "multiply", "factor": "12"}]},
            }
        },
    )
    assert mapping.map_record({"sku": "S", "loc": "L", "q": "١٬٢٠٠"})["quantity"] == Decimal(14400)
    assert mapping.map_record({"sku": "S", "loc": "L", "q": "1,200.5"})["quantity"] == Decimal("14406.0")


def test_each_bad_record_says_what_is_wrong_per_field():
    mapping = compile_mapping(
        "items",
        {
            "fields": {
                "sku": {"path": "$.sku"},
                "name": {"path": "$.name"},
                "unit_cost": {"path": "$.cost"},
                "lead_time_days": {"path": "$.lead"},
            }
        },
    )
    errors = mapping.map_record({"sku": {"nested": 1}, "cost": "twelve", "lead": 2.5, "name": "x" * 600})
    assert {(e.field, e.code) for e in errors} == {
        ("sku", "not_text"),
        ("name", "too_long"),
        ("unit_cost", "not_a_number"),
        ("lead_time_days", "not_an_integer"),
    }
    assert mapping.map_record("not even an object") == [
        FieldError("sku", "required", "sku"),
        FieldError("name", "required", "name"),
    ]


@pytest.mark.parametrize(
    ("resource", "spec", "code", "field"),
    [
        ("orders", {"fields": {}}, "unknown_resource", "resource"),
        ("items", {"fields": {"sku": {"path": "$.a"}}}, "required_field_unmapped", "fields.name"),
        (
            "items",
            {"fields": {"sku": {"path": "$.a"}, "name": {"path": "$.b"}, "colour": {"path": "$.c"}}},
            "unknown_field",
            "fields.colour",
        ),
        ("items", {"fields": {"sku": {"path": "$[?(@"}, "name": {"path": "$.b"}}}, "bad_path", "fields.sku.path"),
        (
            "items",
            {"fields": {"sku": {"path": "$.a", "transforms": [{"op": "explode"}]}, "name": {"path": "$.b"}}},
            "unknown_transform",
            "fields.sku.transforms[0]",
        ),
        (
            "items",
            {
                "fields": {
                    "sku": {"path": "$.a"},
                    "name": {"path": "$.b", "transforms": [{"op": "lookup", "table": {}}]},
                }
            },
            "bad_transform",
            "fields.name.transforms[0]",
        ),
        (
            "items",
            {"timezone": "Mars/Olympus", "fields": {"sku": {"path": "$.a"}, "name": {"path": "$.b"}}},
            "unknown_timezone",
            "timezone",
        ),
        ("items", {"fields": {"sku": {}, "name": {"path": "$.b"}}}, "bad_rule", "fields.sku"),
    ],
)
def test_bad_mappings_are_refused_with_the_place(resource, spec, code, field):
    with pytest.raises(MappingInvalid) as caught:
        compile_mapping(resource, spec)
    assert (caught.value.code, caught.value.field) == (code, field)


# --- properties -----------------------------------------------------------------------------------

json_scalars = (
    st.none() | st.booleans() | st.integers(-(10**20), 10**20) | st.floats(allow_nan=True) | st.text(max_size=30)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(["a", "b", "sku", "qty", "at", "0", "x y"]), children, max_size=5)
    ),
    max_leaves=20,
)
simple_paths = st.lists(st.sampled_from(["a", "b", "sku", "qty", "at", 0, 1, "x y"]), max_size=4).map(
    lambda steps: (
        "$" + "".join(f"[{s}]" if isinstance(s, int) else (f"['{s}']" if " " in s else f".{s}") for s in steps)
    )
)
transform_specs = st.sampled_from(
    [
        {"op": "to_number"},
        {"op": "to_text"},
        {"op": "trim"},
        {"op": "lower"},
        {"op": "upper"},
        {"op": "parse_datetime"},
        {"op": "parse_datetime", "format": "%Y-%m-%d", "timezone": "Asia/Riyadh"},
        {"op": "multiply", "factor": "2.5"},
        {"op": "lookup", "table": {"a": "sale", "b": 2}, "default": None},
        {"op": "lookup", "table": {"a": "receipt"}},
        {"op": "default", "value": "x"},
        {"op": "negate_when", "path": "$.b", "values": ["out", 1]},
        {"op": "join", "paths": ["$.a", "$.b"]},
    ]
)
rules = st.one_of(
    st.builds(
        lambda p, t: {"path": p, "transforms": t},
        simple_paths | st.sampled_from(["$..a", "$.a[*]", "$[*].b"]),
        st.lists(transform_specs, max_size=3),
    ),
    st.builds(lambda c: {"constant": c}, json_scalars),
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.sampled_from(["items", "locations", "stock_balances", "stock_movements"]), st.data(), json_values)
def test_any_mapping_on_any_json_maps_or_reports_never_raises(resource, data, document):
    from atlas.mapping.canonical import CANONICAL_FIELDS

    fields = {f.name: data.draw(rules) for f in CANONICAL_FIELDS[resource] if f.required or data.draw(st.booleans())}
    mapping = compile_mapping(resource, {"fields": fields})
    result = mapping.map_record(document)
    if isinstance(result, dict):
        for name in (f.name for f in CANONICAL_FIELDS[resource] if f.required):
            assert result.get(name) is not None or name == "external_id", name
    else:
        assert result and all(isinstance(error, FieldError) and error.field in fields for error in result)


@settings(max_examples=500, deadline=None)
@given(simple_paths, json_values)
def test_the_simple_path_fast_path_agrees_with_jsonpath_ng(expression, document):
    compiled = CompiledPath(expression)
    assert compiled.is_simple
    expected = [match.value for match in jsonpath_parse(expression).find(document)]
    assert compiled.find(document) == expected


def test_complex_paths_use_jsonpath_ng():
    compiled = CompiledPath("$.items[*].sku")
    assert not compiled.is_simple
    assert compiled.find({"items": [{"sku": 1}, {"sku": 2}, {}]}) == [1, 2]
