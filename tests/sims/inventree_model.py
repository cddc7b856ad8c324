"""InvenTree's stock model as the simulation keeps it: parts, locations, stock items and their tracking history.

Each operation mirrors the InvenTree model method named in its docstring (``src/backend/InvenTree/stock/models.py``
and ``build/models.py``), including what it writes to the tracking history and when it deletes a stock item; the
sources and what was inferred are listed in ``tests/sims/inventree.py``. Nothing here knows about HTTP: the API
(``tests/sims/inventree.py``) renders this state the way InvenTree's serializers do, and tests call the operations
directly to make the source change under Atlas. The ``truth_*`` functions say what the source holds now, exactly.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

# StockHistoryCode (stock/status_codes.py): the tracking types this simulation writes.
CREATED = 1
EDITED = 5
ASSIGNED_SERIAL = 6
STOCK_COUNT = 10
STOCK_ADD = 11
STOCK_REMOVE = 12
STOCK_MOVE = 20
STOCK_UPDATE = 25
SPLIT_FROM_PARENT = 40
SPLIT_CHILD_ITEM = 42
BUILD_CONSUMED = 57
TRACKING_LABELS = {
    0: "Legacy stock tracking entry",
    CREATED: "Stock item created",
    EDITED: "Edited stock item",
    ASSIGNED_SERIAL: "Assigned serial number",
    STOCK_COUNT: "Stock counted",
    STOCK_ADD: "Stock manually added",
    STOCK_REMOVE: "Stock manually removed",
    13: "Serialized stock items",
    15: "Returned to stock",
    STOCK_MOVE: "Location changed",
    STOCK_UPDATE: "Stock updated",
    30: "Installed into assembly",
    31: "Removed from assembly",
    35: "Installed component item",
    36: "Removed component item",
    SPLIT_FROM_PARENT: "Split from parent item",
    SPLIT_CHILD_ITEM: "Split child item",
    45: "Merged stock items",
    48: "Converted to variant",
    50: "Build order output created",
    55: "Build order output completed",
    56: "Build order output rejected",
    BUILD_CONSUMED: "Consumed by build order",
    60: "Shipped against Sales Order",
    70: "Received against Purchase Order",
    80: "Returned against Return Order",
    100: "Sent to customer",
    105: "Returned from customer",
}
# StockStatus and StockStatusGroups.AVAILABLE_CODES (stock/status_codes.py)
STATUS_OK = 10
STATUS_LABELS = {
    10: "OK",
    50: "Attention needed",
    55: "Damaged",
    60: "Destroyed",
    65: "Rejected",
    70: "Lost",
    75: "Quarantined",
    85: "Returned",
}
AVAILABLE_STATUSES = frozenset({10, 50, 55, 85})
ZERO = Decimal(0)
ADMIN_USER = 1


class OperationRefused(ValueError):
    """InvenTree would refuse this operation (a ValidationError in the model, a 400 from the API)."""


@dataclass
class Category:
    pk: int
    name: str
    parent: int | None
    description: str = ""


@dataclass
class LocationType:
    pk: int
    name: str
    description: str
    icon: str


@dataclass
class Location:
    pk: int
    name: str
    parent: int | None
    description: str = ""
    location_type: int | None = None
    structural: bool = False
    external: bool = False
    custom_icon: str = ""


@dataclass
class Part:
    pk: int
    name: str
    IPN: str | None
    description: str
    category: int | None
    units: str  # "" means pieces
    creation_date: date
    trackable: bool = False
    active: bool = True
    revision: str = ""
    assembly: bool = False
    component: bool = True
    purchaseable: bool = True
    salable: bool = False
    virtual: bool = False
    keywords: str = ""
    minimum_stock: Decimal = ZERO
    default_location: int | None = None
    pricing_min: Decimal | None = None
    pricing_max: Decimal | None = None
    pricing_updated: datetime | None = None


@dataclass
class BuildOrder:
    pk: int
    reference: str
    part: int
    title: str


# PurchaseOrderStatus (order/status_codes.py) and PurchaseOrderStatusGroups.OPEN: pending, placed, on hold.
PO_PENDING, PO_PLACED, PO_ON_HOLD, PO_COMPLETE, PO_CANCELLED = 10, 20, 25, 30, 40
PO_OPEN = (PO_PENDING, PO_PLACED, PO_ON_HOLD)


@dataclass
class SupplierPart:
    """company.models.SupplierPart: a part as one supplier sells it (a purchase order line names this, not the part)."""

    pk: int
    part: int
    SKU: str


@dataclass
class PurchaseOrder:
    pk: int
    reference: str
    status: int
    destination: int | None  # where received stock goes unless a line says otherwise
    target_date: date | None


@dataclass
class PurchaseOrderLine:
    """order.models.PurchaseOrderLineItem: ``part`` is a SupplierPart pk; ``received`` counts up as stock arrives."""

    pk: int
    order: int
    part: int
    quantity: Decimal
    received: Decimal
    destination: int | None
    target_date: date | None
    reference: str = ""


@dataclass
class StockItem:
    pk: int
    part: int
    quantity: Decimal
    location: int | None
    updated: datetime
    batch: str | None = None
    serial: str | None = None
    parent: int | None = None
    status: int = STATUS_OK
    delete_on_deplete: bool = True
    sales_allocated: Decimal = ZERO  # SalesOrderAllocation rows against this item (their own table)
    build_allocated: Decimal = ZERO  # BuildItem rows against this item (their own table)
    consumed_by: int | None = None
    customer: int | None = None
    belongs_to: int | None = None
    sales_order: int | None = None
    is_building: bool = False
    stocktake_date: date | None = None
    expiry_date: date | None = None
    purchase_price: Decimal | None = None
    packaging: str | None = None
    notes: str | None = None

    @property
    def serialized(self) -> bool:
        """``StockItem.serialized``: a serial number and a quantity of exactly one."""
        return self.serial is not None and bool(self.serial.strip()) and self.quantity == 1

    @property
    def allocated(self) -> Decimal:
        """The ``allocated`` annotation: sales order plus build order allocations (StockItemSerializer)."""
        return self.sales_allocated + self.build_allocated

    @property
    def in_stock(self) -> bool:
        """``StockItem.IN_STOCK_FILTER``."""
        return (
            self.quantity > 0
            and self.sales_order is None
            and self.belongs_to is None
            and self.customer is None
            and self.consumed_by is None
            and not self.is_building
            and self.status in AVAILABLE_STATUSES
        )


@dataclass
class TrackingEntry:
    pk: int
    item: int  # a STOCK ITEM pk, never a part
    tracking_type: int
    date: datetime
    deltas: dict[str, Any]
    notes: str = ""
    user: int | None = ADMIN_USER
    before: Decimal | None = None  # the item's quantity just before the operation (the simulation's own truth)


@dataclass(frozen=True)
class TrackTruth:
    """What one tracking entry means: the part it concerns (through its stock item), the stock item's location now
    (the only location ``item_detail`` can show), and the change in quantity it records, if any."""

    pk: int
    item: int
    part: int
    location: int | None
    tracking_type: int
    date: datetime
    change: Decimal | None  # added (+), removed (-), consumed (-), counted minus the level before it
    level: Decimal | None  # the quantity the entry says the stock item has after it, when it says so


def utc_now() -> datetime:
    return datetime.now(UTC)


def day_start(day: date) -> datetime:
    """Midnight of ``day`` in server time (UTC): what ``InvenTreeDateFilter`` compares ``updated`` with."""
    return datetime.combine(day, time(0, 0), tzinfo=UTC)


@dataclass
class Faults:
    """Ways the simulated server can misbehave on purpose, for tests of how Atlas copes."""

    hidden_stock: set[int] = field(default_factory=set)  # stock item pks the list leaves out (a broken source)


class InvenTreeData:
    """The simulated InvenTree database. Every public method takes the lock: the HTTP server reads from threads."""

    def __init__(self, clock: Callable[[], datetime] = utc_now) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self.categories: dict[int, Category] = {}
        self.location_types: dict[int, LocationType] = {}
        self.locations: dict[int, Location] = {}
        self.parts: dict[int, Part] = {}
        self.builds: dict[int, BuildOrder] = {}
        self.items: dict[int, StockItem] = {}
        self.tracking: dict[int, TrackingEntry] = {}
        self.supplier_parts: dict[int, SupplierPart] = {}
        self.purchase_orders: dict[int, PurchaseOrder] = {}
        self.po_lines: dict[int, PurchaseOrderLine] = {}
        self.faults = Faults()
        self._next = {
            "category": 1,
            "location_type": 1,
            "location": 1,
            "part": 1,
            "build": 1,
            "item": 1,
            "track": 1,
            "supplier_part": 1,
            "po": 1,
            "po_line": 1,
        }

    # --- identity and time ------------------------------------------------------------------------
    def _pk(self, kind: str) -> int:
        pk = self._next[kind]
        self._next[kind] = pk + 1
        return pk

    def now(self, at: datetime | None = None) -> datetime:
        return at if at is not None else self.clock()

    # --- structure ----------------------------------------------------------------------------------
    def add_category(self, name: str, parent: int | None = None, description: str = "") -> Category:
        with self.lock:
            category = Category(self._pk("category"), name, parent, description)
            self.categories[category.pk] = category
            return category

    def add_location_type(self, name: str, description: str = "", icon: str = "") -> LocationType:
        with self.lock:
            kind = LocationType(self._pk("location_type"), name, description, icon)
            self.location_types[kind.pk] = kind
            return kind

    def add_location(self, name: str, parent: int | None = None, **fields: Any) -> Location:
        with self.lock:
            location = Location(self._pk("location"), name, parent, **fields)
            self.locations[location.pk] = location
            return location

    def add_part(self, name: str, **fields: Any) -> Part:
        with self.lock:
            fields.setdefault("IPN", "")
            fields.setdefault("description", "")
            fields.setdefault("category", None)
            fields.setdefault("units", "")
            fields.setdefault("creation_date", self.now().date())
            part = Part(self._pk("part"), name, **fields)
            self.parts[part.pk] = part
            return part

    def add_build(self, part: int, title: str = "") -> BuildOrder:
        with self.lock:
            pk = self._pk("build")
            build = BuildOrder(pk, f"BO-{pk:04d}", part, title or f"Build {pk}")
            self.builds[pk] = build
            return build

    # --- purchasing -----------------------------------------------------------------------------------
    def add_supplier_part(self, part: int, sku: str) -> SupplierPart:
        with self.lock:
            supplier_part = SupplierPart(self._pk("supplier_part"), part, sku)
            self.supplier_parts[supplier_part.pk] = supplier_part
            return supplier_part

    def add_purchase_order(
        self, *, status: int = PO_PLACED, destination: int | None = None, target_date: date | None = None
    ) -> PurchaseOrder:
        with self.lock:
            pk = self._pk("po")
            order = PurchaseOrder(pk, f"PO-{pk:04d}", status, destination, target_date)
            self.purchase_orders[pk] = order
            return order

    def add_po_line(
        self,
        order: int,
        supplier_part: int,
        quantity: Decimal | int | str,
        *,
        received: Decimal | int | str = 0,
        destination: int | None = None,
        target_date: date | None = None,
    ) -> PurchaseOrderLine:
        with self.lock:
            line = PurchaseOrderLine(
                self._pk("po_line"),
                order,
                supplier_part,
                Decimal(quantity),
                Decimal(received),
                destination,
                target_date,
            )
            self.po_lines[line.pk] = line
            return line

    def receive_line(self, pk: int, quantity: Decimal | int | str) -> None:
        """Part of a line arrives (the stock it creates is not simulated here: the open quantity is what matters)."""
        with self.lock:
            self.po_lines[pk].received += Decimal(quantity)

    def truth_open_orders(self) -> dict[int, tuple[int, int | None, Decimal, date | None, str]]:
        """Per open line (its order open, less received than ordered): the internal part, where it is going (the
        line's destination, else its order's), what is still to arrive, when, and the order's reference."""
        with self.lock:
            found = {}
            for line in self.po_lines.values():
                order = self.purchase_orders[line.order]
                if order.status not in PO_OPEN or line.received >= line.quantity:
                    continue
                found[line.pk] = (
                    self.supplier_parts[line.part].part,
                    line.destination if line.destination is not None else order.destination,
                    line.quantity - line.received,
                    line.target_date if line.target_date is not None else order.target_date,
                    order.reference,
                )
            return found

    def pathstring(self, location: int | None) -> str | None:
        """``InvenTreeTree.pathstring``: the names from the root down, joined by ``/``."""
        if location is None:
            return None
        names: list[str] = []
        current: int | None = location
        while current is not None:
            node = self.locations[current]
            names.append(node.name)
            current = node.parent
        return "/".join(reversed(names))

    def level(self, location: int) -> int:
        depth, current = 0, self.locations[location].parent
        while current is not None:
            depth, current = depth + 1, self.locations[current].parent
        return depth

    def sublocations(self, location: int) -> list[int]:
        """Every location below ``location`` (not itself)."""
        found: list[int] = []
        frontier = [location]
        while frontier:
            node = frontier.pop()
            children = [loc.pk for loc in self.locations.values() if loc.parent == node]
            found.extend(children)
            frontier.extend(children)
        return found

    def tree_order(self) -> list[int]:
        """Locations in ``tree_id, lft`` order: roots in creation order, children by name (MPTT's
        ``order_insertion_by = ['name']``), depth first."""
        ordered: list[int] = []

        def visit(pk: int) -> None:
            ordered.append(pk)
            children = sorted(
                (loc for loc in self.locations.values() if loc.parent == pk), key=lambda loc: (loc.name, loc.pk)
            )
            for child in children:
                visit(child.pk)

        for root in sorted((loc for loc in self.locations.values() if loc.parent is None), key=lambda loc: loc.pk):
            visit(root.pk)
        return ordered

    def category_name(self, category: int | None) -> str | None:
        return self.categories[category].name if category is not None else None

    # --- the model's own primitives -----------------------------------------------------------------
    def _save(self, item: StockItem, at: datetime) -> None:
        """``StockItem.save``: ``updated`` is ``auto_now`` (common.models.MetaMixin), set on every save."""
        item.updated = at
        self.items[item.pk] = item

    def _track(
        self,
        item: StockItem,
        code: int,
        deltas: dict[str, Any] | None,
        at: datetime,
        *,
        notes: str = "",
        location: int | None = None,
        quantity: Decimal | None = None,
        before: Decimal | None = None,
    ) -> TrackingEntry | None:
        """``StockItem.add_tracking_entry``: ``location`` and a non-zero ``quantity`` are added to the deltas; an
        empty STOCK_UPDATE without notes is not recorded."""
        deltas = dict(deltas or {})
        if code == STOCK_UPDATE and not deltas and not notes:
            return None
        if location:
            deltas["location"] = location
        if quantity:
            deltas["quantity"] = float(quantity)
        entry = TrackingEntry(self._pk("track"), item.pk, code, at, deltas, notes, ADMIN_USER, before)
        self.tracking[entry.pk] = entry
        return entry

    def _can_delete(self, item: StockItem) -> bool:
        """``StockItem.can_delete``: nothing installed in it, not assigned to a sales order."""
        installed = any(other.belongs_to == item.pk for other in self.items.values())
        return not installed and item.sales_order is None

    def _delete(self, item: StockItem) -> None:
        """Deleting a stock item: its children point to its parent (the pre_delete signal); its tracking entries go
        with it (``StockItemTracking.item`` is ``on_delete=CASCADE``), and so do its allocations."""
        for child in self.items.values():
            if child.parent == item.pk:
                child.parent = item.parent
        for pk in [pk for pk, entry in self.tracking.items() if entry.item == item.pk]:
            del self.tracking[pk]
        del self.items[item.pk]

    def _update_quantity(self, item: StockItem, quantity: Decimal, at: datetime) -> bool | None:
        """``StockItem.updateQuantity``: nothing for a serialized item; a quantity reaching zero deletes the item
        (``delete_on_deplete``, the default from STOCK_DELETE_DEPLETED_DEFAULT) and returns False."""
        if item.serialized:
            return None
        quantity = max(quantity, ZERO)
        item.quantity = quantity
        if quantity == 0 and item.delete_on_deplete and self._can_delete(item):
            self._delete(item)
            return False
        self._save(item, at)
        return True

    def _item(self, pk: int) -> StockItem:
        try:
            return self.items[pk]
        except KeyError:
            raise OperationRefused(f"no stock item {pk}") from None

    # --- life over time: each mirrors an InvenTree model method ----------------------------------------
    def create_stock(
        self,
        part: int,
        quantity: Decimal | int | str,
        location: int | None,
        *,
        batch: str | None = None,
        serial: str | None = None,
        at: datetime | None = None,
        notes: str = "",
        **fields: Any,
    ) -> StockItem:
        """``StockItem.save(user=...)`` of a new item: a CREATED entry with its status, location and quantity."""
        with self.lock:
            moment = self.now(at)
            if part not in self.parts:
                raise OperationRefused(f"no part {part}")
            if location is not None and self.locations[location].structural:
                raise OperationRefused("Stock items cannot be located into structural stock locations!")
            amount = Decimal(str(quantity))
            if serial and amount != 1:
                raise OperationRefused("Quantity must be 1 for item with a serial number")
            item = StockItem(self._pk("item"), part, amount, location, moment, batch=batch, serial=serial, **fields)
            if serial:
                item.delete_on_deplete = False  # StockItem.clean: serialized items are never deleted on depletion
            self._save(item, moment)
            self._track(
                item,
                CREATED,
                {"status": item.status},
                moment,
                notes=notes,
                location=location,
                quantity=amount,
                before=ZERO,
            )
            return item

    def add_stock(self, pk: int, quantity: Decimal | int | str, *, at: datetime | None = None, notes: str = "") -> bool:
        """``StockItem.add_stock``: STOCK_ADD with ``added`` and the resulting ``quantity``."""
        with self.lock:
            item, amount, moment = self._item(pk), Decimal(str(quantity)), self.now(at)
            if item.serialized or amount <= 0:
                return False
            before = item.quantity
            if self._update_quantity(item, item.quantity + amount, moment):
                self._track(
                    item,
                    STOCK_ADD,
                    {"added": float(amount), "quantity": float(item.quantity)},
                    moment,
                    notes=notes,
                    before=before,
                )
            return True

    def take_stock(
        self,
        pk: int,
        quantity: Decimal | int | str,
        *,
        at: datetime | None = None,
        notes: str = "",
        code: int = STOCK_REMOVE,
        location: int | None = None,
        stockitem: int | None = None,
    ) -> bool:
        """``StockItem.take_stock`` (a sale recorded as a manual removal): STOCK_REMOVE with ``removed`` and the
        resulting ``quantity``. Taking the last of it deletes the item and its whole history, and records nothing."""
        with self.lock:
            item, amount, moment = self._item(pk), Decimal(str(quantity)), self.now(at)
            if item.serialized or amount <= 0:
                return False
            before = item.quantity
            if self._update_quantity(item, item.quantity - amount, moment):
                deltas: dict[str, Any] = {"removed": float(amount), "quantity": float(item.quantity)}
                if location:
                    deltas["location"] = location
                if stockitem:
                    deltas["stockitem"] = stockitem
                self._track(item, code, deltas, moment, notes=notes, before=before)
            return True

    def remove_stock(self, pk: int, quantity: Decimal | int | str, *, at: datetime | None = None) -> bool:
        return self.take_stock(pk, quantity, at=at)

    def use_up(self, pk: int, *, at: datetime | None = None) -> None:
        """Remove all of a stock item: InvenTree deletes it, with its tracking history (phantom stock for a reader
        that only ever adds what it sees)."""
        with self.lock:
            item = self._item(pk)
            if item.serialized:
                raise OperationRefused("a serialized item cannot be taken from; it is shipped or consumed instead")
            self.take_stock(pk, item.quantity, at=at)
            if pk in self.items:
                raise OperationRefused(f"stock item {pk} was not deleted (delete_on_deplete is off)")

    def count_stock(
        self, pk: int, counted: Decimal | int | str, *, at: datetime | None = None, notes: str = ""
    ) -> bool:
        """``StockItem.stocktake``: the count sets the quantity; STOCK_COUNT holds only the resulting ``quantity``.
        A count of zero deletes the item (and records nothing)."""
        with self.lock:
            item, amount, moment = self._item(pk), Decimal(str(counted)), self.now(at)
            if amount < 0:
                return False
            item.stocktake_date = moment.date()
            before = item.quantity
            if self._update_quantity(item, amount, moment):
                self._track(item, STOCK_COUNT, {"quantity": float(item.quantity)}, moment, notes=notes, before=before)
            return True

    def split_stock(
        self,
        pk: int,
        quantity: Decimal | int | str,
        location: int | None = None,
        *,
        at: datetime | None = None,
        notes: str = "",
    ) -> int:
        """``StockItem.splitStock``: a new stock item (a new pk) with ``quantity``, in ``location`` or the same one;
        SPLIT_FROM_PARENT on the new item, SPLIT_CHILD_ITEM (a take_stock) on this one. Returns the new pk, or this
        item's pk when nothing is split (serialized, zero, or the whole quantity)."""
        with self.lock:
            item, amount, moment = self._item(pk), Decimal(str(quantity)), self.now(at)
            if item.serialized or amount <= 0 or amount >= item.quantity:
                return pk
            new = StockItem(
                self._pk("item"),
                item.part,
                amount,
                location or item.location,
                moment,
                batch=item.batch,
                serial=item.serial,
                parent=item.pk,
                status=item.status,
                delete_on_deplete=item.delete_on_deplete,
                expiry_date=item.expiry_date,
                purchase_price=item.purchase_price,
                packaging=item.packaging,
            )
            self._save(new, moment)
            self._track(
                new,
                SPLIT_FROM_PARENT,
                {"stockitem": item.pk},
                moment,
                notes=notes,
                location=location,
                quantity=amount,
                before=ZERO,
            )
            self.take_stock(
                pk, amount, at=moment, notes=notes, code=SPLIT_CHILD_ITEM, location=location, stockitem=new.pk
            )
            return new.pk

    def move_stock(
        self,
        pk: int,
        location: int,
        *,
        quantity: Decimal | int | str | None = None,
        at: datetime | None = None,
        notes: str = "",
    ) -> int:
        """``StockItem.move``: the whole item moves (same pk, STOCK_MOVE with the new ``location``); part of it is
        split off into the new location. Returns the pk of the stock item now at ``location``."""
        with self.lock:
            item, moment = self._item(pk), self.now(at)
            amount = item.quantity if quantity is None else Decimal(str(quantity))
            if not item.in_stock:
                raise OperationRefused("StockItem cannot be moved as it is not in stock")
            if self.locations[location].structural:
                raise OperationRefused("Stock items cannot be located into structural stock locations!")
            if amount <= 0:
                return pk
            if amount < item.quantity:
                return self.split_stock(pk, amount, location, at=moment, notes=notes)
            same = location == item.location
            item.location = location
            self._track(
                item, STOCK_UPDATE if same else STOCK_MOVE, {} if same else {"location": location}, moment, notes=notes
            )
            self._save(item, moment)
            return pk

    def serialize_stock(
        self, pk: int, serials: list[str], location: int | None = None, *, at: datetime | None = None
    ) -> list[int]:
        """``StockItem.serializeStock``: one new item of quantity 1 per serial (CREATED), a copy of this item's
        whole history on each (``copyHistoryFrom``: new entries, dated when copied, since ``date`` is
        ``auto_now_add``), ASSIGNED_SERIAL; then the serialized quantity is taken from this item (which is deleted
        with its history when nothing is left)."""
        with self.lock:
            item, moment = self._item(pk), self.now(at)
            if not self.parts[item.part].trackable:
                raise OperationRefused("Part is not set as trackable")
            if len(serials) > item.quantity:
                raise OperationRefused(f"Quantity must not exceed available stock quantity ({item.quantity})")
            taken = {i.serial for i in self.items.values() if i.part == item.part and i.serial}
            if clash := sorted(set(serials) & taken):
                raise OperationRefused("Serial numbers already exist: " + ",".join(clash))
            history = sorted((e for e in self.tracking.values() if e.item == pk), key=lambda e: e.pk)
            created: list[int] = []
            for serial in serials:
                new = StockItem(
                    self._pk("item"),
                    item.part,
                    Decimal(1),
                    location or item.location,
                    moment,
                    batch=item.batch,
                    serial=serial,
                    parent=item.pk,
                    status=item.status,
                    delete_on_deplete=False,
                    expiry_date=item.expiry_date,
                    purchase_price=item.purchase_price,
                    packaging=item.packaging,
                )
                self._save(new, moment)
                self._track(
                    new,
                    CREATED,
                    {"status": new.status},
                    moment,
                    location=new.location,
                    quantity=Decimal(1),
                    before=ZERO,
                )
                for old in history:
                    copy = TrackingEntry(
                        self._pk("track"),
                        new.pk,
                        old.tracking_type,
                        moment,
                        dict(old.deltas),
                        old.notes,
                        old.user,
                        old.before,
                    )
                    self.tracking[copy.pk] = copy
                self._track(new, ASSIGNED_SERIAL, {"serial": serial}, moment, location=location)
                created.append(new.pk)
            self.take_stock(pk, len(serials), at=moment)
            return created

    def consume_for_build(
        self, pk: int, quantity: Decimal | int | str, build: int, *, at: datetime | None = None
    ) -> int:
        """``BuildItem.complete_allocation`` for a part that is not trackable: the allocated quantity is split off,
        the new item is marked consumed by the build and its location cleared (it stays in the stock list, with
        ``location: null``), BUILD_CONSUMED records the build and the quantity; the build allocation is used up."""
        with self.lock:
            item, amount, moment = self._item(pk), Decimal(str(quantity)), self.now(at)
            if amount > item.quantity:
                raise OperationRefused("Allocated quantity exceeds available stock quantity")
            item.build_allocated = max(ZERO, item.build_allocated - amount)
            consumed_pk = self.split_stock(pk, amount, None, at=moment) if item.quantity > amount else pk
            consumed = self.items[consumed_pk]
            consumed.consumed_by = build
            consumed.location = None
            self._save(consumed, moment)
            self._track(
                consumed,
                BUILD_CONSUMED,
                {"buildorder": build, "quantity": float(consumed.quantity)},
                moment,
                before=consumed.quantity,
            )
            return consumed_pk

    def allocate(self, pk: int, quantity: Decimal | int | str, *, to: str = "sales_order") -> None:
        """Reserve stock: a SalesOrderAllocation or BuildItem row against the item. Those live in their own tables,
        so the stock item is not saved: its ``updated`` does not change (an incremental read never sees it)."""
        with self.lock:
            item, amount = self._item(pk), Decimal(str(quantity))
            if amount <= 0:
                raise OperationRefused("Quantity must be greater than zero")
            if to == "build":
                item.build_allocated += amount
            else:
                item.sales_allocated += amount

    def deallocate(self, pk: int, quantity: Decimal | int | str | None = None, *, to: str = "sales_order") -> None:
        """Remove (part of) a reservation; the stock item itself is not saved, as with ``allocate``."""
        with self.lock:
            item = self._item(pk)
            current = item.build_allocated if to == "build" else item.sales_allocated
            left = ZERO if quantity is None else max(ZERO, current - Decimal(str(quantity)))
            if to == "build":
                item.build_allocated = left
            else:
                item.sales_allocated = left

    def delete_stock(self, pk: int) -> None:
        """``DELETE /api/stock/<pk>/``: the item and its history go."""
        with self.lock:
            self._delete(self._item(pk))

    # --- broken source ------------------------------------------------------------------------------
    def answer_without_pairs(self, share: float) -> set[tuple[int, int | None]]:
        """From now on the stock list leaves out every row of ``share`` of the (part, location) pairs, chosen by a
        fixed rule: a source that has suddenly lost most of its answer (a permission change, a broken proxy). The
        data itself is unchanged. Returns the pairs left out."""
        with self.lock:
            pairs = sorted({(i.part, i.location) for i in self.items.values()}, key=lambda p: (p[0], p[1] or 0))
            count = round(len(pairs) * share)
            hidden = set(pairs[:: max(1, len(pairs) // max(count, 1))][:count]) if count else set()
            self.faults.hidden_stock = {i.pk for i in self.items.values() if (i.part, i.location) in hidden}
            return hidden

    def answer_everything(self) -> None:
        with self.lock:
            self.faults.hidden_stock = set()

    # --- truth --------------------------------------------------------------------------------------
    def truth_balances(self, *, in_stock_only: bool = False) -> dict[tuple[int, int | None], tuple[Decimal, Decimal]]:
        """(part pk, location pk or None) → (quantity, allocated), summed over the stock items that exist now, as
        exact decimals: what the source holds (``/api/stock/`` lists every one of these items)."""
        with self.lock:
            totals: dict[tuple[int, int | None], tuple[Decimal, Decimal]] = {}
            for item in self.items.values():
                if in_stock_only and not item.in_stock:
                    continue
                key = (item.part, item.location)
                quantity, allocated = totals.get(key, (ZERO, ZERO))
                totals[key] = (quantity + item.quantity, allocated + item.allocated)
            return totals

    def stock_updated(self, *, after: date | None = None, before: date | None = None) -> list[int]:
        """The stock item pks ``/api/stock/?updated_after=A&updated_before=B`` returns: ``updated`` later than
        midnight of A (``gt``) and earlier than midnight of B (``lt``), so a date-only ``after`` is in effect
        inclusive of A and ``before`` exclusive of B."""
        with self.lock:
            return sorted(
                item.pk
                for item in self.items.values()
                if (after is None or item.updated > day_start(after))
                and (before is None or item.updated < day_start(before))
            )

    def truth_track(self) -> list[TrackTruth]:
        """Every tracking entry the source still has, with what it means (see ``TrackTruth``)."""
        with self.lock:
            result: list[TrackTruth] = []
            for entry in sorted(self.tracking.values(), key=lambda e: e.pk):
                item = self.items[entry.item]
                deltas = entry.deltas
                level = Decimal(repr(deltas["quantity"])) if isinstance(deltas.get("quantity"), float) else None
                change: Decimal | None = None
                if entry.tracking_type == STOCK_ADD:
                    change = Decimal(repr(deltas["added"]))
                elif entry.tracking_type in (STOCK_REMOVE, SPLIT_CHILD_ITEM):
                    change = -Decimal(repr(deltas["removed"]))
                elif entry.tracking_type == BUILD_CONSUMED:
                    change = -Decimal(repr(deltas["quantity"]))
                elif entry.tracking_type == STOCK_COUNT and entry.before is not None:
                    change = Decimal(repr(deltas["quantity"])) - entry.before
                result.append(
                    TrackTruth(
                        entry.pk, entry.item, item.part, item.location, entry.tracking_type, entry.date, change, level
                    )
                )
            return result

    def items_of(self, part: int, location: int | None) -> list[StockItem]:
        with self.lock:
            return [i for i in self.items.values() if i.part == part and i.location == location]

    def pairs(self) -> Iterable[tuple[int, int | None]]:
        with self.lock:
            return sorted({(i.part, i.location) for i in self.items.values()}, key=lambda p: (p[0], p[1] or 0))

    def after(self, minutes: float) -> datetime:
        """A moment ``minutes`` after the clock's now (for operations placed in time by a test)."""
        return self.now() + timedelta(minutes=minutes)
