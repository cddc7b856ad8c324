"""The mapping engine: known answers, bad mappings refused, and properties over arbitrary JSON."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonpath_ng.ext.parser import parse as jsonpath_parse

from atlas.connectors.engine.jsonpath import CompiledPath
from atlas.mapping import engine
from atlas.mapping.canonical import FieldType
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
        {"op": "multiply", "path": "$.b"},
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


# --- the fast path against the exact (field-by-field) path -----------------------------------------


def _strict(value):
    """A value with its types spelled out: Decimal('1') is not 1, and a datetime keeps its zone."""
    if isinstance(value, dict):
        return ("dict", [(key, _strict(item)) for key, item in value.items()])
    if isinstance(value, list):
        return ("list", [_strict(item) for item in value])
    return (type(value).__name__, repr(value))


KEYS = ["a", "b", "qty"]
awkward_values = st.one_of(
    st.sampled_from(
        [
            None,
            True,
            False,
            0,
            1,
            -3,
            2**31 - 1,
            2**31,
            -(2**31),
            10**14 - 1,
            10**14,
            -(10**14) + 1,
            10**15 - 1,
            10**15,
            -(10**15) + 1,
            10**20,
            0.0,
            1.0,
            2.5,
            -0.5,
            float("nan"),
            float("inf"),
            1e300,
            "",
            " ",
            "\u00a0",
            "x",
            " x",
            "x ",
            "\tSKU-1",
            "SKU-0001",
            "x" * 50,
            "x" * 51,
            "x" * 200,
            "x" * 201,
            "x" * 501,
            "1",
            "12.50",
            " 7 ",
            "1,200.5",
            "١٬٢٠٠",
            "1e400",
            "1e15",
            "1e14",
            "99999999999999.9999",
            "NaN",
            "-0",
            "0.000",
            "2026-11-22T09:00:00+03:00",
            "2026-11-22T09:00:00.123456+03:00",
            "2026-11-22T09:00:00",
            "2026-11-22",
            "2026-11-22T09:00:00Z",
            "1969-12-31T23:59:59+00:00",
            "2201-01-01T00:00:00+00:00",
            "  20261122T09:00:00+03:00",
            "2026-11-22T09:00:00+03:0x",
            "20/11/2026 10:15",
            "sale",
            "SALE",
            " Receipt ",
            "teleport",
            "warehouse",
            "Store ",
            "a",
            "b",
            "out",
            1700000000,
            1700000000000,
            [],
            {},
            ["x"],
            {"a": 1},
            {"b": "sale"},
        ]
    ),
    st.integers(-(10**16), 10**16),
    st.text(max_size=8),
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
)
# Values that are equal in Python but not the same value (1, 1.0 and True), or that several field types accept.
twins = st.sampled_from(
    [[1, 1.0, True, "1"], [0, 0.0, -0.0, False, "0"], [1700000000, 1700000000.0, "1700000000", "sale", "SALE"]]
).flatmap(st.permutations)
field_paths = st.one_of(
    st.sampled_from([f"$.{key}" for key in KEYS]),
    st.sampled_from(["$.a.b", "$.a[0]", "$.b[1].a", "$['x y']", "$", "$[0]", "$..qty", "$.a[*]", "$[*].b"]),
)
fast_rules = st.one_of(
    st.builds(lambda p: {"path": p}, field_paths),
    st.builds(lambda p, t: {"path": p, "transforms": t}, field_paths, st.lists(transform_specs, max_size=2)),
    st.builds(lambda c: {"constant": c}, awkward_values),
)


# Values that each canonical type accepts, so that most records map and reach every field's fast path;
# some are accepted by several types, with different results (1700000000 is a number and a moment).
GOOD = {
    FieldType.TEXT: ["SKU-1", "x", "1", "sale"],
    FieldType.DECIMAL: [5, "12.50", 1, "1", 1700000000],
    FieldType.INTEGER: [3, "4", 1],
    FieldType.DATETIME: ["2026-11-22T09:00:00+03:00", "2026-11-22T09:00:00", 1700000000],
    FieldType.MOVEMENT_KIND: ["sale", "RECEIPT"],
    FieldType.LOCATION_TYPE: ["store", "depot", "sale"],
}


@settings(max_examples=1000, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.sampled_from(["items", "locations", "stock_balances", "stock_movements"]), st.data())
def test_the_fast_path_agrees_with_the_exact_path(resource, data):
    from atlas.mapping.canonical import CANONICAL_FIELDS

    mapped = [f for f in CANONICAL_FIELDS[resource] if f.required or data.draw(st.booleans())]
    # Most fields read their own key; the others any rule (a shared key, a nested or complex path, a constant).
    fields = {
        f.name: {"path": f"$.{f.name}"} if data.draw(st.integers(0, 3)) else data.draw(fast_rules) for f in mapped
    }
    zone = data.draw(st.sampled_from([None, "Asia/Riyadh"]))
    # A memo of one or two values also exercises fields that stop memoising once their memo is full.
    memo_limit = data.draw(st.sampled_from([1, 2, engine.MEMO_LIMIT]))
    default_limit, engine.MEMO_LIMIT = engine.MEMO_LIMIT, memo_limit
    try:
        mapping = compile_mapping(resource, {"fields": fields, "timezone": zone})
    finally:
        engine.MEMO_LIMIT = default_limit
    # Records whose values come from a small pool for some fields (so that fields share values and values
    # repeat) and are good values for the others (so that most records reach every field's fast path).
    pool = data.draw(twins | st.lists(awkward_values, min_size=1, max_size=4))
    noisy = data.draw(st.sets(st.sampled_from([f.name for f in mapped]), max_size=3))
    shared = (
        st.sampled_from(pool)
        | st.sampled_from(pool).map(lambda v: {"b": v})
        | st.sampled_from(pool).map(lambda v: [v, {"a": v}])
    )
    records = st.fixed_dictionaries(
        {f.name: st.sampled_from(pool if f.name in noisy else GOOD[f.type]) for f in mapped},
        optional={key: shared for key in [*KEYS, "x y"]},
    )
    batch = data.draw(st.lists(st.one_of(records, records, records, json_values), min_size=1, max_size=8))
    expected = [_strict(mapping.map_exact(document)) for document in batch]
    # Twice over, so that the second round reads what the first one memoised.
    for _ in range(2):
        assert [_strict(mapping.map_record(document)) for document in batch] == expected
        assert [_strict(result) for result in mapping.map_many(batch)] == expected


def test_the_fast_path_maps_good_records_itself_and_hands_bad_ones_to_the_exact_path():
    mapping = compile_mapping(
        "stock_balances",
        {
            "fields": {
                "item_ref": {"path": "$.sku"},
                "location_ref": {"path": "$.loc"},
                "quantity": {"path": "$.qty"},
                "as_of": {"path": "$.at"},
            }
        },
    )
    good = {"sku": "S", "loc": "L", "qty": 5, "at": "2026-11-22T09:00:00+03:00"}
    bad = {"sku": " ", "loc": "L", "qty": "five", "at": "2026-11-22T09:00:00+03:00"}
    calls = []
    exact = mapping.map_record.__globals__["exact"]
    mapping.map_record.__globals__["exact"] = lambda record: calls.append(record) or exact(record)
    try:
        assert mapping.map_many([good, bad, good]) == [
            {
                "item_ref": "S",
                "location_ref": "L",
                "quantity": Decimal(5),
                "as_of": datetime(2026, 11, 22, 6, tzinfo=UTC),
                "reserved_qty": Decimal(0),
                "available_qty": Decimal(5),
                "source_id": "S@L",  # no source id mapped (a version from before them): one row per pair
            },
            [FieldError("item_ref", "required", "item_ref"), FieldError("quantity", "not_a_number", "five")],
            mapping.map_record(good),
        ]
    finally:
        mapping.map_record.__globals__["exact"] = exact
    assert calls == [bad]
    assert list(mapping.map_record(good)) == [
        "item_ref",
        "location_ref",
        "quantity",
        "as_of",
        "reserved_qty",
        "available_qty",
        "source_id",
    ]
