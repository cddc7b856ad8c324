"""What discovery sees in sample records: where the records are in an answer, the fields and their types, and the
names each canonical field goes by (English, transliterated Arabic and Arabic script).

Plain functions over plain data, so the suggestion logic tests without a server.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from atlas.connectors.engine.shape import RECORD_KEYS, child_path, find_records, list_of_objects

__all__ = ["RECORD_KEYS", "child_path", "find_records", "list_of_objects"]


# Candidate names per canonical field: English, transliterated Arabic, and Arabic script.
CANDIDATES: dict[str, tuple[str, ...]] = {
    # A balance record's own id (a stock row, a lot, a quant): rows of one item and location add up.
    "source_id": ("id", "pk", "stock_id", "stock_item_id", "row_id", "quant_id", "bin_id", "uuid", "_id"),
    "sku": (
        "sku",
        "item_code",
        "itemcode",
        "product_code",
        "ipn",
        "code",
        "article_number",
        "part_number",
        "item_no",
        "ramz",
        "rmz",
        "raqm_almadda",
        "kod",
        "رمز",
        "رمز_الصنف",
        "الرمز",
    ),
    "name": (
        "name",
        "item_name",
        "product_name",
        "title",
        "full_name",
        "description",
        "desc",
        "ism",
        "ism_alsinf",
        "wasf",
        "الاسم",
        "اسم",
        "الوصف",
    ),
    "category": (
        "category_name",
        "category",
        "group",
        "group_name",
        "family",
        "department",
        "fia",
        "sinf",
        "fiaa",
        "الفئة",
        "الصنف",
    ),
    "unit_of_measure": ("uom", "unit", "units", "unit_of_measure", "unit_name", "wahda", "الوحدة"),
    "unit_cost": (
        "unit_cost",
        "cost",
        "amount",
        "purchase_price",
        "cost_price",
        "price",
        "taklifa",
        "taklufa",
        "التكلفة",
        "السعر",
    ),
    "lead_time_days": ("lead_time_days", "lead_time", "leadtime", "delivery_days", "muddat_altawrid", "مدة_التوريد"),
    "code": ("code", "location_code", "warehouse_code", "store_code", "ramz", "kod", "رمز"),
    "type": ("location_type_name", "location_type", "type", "kind", "naw", "النوع"),
    "address": ("address", "city", "unwan", "العنوان", "المدينة"),
    "item_ref": (
        "sku",
        "item_code",
        "itemcode",
        "product_code",
        "item_id",
        "product_id",
        "part_id",
        "part",
        "product",
        "item",
        "article",
        "ramz",
        "رمز_الصنف",
        "الصنف",
    ),
    "location_ref": (
        "warehouse_id",
        "location_id",
        "store_id",
        "warehouse",
        "location",
        "warehouse_code",
        "location_code",
        "mustawda",
        "mustawdaa",
        "المستودع",
        "الموقع",
    ),
    "quantity": (
        "quantity",
        "qty",
        "on_hand",
        "onhand",
        "quantity_on_hand",
        "in_stock",
        "stock",
        "amount",
        "kamiya",
        "kammiya",
        "الكمية",
    ),
    "reserved_qty": ("reserved", "reserved_qty", "reserved_quantity", "allocated", "committed", "mahjuz", "المحجوز"),
    "available_qty": ("available", "available_qty", "free", "free_stock", "mutah", "المتاح"),
    "as_of": ("as_of", "asof", "updated_at", "updated", "modified", "timestamp", "snapshot_at", "date", "التاريخ"),
    "occurred_at": (
        "occurred_at",
        "timestamp",
        "date",
        "transaction_date",
        "posting_date",
        "created_at",
        "posted_at",
        "tarikh",
        "التاريخ",
    ),
    "kind": ("type", "kind", "movement_type", "transaction_type", "voucher_type", "naw", "النوع"),
    "reference": ("reference", "ref", "document", "document_number", "invoice", "marja", "المرجع"),
    "external_id": ("id", "pk", "external_id", "uuid", "movement_id", "transaction_id", "_id"),
}
KIND_WORDS = (
    ("transfer_in", ("transfer_in", "trf_in", "in_transfer", "transferin")),
    ("transfer_out", ("transfer_out", "trf_out", "out_transfer", "transferout")),
    ("sale", ("sale", "sold", "invoice", "pos", "بيع", "مبيعات")),
    ("receipt", ("receipt", "goods_receipt", "grn", "purchase", "received", "استلام")),
    ("adjustment", ("adjust", "count", "تسوية", "جرد")),
    ("issue", ("issue", "consum", "صرف")),
)
LOCATION_TYPE_WORDS = (
    ("distribution_center", ("distribution", "dc", "مركز توزيع")),
    ("warehouse", ("warehouse", "depot", "مستودع")),
    ("store", ("store", "shop", "branch", "outlet", "متجر", "فرع")),
    ("supplier", ("supplier", "vendor", "مورد")),
)
DIRECTION_NAMES = ("direction", "in_out", "sign", "flow", "ittijah")
# Fields that hold an id: of the record itself when at the top, or of another entity (``part``, ``category``).
ID_NAMES = ("pk", "id", "uuid", "_id", "ipn", "sku", "code", "item_code", "external_id")


def norm(name: str) -> str:
    """A field name compared without case, spaces, underscores, dashes or dots."""
    return re.sub(r"[\s_\-.]", "", name.lower())


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def segments(path: str) -> list[str]:
    """``$.a.b`` or ``$['a b'].c`` as its names."""
    return [p for p in re.split(r"[.\[\]']+", path.strip("$")) if p]


@dataclass
class FieldStats:
    path: str
    types: Counter[str] = field(default_factory=Counter)
    example: Any = None
    seen: int = 0
    values: list[Any] = field(default_factory=list)  # every scalar value, in record order (None included)


def flatten(records: list[Any], depth: int = 3) -> list[FieldStats]:
    """Each scalar field of the records (objects walked ``depth`` levels deep), with its types and values."""
    stats: dict[str, FieldStats] = {}

    def walk(value: Any, path: str, level: int) -> None:
        if isinstance(value, dict) and level < depth:
            for key, child in value.items():
                walk(child, child_path(path, str(key)), level + 1)
            return
        entry = stats.setdefault(path, FieldStats(path))
        entry.types[type_name(value)] += 1
        entry.seen += 1
        if not isinstance(value, dict | list):
            entry.values.append(value)
        if entry.example is None and value is not None and not isinstance(value, dict | list):
            entry.example = value

    for record in records:
        if isinstance(record, dict):
            walk(record, "$", 0)
    return list(stats.values())


def suggest_record_path(body: Any) -> str | None:
    """The record path an answer suggests, or None when it holds no list of objects."""
    path, records = find_records(body)
    return path if path is not None and (records or isinstance(body, list)) else None
