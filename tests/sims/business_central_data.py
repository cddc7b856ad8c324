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


@dataclass
class BcCompany:
    name: str = "CRONUS USA, Inc."
    display_name: str = "CRONUS USA, Inc."
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    items: dict[str, BcItem] = field(default_factory=dict)  # by number
    locations: dict[str, BcLocation] = field(default_factory=dict)  # by code
    entries: list[LedgerEntry] = field(default_factory=list)
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


def bc_company(seed: int = 11, count: int = 80, *, messy: bool = False, entered: datetime | None = None) -> BcCompany:
    """A company of ``count`` stock items with two years of postings, a few services and non-inventory items; with
    ``messy``, non-inventory items carry ledger entries too (BC posts their quantities). ``entered``: the company's
    clock when the postings were made (their ``lastModifiedDateTime``), 20 November 2026 by default."""
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
    for index in range(420):
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
    return company
