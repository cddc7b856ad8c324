"""A Dynamics 365 Business Central company as its API v2.0 serves it: items, locations and item ledger entries, with
the mess real companies hold, the postings that change stock, and the company's own truth.

Facts the model keeps (learn.microsoft.com, API v2.0 reference):

* ``item.inventory`` is a FlowField: the sum of the item's ledger entry quantities over every location. Posting an
  entry changes it without touching the item's ``lastModifiedDateTime`` (the item record itself did not change).
* Item ledger entries are signed (a sale is negative), keep their location in the database, and the API v2.0
  ``itemLedgerEntry`` does not expose it (``entryNumber``, ``itemNumber``, ``postingDate``, ``entryType``,
  ``sourceNumber``, ``sourceType``, ``documentNumber``, ``documentType``, ``description``, ``quantity``,
  ``salesAmountActual``, ``costAmountActual``, ``lastModifiedDateTime``). So the model knows stock per location
  (`BcCompany.truth_by_location`), and the API cannot tell it.
* A transfer posts a negative entry at the source location and a positive one at the destination, both of type
  ``Transfer``: they add up to nothing for the item as a whole.
* Enumerations are serialised with OData's escapes: ``Non_x002D_Inventory``, ``Positive_x0020_Adjmt_x002E_``,
  ``Sales_x0020_Shipment``; a blank option is ``_x0020_``.
* Services have no ledger entries; non-inventory items do (BC posts their quantities without cost).
* Purchase orders (``purchaseOrders``, page 30066 of the APIV2 app) with their lines (``purchaseOrderLines``, page
  30067). An order's ``status`` is the API's view of the header's: Open is ``Draft``, Pending Approval ``In Review``,
  Released and Pending Prepayment ``Open``; ``fullyReceived`` is the header's "Completely Received" FlowField, the
  least of its lines' (every line but comments: quantity not zero and nothing outstanding). A line's
  ``lineType`` is Comment, Account, Item, Resource, Fixed Asset, Charge or Allocation Account; ``quantity`` and
  ``receivedQuantity`` are in the line's unit of measure, ``receiveQuantity`` (Qty. to Receive) defaults to what
  is outstanding; ``expectedReceiptDate`` is a date, and a blank date is ``0001-01-01`` (a comment line's), a
  blank location or item a null GUID. Receiving posts a ``Purchase`` ledger entry at the line's location; an order
  received and invoiced in full is deleted (posted documents are other entities); a line is short-closed by
  lowering its quantity to what was received. BC's own "Qty. on Purch. Order" is the sum of the outstanding base
  quantity of every order's item lines, whatever the order's status (`BcCompany.truth_on_order`).

The truth is computed from this state alone, never from what a client read.
"""

from __future__ import annotations

import random
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

Q5 = Decimal("0.00001")  # BC keeps quantities to five decimals
INVENTORY, SERVICE, NON_INVENTORY = "Inventory", "Service", "Non-Inventory"


def odata_enum(name: str) -> str:
    """An AL option or enum name as Business Central's OData serialises it."""
    return name.replace(" ", "_x0020_").replace("-", "_x002D_").replace(".", "_x002E_")


def stamp(moment: datetime) -> str:
    """``2020-08-21T00:24:19.347Z``: UTC, milliseconds, as Business Central writes ``lastModifiedDateTime``."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _etag(*parts: object) -> str:
    return 'W/"JzQ0O' + uuid.uuid5(uuid.NAMESPACE_OID, "|".join(map(str, parts))).hex[:24] + 'MTswMDsn"'


def _category_id(code: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_OID, "category:" + code)) if code else "00000000-0000-0000-0000-000000000000"


@dataclass
class BcItem:
    number: str
    display_name: str
    type: str = INVENTORY
    category: str = ""
    unit: str = "PCS"
    unit_cost: Decimal = Decimal(0)
    unit_price: Decimal = Decimal(0)
    blocked: bool = False
    modified: datetime = field(default_factory=lambda: datetime(2026, 3, 2, 10, 15, 42, 120000, tzinfo=UTC))
    id: str = field(default_factory=lambda: str(uuid.uuid4()))


@dataclass
class BcLocation:
    code: str
    display_name: str
    address: str = ""
    city: str = ""
    country: str = ""
    modified: datetime = field(default_factory=lambda: datetime(2025, 12, 1, 7, 0, 0, tzinfo=UTC))
    id: str = field(default_factory=lambda: str(uuid.uuid4()))


@dataclass
class LedgerEntry:
    entry_number: int
    item_number: str
    location: str  # kept in the database (Location Code); not in API v2.0
    posting_date: date
    entry_type: str  # the AL name: Purchase, Sale, Positive Adjmt., Negative Adjmt., Transfer, Consumption, Output
    quantity: Decimal
    document_number: str
    document_type: str = " "
    source_number: str = ""
    source_type: str = " "
    description: str = ""
    modified: datetime = field(default_factory=lambda: datetime(2026, 3, 2, 10, 15, 42, tzinfo=UTC))
    id: str = field(default_factory=lambda: str(uuid.uuid4()))


NULL_GUID = "00000000-0000-0000-0000-000000000000"
BLANK_DATE = "0001-01-01"  # an AL date 0D as the API writes it
# Purchase Header.Status -> the API's purchaseOrder.status ("Purchase Order Entity Buffer Status").
API_STATUS = {"Open": "Draft", "Pending Approval": "In Review", "Released": "Open", "Pending Prepayment": "Open"}


@dataclass
class PurchaseLine:
    sequence: int  # Line No.
    line_type: str  # the API's lineType (AL name): Item, Comment, Account, Charge, ...
    number: str  # No.: the item's number for an item line, else the account's or charge's ("" for a comment)
    quantity: Decimal  # in the line's unit of measure
    location: str = ""  # Location Code ("" when none)
    expected: date | None = None  # Expected Receipt Date (None: 0D)
    received: Decimal = Decimal(0)
    per_unit: Decimal = Decimal(1)  # Qty. per Unit of Measure of the line's unit (1: the item's base unit)
    unit: str = ""
    description: str = ""
    unit_cost: Decimal = Decimal(0)
    id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def outstanding(self) -> Decimal:
        return self.quantity - self.received

    @property
    def completely_received(self) -> bool:
        return self.quantity != 0 and self.outstanding == 0


@dataclass
class PurchaseOrder:
    number: str
    vendor: str
    order_date: date
    lines: list[PurchaseLine] = field(default_factory=list)
    status: str = "Released"  # the header's Status: Open, Released, Pending Approval, Pending Prepayment
    requested: date | None = None  # Requested Receipt Date
    modified: datetime = field(default_factory=lambda: datetime(2026, 3, 2, 10, 15, 42, tzinfo=UTC))
    id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def fully_received(self) -> bool:
        """The header's "Completely Received": the least of its non-comment lines' (false for no such line)."""
        counted = [line for line in self.lines if line.line_type != "Comment"]
        return bool(counted) and all(line.completely_received for line in counted)


def _day(value: date | None) -> str:
    return value.isoformat() if value is not None else BLANK_DATE


@dataclass
class BcCompany:
    name: str = "CRONUS USA, Inc."
    display_name: str = "CRONUS USA, Inc."
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    items: dict[str, BcItem] = field(default_factory=dict)  # by number
    locations: dict[str, BcLocation] = field(default_factory=dict)  # by code
    entries: list[LedgerEntry] = field(default_factory=list)
    orders: dict[str, PurchaseOrder] = field(default_factory=dict)  # by number
    orders_placed: int = 0  # the number series' position: a deleted order's number is not reused
    clock: datetime = field(default_factory=lambda: datetime(2026, 11, 20, 9, 0, 0, tzinfo=UTC))
    lock: threading.RLock = field(default_factory=threading.RLock)

    # --- the API's records -----------------------------------------------------------------------------------
    def inventory(self, number: str) -> Decimal:
        return sum((e.quantity for e in self.entries if e.item_number == number), Decimal(0))

    def item_records(self) -> list[dict[str, Any]]:
        with self.lock:
            totals: dict[str, Decimal] = {}
            for entry in self.entries:
                totals[entry.item_number] = totals.get(entry.item_number, Decimal(0)) + entry.quantity
            return [
                {
                    "@odata.etag": _etag(item.id, item.modified),
                    "id": item.id,
                    "number": item.number,
                    "displayName": item.display_name,
                    "displayName2": "",
                    "type": odata_enum(item.type),
                    "itemCategoryId": _category_id(item.category),
                    "itemCategoryCode": item.category,
                    "blocked": item.blocked,
                    "gtin": "",
                    "inventory": float(totals.get(item.number, Decimal(0))) if item.type != SERVICE else 0,
                    "unitPrice": float(item.unit_price),
                    "priceIncludesTax": False,
                    "unitCost": float(item.unit_cost),
                    "taxGroupId": "00000000-0000-0000-0000-000000000000",
                    "taxGroupCode": "",
                    "baseUnitOfMeasureId": "00000000-0000-0000-0000-000000000000",
                    "baseUnitOfMeasureCode": item.unit,
                    "generalProductPostingGroupId": "00000000-0000-0000-0000-000000000000",
                    "generalProductPostingGroupCode": "RETAIL",
                    "inventoryPostingGroupId": "00000000-0000-0000-0000-000000000000",
                    "inventoryPostingGroupCode": "RESALE" if item.type == INVENTORY else "",
                    "lastModifiedDateTime": stamp(item.modified),
                }
                for item in sorted(self.items.values(), key=lambda i: i.number)
            ]

    def location_records(self) -> list[dict[str, Any]]:
        with self.lock:
            return [
                {
                    "@odata.etag": _etag(loc.id, loc.modified),
                    "id": loc.id,
                    "code": loc.code,
                    "displayName": loc.display_name,
                    "contact": "",
                    "addressLine1": loc.address,
                    "addressLine2": "",
                    "city": loc.city,
                    "state": "",
                    "country": loc.country,
                    "postalCode": "",
                    "phoneNumber": "",
                    "email": "",
                    "website": "",
                    "lastModifiedDateTime": stamp(loc.modified),
                }
                for loc in sorted(self.locations.values(), key=lambda loc: loc.code)
            ]

    def entry_records(self) -> list[dict[str, Any]]:
        with self.lock:
            return [
                {
                    "@odata.etag": _etag(e.id, e.modified),
                    "id": e.id,
                    "entryNumber": e.entry_number,
                    "itemNumber": e.item_number,
                    "postingDate": e.posting_date.isoformat(),
                    "entryType": odata_enum(e.entry_type),
                    "sourceNumber": e.source_number,
                    "sourceType": odata_enum(e.source_type),
                    "documentNumber": e.document_number,
                    "documentType": odata_enum(e.document_type),
                    "description": e.description,
                    "quantity": float(e.quantity),
                    "salesAmountActual": 0,
                    "costAmountActual": 0,
                    "lastModifiedDateTime": stamp(e.modified),
                }
                for e in sorted(self.entries, key=lambda e: e.entry_number)
            ]

    def order_records(self) -> list[dict[str, Any]]:
        """Purchase orders as ``purchaseOrders`` lists them, each with its lines under ``purchaseOrderLines`` (what
        ``$expand=purchaseOrderLines`` adds; the server drops it otherwise)."""
        with self.lock:
            return [self._order_record(o) for o in sorted(self.orders.values(), key=lambda o: o.number)]

    def _order_record(self, order: PurchaseOrder) -> dict[str, Any]:
        amount = sum((line.quantity * line.unit_cost for line in order.lines), Decimal(0))
        return {
            "@odata.etag": _etag(order.id, order.modified),
            "id": order.id,
            "number": order.number,
            "orderDate": order.order_date.isoformat(),
            "postingDate": order.order_date.isoformat(),
            "vendorId": str(uuid.uuid5(uuid.NAMESPACE_OID, "vendor:" + order.vendor)),
            "vendorNumber": order.vendor,
            "vendorName": f"Vendor {order.vendor}",
            "payToName": f"Vendor {order.vendor}",
            "payToVendorId": str(uuid.uuid5(uuid.NAMESPACE_OID, "vendor:" + order.vendor)),
            "payToVendorNumber": order.vendor,
            "shipToName": self.display_name,
            "shipToContact": "",
            "buyFromAddressLine1": "",
            "buyFromAddressLine2": "",
            "buyFromCity": "",
            "buyFromCountry": "",
            "buyFromState": "",
            "buyFromPostCode": "",
            "shortcutDimension1Code": "",
            "shortcutDimension2Code": "",
            "currencyId": NULL_GUID,
            "currencyCode": "SAR",
            "pricesIncludeTax": False,
            "paymentTermsId": NULL_GUID,
            "shipmentMethodId": NULL_GUID,
            "purchaser": "",
            "requestedReceiptDate": _day(order.requested),
            "purchaseOrderLines": [self._line_record(order, line) for line in order.lines],
            "discountAmount": 0,
            "discountAppliedBeforeTax": False,
            "totalAmountExcludingTax": float(amount),
            "totalTaxAmount": float(amount * Decimal("0.15")),
            "totalAmountIncludingTax": float(amount * Decimal("1.15")),
            "fullyReceived": order.fully_received,
            "status": odata_enum(API_STATUS[order.status]),
            "lastModifiedDateTime": stamp(order.modified),
        }

    def _line_record(self, order: PurchaseOrder, line: PurchaseLine) -> dict[str, Any]:
        item = self.items.get(line.number) if line.line_type == "Item" else None
        location = self.locations.get(line.location)
        amount = line.quantity * line.unit_cost
        return {
            "@odata.etag": _etag(line.id, line.quantity, line.received),
            "id": line.id,
            "documentId": order.id,
            "sequence": line.sequence,
            "itemId": item.id if item else NULL_GUID,
            "accountId": str(uuid.uuid5(uuid.NAMESPACE_OID, "account:" + line.number))
            if line.line_type == "Account"
            else NULL_GUID,
            "lineType": odata_enum(line.line_type),
            "lineObjectNumber": line.number,
            "description": line.description,
            "unitOfMeasureId": str(uuid.uuid5(uuid.NAMESPACE_OID, "unit:" + line.unit)) if line.unit else NULL_GUID,
            "unitOfMeasureCode": line.unit,
            "quantity": float(line.quantity),
            "directUnitCost": float(line.unit_cost),
            "discountAmount": 0,
            "discountPercent": 0,
            "discountAppliedBeforeTax": False,
            "amountExcludingTax": float(amount),
            "taxCode": "VAT15" if line.line_type != "Comment" else "",
            "taxPercent": 15 if line.line_type != "Comment" else 0,
            "totalTaxAmount": float(amount * Decimal("0.15")),
            "amountIncludingTax": float(amount * Decimal("1.15")),
            "invoiceDiscountAllocation": 0,
            "netAmount": float(amount),
            "netTaxAmount": float(amount * Decimal("0.15")),
            "netAmountIncludingTax": float(amount * Decimal("1.15")),
            "expectedReceiptDate": _day(line.expected),
            "receivedQuantity": float(line.received),
            "invoicedQuantity": 0,
            "invoiceQuantity": float(line.quantity),
            "receiveQuantity": float(line.outstanding),
            "itemVariantId": NULL_GUID,
            "locationId": location.id if location else NULL_GUID,
        }

    # --- postings --------------------------------------------------------------------------------------------
    def _next(self) -> int:
        return max((e.entry_number for e in self.entries), default=0) + 1

    def post(
        self,
        number: str,
        location: str,
        entry_type: str,
        quantity: Decimal,
        *,
        document: str,
        document_type: str = " ",
        day: date | None = None,
    ) -> LedgerEntry:
        """One item ledger entry, as a posted document or journal line leaves it."""
        with self.lock:
            if number not in self.items or (location and location not in self.locations):
                raise KeyError(number if number not in self.items else location)
            self.clock += timedelta(minutes=3, seconds=11, milliseconds=250)
            entry = LedgerEntry(
                self._next(),
                number,
                location,
                day or self.clock.date(),
                entry_type,
                quantity.quantize(Q5),
                document,
                document_type,
                modified=self.clock,
            )
            self.entries.append(entry)
            return entry

    def purchase(self, number: str, location: str, quantity: Decimal, document: str) -> LedgerEntry:
        return self.post(number, location, "Purchase", quantity, document=document, document_type="Purchase Receipt")

    def sell(self, number: str, location: str, quantity: Decimal, document: str) -> LedgerEntry:
        return self.post(number, location, "Sale", -quantity, document=document, document_type="Sales Shipment")

    def adjust(self, number: str, location: str, quantity: Decimal, document: str) -> LedgerEntry:
        kind = "Positive Adjmt." if quantity >= 0 else "Negative Adjmt."
        return self.post(number, location, kind, quantity, document=document)

    def transfer(self, number: str, source: str, target: str, quantity: Decimal, document: str) -> None:
        """A direct transfer: out of ``source``, into ``target``; nothing changes for the item as a whole."""
        with self.lock:
            self.post(number, source, "Transfer", -quantity, document=document, document_type="Direct Transfer")
            self.post(number, target, "Transfer", quantity, document=document, document_type="Direct Transfer")

    def place_order(
        self,
        vendor: str,
        lines: list[PurchaseLine],
        *,
        status: str = "Released",
        requested: date | None = None,
        day: date | None = None,
    ) -> PurchaseOrder:
        """A purchase order with ``lines`` (numbered 10000, 20000, ... as BC numbers them)."""
        with self.lock:
            self.clock += timedelta(minutes=1, seconds=13)
            number = str(106001 + self.orders_placed)
            self.orders_placed += 1
            for index, line in enumerate(lines, start=1):
                line.sequence = index * 10000
                if line.line_type == "Item" and not line.unit:
                    line.unit = self.items[line.number].unit
            order = PurchaseOrder(
                number, vendor, day or self.clock.date(), lines, status, requested, modified=self.clock
            )
            self.orders[number] = order
            return order

    def line(self, number: str, sequence: int) -> PurchaseLine:
        return next(line for line in self.orders[number].lines if line.sequence == sequence)

    def receive(self, number: str, sequence: int, quantity: Decimal) -> LedgerEntry | None:
        """Post a receipt of ``quantity`` (the line's unit) of one order line. An item line's receipt is a Purchase
        entry at its location; a G/L account's, charge's or resource's line is received without any."""
        with self.lock:
            order, line = self.orders[number], self.line(number, sequence)
            if line.line_type == "Comment" or quantity <= 0 or quantity > line.outstanding:
                raise ValueError(f"cannot receive {quantity} of line {sequence} of {number}")
            line.received += quantity
            order.modified = self.clock + timedelta(seconds=1)
            if line.line_type != "Item":
                return None
            receipt = f"107{500 + len(self.entries_of_type('Purchase')):03d}"
            return self.purchase(line.number, line.location, quantity * line.per_unit, receipt)

    def short_close(self, number: str, sequence: int) -> None:
        """Nothing more will come on this line: its quantity is lowered to what was received."""
        with self.lock:
            line = self.line(number, sequence)
            line.quantity = line.received
            self.clock += timedelta(seconds=29)
            self.orders[number].modified = self.clock

    def set_status(self, number: str, status: str) -> None:
        """Release (Released), reopen (Open), send for approval (Pending Approval)."""
        with self.lock:
            if status not in API_STATUS:
                raise ValueError(status)
            self.clock += timedelta(seconds=23)
            order = self.orders[number]
            order.status, order.modified = status, self.clock

    def delete_order(self, number: str) -> None:
        """An order invoiced in full (BC deletes it after posting) or deleted by hand."""
        with self.lock:
            del self.orders[number]

    def add_item(self, item: BcItem) -> None:
        with self.lock:
            self.clock += timedelta(seconds=41)
            item.modified = self.clock
            self.items[item.number] = item

    def block(self, number: str) -> None:
        with self.lock:
            self.clock += timedelta(seconds=17)
            item = self.items[number]
            item.blocked = True
            item.modified = self.clock

    # --- the truth ---------------------------------------------------------------------------------------------
    def truth_items(self) -> dict[str, BcItem]:
        """The items that are stock (type Inventory), by number."""
        with self.lock:
            return {n: i for n, i in self.items.items() if i.type == INVENTORY}

    def truth_balances(self) -> dict[str, Decimal]:
        """Each stock item's inventory over all locations: what the API's ``inventory`` says and all it can say."""
        with self.lock:
            return {n: self.inventory(n) for n in self.truth_items()}

    def truth_by_location(self) -> dict[tuple[str, str], Decimal]:
        """Stock per item and location, as the database holds it (API v2.0 cannot tell this)."""
        with self.lock:
            found: dict[tuple[str, str], Decimal] = {}
            for entry in self.entries:
                key = (entry.item_number, entry.location)
                found[key] = found.get(key, Decimal(0)) + entry.quantity
            return found

    def truth_on_order(self) -> dict[str, tuple[str, Decimal, date | None, str]]:
        """Every purchase-order line still bringing stock, by the line's id: (item number, outstanding quantity in
        the item's base unit, expected receipt date, order number). Item lines of stock items (type Inventory) with
        something outstanding, whatever their order's status, as BC's own "Qty. on Purch. Order" counts them."""
        with self.lock:
            stock = self.truth_items()
            return {
                line.id: (line.number, (line.outstanding * line.per_unit).quantize(Q5), line.expected, order.number)
                for order in self.orders.values()
                for line in order.lines
                if line.line_type == "Item" and line.number in stock and line.outstanding > 0
            }

    def truth_qty_on_order(self) -> dict[str, Decimal]:
        """BC's "Qty. on Purch. Order" per stock item (only items with something on order)."""
        found: dict[str, Decimal] = {}
        for number, outstanding, _, _ in self.truth_on_order().values():
            found[number] = found.get(number, Decimal(0)) + outstanding
        return found

    def entries_of_type(self, *types: str) -> list[LedgerEntry]:
        with self.lock:
            return [e for e in self.entries if e.entry_type in types]


# --- the companies the tests use ----------------------------------------------------------------------------------

LOCATIONS = [
    BcLocation("MAIN", "Main Warehouse", "Industrial Area 2", "Riyadh", "SA"),
    BcLocation("EAST", "Dammam Warehouse", "2nd Industrial City", "Dammam", "SA"),
    BcLocation("WEST", "مستودع جدة", "طريق الحرمين", "Jeddah", "SA"),
    BcLocation("OUT. LOG.", "Outsourced logistics", "", "Riyadh", "SA"),  # a code with a dot and a space
]
PRODUCTS = ["ATHENS Desk", "PARIS Guest Chair, black", "كرسي مكتب دوار", "ROME Guest Chair, green", "Lamp", "حامل شاشة"]


def bc_company(
    seed: int = 11,
    count: int = 80,
    *,
    messy: bool = False,
    entered: datetime | None = None,
    orders: int = 12,
    postings: int = 420,
) -> BcCompany:
    """A company of ``count`` stock items with two years of postings, a few services and non-inventory items; with
    ``messy``, non-inventory items carry ledger entries too (BC posts their quantities). ``entered``: the company's
    clock when the postings were made (their ``lastModifiedDateTime``), 20 November 2026 by default; ``postings``
    ledger postings (a transfer posts two entries). Then ``orders``
    purchase orders (`purchase_orders`), from a random stream of their own: the postings are the same with or
    without them, apart from the receipts of their lines."""
    rng = random.Random(seed)
    company = BcCompany(id=str(uuid.UUID(int=rng.getrandbits(128))))
    if entered is not None:
        company.clock = entered
    for location in LOCATIONS:
        company.locations[location.code] = BcLocation(**{**location.__dict__, "id": str(uuid.uuid4())})
    codes = list(company.locations)
    for n in range(1, count + 1):
        number = f"{1000 + n}-S" if n % 7 else f"1{n:03d}"  # CRONUS-style numbers, and some plain ones
        item = BcItem(
            number,
            f"{PRODUCTS[n % len(PRODUCTS)]} {n}",
            category=rng.choice(["TABLE", "CHAIR", "MISC", ""]),
            unit=rng.choice(["PCS", "PCS", "BOX", "KG"]),
            unit_cost=Decimal(rng.randint(100, 90000)) / 100,
            unit_price=Decimal(rng.randint(100, 120000)) / 100,
            blocked=n % 31 == 0,
            modified=datetime(
                2025,
                rng.randint(1, 12),
                rng.randint(1, 28),
                rng.randint(0, 23),
                rng.randint(0, 59),
                rng.randint(0, 59),
                rng.randint(0, 999) * 1000,
                tzinfo=UTC,
            ),
        )
        company.items[number] = item
    for number, name, kind in (
        ("SVC-INSTALL", "Installation", SERVICE),
        ("SVC-DELIVERY", "Delivery", SERVICE),
        ("NI-PAPER", "Copy paper (used at once)", NON_INVENTORY),
        ("NI-COFFEE", "Coffee for the office", NON_INVENTORY),
    ):
        company.items[number] = BcItem(number, name, type=kind, unit="PCS")
    start = date(2024, 11, 1)
    stock = [i for i in company.items.values() if i.type == INVENTORY]
    for index in range(postings):
        item = rng.choice(stock)
        where = rng.choice(codes)
        day = start + timedelta(days=rng.randint(0, 740))
        roll = rng.random()
        if roll < 0.35:
            company.purchase(item.number, where, Decimal(rng.randint(5, 60)), f"107{index:03d}").posting_date = day
        elif roll < 0.75:
            company.sell(item.number, where, Decimal(rng.randint(1, 8)), f"102{index:03d}").posting_date = day
        elif roll < 0.85:
            weight = Decimal(rng.randint(1, 900000)) * Q5 if item.unit == "KG" else Decimal(rng.randint(1, 9))
            sign = 1 if rng.random() < 0.5 else -1
            company.adjust(item.number, where, weight * sign, f"PHYS-{index:03d}").posting_date = day
        else:
            other = rng.choice([c for c in codes if c != where])
            company.transfer(item.number, where, other, Decimal(rng.randint(1, 5)), f"TR{index:04d}")
    if messy:
        company.purchase("NI-PAPER", "MAIN", Decimal(20), "107900")
        company.post("NI-PAPER", "MAIN", "Negative Adjmt.", Decimal(-20), document="CONS-1")
        company.purchase("NI-COFFEE", "", Decimal(6), "107901")  # no location: BC allows it when not mandatory
    purchase_orders(company, random.Random(seed * 7919 + 1), orders)
    return company


def purchase_orders(company: BcCompany, rng: random.Random, count: int) -> None:
    """``count`` purchase orders in every status, the mess real ones hold: comment lines (no item, no quantity, a
    blank date), freight on a G/L account or an item charge, lines without a location, lines received in part or in
    full, a line short-closed, an order received in full and not yet invoiced."""
    if count <= 0:
        return
    stock = sorted(n for n, i in company.items.items() if i.type == INVENTORY)
    codes = sorted(company.locations)
    statuses = ["Released", "Released", "Released", "Open", "Pending Approval", "Pending Prepayment"]
    placed: list[PurchaseOrder] = []
    for index in range(count):
        day = company.clock.date() - timedelta(days=rng.randint(1, 40))
        lines = [
            PurchaseLine(
                0,
                "Item",
                number,
                Decimal(rng.randint(5, 60)),
                location="" if rng.random() < 0.15 else rng.choice(codes),
                expected=day + timedelta(days=rng.randint(3, 30)),
                unit_cost=Decimal(rng.randint(100, 9000)) / 100,
            )
            for number in rng.sample(stock, rng.randint(1, 4))
        ]
        if index % 3 == 0:
            lines.insert(0, PurchaseLine(0, "Comment", "", Decimal(0), description="Deliver to gate 2, mornings"))
        if index % 4 == 1:
            lines.append(PurchaseLine(0, "Account", "6120", Decimal(1), description="Freight", unit_cost=Decimal(250)))
        if index % 5 == 2:
            lines.append(PurchaseLine(0, "Charge", "P-FREIGHT", Decimal(1), description="Customs", unit=""))
        requested = None if index % 2 else day + timedelta(days=21)
        placed.append(
            company.place_order(
                f"{rng.choice([1, 2, 3, 4])}0000",
                lines,
                status=statuses[index % len(statuses)],
                requested=requested,
                day=day,
            )
        )
    for order in placed[1::2]:  # half the orders: a line received in part
        line = next(li for li in order.lines if li.line_type == "Item")
        company.receive(order.number, line.sequence, Decimal(rng.randint(1, int(line.quantity) - 1)))
    full = placed[2]  # received in full, not yet invoiced
    for line in full.lines:
        if line.line_type != "Comment":
            company.receive(full.number, line.sequence, line.outstanding)
    done = placed[3]  # one line received in full, the others still to come
    first = next(li for li in done.lines if li.line_type == "Item")
    company.receive(done.number, first.sequence, first.outstanding)
    closed = placed[5]  # part received, the rest will never come: short-closed
    line = next(li for li in closed.lines if li.line_type == "Item")
    company.receive(closed.number, line.sequence, Decimal(2))
    company.short_close(closed.number, line.sequence)
