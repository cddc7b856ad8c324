"""The canonical inventory model as the mapping engine sees it: fields, types, what is required."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class FieldType(enum.StrEnum):
    TEXT = "text"
    DECIMAL = "decimal"
    INTEGER = "integer"
    DATETIME = "datetime"
    MOVEMENT_KIND = "movement_kind"
    LOCATION_TYPE = "location_type"
    ORDER_KIND = "order_kind"


class MovementKind(enum.StrEnum):
    SALE = "sale"
    ISSUE = "issue"
    RECEIPT = "receipt"
    TRANSFER_IN = "transfer_in"
    TRANSFER_OUT = "transfer_out"
    ADJUSTMENT = "adjustment"


LOCATION_TYPES = ("warehouse", "store", "distribution_center", "supplier", "other")
# What an open order line is: a purchase order from a supplier, or a transfer between the source's locations.
ORDER_KINDS = ("purchase", "transfer")


@dataclass(frozen=True, slots=True)
class CanonicalField:
    name: str
    type: FieldType
    required: bool = False
    max_length: int = 500


CANONICAL_FIELDS: dict[str, tuple[CanonicalField, ...]] = {
    "items": (
        CanonicalField("external_id", FieldType.TEXT, required=True, max_length=200),
        CanonicalField("sku", FieldType.TEXT, required=True, max_length=200),
        CanonicalField("name", FieldType.TEXT, required=True),
        CanonicalField("category", FieldType.TEXT, max_length=200),
        CanonicalField("unit_of_measure", FieldType.TEXT, max_length=50),
        CanonicalField("unit_cost", FieldType.DECIMAL),
        CanonicalField("lead_time_days", FieldType.INTEGER),
        # How the item can be ordered: the least quantity a supplier takes, and the case pack an order is a multiple
        # of (in the item's unit of measure).
        CanonicalField("min_order_qty", FieldType.DECIMAL),
        CanonicalField("order_multiple", FieldType.DECIMAL),
    ),
    "locations": (
        CanonicalField("external_id", FieldType.TEXT, required=True, max_length=200),
        CanonicalField("code", FieldType.TEXT, required=True, max_length=200),
        CanonicalField("name", FieldType.TEXT, required=True),
        CanonicalField("type", FieldType.LOCATION_TYPE),
        CanonicalField("address", FieldType.TEXT, max_length=1000),
    ),
    # A record with no location (stock in transit, unassigned) is not an error: the sync puts it in the
    # connector's "no location" bucket, or a rule's default names a location.
    "stock_balances": (
        CanonicalField("item_ref", FieldType.TEXT, required=True, max_length=200),
        CanonicalField("location_ref", FieldType.TEXT, max_length=200),
        CanonicalField("quantity", FieldType.DECIMAL, required=True),
        CanonicalField("reserved_qty", FieldType.DECIMAL),
        CanonicalField("available_qty", FieldType.DECIMAL),
        CanonicalField("as_of", FieldType.DATETIME),
        # The source's own id of the stock row (a lot, a serial, a bin): rows of one item and location add up.
        CanonicalField("source_id", FieldType.TEXT, max_length=420),
    ),
    "stock_movements": (
        CanonicalField("external_id", FieldType.TEXT, max_length=200),
        CanonicalField("item_ref", FieldType.TEXT, required=True, max_length=200),
        CanonicalField("location_ref", FieldType.TEXT, max_length=200),
        CanonicalField("occurred_at", FieldType.DATETIME, required=True),
        CanonicalField("quantity", FieldType.DECIMAL, required=True),
        CanonicalField("kind", FieldType.MOVEMENT_KIND, required=True),
        CanonicalField("reference", FieldType.TEXT, max_length=200),
        # The quantity after the movement, when the source says it, and whose quantity that is (a pair, or the
        # source's own stock row).
        CanonicalField("level", FieldType.DECIMAL),
        CanonicalField("level_key", FieldType.TEXT, max_length=420),
    ),
    # What is on its way to a location and not received yet: the open quantity (ordered − received) of a purchase
    # order line or a transfer in transit. A full read is the whole open set: a line the source no longer lists is
    # closed and leaves Atlas too. Without an id of its own a line is identified by its content.
    "open_orders": (
        CanonicalField("external_id", FieldType.TEXT, max_length=200),
        CanonicalField("item_ref", FieldType.TEXT, required=True, max_length=200),
        CanonicalField("location_ref", FieldType.TEXT, max_length=200),
        CanonicalField("open_qty", FieldType.DECIMAL, required=True),
        CanonicalField("expected_at", FieldType.DATETIME),
        CanonicalField("kind", FieldType.ORDER_KIND),
        CanonicalField("reference", FieldType.TEXT, max_length=200),
    ),
}
RESOURCES = tuple(CANONICAL_FIELDS)


def field_of(resource: str, name: str) -> CanonicalField:
    for field in CANONICAL_FIELDS[resource]:
        if field.name == name:
            return field
    raise KeyError(f"{resource}.{name}")
