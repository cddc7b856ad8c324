"""A SAP Business One company as the Service Layer serves it: warehouses (OWHS), items (OITM) and each item's stock
per warehouse (OITW, ``ItemWarehouseInfoCollection``), with the mess real companies hold, the operations that
change stock, and the company's own truth.

What a real company holds, and this one does:

* Items that are not stock at all: services and fees (``InventoryItem = tNO``); inactive items (``Valid = tNO``) and
  frozen ones (``Frozen = tYES``), which keep their stock; items with no description (``ItemName`` is not mandatory
  in B1: only ``ItemCode`` is) and no inventory unit.
* Item codes with spaces, and on SAP HANA (whose item codes are case-sensitive) two codes that differ only in case.
* Warehouses that were closed (``Inactive = tYES``) and still hold stock; a warehouse code with a space.
* One ``ItemWarehouseInfoCollection`` row per item and warehouse it is linked to: all warehouses when the company adds
  them to new items automatically, only some when it does not. ``InStock`` is on hand, ``Committed`` is promised to
  customers (it may exceed what is on hand: back orders), ``Ordered`` is on open purchase orders. Quantities carry up
  to six decimals (B1 keeps 19.6) and may be negative where negative inventory is allowed.
* ``UpdateDate`` and ``UpdateTime`` as two fields (``"2026-11-20"``, ``"14:03:55"``), as B1 splits them.
* Stock moves only through documents, a header (``DocEntry``, ``DocNum``, ``DocDate``, ``CancelStatus``,
  ``CreationDate`` and ``UpdateDate``: the company's dates when it was added and last changed, as clients filter on
  them, ``$filter=UpdateDate ge '2026-11-01'``; cancelling a document changes the original too) with lines
  (``ItemCode``, ``WarehouseCode``, ``Quantity`` in the line's unit, ``InventoryQuantity`` in inventory units):
  goods receipts and issues, stock transfers (``FromWarehouseCode`` to ``WarehouseCode``), deliveries, goods
  receipt POs. A marketing document is cancelled by a cancellation document with the same lines (``csCancellation``)
  that moves the stock back; the original becomes ``csYes``. A delivery may bill an item that is not stock (a fee):
  its line moves nothing. Opening stock (set directly here) is not a document the Service Layer lists.
* Purchase orders (``PurchaseOrders``, OPOR/POR1): ``DocumentStatus`` ``bost_Open`` until every line is closed,
  received in full or closed by hand (``Close``), or the order cancelled (``Cancelled = tYES``, ``bost_Close``);
  ``DocType`` ``dDocument_Items``, or ``dDocument_Service`` for a service order whose lines have no item and no
  warehouse; ``DocDueDate`` (mandatory) and each line's ``ShipDate``. A line: ``Quantity`` in its unit,
  ``InventoryQuantity`` in inventory units, ``RemainingOpenQuantity`` and ``RemainingOpenInventoryQuantity`` what
  is still to come in each, ``LineStatus`` ``bost_Open`` or ``bost_Close``. A line closed by hand keeps its
  remaining quantity and only its status says it will not come (an assumption: the documentation does not say
  what a manual row close does to OpenQty; the preset reads LineStatus, so it holds either way). A goods receipt
  PO based on the order (``BaseType`` 22, ``BaseEntry``, ``BaseLine``) moves stock in and lowers what remains.
  The warehouse's ``Ordered`` (OITW.OnOrder) is what the open lines of stock items still bring, in inventory
  units (`SapCompany.truth_ordered`). DocEntry numbers each object type on its own.

The truth (`SapCompany.truth_balances` and friends) is computed from this state alone, never from what a client read.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

Q6 = Decimal("0.000001")


def yes(flag: bool) -> str:
    """B1's boolean enumeration (``BoYesNoEnum``)."""
    return "tYES" if flag else "tNO"


@dataclass
class Warehouse:
    code: str
    name: str | None
    inactive: bool = False
    street: str | None = None
    city: str | None = None
    country: str | None = None
    zip_code: str | None = None

    def render(self) -> dict[str, Any]:
        return {
            "WarehouseCode": self.code,
            "WarehouseName": self.name,
            "Street": self.street,
            "City": self.city,
            "Country": self.country,
            "ZipCode": self.zip_code,
            "Inactive": yes(self.inactive),
            "Nettable": "tYES",
            "DropShip": "tNO",
            "EnableBinLocations": "tNO",
            "BusinessPlaceID": 1,
            "Location": 1,
        }


@dataclass
class Stock:
    """One OITW row: an item in one warehouse."""

    in_stock: Decimal = Decimal(0)
    committed: Decimal = Decimal(0)
    ordered: Decimal = Decimal(0)


@dataclass
class Item:
    code: str
    name: str | None
    group: int = 100
    uom: str | None = "Each"
    inventory: bool = True
    valid: bool = True
    frozen: bool = False
    price: Decimal = Decimal(0)
    updated: datetime = field(default_factory=lambda: datetime(2026, 1, 5, 9, 30, 12, tzinfo=UTC))
    created: datetime = field(default_factory=lambda: datetime(2024, 3, 1, 8, 0, 0, tzinfo=UTC))
    stock: dict[str, Stock] = field(default_factory=dict)  # warehouse code -> row, in the order linked

    def render(self) -> dict[str, Any]:
        rows = [
            {
                "MinimalStock": 0.0,
                "MaximalStock": 0.0,
                "MinimalOrder": 0.0,
                "StandardAveragePrice": float(self.price),
                "Locked": "tNO",
                "WarehouseCode": code,
                "InStock": float(row.in_stock),
                "Committed": float(row.committed),
                "Ordered": float(row.ordered),
                "CountedQuantity": 0.0,
                "WasCounted": "tNO",
                "UserSignature": 1,
                "Counted": 0.0,
                "DefaultBin": None,
                "ItemCode": self.code,
                "ItemCycleCounts": [],
            }
            for code, row in self.stock.items()
        ]
        return {
            "ItemCode": self.code,
            "ItemName": self.name,
            "ForeignName": None,
            "ItemsGroupCode": self.group,
            "BarCode": None,
            "PurchaseItem": yes(self.inventory),
            "SalesItem": "tYES",
            "InventoryItem": yes(self.inventory),
            "QuantityOnStock": float(sum((r.in_stock for r in self.stock.values()), Decimal(0))),
            "QuantityOrderedFromVendors": float(sum((r.ordered for r in self.stock.values()), Decimal(0))),
            "QuantityOrderedByCustomers": float(sum((r.committed for r in self.stock.values()), Decimal(0))),
            "ManageSerialNumbers": "tNO",
            "ManageBatchNumbers": "tNO",
            "Valid": yes(self.valid),
            "Frozen": yes(self.frozen),
            "InventoryUOM": self.uom,
            "ManageStockByWarehouse": "tYES",
            "ItemType": "itItems",
            "AvgStdPrice": float(self.price),
            "MovingAveragePrice": float(self.price),
            "CreateDate": self.created.date().isoformat(),
            "CreateTime": self.created.strftime("%H:%M:%S"),
            "UpdateDate": self.updated.date().isoformat(),
            "UpdateTime": self.updated.strftime("%H:%M:%S"),
            "ItemWarehouseInfoCollection": rows,
        }


Pair = tuple[str, str]  # (ItemCode, WarehouseCode)
Movement = tuple[str, str, str, Decimal, date]  # item, warehouse, kind, signed quantity (inventory units), date

RECEIPTS = "InventoryGenEntries"  # goods receipts (OIGN)
ISSUES = "InventoryGenExits"  # goods issues (OIGE)
TRANSFERS = "StockTransfers"  # inventory transfers (OWTR)
DELIVERIES = "DeliveryNotes"  # deliveries to customers (ODLN)
PURCHASE_DELIVERIES = "PurchaseDeliveryNotes"  # goods receipt POs from vendors (OPDN)
DOCUMENT_ENTITIES = (RECEIPTS, ISSUES, TRANSFERS, DELIVERIES, PURCHASE_DELIVERIES)


@dataclass
class Line:
    """One document line: ``quantity`` in the line's unit, ``per_unit`` inventory units each (a box of 12)."""

    item: str
    warehouse: str  # WarehouseCode: where stock arrives or leaves (a transfer's destination)
    quantity: Decimal
    per_unit: Decimal = Decimal(1)
    source: str | None = None  # a transfer's FromWarehouseCode
    number: int = 0  # LineNum
    base: tuple[int, int] | None = None  # (DocEntry, LineNum) of the purchase order line a receipt is based on

    @property
    def inventory_quantity(self) -> Decimal:
        return (self.quantity * self.per_unit).quantize(Q6)


EFFECTS: dict[str, Any] = {
    RECEIPTS: lambda line, q: [(line.warehouse, q)],
    PURCHASE_DELIVERIES: lambda line, q: [(line.warehouse, q)],
    ISSUES: lambda line, q: [(line.warehouse, -q)],
    DELIVERIES: lambda line, q: [(line.warehouse, -q)],
    TRANSFERS: lambda line, q: [(line.source, -q), (line.warehouse, q)],
}
# The id each line's movement gets from the preset's mapping, and its kind and sign.
KINDS: dict[str, list[tuple[str, str, int]]] = {
    RECEIPTS: [("IGN", "receipt", 1)],
    ISSUES: [("IGE", "issue", -1)],
    DELIVERIES: [("DLN", "sale", -1)],
    PURCHASE_DELIVERIES: [("PDN", "receipt", 1)],
    TRANSFERS: [("WTR-out", "transfer_out", -1), ("WTR-in", "transfer_in", 1)],
}


@dataclass
class Document:
    entity: str
    entry: int  # DocEntry
    number: int  # DocNum
    day: date  # DocDate
    lines: list[Line]
    cancel_status: str = "csNo"  # csNo, csYes (cancelled), csCancellation (the document that cancels another)
    card: str | None = None
    created: date = date(2026, 1, 1)  # CreationDate: the company's date when the document was added
    updated: date = date(2026, 1, 1)  # UpdateDate: and when it last changed (a cancellation changes the original)

    def render(self) -> dict[str, Any]:
        base: dict[str, Any] = {
            "DocEntry": self.entry,
            "DocNum": self.number,
            "DocDate": self.day.isoformat(),
            "Comments": None,
            "DocumentStatus": "bost_Close",
            "CreationDate": self.created.isoformat(),
            "UpdateDate": self.updated.isoformat(),
        }
        if self.entity == TRANSFERS:
            first = self.lines[0] if self.lines else None
            return {
                **base,
                "DueDate": self.day.isoformat(),
                "FromWarehouse": first.source if first else None,
                "ToWarehouse": first.warehouse if first else None,
                "DocObjectCode": "67",
                "StockTransferLines": [
                    {
                        "LineNum": line.number,
                        "DocEntry": self.entry,
                        "ItemCode": line.item,
                        "Quantity": float(line.quantity),
                        "UnitsOfMeasurment": float(line.per_unit),
                        "InventoryQuantity": float(line.inventory_quantity),
                        "FromWarehouseCode": line.source,
                        "WarehouseCode": line.warehouse,
                        "BaseType": "Default",
                        "BaseEntry": None,
                        "BaseLine": None,
                    }
                    for line in self.lines
                ],
            }
        return {
            **base,
            "DocType": "dDocument_Items",
            "DocDueDate": self.day.isoformat(),
            "CardCode": self.card,
            "Cancelled": yes(self.cancel_status != "csNo"),
            "CancelStatus": self.cancel_status,
            "DocumentLines": [
                {
                    "LineNum": line.number,
                    "DocEntry": self.entry,
                    "ItemCode": line.item,
                    "Quantity": float(line.quantity),
                    "UnitsOfMeasurment": float(line.per_unit),
                    "InventoryQuantity": float(line.inventory_quantity),
                    "WarehouseCode": line.warehouse,
                    "BaseType": 22 if line.base else -1,  # 22: a purchase order
                    "BaseEntry": line.base[0] if line.base else None,
                    "BaseLine": line.base[1] if line.base else None,
                }
                for line in self.lines
            ],
        }


PURCHASE_ORDERS = "PurchaseOrders"  # OPOR


@dataclass
class OrderLine:
    """One purchase order line: ``quantity`` and ``received`` in the line's unit, ``per_unit`` inventory units each."""

    item: str | None  # None on a service order's line
    warehouse: str | None
    quantity: Decimal
    ship_date: date
    per_unit: Decimal = Decimal(1)
    received: Decimal = Decimal(0)
    closed: bool = False  # LineStatus bost_Close
    number: int = 0  # LineNum
    price: Decimal = Decimal(0)

    @property
    def remaining(self) -> Decimal:
        return self.quantity - self.received

    @property
    def remaining_inventory(self) -> Decimal:
        return (self.remaining * self.per_unit).quantize(Q6)


@dataclass
class PurchaseOrder:
    entry: int
    number: int
    day: date  # DocDate
    due: date  # DocDueDate
    lines: list[OrderLine]
    card: str = "V10000"
    service: bool = False  # DocType dDocument_Service
    closed: bool = False
    cancelled: bool = False
    created: date = date(2026, 1, 1)
    updated: date = date(2026, 1, 1)

    @property
    def open(self) -> bool:
        return not (self.closed or self.cancelled)

    def render(self) -> dict[str, Any]:
        return {
            "DocEntry": self.entry,
            "DocNum": self.number,
            "DocType": "dDocument_Service" if self.service else "dDocument_Items",
            "DocDate": self.day.isoformat(),
            "DocDueDate": self.due.isoformat(),
            "CardCode": self.card,
            "CardName": f"Vendor {self.card}",
            "Comments": None,
            "DocumentStatus": "bost_Open" if self.open else "bost_Close",
            "Cancelled": yes(self.cancelled),
            "CancelStatus": "csYes" if self.cancelled else "csNo",
            "CreationDate": self.created.isoformat(),
            "UpdateDate": self.updated.isoformat(),
            "DocumentLines": [
                {
                    "LineNum": line.number,
                    "DocEntry": self.entry,
                    "ItemCode": line.item,
                    "ItemDescription": "Consulting" if line.item is None else None,
                    "Quantity": float(line.quantity),
                    "ShipDate": line.ship_date.isoformat(),
                    "Price": float(line.price),
                    "UnitsOfMeasurment": float(line.per_unit),
                    "InventoryQuantity": float((line.quantity * line.per_unit).quantize(Q6)),
                    "RemainingOpenQuantity": float(line.remaining),
                    "RemainingOpenInventoryQuantity": float(line.remaining_inventory),
                    "OpenAmount": float(line.remaining * line.price),
                    "WarehouseCode": line.warehouse,
                    "AccountCode": "_SYS00000000110" if line.item is None else None,
                    "LineStatus": "bost_Close" if line.closed or not self.open else "bost_Open",
                    "BaseType": -1,
                    "BaseEntry": None,
                    "BaseLine": None,
                }
                for line in self.lines
            ],
        }


def movements_of(document: Document, line: Line) -> dict[str, Movement]:
    """What one line of ``document`` must become in Atlas, by the id the preset's mapping gives it."""
    found: dict[str, Movement] = {}
    undo = -1 if document.cancel_status == "csCancellation" else 1  # a cancellation moves the stock back
    for prefix, kind, sign in KINDS[document.entity]:
        warehouse = line.source if kind == "transfer_out" else line.warehouse
        assert warehouse is not None
        found[f"{prefix}-{document.entry}-{line.number}"] = (
            line.item,
            warehouse,
            kind,
            line.inventory_quantity * sign * undo,
            document.day,
        )
    return found


@dataclass
class SapCompany:
    """The company's warehouses and items, changed only through its operations, under one lock."""

    warehouses: dict[str, Warehouse] = field(default_factory=dict)
    items: dict[str, Item] = field(default_factory=dict)
    documents: dict[str, dict[int, Document]] = field(default_factory=dict)  # entity -> DocEntry -> document
    orders: dict[int, PurchaseOrder] = field(default_factory=dict)  # purchase orders by DocEntry
    clock: datetime = field(default_factory=lambda: datetime(2026, 11, 20, 8, 0, 0, tzinfo=UTC))
    lock: threading.RLock = field(default_factory=threading.RLock)

    # --- what the Service Layer lists, in its key order -------------------------------------------------------
    def item_records(self) -> list[dict[str, Any]]:
        with self.lock:
            return [self.items[code].render() for code in sorted(self.items)]

    def warehouse_records(self) -> list[dict[str, Any]]:
        with self.lock:
            return [self.warehouses[code].render() for code in sorted(self.warehouses)]

    def document_records(self, entity: str) -> list[dict[str, Any]]:
        with self.lock:
            if entity == PURCHASE_ORDERS:
                return [self.orders[entry].render() for entry in sorted(self.orders)]
            return [d.render() for d in sorted(self.documents.get(entity, {}).values(), key=lambda d: d.entry)]

    # --- operations: documents, as B1 posts them ------------------------------------------------------------
    def _touch(self, item: Item) -> None:
        self.clock += timedelta(minutes=1, seconds=7)
        item.updated = self.clock

    def _row(self, code: str, warehouse: str) -> Stock:
        item = self.items[code]
        if warehouse not in self.warehouses:
            raise KeyError(warehouse)
        return item.stock.setdefault(warehouse, Stock())

    def _apply(self, entity: str, line: Line, sign: int) -> None:
        """A line's effect on stock (``sign`` -1 undoes it: a cancellation). Items that are not stock have none."""
        item = self.items[line.item]
        if not item.inventory:
            return
        quantity = line.inventory_quantity * sign
        for warehouse, change in EFFECTS[entity](line, quantity):
            row = self._row(line.item, warehouse)
            row.in_stock = (row.in_stock + change).quantize(Q6)
        if entity == DELIVERIES:
            row = self._row(line.item, line.warehouse)
            row.committed = max(Decimal(0), row.committed - quantity).quantize(Q6)
        self._touch(item)

    def post(self, entity: str, lines: list[Line], day: date | None = None, card: str | None = None) -> Document:
        """A document of ``entity`` with ``lines``, posted: stock moves as its kind says."""
        with self.lock:
            entry = max((d.entry for docs in self.documents.values() for d in docs.values()), default=0) + 1
            self.clock += timedelta(minutes=2)
            today = self.clock.date()
            document = Document(
                entity, entry, 1000 + entry, day or today, lines, card=card, created=today, updated=today
            )
            for number, line in enumerate(lines):
                line.number = number
                self._apply(entity, line, 1)
            self.documents.setdefault(entity, {})[entry] = document
            return document

    def cancel(self, entity: str, entry: int) -> Document:
        """Cancel a marketing document: it becomes ``csYes``, and a cancellation document (``csCancellation``) with
        the same lines undoes its stock effect."""
        with self.lock:
            original = self.documents[entity][entry]
            original.cancel_status = "csYes"
            lines = [Line(li.item, li.warehouse, li.quantity, li.per_unit, li.source) for li in original.lines]
            cancellation = self.post(entity, [], card=original.card)
            original.updated = cancellation.created  # the original changed with the cancellation's posting
            cancellation.lines, cancellation.cancel_status = lines, "csCancellation"
            for number, line in enumerate(lines):
                line.number = number
                self._apply(entity, line, -1)
            return cancellation

    def receive(self, code: str, warehouse: str, quantity: Decimal) -> Document:
        """A goods receipt (InventoryGenEntries) into ``warehouse``."""
        return self.post(RECEIPTS, [Line(code, warehouse, quantity)])

    def issue(self, code: str, warehouse: str, quantity: Decimal) -> Document:
        """A goods issue (InventoryGenExits) out of ``warehouse``; negative stock where the company allows it."""
        return self.post(ISSUES, [Line(code, warehouse, quantity)])

    def transfer(self, code: str, source: str, target: str, quantity: Decimal) -> Document:
        """A stock transfer (StockTransfers) from ``source`` to ``target``."""
        return self.post(TRANSFERS, [Line(code, target, quantity, source=source)])

    def purchase(self, code: str, warehouse: str, quantity: Decimal) -> Document:
        """A goods receipt PO (PurchaseDeliveryNotes): a vendor's delivery into ``warehouse``."""
        return self.post(PURCHASE_DELIVERIES, [Line(code, warehouse, quantity)], card="V10000")

    def order(self, code: str, warehouse: str, quantity: Decimal) -> None:
        """A sales order: the quantity is promised to a customer (``Committed``); stock does not move."""
        with self.lock:
            row = self._row(code, warehouse)
            row.committed = (row.committed + quantity).quantize(Q6)

    def deliver(self, code: str, warehouse: str, quantity: Decimal, per_unit: Decimal = Decimal(1)) -> Document:
        """A delivery (DeliveryNotes) of ``quantity`` sales units of ``per_unit`` inventory units each: stock leaves,
        and so does the promise."""
        return self.post(DELIVERIES, [Line(code, warehouse, quantity, per_unit)], card="C20000")

    # --- purchase orders --------------------------------------------------------------------------------------
    def _on_order(self, line: OrderLine, sign: int) -> None:
        """What an open line of a stock item still brings, added to (or taken from) its warehouse's Ordered."""
        if line.item is None or line.warehouse is None or not self.items[line.item].inventory:
            return
        row = self._row(line.item, line.warehouse)
        row.ordered = (row.ordered + sign * line.remaining_inventory).quantize(Q6)

    def _order_changed(self, order: PurchaseOrder) -> None:
        self.clock += timedelta(minutes=1, seconds=19)
        order.updated = self.clock.date()

    def place_order(
        self,
        lines: list[OrderLine],
        due: date | None = None,
        *,
        card: str = "V10000",
        service: bool = False,
        day: date | None = None,
    ) -> PurchaseOrder:
        """A purchase order (an item order unless ``service``), due on ``due`` (its lines' ship dates by default)."""
        with self.lock:
            self.clock += timedelta(minutes=2)
            today = self.clock.date()
            entry = max(self.orders, default=0) + 1
            for number, line in enumerate(lines):
                line.number = number
                if line.item is not None:
                    self._row(line.item, line.warehouse or "")  # the item must be linked to the warehouse
            order = PurchaseOrder(
                entry,
                4000 + entry,
                day or today,
                due or min(line.ship_date for line in lines),
                lines,
                card=card,
                service=service,
                created=today,
                updated=today,
            )
            for line in lines:
                self._on_order(line, 1)
            self.orders[entry] = order
            return order

    def receive_order(self, entry: int, line_number: int, quantity: Decimal) -> Document:
        """A goods receipt PO based on one line of an open order: ``quantity`` in the line's unit comes in; the line
        closes when nothing remains, and the order when every line is closed."""
        with self.lock:
            order = self.orders[entry]
            line = order.lines[line_number]
            if not order.open or line.closed or order.service or not 0 < quantity <= line.remaining:
                raise ValueError(f"cannot receive {quantity} of line {line_number} of order {entry}")
            assert line.item is not None and line.warehouse is not None
            self._on_order(line, -1)
            line.received += quantity
            self._on_order(line, 1)
            receipt = Line(line.item, line.warehouse, quantity, line.per_unit, base=(entry, line_number))
            document = self.post(PURCHASE_DELIVERIES, [receipt], card=order.card)
            line.closed = line.remaining == 0
            order.closed = all(li.closed for li in order.lines)
            self._order_changed(order)
            return document

    def close_line(self, entry: int, line_number: int) -> None:
        """A line closed by hand: the rest will not come (its remaining quantity stays as it was)."""
        with self.lock:
            order = self.orders[entry]
            line = order.lines[line_number]
            if order.open and not line.closed:
                self._on_order(line, -1)
            line.closed = True
            order.closed = all(li.closed for li in order.lines)
            self._order_changed(order)

    def close_order(self, entry: int) -> None:
        """``POST PurchaseOrders(entry)/Close``: the order and every line are closed; nothing more comes."""
        with self.lock:
            order = self.orders[entry]
            if order.open:
                for line in order.lines:
                    if not line.closed:
                        self._on_order(line, -1)
                        line.closed = True
            order.closed = True
            self._order_changed(order)

    def cancel_order(self, entry: int) -> None:
        """``POST PurchaseOrders(entry)/Cancel`` (allowed while nothing was received): cancelled and closed."""
        with self.lock:
            order = self.orders[entry]
            if any(line.received for line in order.lines):
                raise ValueError("an order with receipts cannot be cancelled")
            if order.open:
                for line in order.lines:
                    if not line.closed:
                        self._on_order(line, -1)
            order.cancelled = True
            self._order_changed(order)

    def add_item(self, item: Item, warehouses: list[str] | None = None) -> None:
        """A new item, linked to ``warehouses`` (all of them when the company adds them automatically)."""
        with self.lock:
            for code in warehouses if warehouses is not None else sorted(self.warehouses):
                item.stock.setdefault(code, Stock())
            self.items[item.code] = item

    def add_warehouse(self, warehouse: Warehouse) -> None:
        """A new warehouse; B1 links it to every item (OITW rows at zero)."""
        with self.lock:
            self.warehouses[warehouse.code] = warehouse
            for item in self.items.values():
                item.stock.setdefault(warehouse.code, Stock())

    # --- the truth ---------------------------------------------------------------------------------------------
    def truth_items(self) -> dict[str, Item]:
        """Every item that is stock (``InventoryItem = tYES``), by code."""
        with self.lock:
            return {code: item for code, item in self.items.items() if item.inventory}

    def truth_warehouses(self) -> dict[str, Warehouse]:
        with self.lock:
            return dict(self.warehouses)

    def truth_movements(self) -> dict[str, Movement]:
        """Every stock movement the documents hold, by the id the preset gives it (``IGN-<DocEntry>-<LineNum>``;
        a transfer line is two, ``WTR-out-…`` and ``WTR-in-…``). A cancelled document stays what it was, and the
        document cancelling it moves the stock back (its movements have the opposite sign): together they add up
        to nothing, and a cancellation after a read is a movement like any other. Lines of items that are not stock
        are not movements."""
        with self.lock:
            found: dict[str, Movement] = {}
            for documents in self.documents.values():
                for document in documents.values():
                    for line in document.lines:
                        if self.items[line.item].inventory:
                            found.update(movements_of(document, line))
            return found

    def non_stock_lines(self) -> set[str]:
        """Ids of the document lines whose item is not stock (a delivery fee): records Atlas cannot place."""
        with self.lock:
            return {
                ident
                for documents in self.documents.values()
                for document in documents.values()
                for line in document.lines
                if not self.items[line.item].inventory
                for ident in movements_of(document, line)
            }

    def truth_on_order(self) -> dict[str, tuple[str, str, Decimal, date, int]]:
        """Every purchase-order line still bringing stock, by the id the preset gives it (``POR-<DocEntry>-<LineNum>``):
        (ItemCode, WarehouseCode, what remains in inventory units, ShipDate, DocNum). Open lines of open item orders,
        of stock items, with something remaining."""
        with self.lock:
            return {
                f"POR-{order.entry}-{line.number}": (
                    line.item,
                    line.warehouse,
                    line.remaining_inventory,
                    line.ship_date,
                    order.number,
                )
                for order in self.orders.values()
                if order.open and not order.service
                for line in order.lines
                if not line.closed
                and line.item is not None
                and line.warehouse is not None
                and self.items[line.item].inventory
                and line.remaining > 0
            }

    def truth_ordered(self) -> dict[Pair, Decimal]:
        """What the open lines bring per item and warehouse: B1's Ordered (OITW.OnOrder) must say the same."""
        found: dict[Pair, Decimal] = {}
        for item, warehouse, remaining, _, _ in self.truth_on_order().values():
            found[(item, warehouse)] = found.get((item, warehouse), Decimal(0)) + remaining
        return found

    def truth_balances(self) -> dict[Pair, tuple[Decimal, Decimal]]:
        """(on hand, committed) of every stock item in every warehouse it is linked to, zeros included."""
        with self.lock:
            return {
                (code, warehouse): (row.in_stock, row.committed)
                for code, item in self.items.items()
                if item.inventory
                for warehouse, row in item.stock.items()
            }


# --- the companies the tests use ----------------------------------------------------------------------------------

LEGACY_WAREHOUSES = [
    Warehouse("01", "General Warehouse"),
    Warehouse("02", "Riyadh Store"),
    Warehouse("WIP", "Work in progress", inactive=True),
]


def legacy_company(count: int = 45) -> SapCompany:
    """Plain items A00001.. in two warehouses (and an inactive third): what the authentication tests read."""
    company = SapCompany()
    for warehouse in LEGACY_WAREHOUSES:
        company.warehouses[warehouse.code] = warehouse
    for n in range(1, count + 1):
        item = Item(f"A{n:05d}", f"Item {n}")
        for index, warehouse in enumerate(LEGACY_WAREHOUSES[:2]):
            item.stock[warehouse.code] = Stock(
                Decimal((n * 7 + index * 3) % 50), Decimal(n % 4), Decimal((n + index) % 3)
            )
        company.items[item.code] = item
    return company


MESSY_WAREHOUSES = [
    Warehouse("01", "General Warehouse", street="King Fahd Road", city="Riyadh", country="SA", zip_code="12211"),
    Warehouse("02", "مستودع جدة", street="طريق الملك عبدالعزيز", city="Jeddah", country="SA"),
    Warehouse("03", "Dammam DC", city="Dammam", country="SA"),
    Warehouse("RUH 1", "Riyadh Store 1", city="Riyadh", country="SA"),
    Warehouse("WIP", "Work in progress", inactive=True),
    Warehouse("OLD", None, inactive=True),  # closed years ago, no name kept, a little stock still on its books
]
NAMES = [
    "Basmati rice 5 kg",
    "زيت زيتون 1 لتر",
    "Dates Sukkari 1 kg",
    "Cardamom 250 g",
    "حليب طويل الأجل",
    "Tea 100 bags",
]


def messy_company(
    seed: int = 7, count: int = 120, *, fee: bool = True, entered: datetime | None = None, documents: int = 150
) -> SapCompany:
    """A company with the mess real ones hold (see the module's docstring), from ``seed``; without ``fee``, no
    document line names an item that is not stock (the one thing in it Atlas must set aside). ``entered``: the
    company's clock when its history was entered (its documents' CreationDate and UpdateDate), 20 November 2026 by
    default; the clock runs on from there. ``documents``: how many documents its year of history holds."""
    rng = random.Random(seed)
    company = SapCompany() if entered is None else SapCompany(clock=entered)
    for warehouse in MESSY_WAREHOUSES:
        company.warehouses[warehouse.code] = Warehouse(**warehouse.__dict__)
    active = ["01", "02", "03", "RUH 1"]
    on_order: list[tuple[str, str, Decimal]] = []  # what the purchase orders placed after the history bring
    for n in range(1, count + 1):
        code = f"A{n:05d}" if n % 9 else f"FG {1000 + n}"  # every ninth code has a space
        name = None if n % 23 == 0 else f"{NAMES[n % len(NAMES)]} #{n}"
        item = Item(
            code,
            name,
            group=rng.choice([100, 101, 102]),
            uom=None if n % 17 == 0 else rng.choice(["Each", "kg", "Box"]),
            valid=n % 19 != 0,
            frozen=n % 29 == 0,
            price=Decimal(rng.randint(100, 90000)) / 100,
            updated=datetime(
                2026,
                rng.randint(1, 10),
                rng.randint(1, 28),
                rng.randint(0, 23),
                rng.randint(0, 59),
                rng.randint(0, 59),
                tzinfo=UTC,
            ),
        )
        linked = [*active, "WIP", "OLD"] if n % 5 else rng.sample(active, 2)  # auto-link off for every fifth
        for warehouse in linked:
            row = Stock()
            if warehouse in active and rng.random() < 0.7:
                unit = Decimal(rng.randint(0, 400))
                if item.uom == "kg":
                    unit += Decimal(rng.randint(0, 999999)) * Q6  # weighed goods: six decimals
                row.in_stock = unit
                row.committed = Decimal(rng.randint(0, 30))
                on_order.append((code, warehouse, Decimal(rng.choice([0, 0, 50, 120]))))
            if warehouse == "OLD" and n % 11 == 0:
                row.in_stock = Decimal(rng.randint(1, 9))  # left behind in the closed warehouse
            item.stock[warehouse] = row
        company.items[code] = item
    # Negative stock (allowed by the company), and back orders (committed beyond what is on hand).
    first = company.items["A00001"]
    first.stock["02"] = Stock(Decimal("-3"), Decimal(0), Decimal(0))
    first.stock["01"] = Stock(Decimal("4"), Decimal("11"), Decimal(0))
    # On SAP HANA item codes are case-sensitive: two items whose codes differ only in case.
    company.add_item(Item("a00002", "Lower-case twin of A00002", price=Decimal("3.5")), ["01", "02"])
    company.receive("a00002", "01", Decimal("6"))
    # Services and fees: items, but not stock.
    for code, name in (("SRV-INSTALL", "Installation"), ("FEE DELIVERY", "Delivery fee")):
        company.add_item(Item(code, name, uom=None, inventory=False), active)
    history(company, rng, active, documents, fee=fee)
    purchase_orders(company, random.Random(seed * 7919 + 5), [o for o in on_order if o[2] and o[0] != "A00001"])
    return company


def purchase_orders(company: SapCompany, rng: random.Random, wanted: list[tuple[str, str, Decimal]]) -> None:
    """Open purchase orders bringing ``wanted`` (item, warehouse, quantity), up to four lines an order, with the
    mess real ones hold: a line in boxes of 12 (its remaining quantity in boxes, its inventory quantity in pieces),
    lines received in part and in full through goods receipt POs based on them, a line closed by hand, an order
    closed and one cancelled, a service order (lines without item or warehouse), ship dates that differ from the
    order's due date. From their own random stream: the history is the same with or without them."""
    start = company.clock.date()
    placed: list[PurchaseOrder] = []
    for index in range(0, len(wanted), 4):
        lines = [
            OrderLine(code, warehouse, quantity, start + timedelta(days=rng.randint(5, 45)))
            for code, warehouse, quantity in wanted[index : index + 4]
        ]
        placed.append(company.place_order(lines, card=rng.choice(["V10000", "V20000", "V23000"])))
    if len(placed) < 6:
        return
    boxed = next(code for code, item in company.items.items() if item.uom == "Box" and code in company.truth_items())
    warehouse = next(iter(company.items[boxed].stock))
    boxes = company.place_order([OrderLine(boxed, warehouse, Decimal(10), start + timedelta(days=12), Decimal(12))])
    company.receive_order(boxes.entry, 0, Decimal(3))  # three boxes arrived, seven to come: 84 pieces
    company.receive_order(placed[0].entry, 0, placed[0].lines[0].quantity / 2)  # half arrived
    company.receive_order(placed[1].entry, 0, placed[1].lines[0].quantity)  # one line in full
    company.close_line(placed[2].entry, len(placed[2].lines) - 1)  # the rest will never come
    company.close_order(placed[3].entry)
    company.cancel_order(placed[4].entry)
    service = [OrderLine(None, None, Decimal(1), start + timedelta(days=3), price=Decimal(1500))]
    company.place_order(service, service=True, card="V30000")


def history(company: SapCompany, rng: random.Random, active: list[str], documents: int = 150, *, fee: bool) -> None:
    """A year of documents: goods receipts and issues, transfers, deliveries (boxes of 12 for boxed goods: the line's
    Quantity is in boxes, its InventoryQuantity in pieces), goods receipt POs; a delivery that also bills a
    delivery fee (an item that is not stock); a delivery cancelled by its cancellation document. The landmark rows
    (A00001, a00002) are left as they are."""
    codes = [c for c, i in company.items.items() if i.inventory and c not in ("A00001", "a00002")]

    def line(code: str, *, boxes: bool = False) -> Line:
        item = company.items[code]
        warehouse = rng.choice([w for w in item.stock if w in active])
        quantity = Decimal(rng.randint(1, 20))
        if item.uom == "kg":
            quantity += Decimal(rng.randint(0, 999)) / 1000
        per_unit = Decimal(12) if boxes and item.uom == "Box" else Decimal(1)
        return Line(code, warehouse, quantity, per_unit)

    start = date(2026, 1, 2)
    for _ in range(documents):
        day = start + timedelta(days=rng.randint(0, 300))
        roll = rng.random()
        picked = rng.sample(codes, rng.randint(1, 3))
        if roll < 0.2:
            company.post(RECEIPTS, [line(c) for c in picked], day)
        elif roll < 0.35:
            company.post(ISSUES, [line(c) for c in picked], day)
        elif roll < 0.5:
            moves = []
            for c in picked:
                there = line(c)
                there.source = rng.choice([w for w in active if w != there.warehouse])
                moves.append(there)
            company.post(TRANSFERS, moves, day)
        elif roll < 0.85:
            company.post(DELIVERIES, [line(c, boxes=True) for c in picked], day, card="C20000")
        else:
            company.post(PURCHASE_DELIVERIES, [line(c) for c in picked], day, card="V10000")
    extra = [Line("FEE DELIVERY", "01", Decimal(1))] if fee else []
    company.post(DELIVERIES, [line(codes[0]), *extra], date(2026, 10, 30), card="C30000")
    wrong = company.post(DELIVERIES, [line(codes[1]), line(codes[2])], date(2026, 11, 2), card="C20000")
    company.cancel(DELIVERIES, wrong.entry)  # entered by mistake: cancelled the same week
