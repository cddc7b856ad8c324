"""ERPNext v15's Purchase Orders as the simulation keeps them: an order, its lines (``Purchase Order Item``, a child
table), its status, and what it leaves on order per item and warehouse.

From ERPNext's source (``erpnext/buying/doctype/purchase_order*``, ``erpnext/controllers/status_updater.py``,
``erpnext/stock/stock_balance.py``):

* A line orders ``qty`` in its purchase unit ``uom``; ``conversion_factor`` turns it into the item's ``stock_uom``
  (``stock_qty = qty × conversion_factor``; 1 when both units are the same). ``schedule_date`` ("Required By") is
  mandatory per line; ``expected_delivery_date`` is optional (the supplier's date, editable after submit).
  ``warehouse`` is the target warehouse; ``delivered_by_supplier`` (a drop-ship line) goes straight to the customer.
  Child rows are named by a random hash (``autoname: hash``) and numbered ``idx`` from 1; they share their order's
  ``creation`` and ``docstatus``.
* Purchase Receipts raise a line's ``received_qty`` (in the line's unit, like ``qty``). ``per_received`` is
  ``round(Σ min(received, qty) / Σ qty × 100, 6)`` over the lines (``_update_percent_field``); ``per_billed`` likewise
  from invoices. The status (``status_map`` of the status updater): Draft (docstatus 0), Cancelled (2), else the
  one set by hand (On Hold, Closed, Delivered: a drop-ship order the supplier delivered), else To Receive and Bill,
  To Bill (received in full), To Receive (billed in full) or Completed (both). A receipt against an order on hold
  or closed is refused.
* ``get_purchase_order_qty`` (the Bin's ``ordered_qty``): the sum of ``(qty − received_qty) × conversion_factor``
  over the lines of the item and warehouse with ``qty > received_qty``, of orders with docstatus 1 and a status
  neither Closed nor Delivered (On Hold and Completed still count), that are not delivered by the supplier.
  (ERPNext after v15 adds a per-line ``is_closed``; v15 has none.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

HUNDRED = Decimal(100)
NOT_ON_ORDER = frozenset({"Closed", "Delivered"})
BY_HAND = frozenset({"On Hold", "Closed", "Delivered"})
PURCHASE_ORDER_STATUSES = (
    "Draft",
    "On Hold",
    "To Receive and Bill",
    "To Bill",
    "To Receive",
    "Completed",
    "Cancelled",
    "Closed",
    "Delivered",
)


@dataclass
class PurchaseOrderItem:
    """One line, as a test orders it (``name``, ``idx`` and ``received_qty`` are the site's)."""

    item_code: str
    warehouse: str | None
    qty: Decimal
    schedule_date: date
    uom: str = ""  # the purchase unit; "" means the item's stock unit
    conversion_factor: Decimal = Decimal(1)
    expected_delivery_date: date | None = None
    delivered_by_supplier: int = 0
    rate: Decimal = Decimal(10)
    received_qty: Decimal = Decimal(0)
    name: str = ""
    idx: int = 0

    @property
    def stock_qty(self) -> Decimal:
        return self.qty * self.conversion_factor

    @property
    def open_stock_qty(self) -> Decimal:
        """What ERPNext counts on order for this line, in the stock unit (if its order counts)."""
        if self.qty <= self.received_qty or self.delivered_by_supplier:
            return Decimal(0)
        return (self.qty - self.received_qty) * self.conversion_factor


@dataclass
class PurchaseOrder:
    name: str
    supplier: str
    company: str
    transaction_date: date
    items: list[PurchaseOrderItem]
    creation: datetime
    modified: datetime
    docstatus: int = 1
    held: str = ""  # a status set by hand: On Hold, Closed, Delivered
    per_billed: Decimal = Decimal(0)

    @property
    def schedule_date(self) -> date:
        """The header's "Required By": the earliest of the lines' (``set_schedule_date``)."""
        return min(line.schedule_date for line in self.items)

    @property
    def per_received(self) -> Decimal:
        ordered = sum((abs(line.qty) for line in self.items), Decimal(0))
        if not ordered:
            return Decimal(0)
        received = sum((min(abs(line.received_qty), abs(line.qty)) for line in self.items), Decimal(0))
        return round(received / ordered * HUNDRED, 6)

    @property
    def status(self) -> str:
        if self.docstatus == 0:
            return "Draft"
        if self.docstatus == 2:
            return "Cancelled"
        if self.held:
            return self.held
        received = self.per_received >= HUNDRED
        billed = self.per_billed >= HUNDRED
        if not received:
            return "To Receive" if billed else "To Receive and Bill"
        return "Completed" if billed else "To Bill"

    @property
    def counts(self) -> bool:
        """Whether ERPNext's ordered quantity counts this order's lines."""
        return self.docstatus == 1 and self.status not in NOT_ON_ORDER

    @property
    def grand_total(self) -> Decimal:
        return sum((line.qty * line.rate for line in self.items), Decimal(0))


@dataclass(frozen=True)
class OpenLine:
    """One line ERPNext counts on order, from the order itself (for tests)."""

    name: str
    order: str
    item_code: str
    warehouse: str
    open_qty: Decimal  # in the stock unit
    expected: date  # the supplier's expected delivery date, else the line's Required By


def open_lines(orders: dict[str, PurchaseOrder]) -> dict[str, OpenLine]:
    """Line name -> what it still brings, over the lines ``get_purchase_order_qty`` counts (a line without a
    warehouse counts for no Bin, so for nothing)."""
    found: dict[str, OpenLine] = {}
    for order in orders.values():
        if not order.counts:
            continue
        for line in order.items:
            if line.open_stock_qty > 0 and line.warehouse:
                expected = line.expected_delivery_date or line.schedule_date
                found[line.name] = OpenLine(
                    line.name, order.name, line.item_code, line.warehouse, line.open_stock_qty, expected
                )
    return found


def ordered_qty(orders: dict[str, PurchaseOrder], item_code: str, warehouse: str) -> Decimal:
    """``get_purchase_order_qty(item_code, warehouse)``."""
    return sum(
        (
            line.open_stock_qty
            for order in orders.values()
            if order.counts
            for line in order.items
            if (line.item_code, line.warehouse) == (item_code, warehouse)
        ),
        Decimal(0),
    )
