"""The data behind the Odoo simulation, built the way Odoo builds it: every quant is the result of done move lines.

Odoo keeps stock in ``stock.quant`` (one per product, location and lot) and changes it only by validating moves:
each done ``stock.move.line`` takes its quantity (in the product's unit, ``quantity_product_uom``) off the source
location's quant and adds it to the destination's, at *every* kind of location — so suppliers, customers and the
inventory-loss location hold quants too (negative at a supplier, positive at a customer), which is why Odoo's own
stock report filters on internal locations. A quant left at zero with nothing reserved is unlinked by the quant
clean-up (``_unlink_zero_quants``), and a product without lot tracking may go negative when more is delivered than
was recorded.

What is messy here, on purpose, as in real databases: several lots of one product at one place; products without an
internal reference (``default_code`` is ``false``, Odoo's empty value for every field type); consumables that are
not stocked (``is_storable`` false: no quants, but done moves) and services; a kit-like ``combo`` product; move lines
in dozens (``quantity`` 2, ``quantity_product_uom`` 24); a negative quant; view, supplier, customer, inventory and
transit locations. With ``messy=True`` also what a sync must set aside and say why: an archived product that still
has stock and history (Odoo's searches leave archived records out unless asked), and an archived shelf that was
emptied but appears in old moves.

Dates are written as Odoo writes them: UTC, ``%Y-%m-%d %H:%M:%S``, no zone. ``truth_*`` compute what Atlas must hold
from this state alone.

**What is on its way** (``purchase`` and ``purchase_stock``; ``stock.move``): confirming a purchase order creates one
receipt move per line, from the vendor's location to the receiving location (``_prepare_stock_move_vals``: ``date``
and ``date_deadline`` the line's expected arrival, ``origin`` the order's name), reserved at once (``assigned``:
nothing is reserved at a vendor, so ``quantity`` equals the demand). The move's ``product_uom_qty`` is in its own unit
(the product's, unless the database propagates the purchase unit, ``stock.propagate_uom``) and ``product_qty`` in the
product's. Validating a receipt marks the move ``done`` with what arrived; the rest is split into a new move, kept in
a backorder or cancelled ("no backorder"), while the order line keeps ``qty_received`` below ``product_qty`` either
way. A transfer between warehouses is a done move into the transit location and a move from transit to the
receiving location (``assigned`` once shipped, ``waiting`` before). Drafts, drop-ships, returns to the vendor and
requests for quotation are there too, as Odoo has them. A vendor's new date moves the line's ``date_planned`` and,
on Odoo 17 and 18, the open moves' ``date_deadline`` only (``_update_move_date_deadline``); from Odoo 19 on the
receipt's ``date`` follows the expected arrival and its ``date_deadline`` the promised date
(``_update_move_dates``). ``on_its_way`` is the simulation's own account of what is still to arrive, kept by the
operations themselves (never read back from ``stock.move``).
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

ODOO_DATETIME = "%Y-%m-%d %H:%M:%S"

# Locations: (id, name, parent id, usage). Ids 8-10 are kept from the first version of this simulation.
VIEW_WH, STOCK, SHELF_1, SHELF_2 = 7, 8, 9, 10
SUPPLIERS, CUSTOMERS, INVENTORY_LOSS, TRANSIT, PRODUCTION = 4, 5, 14, 15, 16
VIEW_DC, DC_STOCK, DC_BULK, DC_COLD, OLD_SHELF = 20, 21, 22, 23, 24
LOCATIONS: list[tuple[int, str, int | None, str]] = [
    (1, "Physical Locations", None, "view"),
    (2, "Partners", None, "view"),
    (3, "Virtual Locations", None, "view"),
    (SUPPLIERS, "Vendors", 2, "supplier"),
    (CUSTOMERS, "Customers", 2, "customer"),
    (VIEW_WH, "WH", 1, "view"),
    (STOCK, "Stock", VIEW_WH, "internal"),
    (SHELF_1, "Shelf 1", STOCK, "internal"),
    (SHELF_2, "Shelf 2", STOCK, "internal"),
    (INVENTORY_LOSS, "Inventory adjustment", 3, "inventory"),
    (TRANSIT, "Inter-warehouse transit", 1, "transit"),
    (PRODUCTION, "Production", 3, "production"),
    (VIEW_DC, "DC", 1, "view"),
    (DC_STOCK, "Stock", VIEW_DC, "internal"),
    (DC_BULK, "Bulk", DC_STOCK, "internal"),
    (DC_COLD, "Cold room", DC_STOCK, "internal"),
    (OLD_SHELF, "Old shelf", STOCK, "internal"),  # archived when messy, after it was emptied
]
INTERNAL = (STOCK, SHELF_1, SHELF_2, DC_STOCK, DC_BULK, DC_COLD)
CATEGORIES = [(1, "All", None), (2, "Saleable", 1), (3, "Office", 2), (4, "Furniture", 2), (5, "Consumables", 1)]
UOMS = [(1, "Units"), (12, "Dozens"), (3, "kg")]
WORDS = ["Cable", "Desk lamp", "Office chair", "Drawer unit", "Monitor", "USB-C hub", "Whiteboard", "Pens", "Stapler",
         "Binder", "Shelf", "Bracket", "Router", "Keyboard", "Mouse", "Headset", "Tape", "Paper"]  # fmt: skip


def odoo_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(ODOO_DATETIME)


@dataclass
class Landmarks:
    """Records the tests look at by name (ids in the simulation's own state)."""

    no_code_products: list[int] = field(default_factory=list)
    consumables: list[int] = field(default_factory=list)
    services: list[int] = field(default_factory=list)
    archived_with_stock: int | None = None
    archived_location: int | None = None
    dozen_moves: list[int] = field(default_factory=list)
    negative_quant: int | None = None
    depleted_lots: list[int] = field(default_factory=list)
    # what is on its way (stock.move ids unless said otherwise)
    dozen_receipt: int | None = None  # a receipt in dozens (the purchase unit propagated to the move)
    manual_receipt: int | None = None  # a receipt typed in by hand: no purchase order, no deadline
    consumable_receipt: int | None = None  # a receipt of a consumable whose stock is not tracked
    in_transit: list[int] = field(default_factory=list)  # shipped from one warehouse, not yet received at the other
    not_on_order: list[int] = field(default_factory=list)  # a draft, a transfer not yet shipped, a drop-ship, a return
    rfq: int | None = None  # a request for quotation (purchase.order id): no moves
    short_closed_line: int | None = None  # a purchase.order.line received in part with no backorder


@dataclass
class OnItsWay:
    """One move's worth of stock still to arrive, as the simulation knows it: in the product's unit, at the receiving
    location, expected on ``expected`` (Odoo's UTC text), under the order's (or the transfer's) name."""

    product: int
    location: int
    quantity: float
    expected: str
    reference: str
    kind: str  # "purchase" or "transfer"


class OdooData:
    """Odoo's tables as lists of dicts (many2one fields hold the related id, empty fields ``False``)."""

    def __init__(self, *, messy: bool = True, seed: int = 19, now: datetime | None = None, version: int = 19) -> None:
        self.messy = messy
        self.now = (now or datetime.now(UTC)).replace(microsecond=0)
        self.random = random.Random(seed)
        self.models: dict[str, list[dict[str, Any]]] = {
            name: []
            for name in (
                "product.product",
                "product.category",
                "uom.uom",
                "stock.location",
                "stock.lot",
                "stock.quant",
                "stock.move.line",
                "stock.move",
                "purchase.order",
                "purchase.order.line",
            )
        }
        self.version = version
        self.landmarks = Landmarks()
        self.on_its_way: dict[int, OnItsWay] = {}  # stock.move id -> what is still to arrive by it
        self._sequences: dict[str, int] = {}
        self._pickings: dict[str, int] = defaultdict(int)
        self._populate()
        self._populate_purchases(random.Random(seed * 31 + 7))

    # --- ids and lookups ------------------------------------------------------------------------------------------
    def next_id(self, model: str) -> int:
        """Odoo's ids come from a sequence: an id of an unlinked record is never given again."""
        self._sequences[model] = max(self._sequences.get(model, 0), *(r["id"] for r in self.models[model]), 0) + 1
        return self._sequences[model]

    def record(self, model: str, record_id: int) -> dict[str, Any]:
        for row in self.models[model]:
            if row["id"] == record_id:
                return row
        raise KeyError((model, record_id))

    def location(self, location_id: int) -> dict[str, Any]:
        return self.record("stock.location", location_id)

    def product(self, product_id: int) -> dict[str, Any]:
        return self.record("product.product", product_id)

    # --- building ---------------------------------------------------------------------------------------------------
    def _populate(self) -> None:
        created = odoo_time(self.now - timedelta(days=400))
        for ident, name, parent in CATEGORIES:
            path = name if parent is None else f"{self.record('product.category', parent)['complete_name']} / {name}"
            self.models["product.category"].append({"id": ident, "name": name, "complete_name": path})
        for ident, name in UOMS:
            self.models["uom.uom"].append({"id": ident, "name": name})
        for ident, name, parent, usage in LOCATIONS:
            complete = name if parent is None else f"{self.location(parent)['complete_name']}/{name}"
            if usage in ("supplier", "customer") or parent is None:
                complete = name if parent is None else f"Partners/{name}"
            self.models["stock.location"].append(
                {
                    "id": ident,
                    "name": name,
                    "complete_name": complete,
                    "usage": usage,
                    "location_id": parent or False,
                    "barcode": f"WH-{ident:03d}" if ident in (SHELF_1, SHELF_2) else False,
                    "active": True,
                    "write_date": created,
                }
            )
        rng = self.random
        for number in range(1, 49):
            word = WORDS[(number - 1) % len(WORDS)]
            coded = number % 7 != 3
            self._add_product(
                f"{word} {number}",
                code=f"FURN-{number:04d}" if coded else False,
                category=3 if number % 2 else 4,
                cost=round(2.5 + number * 1.75, 2),
                written=odoo_time(self.now - timedelta(days=200 - number)),
            )
            if not coded:
                self.landmarks.no_code_products.append(number)
        for name in ("Packing tape", "Printer paper", "Coffee capsules"):  # goods not stocked
            self.landmarks.consumables.append(
                self._add_product(name, code=False, category=5, cost=1.0, storable=False, written=created)
            )
        for name in ("Installation service", "Extended warranty"):
            self.landmarks.services.append(
                self._add_product(
                    name, code=False, category=2, cost=0.0, storable=False, kind="service", written=created
                )
            )
        self._add_product("Desk set (combo)", code="COMBO-1", category=2, cost=0.0, storable=False, kind="combo",
                          written=created)  # fmt: skip
        storable = [p["id"] for p in self.models["product.product"] if p["is_storable"]]
        # History over the last 120 days, oldest first: counts, receipts, transfers, deliveries.
        start = self.now - timedelta(days=120)
        for index, product in enumerate(storable):
            places = [INTERNAL[(index + k) % len(INTERNAL)] for k in range(1 + index % 3)]
            for place in places:
                for _ in range(1 + (index + place) % 3):
                    quantity = float(rng.randint(5, 60))
                    when = start + timedelta(days=rng.randint(0, 10), minutes=rng.randint(0, 600))
                    self.move(
                        product, INVENTORY_LOSS, place, quantity, when, lot=self._lot(product), ref="Quantity Updated"
                    )
        for day in range(12, 110, 3):
            product = rng.choice(storable)
            when = start + timedelta(days=day, minutes=rng.randint(0, 900))
            dozens = day % 27 == 0
            line = self.move(product, SUPPLIERS, STOCK, 2.0 if dozens else float(rng.randint(10, 40)), when,
                             lot=self._lot(product), ref=f"WH/IN/{day:05d}", uom=12 if dozens else 1)  # fmt: skip
            if dozens:
                self.landmarks.dozen_moves.append(line)
        for day in range(15, 118, 2):
            when = start + timedelta(days=day, minutes=rng.randint(0, 900))
            product = rng.choice(storable)
            source = rng.choice([q["location_id"] for q in self.quants_of(product)] or [STOCK])
            if day % 5 == 0:
                target = rng.choice([loc for loc in INTERNAL if loc != source])
                self.transfer(product, source, target, float(rng.randint(1, 6)), when, ref=f"WH/INT/{day:05d}")
            else:
                self.deliver(product, source, float(rng.randint(1, 8)), when, ref=f"WH/OUT/{day:05d}")
        for offset, product in enumerate(self.landmarks.consumables):  # bought and used, never stocked
            self.move(product, SUPPLIERS, STOCK, 50.0, start + timedelta(days=20 + offset), ref=f"WH/IN/C{offset}")
            self.move(product, STOCK, CUSTOMERS, 20.0, start + timedelta(days=40 + offset), ref=f"WH/OUT/C{offset}")
        # A lot-less product delivered beyond what was recorded: Odoo lets the quant go negative.
        loose = storable[-1]
        self.move(loose, SUPPLIERS, SHELF_2, 3.0, start + timedelta(days=30), ref="WH/IN/LOOSE")
        self.move(loose, SHELF_2, CUSTOMERS, 5.0, start + timedelta(days=31), ref="WH/OUT/LOOSE")
        negative = [q for q in self.quants_of(loose) if q["location_id"] == SHELF_2 and q["quantity"] < 0]
        self.landmarks.negative_quant = negative[0]["id"]
        # The old shelf: stocked, emptied, then (messy) archived; its moves stay in the history.
        old = storable[1]
        self.move(old, STOCK, OLD_SHELF, 4.0, start + timedelta(days=50), ref="WH/INT/OLD1")
        self.move(old, OLD_SHELF, STOCK, 4.0, start + timedelta(days=60), ref="WH/INT/OLD2")
        if self.messy:
            self.location(OLD_SHELF)["active"] = False
            self.landmarks.archived_location = OLD_SHELF
            archived = storable[5]
            self.product(archived)["active"] = False  # archived while it still has stock and history
            self.landmarks.archived_with_stock = archived
        # Reservations of pickings waiting to go out.
        for quant in self.models["stock.quant"]:
            internal = self.location(quant["location_id"])["usage"] == "internal"
            if internal and quant["quantity"] > 4 and quant["id"] % 4 == 0:
                quant["reserved_quantity"] = float(quant["id"] % 3 + 1)

    def _add_product(self, name: str, *, code: str | bool, category: int, cost: float, written: str,
                     storable: bool = True, kind: str = "consu") -> int:  # fmt: skip
        ident = self.next_id("product.product")
        self.models["product.product"].append(
            {
                "id": ident,
                "name": name,
                "default_code": code,
                "categ_id": category,
                "uom_id": 1,
                "standard_price": cost,
                "type": kind,
                "is_storable": storable,
                "active": True,
                "write_date": written,
            }
        )
        return ident

    def _lot(self, product: int) -> int | bool:
        if product % 4 == 0:
            return False  # not tracked by lots: one quant per place
        ident = self.next_id("stock.lot")
        self.models["stock.lot"].append({"id": ident, "name": f"LOT-{product:03d}-{ident:05d}", "product_id": product})
        return ident

    # --- operations, as validating a picking does -------------------------------------------------------------------
    def quants_of(self, product: int, location: int | None = None) -> list[dict[str, Any]]:
        return [
            q
            for q in self.models["stock.quant"]
            if q["product_id"] == product and (location is None or q["location_id"] == location)
            and self.location(q["location_id"])["usage"] == "internal"
        ]  # fmt: skip

    def _quant(self, product: int, location: int, lot: int | bool, change: float, when: datetime) -> None:
        for quant in self.models["stock.quant"]:
            if (quant["product_id"], quant["location_id"], quant["lot_id"]) == (product, location, lot):
                quant["quantity"] = round(quant["quantity"] + change, 6)
                quant["write_date"] = odoo_time(when)
                return
        self.models["stock.quant"].append(
            {
                "id": self.next_id("stock.quant"),
                "product_id": product,
                "location_id": location,
                "lot_id": lot,
                "quantity": round(change, 6),
                "reserved_quantity": 0.0,
                "in_date": odoo_time(when),
                "write_date": odoo_time(when),
            }
        )

    def move(self, product: int, source: int, target: int, quantity: float, when: datetime, *,
             lot: int | bool = False, ref: str = "", uom: int = 1) -> int:  # fmt: skip
        """Validate one move line: the quants of both locations change (not for a product that is not stocked),
        then the quant clean-up unlinks quants left at zero."""
        in_product_uom = quantity * (12 if uom == 12 else 1)
        line = self.next_id("stock.move.line")
        self.models["stock.move.line"].append(
            {
                "id": line,
                "reference": ref or f"MOVE/{line:05d}",
                "product_id": product,
                "location_id": source,
                "location_dest_id": target,
                "lot_id": lot,
                "quantity": quantity,
                "product_uom_id": uom,
                "quantity_product_uom": in_product_uom,
                "state": "done",
                "date": odoo_time(when),
                "write_date": odoo_time(when),
            }
        )
        if self.product(product)["is_storable"]:
            self._quant(product, target, lot, in_product_uom, when)  # (the destination first: see the docstring)
            self._quant(product, source, lot, -in_product_uom, when)
            self.unlink_zero_quants()
        return line

    def deliver(self, product: int, source: int, quantity: float, when: datetime, *, ref: str) -> list[int]:
        """Deliver from ``source``, oldest lot first (FIFO removal): one move line per lot taken."""
        return self._take(product, source, CUSTOMERS, quantity, when, ref)

    def transfer(
        self, product: int, source: int, target: int, quantity: float, when: datetime, *, ref: str
    ) -> list[int]:
        return self._take(product, source, target, quantity, when, ref)

    def _take(self, product: int, source: int, target: int, quantity: float, when: datetime, ref: str) -> list[int]:
        lines = []
        for quant in sorted(self.quants_of(product, source), key=lambda q: (q["in_date"], q["id"])):
            if quantity <= 0:
                break
            available = quant["quantity"] - quant["reserved_quantity"]
            if available <= 0:
                continue
            taken = min(available, quantity)
            lot = quant["lot_id"]
            emptied = taken == quant["quantity"] and lot
            lines.append(self.move(product, source, target, taken, when, lot=lot, ref=ref))
            if emptied:
                self.landmarks.depleted_lots.append(int(lot))
            quantity -= taken
        return lines

    def unlink_zero_quants(self) -> None:
        self.models["stock.quant"][:] = [
            q for q in self.models["stock.quant"] if q["quantity"] != 0 or q["reserved_quantity"] != 0
        ]

    # --- purchases, receipts and transfers in transit (what is on its way) -----------------------------------------
    def _picking(self, location: int, code: str) -> str:
        """The next transfer's name in the receiving (or sending) location's warehouse: WH/IN/00001, DC/INT/00002."""
        warehouse = "DC" if location in (DC_STOCK, DC_BULK, DC_COLD) else "WH"
        self._pickings[f"{warehouse}/{code}"] += 1
        return f"{warehouse}/{code}/{self._pickings[f'{warehouse}/{code}']:05d}"

    def _stock_move(self, product: int, source: int, target: int, quantity: float, when: datetime, *, state: str,
                    reference: str, origin: str | bool = False, deadline: datetime | None = None, uom: int = 1,
                    purchase_line: int | bool = False) -> int:  # fmt: skip
        """One stock.move: ``quantity`` in the move's unit ``uom`` (dozens count twelve in ``product_qty``)."""
        ident = self.next_id("stock.move")
        self.models["stock.move"].append(
            {
                "id": ident,
                "reference": reference,
                "origin": origin,
                "product_id": product,
                "location_id": source,
                "location_dest_id": target,
                "product_uom_qty": quantity,
                "product_uom": uom,
                "product_qty": quantity * (12 if uom == 12 else 1),
                # receipts from a vendor are reserved at once (nothing is reserved at a vendor); a draft or a move
                # waiting for another has nothing reserved
                "quantity": quantity if state in ("assigned", "done") else 0.0,
                "state": state,
                "date": odoo_time(when),
                "date_deadline": odoo_time(deadline) if deadline else False,
                "purchase_line_id": purchase_line,
                "picked": state == "done",
                "write_date": odoo_time(self.now if when > self.now else when),
            }
        )
        return ident

    def purchase_order(self, location: int, lines: list[tuple[int, float, datetime]], *, uom: int = 1,
                       propagate_uom: bool = False, confirm: bool = True) -> int:  # fmt: skip
        """A purchase order delivered to ``location``, lines of (product, quantity in the purchase unit ``uom``,
        expected arrival); confirmed, it has its receipt (one move per line). Returns the order's id."""
        order = self.next_id("purchase.order")
        name = f"P{order:05d}"
        factor = 12 if uom == 12 else 1
        self.models["purchase.order"].append(
            {
                "id": order,
                "name": name,
                "state": "purchase" if confirm else "draft",
                "date_order": odoo_time(self.now),
                "date_planned": odoo_time(min(when for _, _, when in lines)),
                "write_date": odoo_time(self.now),
            }
        )
        picking = self._picking(location, "IN") if confirm else ""
        for product, quantity, expected in lines:
            line = self.next_id("purchase.order.line")
            self.models["purchase.order.line"].append(
                {
                    "id": line,
                    "order_id": order,
                    "name": self.product(product)["name"],
                    "product_id": product,
                    "product_qty": quantity,
                    "product_uom": uom,
                    "product_uom_qty": quantity * factor,
                    "qty_received": 0.0,
                    "date_planned": odoo_time(expected),
                    "state": "purchase" if confirm else "draft",
                    "write_date": odoo_time(self.now),
                    # Odoo 19 keeps the vendor's promise apart, set to the expected arrival on confirmation
                    **({"date_promised": odoo_time(expected) if confirm else False} if self.version >= 19 else {}),
                }
            )
            if not confirm:
                continue
            # the move's unit: the product's, unless the purchase unit is propagated (_adjust_uom_quantities)
            move_qty, move_uom = (quantity, uom) if propagate_uom else (quantity * factor, 1)
            move = self._stock_move(product, SUPPLIERS, location, move_qty, expected, state="assigned",
                                    reference=picking, origin=name, deadline=expected, uom=move_uom,
                                    purchase_line=line)  # fmt: skip
            self.on_its_way[move] = OnItsWay(product, location, quantity * factor, odoo_time(expected), name,
                                             "purchase")  # fmt: skip
        return order

    def moves_of_order(self, order: int) -> list[dict[str, Any]]:
        lines = {line["id"] for line in self.models["purchase.order.line"] if line["order_id"] == order}
        return [m for m in self.models["stock.move"] if m["purchase_line_id"] in lines]

    def receive_move(self, move_id: int, quantity: float, when: datetime, *, backorder: bool = True) -> int | None:
        """Validate a receipt's move with ``quantity`` (in the product's unit) arrived: the quants grow, the move is
        done with what arrived, the rest is split into a new move, in a backorder (a new transfer name) or cancelled.
        The order line's ``qty_received`` grows in its own unit. Returns the backorder's move, if any."""
        move = self.record("stock.move", move_id)
        assert move["state"] not in ("done", "cancel", "draft")
        factor = 12 if move["product_uom"] == 12 else 1
        arrived = min(quantity, move["product_qty"])
        rest = round(move["product_qty"] - arrived, 6)
        source, target, product = move["location_id"], move["location_dest_id"], move["product_id"]
        if source == TRANSIT:
            self._from_transit(product, target, arrived, when, move["reference"])
        else:
            lot = self._lot(product) if self.product(product)["is_storable"] else False
            self.move(product, source, target, arrived / factor, when, lot=lot, ref=move["reference"],
                      uom=move["product_uom"])  # fmt: skip
        expected_at = datetime.strptime(move["date"], ODOO_DATETIME).replace(tzinfo=UTC)
        deadline = move["date_deadline"]
        move.update(state="done", product_uom_qty=arrived / factor, product_qty=arrived, quantity=arrived / factor,
                    picked=True, date=odoo_time(when), write_date=odoo_time(when))  # fmt: skip
        if move["purchase_line_id"]:
            line = self.record("purchase.order.line", move["purchase_line_id"])
            line["qty_received"] = round(line["qty_received"] + arrived / (12 if line["product_uom"] == 12 else 1), 6)
        known = self.on_its_way.pop(move_id)
        if rest <= 0:
            return None
        split = self._stock_move(product, source, target, rest / factor, expected_at,
                                 state="assigned" if backorder else "cancel",
                                 reference=self._picking(target, "IN") if backorder else move["reference"],
                                 origin=move["origin"], uom=move["product_uom"],
                                 purchase_line=move["purchase_line_id"])  # fmt: skip
        self.record("stock.move", split)["date_deadline"] = deadline
        if not backorder:
            return None
        self.on_its_way[split] = OnItsWay(product, target, rest, known.expected, known.reference, known.kind)
        return split

    def cancel_order(self, order: int) -> None:
        """Cancel a confirmed purchase order: its open moves are cancelled (button_cancel)."""
        self.record("purchase.order", order)["state"] = "cancel"
        for line in self.models["purchase.order.line"]:
            if line["order_id"] == order:
                line["state"] = "cancel"
        for move in self.moves_of_order(order):
            if move["state"] not in ("done", "cancel"):
                move["state"] = "cancel"
                self.on_its_way.pop(move["id"], None)

    def vendor_delays(self, line_id: int, new: datetime) -> None:
        """The vendor announces a new date and the buyer records it on the order line: Odoo 17–18 moves the open
        receipts' deadline; Odoo 19 their scheduled date, and the promised date their deadline."""
        line = self.record("purchase.order.line", line_id)
        line["date_planned"] = odoo_time(new)
        if self.version >= 19:
            line["date_promised"] = odoo_time(new)
        for move in self.models["stock.move"]:
            if move["purchase_line_id"] == line_id and move["state"] not in ("done", "cancel"):
                move["date_deadline"] = odoo_time(new)
                if self.version >= 19:
                    move["date"] = odoo_time(new)
                self.on_its_way[move["id"]].expected = odoo_time(new)

    def ship(self, product: int, source: int, target: int, quantity: float, when: datetime,
             expected: datetime) -> int:  # fmt: skip
        """Ship from one warehouse to another through the transit location: the delivery is done (the quants move to
        transit), the receipt at ``target`` is ready (assigned). Returns the receipt's move."""
        out = self._picking(source, "OUT")
        lines = self._take(product, source, TRANSIT, quantity, when, out)
        shipped = sum(self.record("stock.move.line", line)["quantity_product_uom"] for line in lines)
        assert shipped > 0, "nothing to ship"
        self._stock_move(product, source, TRANSIT, shipped, when, state="done", reference=out)
        reference = self._picking(target, "IN")
        move = self._stock_move(product, TRANSIT, target, shipped, expected, state="assigned", reference=reference)
        self.on_its_way[move] = OnItsWay(product, target, shipped, odoo_time(expected), reference, "transfer")
        return move

    def _from_transit(self, product: int, target: int, quantity: float, when: datetime, ref: str) -> None:
        at_transit = [q for q in self.models["stock.quant"] if q["product_id"] == product
                      and q["location_id"] == TRANSIT and q["quantity"] > 0]  # fmt: skip
        for quant in sorted(at_transit, key=lambda q: (q["in_date"], q["id"])):
            if quantity <= 0:
                break
            taken = min(quant["quantity"], quantity)
            self.move(product, TRANSIT, target, taken, when, lot=quant["lot_id"], ref=ref)
            quantity -= taken
        assert quantity <= 1e-9, "less in transit than the receipt says"

    def _populate_purchases(self, rng: random.Random) -> None:
        """Purchase orders of the last weeks and the coming ones, receipts in every state, transfers in transit
        and what is not on order though it looks alike. A random stream of its own: the stock history is as before."""
        storable = [p["id"] for p in self.live_products(storable_only=True)]
        now = self.now

        def day(offset: float) -> datetime:
            return (now + timedelta(days=offset)).replace(minute=0, second=0) + timedelta(hours=rng.randint(0, 9))

        picks = rng.sample(storable, 16)
        orders = []
        for number, location in enumerate((STOCK, DC_STOCK, STOCK, DC_BULK, SHELF_1, STOCK)):
            lines = [(picks[(number * 2 + k) % len(picks)], float(rng.randint(5, 60)), day(rng.randint(2, 40)))
                     for k in range(1 + number % 3)]  # fmt: skip
            orders.append(self.purchase_order(location, lines))
        # received in part (a backorder keeps the rest), in full, and in part with no backorder
        first = self.moves_of_order(orders[0])[0]
        self.receive_move(first["id"], first["product_qty"] / 2, now - timedelta(days=1))
        full = self.moves_of_order(orders[1])[0]
        self.receive_move(full["id"], full["product_qty"], now - timedelta(days=2))
        short = self.moves_of_order(orders[2])[0]
        self.landmarks.short_closed_line = short["purchase_line_id"]
        self.receive_move(short["id"], short["product_qty"] - 3, now - timedelta(days=1), backorder=False)
        self.cancel_order(self.purchase_order(STOCK, [(picks[12], 30.0, day(9))]))
        # two dozen bought in dozens, the purchase unit propagated to the receipt: 24 units on their way
        dozens = self.purchase_order(DC_COLD, [(picks[13], 2.0, day(12))], uom=12, propagate_uom=True)
        self.landmarks.dozen_receipt = self.moves_of_order(dozens)[0]["id"]
        self.landmarks.rfq = self.purchase_order(STOCK, [(picks[14], 12.0, day(20))], confirm=False)
        consumable = self.landmarks.consumables[0]
        self.landmarks.consumable_receipt = self.moves_of_order(
            self.purchase_order(STOCK, [(consumable, 100.0, day(6))])
        )[0]["id"]
        if self.landmarks.archived_with_stock is not None:  # archived while an order for it is open (Odoo allows it)
            self.purchase_order(STOCK, [(self.landmarks.archived_with_stock, 15.0, day(10))])
        # a receipt typed in by hand: no order, no deadline; its name is all there is to call it by
        reference, when = self._picking(SHELF_2, "IN"), day(3)
        manual = self._stock_move(picks[15], SUPPLIERS, SHELF_2, 9.0, when, state="assigned", reference=reference)
        self.on_its_way[manual] = OnItsWay(picks[15], SHELF_2, 9.0, odoo_time(when), reference, "purchase")
        self.landmarks.manual_receipt = manual
        # shipped from WH to DC, still on the road (from the last products: the first quants stay as they were)
        for product in reversed(storable):
            held = sum(q["quantity"] - q["reserved_quantity"] for q in self.quants_of(product, STOCK))
            if held >= 4 and len(self.landmarks.in_transit) < 2:
                self.landmarks.in_transit.append(
                    self.ship(product, STOCK, DC_STOCK, float(int(held // 2)), now - timedelta(days=1), day(2))
                )
        # alike but not on order: a draft receipt, a resupply not yet shipped (waiting for its delivery), a
        # drop-ship straight to a customer, a return to the vendor waiting to leave
        marks = self.landmarks.not_on_order
        marks.append(self._stock_move(picks[0], SUPPLIERS, STOCK, 7.0, day(4), state="draft",
                                      reference=self._picking(STOCK, "IN")))  # fmt: skip
        self._stock_move(
            picks[1], STOCK, TRANSIT, 5.0, day(1), state="confirmed", reference=self._picking(STOCK, "OUT")
        )
        marks.append(self._stock_move(picks[1], TRANSIT, DC_STOCK, 5.0, day(3), state="waiting",
                                      reference=self._picking(DC_STOCK, "IN")))  # fmt: skip
        marks.append(self._stock_move(picks[2], SUPPLIERS, CUSTOMERS, 4.0, day(5), state="assigned",
                                      reference="WH/DS/00001", origin="S00042"))  # fmt: skip
        returned = self._stock_move(picks[3], STOCK, SUPPLIERS, 2.0, day(1), state="assigned",
                                    reference=self._picking(STOCK, "OUT"), origin="Return of WH/IN/00001")  # fmt: skip
        marks.append(returned)

    def truth_on_order(self, *, storable_only: bool) -> dict[int, tuple[int, int, float, str, str, str]]:
        """Move id -> (product, receiving location, still to arrive in the product's unit, expected (UTC text),
        order or transfer name, kind), from the simulation's own account; only what Atlas can place (a product it
        lists, an active internal location)."""
        products = {p["id"] for p in self.live_products(storable_only=storable_only)}
        places = {loc["id"] for loc in self.internal_locations()}
        return {
            move: (way.product, way.location, way.quantity, way.expected, way.reference, way.kind)
            for move, way in self.on_its_way.items()
            if way.product in products and way.location in places and way.quantity > 0
        }

    # --- the truth ---------------------------------------------------------------------------------------------------
    def live_products(self, *, storable_only: bool) -> list[dict[str, Any]]:
        """What Odoo's product list shows: active products; goods only (no services or combos); with
        ``storable_only`` the ones whose inventory is tracked (Odoo 18+: ``is_storable``)."""
        return [
            p
            for p in self.models["product.product"]
            if p["active"] and p["type"] == "consu" and (p["is_storable"] or not storable_only)
        ]

    def internal_locations(self) -> list[dict[str, Any]]:
        return [loc for loc in self.models["stock.location"] if loc["usage"] == "internal" and loc["active"]]

    def truth_balances(self) -> dict[tuple[int, int], tuple[float, float]]:
        """(product, location) -> (quantity, reserved): every quant at an active internal location of an active
        product, summed over lots."""
        live = {p["id"] for p in self.models["product.product"] if p["active"]}
        places = {loc["id"] for loc in self.internal_locations()}
        sums: dict[tuple[int, int], list[float]] = defaultdict(lambda: [0.0, 0.0])
        for quant in self.models["stock.quant"]:
            if quant["product_id"] in live and quant["location_id"] in places:
                pair = sums[(quant["product_id"], quant["location_id"])]
                pair[0] += quant["quantity"]
                pair[1] += quant["reserved_quantity"]
        return {key: (round(q, 6), round(r, 6)) for key, (q, r) in sums.items()}

    def internal_quants(self) -> list[dict[str, Any]]:
        return [q for q in self.models["stock.quant"] if self.location(q["location_id"])["usage"] == "internal"]

    def truth_movements(self, *, storable_only: bool) -> dict[str, tuple[int, int, float]]:
        """The movements Atlas must hold, keyed as the presets key them: ``in:<line>`` for stock arriving at an
        internal location, ``out:<line>`` for stock leaving one (a transfer between two internal locations is both):
        (product, location, signed quantity in the product's unit). Only lines Atlas can place: an active product it
        lists and an active location."""
        products = {p["id"] for p in self.live_products(storable_only=storable_only)}
        places = {loc["id"] for loc in self.internal_locations()}
        result: dict[str, tuple[int, int, float]] = {}
        for line in self.models["stock.move.line"]:
            if line["state"] != "done" or line["product_id"] not in products:
                continue
            amount = line["quantity_product_uom"]
            if line["location_dest_id"] in places:
                result[f"in:{line['id']}"] = (line["product_id"], line["location_dest_id"], amount)
            if line["location_id"] in places:
                result[f"out:{line['id']}"] = (line["product_id"], line["location_id"], -amount)
        return result

    def expected_set_aside(self, *, storable_only: bool) -> dict[str, int]:
        """What each endpoint must set aside, and why, from this state: the quants, move lines and open receipts of the
        archived product (an unknown item) and the move lines touching the archived shelf (an unknown location)."""
        archived = self.landmarks.archived_with_stock
        shelf = self.landmarks.archived_location
        quants = sum(
            1
            for q in self.internal_quants()
            if q["product_id"] == archived and self.location(q["location_id"])["active"]
        )
        moves_in = moves_out = 0
        for line in self.models["stock.move.line"]:
            product = self.product(line["product_id"])
            if line["state"] != "done" or product["type"] != "consu" or (storable_only and not product["is_storable"]):
                continue
            source, target = self.location(line["location_id"]), self.location(line["location_dest_id"])
            unknown = line["product_id"] == archived
            moves_in += target["usage"] == "internal" and (unknown or target["id"] == shelf)
            moves_out += source["usage"] == "internal" and (unknown or source["id"] == shelf)
        # open receipts of the archived product: Odoo's move search does not apply the product's active test
        incoming = sum(1 for way in self.on_its_way.values() if way.product == archived)
        return {"quants": quants, "moves_in": moves_in, "moves_out": moves_out, "incoming": incoming}
