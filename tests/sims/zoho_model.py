"""The state of a simulated Zoho Inventory organization: its locations (warehouses), items with their stock per
location, and inventory adjustments, with the operations that change them and the truth computed from them.

The truth is the organization's own state (``truth_balances``, ``truth_movements``), never what a reader made of
the API. Data is modest (a few hundred items) and deterministic for a seed. What is faithful and what is chosen is
said in ``tests/sims/zoho.py``.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

ORGANIZATION_ID = "60019077540"
ZONE = timezone(timedelta(hours=3))  # the organization's time zone (Asia/Riyadh): Zoho writes +0300
ID_BASE = 4815000000044000  # Zoho's ids are long numbers sent as strings


def zoho_time(moment: datetime) -> str:
    """Zoho's ``created_time`` / ``last_modified_time``: ``2026-11-22T06:08:12+0300`` (the organization's zone)."""
    return moment.astimezone(ZONE).strftime("%Y-%m-%dT%H:%M:%S%z")


def quantity_text(value: Decimal) -> str:
    """A stock figure as Zoho's location fields carry it: a string (``"12"``, ``"2.5"``, ``"-3"``)."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


@dataclass
class Location:
    location_id: str
    name: str
    is_primary: bool = False
    status: str = "active"
    city: str = "Riyadh"


@dataclass
class Item:
    item_id: str
    name: str
    sku: str
    unit: str
    rate: Decimal
    purchase_rate: Decimal
    created: datetime
    modified: datetime
    status: str = "active"
    item_type: str = "inventory"  # inventory | sales (a service: no stock)
    product_type: str = "goods"
    track_inventory: bool = True
    category_name: str = ""
    stock: dict[str, Decimal] = field(default_factory=dict)  # location_id -> on hand (accounting stock)
    committed: dict[str, Decimal] = field(default_factory=dict)  # location_id -> committed to sales orders
    blank: set[str] = field(default_factory=set)  # locations whose stock Zoho sends as "" (messy data)


@dataclass
class AdjustmentLine:
    line_item_id: str
    item_id: str
    location_id: str
    quantity_adjusted: Decimal


@dataclass
class Adjustment:
    adjustment_id: str
    day: date
    reason: str
    reference_number: str
    location_id: str
    lines: list[AdjustmentLine]
    created: datetime
    description: str = ""


@dataclass
class TransferLine:
    line_item_id: str
    item_id: str
    quantity: Decimal


@dataclass
class TransferOrder:
    """A transfer order marked transferred (drafts and orders in transit are not simulated: the documents give the
    detail no status, and say nothing of what an order in transit does to stock)."""

    transfer_order_id: str
    number: str
    day: date
    from_location_id: str
    to_location_id: str
    lines: list[TransferLine]
    created: datetime


@dataclass
class PurchaseLine:
    """One line of a purchase order: what it orders, where it is to be received (``""``: the line names no location,
    as lines entered before the organization turned locations on do; the order's location is meant) and how much
    purchase receives have brought so far."""

    line_item_id: str
    item_id: str
    quantity: Decimal
    location_id: str
    received: Decimal = Decimal(0)


@dataclass
class PurchaseOrder:
    """A purchase order. ``order_status``: draft, open (issued), closed or cancelled; what was received is kept per
    line, and Zoho derives the order's ``received_status`` and its list ``status`` from it."""

    purchaseorder_id: str
    number: str
    day: date
    expected: date | None  # the expected delivery date; None: not entered
    location_id: str
    lines: list[PurchaseLine]
    created: datetime
    modified: datetime
    order_status: str = "open"

    @property
    def received_status(self) -> str:
        """ "" (nothing received), partially_received or received."""
        received = [line.received >= line.quantity for line in self.lines]
        if all(received):
            return "received"
        return "partially_received" if any(line.received > 0 for line in self.lines) else ""

    @property
    def status(self) -> str:
        """The status the list shows: the order's own status, or for an issued order what its receipts made it."""
        if self.order_status != "open":
            return self.order_status
        return self.received_status or "open"


@dataclass(frozen=True)
class Movement:
    """What an adjustment line is, from the organization's own records."""

    line_item_id: str
    item_id: str
    location_id: str
    quantity: Decimal
    day: date
    reference: str


LOCATIONS = (
    ("Riyadh Main Warehouse - المستودع الرئيسي", "Riyadh"),
    ("Jeddah Branch", "Jeddah"),
    ("Dammam DC", "Dammam"),
    ("Riyadh Showroom - المعرض", "Riyadh"),
)
WORDS = ("Dates", "Coffee", "Cardamom", "Saffron", "Rice", "Tea", "Honey", "Olive oil", "Water", "Juice")
ARABIC = ("تمر", "قهوة", "هيل", "زعفران", "أرز", "شاي", "عسل", "زيت زيتون", "مياه", "عصير")
UNITS = ("pcs", "box", "kg", "ctn", "")
REASONS = ("Stocktaking results", "Damaged goods", "Stock received without PO", "Returned by customer")


class ZohoData:
    """One organization. Every method that reads or changes state holds ``lock`` (the server is threaded)."""

    def __init__(
        self,
        *,
        seed: int = 15,
        items: int = 240,
        adjustments: int = 14,
        blanks: int = 0,
        transfers: int = 0,
        purchases: int = 0,
    ) -> None:
        self.lock = threading.RLock()
        self.organization_id = ORGANIZATION_ID
        self.random = random.Random(seed)
        self.locations: dict[str, Location] = {}
        self.items: dict[str, Item] = {}
        self.adjustments: dict[str, Adjustment] = {}
        self.transfer_orders: dict[str, TransferOrder] = {}
        self.purchase_orders: dict[str, PurchaseOrder] = {}
        self._next = 0
        self.now = datetime.now(UTC).replace(microsecond=0)
        self._populate(items, adjustments, blanks)
        self._transfers(transfers)
        self._purchases(purchases)

    # --- ids and clock ----------------------------------------------------------------------------------------------
    def new_id(self) -> str:
        self._next += 1
        return str(ID_BASE + self._next * 7)

    def tick(self) -> datetime:
        """Now, at least a second after the last change (Zoho's times have seconds)."""
        self.now = max(self.now + timedelta(seconds=1), datetime.now(UTC).replace(microsecond=0))
        return self.now

    # --- the organization as it starts ---------------------------------------------------------------------------
    def _populate(self, count: int, adjustments: int, blanks: int) -> None:
        rng = self.random
        for index, (name, city) in enumerate(LOCATIONS):
            location = Location(self.new_id(), name, is_primary=index == 0, city=city)
            self.locations[location.location_id] = location
        start = self.now - timedelta(days=400)
        for n in range(count):
            word = rng.randrange(len(WORDS))
            created = start + timedelta(hours=n * 7, seconds=rng.randrange(3600))
            item = Item(
                item_id=self.new_id(),
                name=f"{WORDS[word]} {n + 1} - {ARABIC[word]}" + ("  " if n % 37 == 5 else ""),
                sku="" if n % 11 == 3 else f"SKU-{n + 1:04d}",
                unit=UNITS[n % len(UNITS)],
                rate=Decimal(rng.randrange(100, 50000)) / 100,
                purchase_rate=Decimal(rng.randrange(50, 30000)) / 100,
                created=created,
                modified=created + timedelta(days=rng.randrange(0, 30)),
                category_name=WORDS[word],
            )
            if n % 23 == 7:  # a service: sold, never stocked
                item.item_type, item.product_type, item.track_inventory = "sales", "service", False
                item.unit = "hrs"
            else:
                for location_id in self.locations:
                    on_hand = Decimal(rng.randrange(0, 400))
                    if n % 13 == 2:
                        on_hand += Decimal("0.5")  # sold by weight
                    if n % 41 == 9 and location_id == next(iter(self.locations)):
                        on_hand = Decimal(-rng.randrange(1, 5))  # negative stock (allowed by the organization)
                    item.stock[location_id] = on_hand
                    item.committed[location_id] = Decimal(rng.randrange(0, 3))
            if n % 19 == 4:
                item.status = "inactive"  # inactive items keep their stock
            self.items[item.item_id] = item
        stocked = [i for i in self.items.values() if i.track_inventory]
        for victim in stocked[5 : 5 + blanks]:
            victim.blank.add(next(iter(self.locations)))
        for n in range(adjustments):
            item = rng.choice(stocked)
            location_id = rng.choice(list(self.locations))
            day = (self.now - timedelta(days=(adjustments - n) * 9)).astimezone(ZONE).date()
            delta = Decimal(rng.randrange(-6, 12) or 1)
            self.adjust(item.item_id, location_id, delta, reason=rng.choice(REASONS), on=day)

    def _transfers(self, count: int) -> None:
        rng = self.random
        stocked = [i for i in self.items.values() if i.track_inventory]
        for n in range(count):
            source, target = rng.sample(list(self.locations), 2)
            item = rng.choice([i for i in stocked if i.stock.get(source, Decimal(0)) >= 2])
            day = (self.now - timedelta(days=(count - n) * 5)).astimezone(ZONE).date()
            self.transfer(item.item_id, source, target, Decimal(rng.randrange(1, 3)), on=day)

    def _purchases(self, count: int) -> None:
        """Purchase orders in every state: issued, partly and fully received, closed after a partial receipt,
        cancelled and drafts; some without an expected date, some lines without a location of their own."""
        rng = self.random
        stocked = [i for i in self.items.values() if i.track_inventory]
        locations = list(self.locations)
        for n in range(count):
            chosen = rng.sample(stocked, rng.randrange(1, 4))
            lines = [
                (
                    item.item_id,
                    Decimal(rng.randrange(2, 60)) + (Decimal("0.5") if n % 5 == 3 else 0),
                    "" if (n + k) % 6 == 4 else rng.choice(locations),
                )
                for k, item in enumerate(chosen)
            ]
            day = (self.now - timedelta(days=(count - n) * 3)).astimezone(ZONE).date()
            expected = None if n % 7 == 2 else day + timedelta(days=rng.randrange(3, 40))
            order = self.purchase_order(lines, rng.choice(locations), expected=expected, on=day)
            kind = n % 8
            if kind == 1:  # partly received
                line = order.lines[0]
                self.receive(order.purchaseorder_id, line.line_item_id, (line.quantity / 2).quantize(Decimal(1)))
            elif kind == 2:  # received in full
                for line in order.lines:
                    self.receive(order.purchaseorder_id, line.line_item_id, line.quantity)
            elif kind == 3:  # partly received, then closed: the rest will not come
                line = order.lines[0]
                self.receive(order.purchaseorder_id, line.line_item_id, Decimal(1))
                self.set_order_status(order.purchaseorder_id, "closed")
            elif kind == 5:
                self.set_order_status(order.purchaseorder_id, "cancelled")
            elif kind == 6:
                self.set_order_status(order.purchaseorder_id, "draft")

    # --- operations (a person working in Zoho) -----------------------------------------------------------------
    def purchase_order(
        self,
        lines: list[tuple[str, Decimal, str]],
        location_id: str,
        *,
        expected: date | None = None,
        on: date | None = None,
    ) -> PurchaseOrder:
        """An issued purchase order of (item, quantity, line location or "") lines, received at ``location_id``."""
        with self.lock:
            moment = self.tick()
            order = PurchaseOrder(
                purchaseorder_id=self.new_id(),
                number=f"PO-{len(self.purchase_orders) + 1:05d}",
                day=on or moment.astimezone(ZONE).date(),
                expected=expected,
                location_id=location_id,
                lines=[PurchaseLine(self.new_id(), item_id, Decimal(q), loc) for item_id, q, loc in lines],
                created=moment,
                modified=moment,
            )
            self.purchase_orders[order.purchaseorder_id] = order
            return order

    def receive(self, purchaseorder_id: str, line_item_id: str, quantity: Decimal) -> None:
        """A purchase receive of ``quantity`` of one line (more than ordered is accepted, as a receive may)."""
        with self.lock:
            order = self.purchase_orders[purchaseorder_id]
            line = next(line for line in order.lines if line.line_item_id == line_item_id)
            line.received += quantity
            order.modified = self.tick()

    def set_order_status(self, purchaseorder_id: str, status: str) -> None:
        """Mark the order draft, open (issued), closed or cancelled."""
        if status not in ("draft", "open", "closed", "cancelled"):
            raise ValueError(status)
        with self.lock:
            order = self.purchase_orders[purchaseorder_id]
            order.order_status = status
            order.modified = self.tick()

    def transfer(
        self, item_id: str, source: str, target: str, quantity: Decimal, *, on: date | None = None
    ) -> TransferOrder:
        """A transfer order from ``source`` to ``target``, marked transferred: the stock leaves one and reaches the
        other."""
        with self.lock:
            item = self.items[item_id]
            moment = self.tick()
            order = TransferOrder(
                transfer_order_id=self.new_id(),
                number=f"TO-{len(self.transfer_orders) + 1:05d}",
                day=on or moment.astimezone(ZONE).date(),
                from_location_id=source,
                to_location_id=target,
                lines=[TransferLine(self.new_id(), item_id, quantity)],
                created=moment,
            )
            self.transfer_orders[order.transfer_order_id] = order
            item.stock[source] = item.stock.get(source, Decimal(0)) - quantity
            item.stock[target] = item.stock.get(target, Decimal(0)) + quantity
            item.modified = moment
            return order

    def adjust(
        self,
        item_id: str,
        location_id: str,
        delta: Decimal,
        *,
        reason: str = "Stocktaking results",
        on: date | None = None,
    ) -> Adjustment:
        """An inventory adjustment of quantity: one line, ``delta`` at ``location_id``."""
        with self.lock:
            item = self.items[item_id]
            if not item.track_inventory:
                raise ValueError("a service has no stock to adjust")
            moment = self.tick()
            number = len(self.adjustments) + 1
            adjustment = Adjustment(
                adjustment_id=self.new_id(),
                day=on or moment.astimezone(ZONE).date(),
                reason=reason,
                reference_number=f"IA-{number:05d}",
                location_id=location_id,
                lines=[AdjustmentLine(self.new_id(), item_id, location_id, delta)],
                created=moment,
            )
            self.adjustments[adjustment.adjustment_id] = adjustment
            item.stock[location_id] = item.stock.get(location_id, Decimal(0)) + delta
            item.modified = moment
            return adjustment

    def add_item(self, name: str, sku: str, stock: dict[str, Decimal]) -> Item:
        with self.lock:
            moment = self.tick()
            item = Item(self.new_id(), name, sku, "pcs", Decimal("10"), Decimal("6"), moment, moment)
            item.stock = {location_id: stock.get(location_id, Decimal(0)) for location_id in self.locations}
            item.committed = {location_id: Decimal(0) for location_id in self.locations}
            self.items[item.item_id] = item
            return item

    def rename(self, item_id: str, name: str) -> None:
        with self.lock:
            item = self.items[item_id]
            item.name = name
            item.modified = self.tick()

    # --- the truth -------------------------------------------------------------------------------------------------
    def truth_balances(self) -> dict[tuple[str, str], Decimal]:
        """On-hand stock per (item, location) that is not zero, for every item Zoho tracks stock of, as the
        organization holds it. Entries Zoho sends blank are not in it (``truth_blank``)."""
        with self.lock:
            return {
                (item.item_id, location_id): quantity
                for item in self.items.values()
                if item.track_inventory
                for location_id, quantity in item.stock.items()
                if quantity != 0 and location_id not in item.blank
            }

    def truth_blank(self) -> set[tuple[str, str]]:
        with self.lock:
            return {(i.item_id, loc) for i in self.items.values() for loc in i.blank}

    def truth_movements(self) -> dict[str, Movement]:
        """Every movement the organization's records hold: an adjustment line (by its line id), and each line of a
        transfer order twice, out of one location and into the other (by ``<line id>@<location id>``)."""
        with self.lock:
            found = {
                line.line_item_id: Movement(
                    line.line_item_id, line.item_id, line.location_id, line.quantity_adjusted, a.day, a.reference_number
                )
                for a in self.adjustments.values()
                for line in a.lines
            }
            for order in self.transfer_orders.values():
                for line in order.lines:
                    for location_id, quantity in (
                        (order.from_location_id, -line.quantity),
                        (order.to_location_id, line.quantity),
                    ):
                        key = f"{line.line_item_id}@{location_id}"
                        found[key] = Movement(key, line.item_id, location_id, quantity, order.day, order.number)
            return found

    def truth_open_orders(self) -> dict[str, tuple[str, str, Decimal, date | None, str]]:
        """What is still to arrive, per purchase-order line (by its line id): the lines of issued orders (not drafts,
        closed or cancelled ones) with less received than ordered, as (item, receiving location: the line's, else the
        order's; quantity ordered − received; expected date; order number)."""
        with self.lock:
            return {
                line.line_item_id: (
                    line.item_id,
                    line.location_id or order.location_id,
                    line.quantity - line.received,
                    order.expected,
                    order.number,
                )
                for order in self.purchase_orders.values()
                if order.order_status == "open"
                for line in order.lines
                if line.quantity > line.received
            }

    def item_skus(self) -> dict[str, str]:
        """What each item's SKU is in Zoho ("" when none was entered)."""
        with self.lock:
            return {item.item_id: item.sku for item in self.items.values()}
