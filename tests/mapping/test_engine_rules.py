"""Mapping rules that express real data: skip rules, the first non-empty of several paths, defaults per field,
stock counts, balance source ids and how balance rows combine, strict and lenient compilation; and the fast path
agreeing with the exact path with all of them in play.

The records below are shaped like InvenTree 1.x's (``/api/stock/`` rows and ``/api/stock/track/`` entries with
``item_detail=true``), the system whose data these rules were made for.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from atlas.i18n import catalogue
from atlas.mapping import engine
from atlas.mapping.canonical import CANONICAL_FIELDS, FieldType
from atlas.mapping.conditions import MAX_CONDITIONS, comparable
from atlas.mapping.engine import FieldError, MappingInvalid, Skipped, compile_mapping
from tests.mapping.test_engine import GOOD, KEYS, _strict, awkward_values, fast_rules, json_values, transform_specs

# --- InvenTree's stock tracking entries -----------------------------------------------------------

# InvenTree's tracking types (stock/status_codes.py, StockHistoryCode): 1 created, 5 edited, 10 stock count,
# 11 stock added, 12 stock removed, 20 moved. ``deltas.quantity`` is the stock item's quantity after the entry,
# ``added`` / ``removed`` the change; a count holds only the resulting quantity. Dates have minutes and no zone.
TRACK_MAPPING: dict[str, Any] = {
    "skip": [
        {"path": "$.tracking_type", "not_in": [1, 10, 11, 12]},  # edits, notes, moves: no change of quantity
        {"all": [{"path": "$.tracking_type", "equals": 1}, {"path": "$.deltas.quantity", "empty": True}]},
    ],
    "count": {
        "when": [{"path": "$.tracking_type", "equals": 10}],
        "counted": {"path": "$.deltas.quantity"},
        "level_key": {"path": "$.item", "transforms": [{"op": "to_text"}]},
    },
    "fields": {
        "external_id": {"path": "$.pk", "transforms": [{"op": "to_text"}]},
        "item_ref": {"path": "$.item_detail.part", "transforms": [{"op": "to_text"}]},
        "location_ref": {"path": "$.item_detail.location", "transforms": [{"op": "to_text"}]},
        "occurred_at": {"path": "$.date", "transforms": [{"op": "parse_datetime", "format": "%Y-%m-%d %H:%M"}]},
        "quantity": {
            "paths": ["$.deltas.added", "$.deltas.removed", "$.deltas.quantity"],
            "transforms": [{"op": "negate_when", "path": "$.tracking_type", "values": [12]}],
        },
        "kind": {
            "path": "$.tracking_type",
            "transforms": [{"op": "lookup", "table": {"1": "receipt", "11": "receipt", "12": "issue"}}],
        },
        "level": {"path": "$.deltas.quantity"},
    },
}


def track(pk: int, tracking_type: int, deltas: dict[str, Any], *, item: int = 501, part: int = 77) -> dict[str, Any]:
    return {
        "pk": pk,
        "item": item,  # a stock item's pk: the stock row, not the part
        "tracking_type": tracking_type,
        "date": "2026-11-22 06:08",
        "deltas": deltas,
        "item_detail": {"pk": item, "part": part, "location": 3, "quantity": 43.0},
    }


def map_all_three(mapping: engine.CompiledMapping, records: list[Any]) -> list[Any]:
    """What the exact path gives, after checking that map_record and map_many give the same."""
    exact = [mapping.map_exact(record) for record in records]
    assert [mapping.map_record(record) for record in records] == exact
    assert mapping.map_many(records) == exact
    return exact


def test_track_entries_become_movements_counts_and_skips():
    mapping = compile_mapping("stock_movements", TRACK_MAPPING, strict=True)
    assert mapping.counts and mapping.combine == "last"
    edited, created_empty = track(1, 5, {"status": 10}), track(2, 1, {"status": 10})
    created = track(3, 1, {"status": 10, "location": 3, "quantity": 40.0})
    added = track(4, 11, {"added": 5.0, "quantity": 45.0})
    removed = track(5, 12, {"removed": 2.0, "quantity": 43.0})
    count = track(6, 10, {"quantity": 41.0})
    moved = track(7, 20, {"location": 4})
    detached = {**track(8, 11, {"added": 1.0, "quantity": 42.0}), "item_detail": None}
    records = [edited, created_empty, created, added, removed, count, moved, detached]
    mapped = map_all_three(mapping, records)
    assert mapped[0] == Skipped(0) and mapped[1] == Skipped(1) and mapped[6] == Skipped(0)
    occurred = datetime(2026, 11, 22, 6, 8, tzinfo=UTC)  # no zone in the source: UTC

    def movement(pk: int, quantity: str, kind: str, level: str) -> dict[str, Any]:
        return {
            "external_id": str(pk),
            "item_ref": "77",  # the part, from the nested stock item; not the entry's stock-row id
            "location_ref": "3",
            "occurred_at": occurred,
            "quantity": Decimal(quantity),
            "kind": kind,
            "level": Decimal(level),
            "level_key": "501",  # the count rule's level key: the source's stock row, for every movement
            "is_count": False,
        }

    assert mapped[2:5] == [
        movement(3, "40.0", "receipt", "40.0"),
        movement(4, "5.0", "receipt", "45.0"),
        movement(5, "-2.0", "issue", "43.0"),
    ]
    # A stock count: an adjustment whose change the writer works out from the level before it. The kinds'
    # lookup does not know type 10, and is not asked.
    assert mapped[5] == {
        "external_id": "6",
        "item_ref": "77",
        "location_ref": "3",
        "occurred_at": occurred,
        "level": Decimal("41.0"),
        "level_key": "501",
        "kind": "adjustment",
        "quantity": Decimal(0),
        "is_count": True,
    }
    assert mapped[7] == [FieldError("item_ref", "required", "item_ref")]  # a real problem is still set aside
    results = [mapping.apply(record) for record in (edited, added, detached)]
    assert [(r.ok, r.skipped, bool(r.errors)) for r in results] == [
        (False, 0, False),
        (True, None, False),
        (False, None, True),
    ]


def test_a_count_needs_its_counted_quantity_and_level_key():
    mapping = compile_mapping("stock_movements", TRACK_MAPPING)
    no_quantity = track(9, 10, {"status": 10})
    no_stock_row = {**track(10, 11, {"added": 1.0, "quantity": 2.0}), "item": None}
    assert map_all_three(mapping, [no_quantity, no_stock_row]) == [
        [FieldError("level", "required", "level")],
        [FieldError("level_key", "required", "level_key")],
    ]


def test_level_keys_default_to_the_item_and_location_pair():
    base = {
        "item_ref": {"path": "$.sku"},
        "location_ref": {"path": "$.wh"},
        "occurred_at": {"path": "$.at"},
        "quantity": {"path": "$.qty"},
        "kind": {"constant": "sale"},
    }
    record = {"sku": "S1", "wh": "W1", "at": "2026-11-22T09:00:00+03:00", "qty": -1, "after": 7}
    plain = compile_mapping("stock_movements", {"fields": base})
    assert not plain.counts
    row = map_all_three(plain, [record])[0]
    assert (row["level"], row["level_key"], row["is_count"]) == (None, None, False)
    levelled = compile_mapping("stock_movements", {"fields": {**base, "level": {"path": "$.after"}}})
    assert map_all_three(levelled, [record])[0]["level_key"] == "S1@W1"
    counting = compile_mapping(
        "stock_movements",
        {"fields": base, "count": {"when": [{"path": "$.type", "equals": "COUNT"}], "counted": {"path": "$.after"}}},
    )
    rows = map_all_three(counting, [record, {**record, "type": "count"}, {**record, "type": "count", "wh": None}])
    assert [(r["level_key"], r["level"], r["kind"], r["quantity"], r["is_count"]) for r in rows] == [
        ("S1@W1", None, "sale", Decimal(-1), False),
        ("S1@W1", Decimal(7), "adjustment", Decimal(0), True),
        ("S1@", Decimal(7), "adjustment", Decimal(0), True),  # no location: the writer's "no location" bucket
    ]
    keyed = compile_mapping("stock_movements", {"fields": {**base, "level_key": {"path": "$.row"}}})
    assert map_all_three(keyed, [{**record, "row": 12}])[0]["level_key"] == "12"


# --- skip conditions ------------------------------------------------------------------------------

ITEM_FIELDS = {"sku": {"path": "$.sku"}, "name": {"path": "$.name"}}


@pytest.mark.parametrize(
    ("condition", "matches", "misses"),
    [
        # Values compare by their text form, case-insensitive, as the lookup transform compares them.
        ({"path": "$.v", "equals": 10}, [10, "10", 10.0, " 10 "], [11, "10.5", None, [10], {"a": 10}]),
        ({"path": "$.v", "equals": "Out"}, ["out", "OUT", " out"], ["outbound", None]),
        ({"path": "$.v", "equals": True}, [True, "true", "TRUE"], [1, False]),
        ({"path": "$.v", "equals": None}, [None, "<missing>"], ["", 0, False]),
        ({"path": "$.v", "in": [1, "two"]}, [1, "1", "TWO", 1.0], [2, None, "<missing>"]),
        ({"path": "$.v", "not_in": [1, 2]}, [3, "x", None, "<missing>", [1]], [1, "2", 2.0]),
        ({"path": "$.v", "empty": True}, [None, "", "  ", [], {}, "<missing>"], [0, False, "x", [0], {"a": None}]),
        ({"path": "$.v", "empty": False}, [0, False, "x", [0]], [None, "", [], "<missing>"]),
    ],
)
def test_skip_conditions_compare_values_as_lookups_do(condition, matches, misses):
    mapping = compile_mapping("items", {"skip": [condition], "fields": ITEM_FIELDS}, strict=True)

    def record(value: Any) -> dict[str, Any]:
        return {"sku": "S", "name": "N"} | ({} if value == "<missing>" else {"v": value})

    assert map_all_three(mapping, [record(v) for v in matches]) == [Skipped(0)] * len(matches)
    assert all(isinstance(r, dict) for r in map_all_three(mapping, [record(v) for v in misses]))


def test_all_any_nesting_and_the_index_of_the_first_rule_that_matched():
    mapping = compile_mapping(
        "items",
        {
            "skip": [
                {"path": "$.archived", "equals": True},
                {
                    "any": [
                        {"path": "$.kind", "in": ["kit", "service"]},
                        {"all": [{"path": "$.a", "equals": 1}, {"path": "$.b", "empty": True}]},
                    ]
                },
            ],
            "fields": ITEM_FIELDS,
        },
    )
    records = [
        {"sku": "S", "name": "N", "archived": True, "kind": "kit"},
        {"sku": "S", "name": "N", "kind": "Service"},
        {"sku": "S", "name": "N", "a": "1"},
        {"sku": "S", "name": "N", "a": 1, "b": 0},
        {"name": "no sku", "kind": "kit"},  # skipped before it is mapped: a skipped record is never an error
        {"name": "no sku"},
        "not an object",
    ]
    assert map_all_three(mapping, records) == [
        Skipped(0),
        Skipped(1),
        Skipped(1),
        {"sku": "S", "name": "N", "external_id": "S"},
        Skipped(1),
        [FieldError("sku", "required", "sku")],
        [FieldError("sku", "required", "sku"), FieldError("name", "required", "name")],
    ]
    assert compile_mapping("items", {"skip": [], "fields": ITEM_FIELDS}).map_record({"sku": "S", "name": "N"})


def test_conditions_read_complex_paths_and_never_raise():
    mapping = compile_mapping(
        "items",
        {
            "skip": [{"path": "$.tags[?(@.v > 2)].v", "equals": 3}, {"path": "$..flag", "equals": "x"}],
            "fields": ITEM_FIELDS,
        },
    )
    base = {"sku": "S", "name": "N"}
    records = [
        {**base, "tags": [{"v": 1}, {"v": 3}]},
        {**base, "tags": [{"v": "text"}]},  # a filter comparing text with a number: no value, no error
        {**base, "deep": {"flag": "X"}},
        base,
    ]
    assert map_all_three(mapping, records) == [
        Skipped(0),
        base | {"external_id": "S"},
        Skipped(1),
        base | {"external_id": "S"},
    ]


def nested(depth: int) -> dict[str, Any]:
    condition: dict[str, Any] = {"path": "$.a", "equals": 1}
    for _ in range(depth - 1):
        condition = {"all": [condition]}
    return condition


@pytest.mark.parametrize(
    ("skip", "code", "field"),
    [
        ({"path": "$.a"}, "bad_condition", "skip"),
        ([{"path": "$.a"}], "bad_condition", "skip[0]"),
        ([{"path": "$.a", "equals": 1, "in": [1]}], "bad_condition", "skip[0]"),
        ([{"path": "$.a", "equals": 1, "colour": "red"}], "bad_condition", "skip[0]"),
        ([{"path": "$.a", "equals": {"b": 1}}], "bad_condition", "skip[0].equals"),
        ([{"path": "$.a", "in": []}], "bad_condition", "skip[0].in"),
        ([{"path": "$.a", "not_in": [[1]]}], "bad_condition", "skip[0].not_in"),
        ([{"path": "$.a", "empty": "yes"}], "bad_condition", "skip[0].empty"),
        ([{"all": []}], "bad_condition", "skip[0].all"),
        ([{"any": [{"path": "$.a", "equals": 1}], "path": "$.b"}], "bad_condition", "skip[0]"),
        (["$.a == 1"], "bad_condition", "skip[0]"),
        ([{"path": "$[?(@", "equals": 1}], "bad_path", "skip[0].path"),
        ([{"path": 5, "equals": 1}], "bad_path", "skip[0].path"),
        ([nested(3)], None, None),
        ([nested(4)], "conditions_too_deep", "skip[0].all[0].all[0].all[0]"),
        ([{"path": "$.a", "equals": n} for n in range(MAX_CONDITIONS)], None, None),
        ([{"path": "$.a", "equals": n} for n in range(MAX_CONDITIONS + 1)], "too_many_conditions", "skip"),
        ([{"any": [{"path": "$.a", "equals": n} for n in range(MAX_CONDITIONS)]}], "too_many_conditions", "skip"),
    ],
)
def test_bad_conditions_are_refused_with_the_place(skip, code, field):
    spec = {"skip": skip, "fields": ITEM_FIELDS}
    if code is None:
        compile_mapping("items", spec, strict=True)
        return
    with pytest.raises(MappingInvalid) as caught:
        compile_mapping("items", spec)
    assert (caught.value.code, caught.value.field) == (code, field)


# --- first non-empty of several paths, and defaults -----------------------------------------------


def test_sku_is_the_ipn_else_the_pk():
    mapping = compile_mapping(
        "items",
        {
            "fields": {
                "external_id": {"path": "$.pk", "transforms": [{"op": "to_text"}]},
                "sku": {"paths": ["$.IPN", "$.pk"], "transforms": [{"op": "to_text"}, {"op": "trim"}]},
                "name": {"path": "$.name"},
                "unit_of_measure": {"path": "$.units", "default": "pcs"},
            }
        },
        strict=True,
    )
    parts = [
        {"pk": 1, "IPN": "WID-001", "name": "Widget", "units": "m"},
        {"pk": 2, "IPN": "", "name": "Bolt", "units": ""},  # InvenTree: IPN often empty, units "" means pieces
        {"pk": 3, "IPN": None, "name": "Nut"},
        {"pk": 4, "IPN": "   ", "name": "Washer", "units": None},
        {"IPN": [], "name": "No id at all"},
    ]
    rows = map_all_three(mapping, parts)
    assert [(r["sku"], r["unit_of_measure"]) for r in rows[:4]] == [
        ("WID-001", "m"),
        ("2", "pcs"),
        ("3", "pcs"),
        ("4", "pcs"),
    ]
    assert rows[4] == [FieldError("sku", "required", "sku")]


def test_a_default_is_a_canonical_value_applied_after_the_transforms():
    mapping = compile_mapping(
        "stock_balances",
        {
            "combine": "last",
            "fields": {
                "item_ref": {"path": "$.sku"},
                # A lookup that knows no such warehouse leaves nothing; the default names the location itself.
                "location_ref": {
                    "path": "$.wh",
                    "transforms": [{"op": "lookup", "table": {"Main": "WH-1"}, "default": None}],
                    "default": "WH-DEFAULT",
                },
                "quantity": {"path": "$.qty", "transforms": [{"op": "multiply", "factor": 10}], "default": 0},
                "as_of": {"path": "$.at", "default": "2026-01-01T00:00:00"},
            },
        },
        strict=True,
    )
    rows = map_all_three(
        mapping,
        [
            {"sku": "A", "wh": "main", "qty": 2},
            {"sku": "A", "wh": "Elsewhere"},
            {"sku": "A", "qty": "lots"},  # a value that is there but wrong is an error, not the default
        ],
    )
    assert (rows[0]["location_ref"], rows[0]["quantity"]) == ("WH-1", Decimal(20))
    assert (rows[1]["location_ref"], rows[1]["quantity"], rows[1]["source_id"]) == (
        "WH-DEFAULT",
        Decimal(0),
        "A@WH-DEFAULT",
    )
    assert rows[1]["as_of"] == datetime(2026, 1, 1, tzinfo=UTC)
    assert rows[2] == [FieldError("quantity", "not_a_number", "lots")]


@pytest.mark.parametrize(
    ("resource", "fields", "where"),
    [
        (
            "items",
            {"sku": {"path": "$.a"}, "name": {"path": "$.b"}, "unit_cost": {"path": "$.c", "default": "free"}},
            "fields.unit_cost.default",
        ),
        ("items", {"sku": {"path": "$.a", "default": ""}, "name": {"path": "$.b"}}, "fields.sku.default"),
        ("items", {"sku": {"path": "$.a", "default": None}, "name": {"path": "$.b"}}, "fields.sku.default"),
        ("items", {"sku": {"path": "$.a", "default": {"x": 1}}, "name": {"path": "$.b"}}, "fields.sku.default"),
        (
            "items",
            {"sku": {"path": "$.a"}, "name": {"path": "$.b"}, "lead_time_days": {"path": "$.c", "default": 2.5}},
            "fields.lead_time_days.default",
        ),
        (
            "stock_movements",
            {
                "item_ref": {"path": "$.a"},
                "occurred_at": {"path": "$.t"},
                "quantity": {"path": "$.q"},
                "kind": {"path": "$.k", "default": "teleport"},
            },
            "fields.kind.default",
        ),
    ],
)
def test_a_default_that_is_not_a_value_of_its_field_is_refused(resource, fields, where):
    with pytest.raises(MappingInvalid) as caught:
        compile_mapping(resource, {"fields": fields})
    assert (caught.value.code, caught.value.field) == ("bad_default", where)


@pytest.mark.parametrize("paths", [[], "$.a", ["$.a"] * 11])
def test_bad_paths_lists_are_refused(paths):
    with pytest.raises(MappingInvalid) as caught:
        compile_mapping("items", {"fields": {"sku": {"paths": paths}, "name": {"path": "$.b"}}})
    assert (caught.value.code, caught.value.field) == ("bad_paths", "fields.sku.paths")
    with pytest.raises(MappingInvalid) as caught:
        compile_mapping("items", {"fields": {"sku": {"paths": ["$.a", "$[?("]}, "name": {"path": "$.b"}}})
    assert (caught.value.code, caught.value.field) == ("bad_path", "fields.sku.paths[1]")


# --- balances: source ids and how rows combine ----------------------------------------------------

STOCK = {"item_ref": {"path": "$.part"}, "location_ref": {"path": "$.location"}, "quantity": {"path": "$.quantity"}}


def test_balance_rows_carry_their_source_id_and_may_have_no_location():
    summed = compile_mapping("stock_balances", {"fields": {**STOCK, "source_id": {"path": "$.pk"}}}, strict=True)
    assert summed.combine == "sum"
    rows = map_all_three(
        summed,
        [
            {"pk": 901, "part": 77, "location": 3, "quantity": 10.0},
            {"pk": 902, "part": 77, "location": None, "quantity": 1.0},  # in transit: no location, not an error
            {"part": 77, "location": 3, "quantity": 1.0},
        ],
    )
    assert [(r["source_id"], r["item_ref"], r["location_ref"]) for r in rows[:2]] == [
        ("901", "77", "3"),
        ("902", "77", None),
    ]
    assert rows[2] == [FieldError("source_id", "required", "source_id")]  # a row that cannot say which it is
    last = compile_mapping("stock_balances", {"combine": "last", "fields": STOCK}, strict=True)
    assert last.combine == "last"
    assert [
        r["source_id"]
        for r in map_all_three(last, [{"part": 77, "location": 3, "quantity": 1}, {"part": 77, "quantity": 1}])
    ] == [
        "77@3",
        "77@",
    ]
    unlocated = compile_mapping(
        "stock_balances", {"combine": "last", "fields": {"item_ref": {"path": "$.sku"}, "quantity": {"path": "$.q"}}}
    )
    assert map_all_three(unlocated, [{"sku": "A", "q": 2}]) == [
        {
            "item_ref": "A",
            "quantity": Decimal(2),
            "location_ref": None,
            "reserved_qty": Decimal(0),
            "available_qty": Decimal(2),
            "source_id": "A@",
        }
    ]


def test_summing_without_source_ids_is_refused_when_saved_and_behaves_as_last_when_stored():
    for spec in ({"fields": STOCK}, {"combine": "sum", "fields": STOCK}):
        with pytest.raises(MappingInvalid) as caught:
            compile_mapping("stock_balances", spec, strict=True)
        assert (caught.value.code, caught.value.field) == ("source_id_required", "fields.source_id")
        stored = compile_mapping("stock_balances", spec)
        assert stored.combine == "last"
        assert stored.map_record({"part": 1, "location": 2, "quantity": 3})["source_id"] == "1@2"
    message = catalogue()["errors.mapping_source_id_required"]["en"]
    assert "$.pk" in message and 'combine: "last"' in message


@pytest.mark.parametrize(
    ("resource", "spec", "code", "field"),
    [
        ("stock_balances", {"combine": "average", "fields": STOCK}, "bad_combine", "combine"),
        ("items", {"combine": "last", "fields": ITEM_FIELDS}, "balances_only", "combine"),
        (
            "stock_balances",
            {
                "combine": "last",
                "count": {"when": [{"path": "$.a", "equals": 1}], "counted": {"path": "$.q"}},
                "fields": STOCK,
            },
            "movements_only",
            "count",
        ),
        (
            "stock_movements",
            {"count": {"when": [{"path": "$.a", "equals": 1}]}, "fields": TRACK_MAPPING["fields"]},
            "bad_count",
            "count",
        ),
        ("stock_movements", {"count": [], "fields": TRACK_MAPPING["fields"]}, "bad_count", "count"),
        (
            "stock_movements",
            {"count": {"when": [], "counted": {"path": "$.q"}}, "fields": TRACK_MAPPING["fields"]},
            "bad_condition",
            "count.when",
        ),
        (
            "stock_movements",
            {
                "count": {"when": [{"path": "$.a", "equals": 1}], "counted": {"path": "$.q", "default": "x"}},
                "fields": TRACK_MAPPING["fields"],
            },
            "bad_default",
            "count.counted.default",
        ),
        (
            "stock_movements",
            {"count": {"when": [{"path": "$.a", "equals": 1}], "counted": {}}, "fields": TRACK_MAPPING["fields"]},
            "bad_rule",
            "count.counted",
        ),
        (
            "stock_movements",
            {
                "count": {**TRACK_MAPPING["count"]},
                "fields": {**TRACK_MAPPING["fields"], "level_key": {"path": "$.item"}},
            },
            "level_key_twice",
            "count.level_key",
        ),
    ],
)
def test_bad_combine_and_count_rules_are_refused_with_the_place(resource, spec, code, field):
    with pytest.raises(MappingInvalid) as caught:
        compile_mapping(resource, spec)
    assert (caught.value.code, caught.value.field) == (code, field)


# --- strict and lenient ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "code", "field"),
    [
        ({"skpi": [{"path": "$.a", "equals": 1}], "fields": ITEM_FIELDS}, "unknown_key", "skpi"),
        ({"fields": {**ITEM_FIELDS, "name": {"path": "$.b", "defualt": "x"}}}, "unknown_key", "fields.name.defualt"),
        ({"fields": {**ITEM_FIELDS, "name": {"path": "$.b", "constant": "x"}}}, "several_sources", "fields.name"),
        ({"fields": {**ITEM_FIELDS, "name": {"path": "$.b", "paths": ["$.c"]}}}, "several_sources", "fields.name"),
    ],
)
def test_strict_refuses_what_only_stored_versions_may_hold(spec, code, field):
    with pytest.raises(MappingInvalid) as caught:
        compile_mapping("items", spec, strict=True)
    assert (caught.value.code, caught.value.field) == (code, field)
    compile_mapping("items", spec)  # a stored version keeps compiling, and meaning what it meant


def test_a_stored_rule_with_a_constant_and_a_path_keeps_its_constant():
    mapping = compile_mapping("items", {"fields": {**ITEM_FIELDS, "name": {"path": "$.b", "constant": "Fixed"}}})
    assert mapping.map_record({"sku": "S", "b": "from path"})["name"] == "Fixed"


def test_unknown_count_keys_are_refused_when_strict():
    spec = {"count": {**TRACK_MAPPING["count"], "coutned": 1}, "fields": TRACK_MAPPING["fields"]}
    with pytest.raises(MappingInvalid) as caught:
        compile_mapping("stock_movements", spec, strict=True)
    assert (caught.value.code, caught.value.field) == ("unknown_key", "count.coutned")


def test_location_is_optional_for_balances_and_movements():
    for resource in ("stock_balances", "stock_movements"):
        required = {f.name for f in CANONICAL_FIELDS[resource] if f.required}
        assert "location_ref" not in required and "item_ref" in required
    movements = compile_mapping(
        "stock_movements",
        {
            "fields": {
                "item_ref": {"path": "$.sku"},
                "occurred_at": {"path": "$.at"},
                "quantity": {"path": "$.q"},
                "kind": {"constant": "sale"},
            }
        },
        strict=True,
    )
    row = map_all_three(movements, [{"sku": "S", "at": "2026-11-22T09:00:00+03:00", "q": -1}])[0]
    assert row["location_ref"] is None and row["external_id"].startswith("sha:")


def test_every_mapping_error_has_a_message_in_both_languages():
    root = Path(engine.__file__).parent
    codes = set()
    for name in ("engine.py", "conditions.py"):
        codes |= set(re.findall(r'MappingInvalid\(\s*"([a-z_]+)"', (root / name).read_text(encoding="utf-8")))
    assert {"source_id_required", "bad_condition", "bad_default", "level_key_twice", "unknown_key"} <= codes
    entries = catalogue()
    for code in codes:
        entry = entries.get(f"errors.mapping_{code}")
        assert entry and entry["ar"].strip() and entry["en"].strip(), code


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=12), st.decimals()))
def test_conditions_compare_by_the_lookup_transforms_text_form(value):
    expected = engine._text(value)
    assert comparable(value) == (None if expected is None else expected.strip().lower())


# --- the fast path against the exact path, with the new rules ------------------------------------

CONDITION_PATHS = ["$.a", "$.b", "$.qty", "$.a.b", "$[0]", "$..a", "$.a[*]", "$.kind"]
CONDITION_VALUES = [None, 0, 1, "1", 1.0, True, "", "x", "X ", "sale", [], {}]
leaf_conditions = st.builds(
    lambda path, test, value, values: {
        "path": path,
        test: value if test == "equals" else values if test != "empty" else bool(value),
    },
    st.sampled_from(CONDITION_PATHS),
    st.sampled_from(["equals", "in", "not_in", "empty"]),
    st.sampled_from([v for v in CONDITION_VALUES if not isinstance(v, list | dict)]),
    st.lists(st.sampled_from([v for v in CONDITION_VALUES if not isinstance(v, list | dict)]), min_size=1, max_size=3),
)


def groups(inner):
    return st.builds(lambda k, c: {k: c}, st.sampled_from(["all", "any"]), st.lists(inner, min_size=1, max_size=2))


conditions = leaf_conditions | groups(leaf_conditions | groups(leaf_conditions))  # at most three levels deep
condition_lists = st.lists(conditions, min_size=1, max_size=3)


def new_rules(kind):
    """A field rule of any kind, sometimes with the first-non-empty source and a default good for its type."""
    paths = st.lists(
        st.sampled_from([*[f"$.{k}" for k in KEYS], "$.a.b", "$..qty", "$.a[*]", "$['x y']"]), min_size=1, max_size=3
    )
    with_paths = st.builds(lambda p, t: {"paths": p, "transforms": t}, paths, st.lists(transform_specs, max_size=2))
    base = st.one_of(fast_rules, with_paths)
    return st.builds(
        lambda rule, default: rule if default is None else {**rule, "default": default},
        base,
        st.none() | st.sampled_from(GOOD[kind]),
    )


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.sampled_from(["items", "locations", "stock_balances", "stock_movements"]), st.data())
def test_the_fast_path_agrees_with_the_exact_path_with_skips_paths_defaults_and_counts(resource, data):
    mapped = [f for f in CANONICAL_FIELDS[resource] if f.required or data.draw(st.booleans())]
    fields = {
        f.name: {"path": f"$.{f.name}"} if data.draw(st.integers(0, 2)) else data.draw(new_rules(f.type))
        for f in mapped
    }
    spec: dict[str, Any] = {"fields": fields, "timezone": data.draw(st.sampled_from([None, "Asia/Riyadh"]))}
    if data.draw(st.booleans()):
        spec["skip"] = data.draw(condition_lists)
    if resource == "stock_balances":
        spec["combine"] = data.draw(st.sampled_from(["sum", "last"]))
    if resource == "stock_movements" and data.draw(st.booleans()):
        typed = [{"path": "$.tt", "in": [10]}]  # as InvenTree's tracking types: most records match or miss cleanly
        spec["count"] = {
            "when": data.draw(st.just(typed) | condition_lists),
            "counted": data.draw(
                st.sampled_from(
                    [{"path": "$.counted"}, {"paths": ["$.counted", "$.qty"]}, {"path": "$.counted", "default": 0}]
                )
            ),
        }
        if "level_key" not in fields and data.draw(st.booleans()):
            spec["count"]["level_key"] = data.draw(
                st.sampled_from([{"path": "$.row"}, {"paths": ["$.row", "$.a"], "default": "R"}])
            )
    memo_limit = data.draw(st.sampled_from([1, 2, engine.MEMO_LIMIT]))
    default_limit, engine.MEMO_LIMIT = engine.MEMO_LIMIT, memo_limit
    try:
        mapping = compile_mapping(resource, spec)  # every drawn default is a good value of its field
    finally:
        engine.MEMO_LIMIT = default_limit
    pool = data.draw(st.lists(st.one_of(awkward_values, st.sampled_from(CONDITION_VALUES)), min_size=1, max_size=4))
    noisy = data.draw(st.sets(st.sampled_from([f.name for f in mapped]), max_size=3))
    shared = (
        st.sampled_from(pool)
        | st.sampled_from(pool).map(lambda v: {"b": v})
        | st.sampled_from(pool).map(lambda v: [v, {"a": v}])
    )
    records = st.fixed_dictionaries(
        {f.name: st.sampled_from(pool if f.name in noisy else GOOD[f.type]) for f in mapped},
        optional={key: shared for key in [*KEYS, "x y", "kind", "row"] if key not in fields}
        | {"tt": st.sampled_from([10, "10", 11, None]), "counted": shared | st.sampled_from(GOOD[FieldType.DECIMAL])},
    )
    batch = data.draw(st.lists(st.one_of(records, records, records, json_values), min_size=1, max_size=8))
    expected = [_strict(mapping.map_exact(document)) for document in batch]
    for _ in range(2):  # the second round reads what the first one memoised
        assert [_strict(mapping.map_record(document)) for document in batch] == expected
        assert [_strict(result) for result in mapping.map_many(batch)] == expected
    for result in (mapping.map_exact(document) for document in batch):
        event(type(result).__name__ + (" (count)" if isinstance(result, dict) and result.get("is_count") else ""))
        if isinstance(result, dict) and resource == "stock_balances":
            assert isinstance(result["source_id"], str) and "location_ref" in result
        if isinstance(result, dict) and resource == "stock_movements":
            assert {"level", "level_key", "is_count", "location_ref"} <= set(result)
            assert result["level_key"] is not None or not (mapping.counts or "level" in fields)
            if result["is_count"]:
                assert result["kind"] == "adjustment" and result["quantity"] == 0 and result["level"] is not None


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.data())
def test_stock_counts_agree_on_both_paths(data):
    """Movements with a count rule always, records mostly good: counts, plain movements and skips in one batch."""
    mapped = [f for f in CANONICAL_FIELDS["stock_movements"] if f.required or data.draw(st.booleans())]
    fields = {
        f.name: {"path": f"$.{f.name}"} if data.draw(st.integers(0, 4)) else data.draw(new_rules(f.type))
        for f in mapped
    }
    count: dict[str, Any] = {
        "when": data.draw(st.just([{"path": "$.tt", "in": [10]}]) | condition_lists),
        "counted": data.draw(
            st.sampled_from(
                [{"path": "$.counted"}, {"paths": ["$.counted", "$.quantity"]}, {"path": "$.counted", "default": 0}]
            )
        ),
    }
    if "level_key" not in fields and data.draw(st.booleans()):
        count["level_key"] = data.draw(
            st.sampled_from([{"path": "$.row"}, {"paths": ["$.row", "$.a"], "default": "R"}])
        )
    spec = {"fields": fields, "count": count}
    if data.draw(st.booleans()):
        spec["skip"] = data.draw(st.just([{"path": "$.tt", "empty": True}]) | condition_lists)
    mapping = compile_mapping("stock_movements", spec)
    values = st.sampled_from(CONDITION_VALUES) | awkward_values
    records = st.fixed_dictionaries(
        {f.name: st.sampled_from(GOOD[f.type]) for f in mapped},
        optional={
            "tt": st.sampled_from([10, "10", 11, None, "x"]),
            "counted": st.sampled_from(GOOD[FieldType.DECIMAL]) | values,
            "row": st.sampled_from(["R1", 7]) | values,
            "a": values,
        },
    )
    batch = data.draw(st.lists(records, min_size=1, max_size=8))
    expected = [_strict(mapping.map_exact(document)) for document in batch]
    for _ in range(2):
        assert [_strict(mapping.map_record(document)) for document in batch] == expected
        assert [_strict(result) for result in mapping.map_many(batch)] == expected
    for result in (mapping.map_exact(document) for document in batch):
        event(type(result).__name__ + (" (count)" if isinstance(result, dict) and result["is_count"] else ""))
        if isinstance(result, dict):
            assert result["level_key"] is not None
            if result["is_count"]:
                assert (result["kind"], result["quantity"]) == ("adjustment", 0) and result["level"] is not None
