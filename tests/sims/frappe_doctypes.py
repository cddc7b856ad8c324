"""The doctypes the simulation serves (the four stock doctypes, Purchase Order and its child table Purchase Order
Item), as Frappe's list API sees them: each field's type, each row's values.

Field types decide how a value is written to JSON (Frappe's ``json_handler``: a Float or Currency column comes out
of MariaDB as a Decimal and is written as a float, a Check as 0 or 1, a Date as ``2026-11-22``, a Datetime as
``str(datetime)``, a Time as ``format_timedelta``) and how a filter value is compared. The standard fields every
doctype has (``name``, ``owner``, ``creation``, ``modified``, ``modified_by``, ``docstatus``, ``idx``) are added here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from tests.sims.frappe_model import ZERO, StockData, frappe_datetime, frappe_time

OWNER = "Administrator"
STANDARD = {
    "name": "Data",
    "owner": "Link",
    "creation": "Datetime",
    "modified": "Datetime",
    "modified_by": "Link",
    "docstatus": "Int",
    "idx": "Int",
}
Row = dict[str, Any]


@dataclass(frozen=True)
class DocType:
    name: str
    fields: dict[str, str]  # fieldname -> fieldtype, standard fields included
    rows: Callable[[StockData], Iterable[Row]]
    sort: str  # the doctype's sort_field and sort_order (``DefaultOrderBy``)
    tables: dict[str, str] = field(default_factory=dict)  # Table fields: fieldname -> child doctype
    istable: bool = False  # a child doctype (its rows carry parent, parentfield, parenttype)


def _standard(creation: datetime, modified: datetime, docstatus: int = 0) -> Row:
    return {
        "owner": OWNER,
        "creation": creation,
        "modified": modified,
        "modified_by": OWNER,
        "docstatus": docstatus,
        "idx": 0,
    }


def _items(data: StockData) -> Iterable[Row]:
    for item in data.items.values():
        yield {
            "name": item.name,
            "item_code": item.item_code,
            "item_name": item.item_name,
            "item_group": item.item_group,
            "stock_uom": item.stock_uom,
            "valuation_rate": item.valuation_rate,
            "is_stock_item": item.is_stock_item,
            "disabled": item.disabled,
            "has_variants": item.has_variants,
            "variant_of": item.variant_of,
            "description": item.item_name,
            **_standard(item.creation, item.modified),
        }


def _warehouses(data: StockData) -> Iterable[Row]:
    for place in data.warehouses.values():
        yield {
            "name": place.name,
            "warehouse_name": place.warehouse_name,
            "is_group": place.is_group,
            "parent_warehouse": place.parent_warehouse,
            "disabled": place.disabled,
            "company": place.company,
            "warehouse_type": place.warehouse_type,
            "account": None,
            **_standard(place.creation, place.modified),
        }


def _bins(data: StockData) -> Iterable[Row]:
    for stock in data.bins.values():
        rate = data.items[stock.item_code].valuation_rate
        yield {
            "name": stock.name,
            "item_code": stock.item_code,
            "warehouse": stock.warehouse,
            "actual_qty": stock.actual_qty,
            "reserved_qty": stock.reserved_qty,
            "ordered_qty": stock.ordered_qty,
            "indented_qty": ZERO,
            "planned_qty": ZERO,
            "projected_qty": stock.projected_qty,
            "reserved_qty_for_production": ZERO,
            "reserved_qty_for_sub_contract": ZERO,
            "reserved_stock": ZERO,
            "stock_uom": stock.stock_uom,
            "valuation_rate": rate,
            "stock_value": stock.actual_qty * rate,
            **_standard(stock.creation, stock.modified),
        }


def _entries(data: StockData) -> Iterable[Row]:
    for entry in data.entries.values():
        rate = entry.valuation_rate
        yield {
            "name": entry.name,
            "item_code": entry.item_code,
            "warehouse": entry.warehouse,
            "posting_date": entry.posting_date,
            "posting_time": entry.posting_time,
            "posting_datetime": entry.posting_datetime,
            "voucher_type": entry.voucher_type,
            "voucher_no": entry.voucher_no,
            "voucher_detail_no": entry.voucher_detail_no,
            "actual_qty": entry.actual_qty,
            "qty_after_transaction": entry.qty_after_transaction,
            "incoming_rate": rate if entry.actual_qty > 0 else ZERO,
            "outgoing_rate": rate if entry.actual_qty < 0 else ZERO,
            "valuation_rate": rate,
            "stock_value": entry.qty_after_transaction * rate,
            "stock_value_difference": entry.actual_qty * rate,
            "company": entry.company,
            "stock_uom": entry.stock_uom,
            "fiscal_year": str(entry.posting_date.year),
            "is_cancelled": entry.is_cancelled,
            "to_rename": entry.to_rename,
            "is_adjustment_entry": 0,
            "serial_no": None,
            "batch_no": None,
            **_standard(entry.creation, entry.modified, docstatus=1),
        }


def _purchase_orders(data: StockData) -> Iterable[Row]:
    for order in data.purchase_orders.values():
        yield {
            "name": order.name,
            "supplier": order.supplier,
            "supplier_name": order.supplier,
            "company": order.company,
            "transaction_date": order.transaction_date,
            "schedule_date": order.schedule_date,
            "status": order.status,
            "per_received": order.per_received,
            "per_billed": order.per_billed,
            "set_warehouse": None,
            "is_subcontracted": 0,
            "currency": "SAR",
            "grand_total": order.grand_total,
            "total_qty": sum((line.qty for line in order.items), ZERO),
            **_standard(order.creation, order.modified, docstatus=order.docstatus),
        }


def _purchase_order_items(data: StockData) -> Iterable[Row]:
    for order in data.purchase_orders.values():
        for line in order.items:
            yield {
                "name": line.name,
                "item_code": line.item_code,
                "item_name": data.items[line.item_code].item_name,
                "schedule_date": line.schedule_date,
                "expected_delivery_date": line.expected_delivery_date,
                "qty": line.qty,
                "stock_uom": data.items[line.item_code].stock_uom,
                "uom": line.uom,
                "conversion_factor": line.conversion_factor,
                "stock_qty": line.stock_qty,
                "received_qty": line.received_qty,
                "returned_qty": ZERO,
                "warehouse": line.warehouse,
                "delivered_by_supplier": line.delivered_by_supplier,
                "rate": line.rate,
                "amount": line.qty * line.rate,
                "parent": order.name,
                "parentfield": "items",
                "parenttype": "Purchase Order",
                **_standard(order.creation, order.modified, docstatus=order.docstatus),
                "idx": line.idx,
            }


def _typed(fields: dict[str, str]) -> dict[str, str]:
    return {**STANDARD, **fields}


DOCTYPES: dict[str, DocType] = {
    d.name: d
    for d in (
        DocType(
            "Item",
            _typed(
                {
                    "item_code": "Data",
                    "item_name": "Data",
                    "item_group": "Link",
                    "stock_uom": "Link",
                    "valuation_rate": "Currency",
                    "is_stock_item": "Check",
                    "disabled": "Check",
                    "has_variants": "Check",
                    "variant_of": "Link",
                    "description": "Text Editor",
                }
            ),
            _items,
            "modified desc",
        ),
        DocType(
            "Warehouse",
            _typed(
                {
                    "warehouse_name": "Data",
                    "is_group": "Check",
                    "parent_warehouse": "Link",
                    "disabled": "Check",
                    "company": "Link",
                    "warehouse_type": "Link",
                    "account": "Link",
                }
            ),
            _warehouses,
            "modified desc",
        ),
        DocType(
            "Bin",
            _typed(
                {
                    "item_code": "Link",
                    "warehouse": "Link",
                    "actual_qty": "Float",
                    "reserved_qty": "Float",
                    "ordered_qty": "Float",
                    "indented_qty": "Float",
                    "planned_qty": "Float",
                    "projected_qty": "Float",
                    "reserved_qty_for_production": "Float",
                    "reserved_qty_for_sub_contract": "Float",
                    "reserved_stock": "Float",
                    "stock_uom": "Link",
                    "valuation_rate": "Float",
                    "stock_value": "Float",
                }
            ),
            _bins,
            "modified asc",  # bin.json: no sort_field (so "modified"), sort_order "ASC"
        ),
        DocType(
            "Stock Ledger Entry",
            _typed(
                {
                    "item_code": "Link",
                    "warehouse": "Link",
                    "posting_date": "Date",
                    "posting_time": "Time",
                    "posting_datetime": "Datetime",
                    "voucher_type": "Link",
                    "voucher_no": "Dynamic Link",
                    "voucher_detail_no": "Data",
                    "actual_qty": "Float",
                    "qty_after_transaction": "Float",
                    "incoming_rate": "Currency",
                    "outgoing_rate": "Currency",
                    "valuation_rate": "Currency",
                    "stock_value": "Currency",
                    "stock_value_difference": "Currency",
                    "company": "Link",
                    "stock_uom": "Link",
                    "fiscal_year": "Data",
                    "is_cancelled": "Check",
                    "to_rename": "Check",
                    "is_adjustment_entry": "Check",
                    "serial_no": "Long Text",
                    "batch_no": "Data",
                }
            ),
            _entries,
            "modified desc",
        ),
        DocType(
            "Purchase Order",
            _typed(
                {
                    "supplier": "Link",
                    "supplier_name": "Data",
                    "company": "Link",
                    "transaction_date": "Date",
                    "schedule_date": "Date",
                    "status": "Select",
                    "per_received": "Percent",
                    "per_billed": "Percent",
                    "set_warehouse": "Link",
                    "is_subcontracted": "Check",
                    "currency": "Link",
                    "grand_total": "Currency",
                    "total_qty": "Float",
                }
            ),
            _purchase_orders,
            "modified desc",
            tables={"items": "Purchase Order Item"},
        ),
        DocType(
            "Purchase Order Item",
            _typed(
                {
                    "item_code": "Link",
                    "item_name": "Data",
                    "schedule_date": "Date",
                    "expected_delivery_date": "Date",
                    "qty": "Float",
                    "stock_uom": "Link",
                    "uom": "Link",
                    "conversion_factor": "Float",
                    "stock_qty": "Float",
                    "received_qty": "Float",
                    "returned_qty": "Float",
                    "warehouse": "Link",
                    "delivered_by_supplier": "Check",
                    "rate": "Currency",
                    "amount": "Currency",
                    "parent": "Data",
                    "parentfield": "Data",
                    "parenttype": "Data",
                }
            ),
            _purchase_order_items,
            "modified desc",
            istable=True,
        ),
    )
}
NUMERIC = frozenset({"Float", "Currency", "Int", "Check", "Percent"})


def to_json(value: Any, fieldtype: str) -> Any:
    """One value as Frappe's JSON handler writes it."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        return float(value) if fieldtype not in ("Int", "Check") else int(value)
    if isinstance(value, datetime):
        return frappe_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return frappe_time(value)
    return value
