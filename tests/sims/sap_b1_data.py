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

The truth (`SapCompany.truth_balances` and friends) is computed from this state alone, never from what a client read.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
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


@dataclass
class SapCompany:
    """The company's warehouses and items, changed only through its operations, under one lock."""

    warehouses: dict[str, Warehouse] = field(default_factory=dict)
    items: dict[str, Item] = field(default_factory=dict)
    clock: datetime = field(default_factory=lambda: datetime(2026, 11, 20, 8, 0, 0, tzinfo=UTC))
    lock: threading.RLock = field(default_factory=threading.RLock)

    # --- what the Service Layer lists, in its key order -------------------------------------------------------
    def item_records(self) -> list[dict[str, Any]]:
        with self.lock:
            return [self.items[code].render() for code in sorted(self.items)]

    def warehouse_records(self) -> list[dict[str, Any]]:
        with self.lock:
            return [self.warehouses[code].render() for code in sorted(self.warehouses)]

    # --- operations ------------------------------------------------------------------------------------------
    def _touch(self, item: Item) -> None:
        self.clock += timedelta(minutes=1, seconds=7)
        item.updated = self.clock

    def _row(self, code: str, warehouse: str) -> Stock:
        item = self.items[code]
        if warehouse not in self.warehouses:
            raise KeyError(warehouse)
        return item.stock.setdefault(warehouse, Stock())

    def receive(self, code: str, warehouse: str, quantity: Decimal) -> None:
        """A goods receipt (or a delivery from a vendor) into ``warehouse``."""
        with self.lock:
            row = self._row(code, warehouse)
            row.in_stock = (row.in_stock + quantity).quantize(Q6)
            self._touch(self.items[code])

    def issue(self, code: str, warehouse: str, quantity: Decimal) -> None:
        """A goods issue out of ``warehouse`` (negative stock where the company allows it)."""
        self.receive(code, warehouse, -quantity)

    def transfer(self, code: str, source: str, target: str, quantity: Decimal) -> None:
        with self.lock:
            self.issue(code, source, quantity)
            self.receive(code, target, quantity)

    def order(self, code: str, warehouse: str, quantity: Decimal) -> None:
        """A sales order: the quantity is promised to a customer (``Committed``)."""
        with self.lock:
            row = self._row(code, warehouse)
            row.committed = (row.committed + quantity).quantize(Q6)

    def deliver(self, code: str, warehouse: str, quantity: Decimal) -> None:
        """A delivery of an open sales order: stock leaves, and so does the promise."""
        with self.lock:
            row = self._row(code, warehouse)
            row.in_stock = (row.in_stock - quantity).quantize(Q6)
            row.committed = max(Decimal(0), row.committed - quantity).quantize(Q6)
            self._touch(self.items[code])

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


def messy_company(seed: int = 7, count: int = 120) -> SapCompany:
    """A company with the mess real ones hold (see the module's docstring), from ``seed``."""
    rng = random.Random(seed)
    company = SapCompany()
    for warehouse in MESSY_WAREHOUSES:
        company.warehouses[warehouse.code] = Warehouse(**warehouse.__dict__)
    active = ["01", "02", "03", "RUH 1"]
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
                row.ordered = Decimal(rng.choice([0, 0, 50, 120]))
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
    return company
