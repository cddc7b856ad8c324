"""A deterministic InvenTree inventory, grown from a seed through the model's own operations.

Nothing is written directly: parts and locations are created, then stock arrives, is serialised, sold, counted,
moved, split, reserved, consumed by builds and used up, each through ``InvenTreeData``'s mirror of InvenTree's
model methods, in time order over the 120 days before ``as_of``. The stock rows, their ``updated`` times and the
tracking history are therefore consistent by construction, with the mess real data has: several rows per (part,
location) from lots and splits, serial numbers (one part with 166 of them in one location), rows without a
location (unassigned, consumed by a build), reservations, deleted stock whose history went with it, empty IPNs,
duplicate IPNs and names, parts without a category.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from tests.sims.inventree_model import (
    PO_CANCELLED,
    PO_COMPLETE,
    PO_ON_HOLD,
    PO_PENDING,
    PO_PLACED,
    InvenTreeData,
    OperationRefused,
    StockItem,
)

HISTORY_DAYS = 120
SERIALS_IN_ONE_PLACE = 166


@dataclass(frozen=True)
class Landmarks:
    """Named things in the generated data that tests refer to."""

    as_of: datetime
    serial_part: int  # the part with SERIALS_IN_ONE_PLACE serialised items in one location
    serial_location: int
    home: dict[int, int]  # part -> the location most of its stock is in
    stocked_locations: list[int]


CATEGORY_TREE: dict[str, list[str]] = {
    "Electronics": ["Resistors", "Capacitors", "ICs", "Connectors"],
    "Mechanical": ["Fasteners", "Bearings", "Enclosures"],
    "Consumables": ["Paint", "Adhesives", "Cleaning"],
    "Packaging": ["Boxes", "Labels"],
    "Cables": [],
    "Tools": [],
}
UNITS = {"Paint": "L", "Adhesives": "ml", "Cables": "m", "Cleaning": "L", "Labels": ""}
NOUNS = {
    "Resistors": ["Resistor", "Thin film resistor", "Power resistor"],
    "Capacitors": ["Ceramic capacitor", "Electrolytic capacitor", "Tantalum capacitor"],
    "ICs": ["Microcontroller", "Op amp", "Voltage regulator", "Controller board"],
    "Connectors": ["Header", "Terminal block", "USB connector"],
    "Fasteners": ["Hex bolt", "Machine screw", "Washer", "Nylon nut"],
    "Bearings": ["Ball bearing", "Bushing"],
    "Enclosures": ["Enclosure", "Front panel"],
    "Paint": ["Primer", "Enamel paint", "Clear coat"],
    "Adhesives": ["Epoxy", "Threadlocker"],
    "Cleaning": ["Isopropyl alcohol", "Flux remover"],
    "Boxes": ["Carton", "Mailer box"],
    "Labels": ["Label roll", "Barcode label"],
    "Cables": ["Hookup wire", "Ribbon cable", "Power cable"],
    "Tools": ["Torque driver", "Crimp tool", "Multimeter"],
}
SIZES = ["M3", "M4", "M5", "10k", "4.7k", "100nF", "10uF", "12V", "24V", "Small", "Large", "Red", "Blue", "2m"]


def populate(data: InvenTreeData, *, seed: int = 14, parts: int = 500, as_of: datetime) -> Landmarks:
    """Grow the inventory into ``data`` (which should be empty). Same seed, same data (times relative to
    ``as_of``); every operation happens before ``as_of`` minus 90 minutes."""
    rng = random.Random(seed)
    start = as_of - timedelta(days=HISTORY_DAYS)
    categories = _categories(data)
    stocked = _locations(data)
    part_pks = _parts(data, rng, parts, categories, start)
    serial_part = _serial_showcase(data, part_pks)

    home = {pk: rng.choice(stocked) for pk in part_pks}
    # Stock arrives over the first 40 days, each part mostly at its home location (lots and batches pile up there).
    arrivals: list[tuple[datetime, int, int | None]] = []
    for pk in part_pks:
        if data.parts[pk].trackable:
            continue
        rows = rng.choices([0, 1, 2, 3, 4, 6, 8], weights=[8, 33, 25, 15, 9, 6, 4])[0]
        for _ in range(rows):
            roll = rng.random()
            location = None if roll < 0.03 else (home[pk] if roll < 0.65 else rng.choice(stocked))
            arrivals.append((start + timedelta(minutes=rng.randint(0, 40 * 24 * 60)), pk, location))
    arrivals.sort(key=lambda a: (a[0], a[1], a[2] or 0))
    for moment, pk, location in arrivals:
        data.create_stock(pk, _quantity(rng, data.parts[pk].units), location, batch=_batch(rng, moment), at=moment)

    serial_location = _serialise(data, rng, part_pks, serial_part, stocked, start, home)
    _life(data, rng, stocked, start + timedelta(days=40), as_of - timedelta(minutes=90), keep=serial_part)
    # Purchasing from a random stream of its own: the stock history above stays what it was.
    _purchasing(data, random.Random(seed * 1000 + 17), part_pks, stocked, as_of.date())
    return Landmarks(as_of, serial_part, serial_location, home, stocked)


def _purchasing(data: InvenTreeData, rng: random.Random, part_pks: list[int], stocked: list[int], today: date) -> None:
    """Purchase orders in every state: placed, pending and on hold (open), complete and cancelled (not); lines
    partly and fully received; lines with a destination of their own, and lines that go where their order goes
    (an order with no destination, whose lines say nothing either: stock that would arrive with no location)."""
    buyable = [pk for pk in part_pks if not data.parts[pk].trackable]
    supplier_parts = {
        pk: data.add_supplier_part(pk, f"SUP-{pk:05d}").pk for pk in rng.sample(buyable, min(60, len(buyable)))
    }
    if not supplier_parts:
        return
    statuses = [PO_PLACED] * 14 + [PO_PENDING] * 4 + [PO_ON_HOLD] * 2 + [PO_COMPLETE] * 5 + [PO_CANCELLED] * 3
    for status in statuses:
        destination = None if rng.random() < 0.1 else rng.choice(stocked)
        target = today + timedelta(days=rng.randint(-5, 30)) if rng.random() < 0.8 else None
        order = data.add_purchase_order(status=status, destination=destination, target_date=target)
        for part in rng.sample(list(supplier_parts), min(rng.randint(1, 4), len(supplier_parts))):
            quantity = Decimal(rng.choice([5, 10, 12, 24, 50, 100])) + (Decimal("0.5") if rng.random() < 0.1 else 0)
            roll = rng.random()
            received = (
                quantity if status == PO_COMPLETE or roll < 0.15 else (quantity / 2 if roll < 0.35 else Decimal(0))
            )
            line_destination = rng.choice(stocked) if rng.random() < 0.3 else None
            line_target = today + timedelta(days=rng.randint(1, 20)) if rng.random() < 0.3 else None
            data.add_po_line(
                order.pk,
                supplier_parts[part],
                quantity,
                received=received,
                destination=line_destination,
                target_date=line_target,
            )


def _categories(data: InvenTreeData) -> dict[str, int]:
    found: dict[str, int] = {}
    for root, children in CATEGORY_TREE.items():
        parent = data.add_category(root, description=f"{root} parts")
        found[root] = parent.pk
        for child in children:
            found[child] = data.add_category(child, parent.pk, description=f"{child}").pk
    return found


def _locations(data: InvenTreeData) -> list[int]:
    """A tree with types on some nodes, structural containers, duplicate names in different places; returns the
    locations stock may be placed in (not structural)."""
    kinds = {
        name: data.add_location_type(name, f"{name} location", icon).pk
        for name, icon in [
            ("Warehouse", "ti:building-warehouse:outline"),
            ("Room", "ti:door:outline"),
            ("Shelf", "ti:layout-rows:outline"),
            ("Bin", "ti:box:outline"),
            ("Vehicle", "ti:truck:outline"),
        ]
    }
    stocked: list[int] = []

    def add(name: str, parent: int | None, kind: str | None = None, *, structural: bool = False) -> int:
        location = data.add_location(
            name, parent, description=f"{name}", location_type=kinds[kind] if kind else None, structural=structural
        )
        if not structural:
            stocked.append(location.pk)
        return location.pk

    riyadh = add("Riyadh DC", None, "Warehouse")
    add("Receiving", riyadh, "Room")
    aisle_a = add("Aisle A", riyadh, structural=True)
    for n in range(1, 5):
        add(f"Shelf A{n}", aisle_a, "Shelf")
    aisle_b = add("Aisle B", riyadh, structural=True)
    for n in range(1, 3):
        add(f"Shelf B{n}", aisle_b, "Shelf")
    add("Returns", riyadh)
    jeddah = add("Jeddah Store", None, "Warehouse")
    back = add("Back Room", jeddah, "Room")
    for n in range(1, 4):
        add(f"Bin {n}", back, "Bin")
    add("Front Shelf", jeddah, "Shelf")
    factory = add("Factory", None, structural=True)
    add("Production Line", factory)
    storage = add("Storage Room A", factory, "Room")
    for n in range(1, 3):
        add(f"Shelf {n}", storage, "Shelf")
    storage_b = add("Storage Room B", factory, "Room")
    add("Shelf 1", storage_b, "Shelf")  # the same name as under Storage Room A
    add("Van 1", None, "Vehicle")
    add("Van 2", None, "Vehicle")
    return stocked


def _parts(
    data: InvenTreeData, rng: random.Random, count: int, categories: dict[str, int], start: datetime
) -> list[int]:
    leaves = [name for name, children in CATEGORY_TREE.items() if not children] + [
        child for children in CATEGORY_TREE.values() for child in children
    ]
    pks: list[int] = []
    used_ipns: list[str] = []
    for n in range(count):
        leaf = rng.choice(leaves)
        name = f"{rng.choice(NOUNS[leaf])} {rng.choice(SIZES)}"
        roll = rng.random()
        if roll < 0.45:
            ipn: str | None = ""
        elif roll < 0.50:
            ipn = None
        elif roll < 0.51 and used_ipns:
            ipn = rng.choice(used_ipns)  # PART_ALLOW_DUPLICATE_IPN is on by default
        else:
            ipn = f"{leaf[:3].upper()}-{10000 + n:05d}"
            used_ipns.append(ipn)
        price = Decimal(rng.randint(5, 250_000)) / 100
        part = data.add_part(
            name,
            IPN=ipn,
            description=f"{name} ({leaf.lower()})",
            category=None if rng.random() < 0.05 else categories[leaf],
            units=UNITS.get(leaf, ""),
            trackable=leaf in ("ICs", "Tools") and rng.random() < 0.25,
            revision=rng.choice(["", "", "", "A", "B"]),
            salable=rng.random() < 0.6,
            assembly=leaf in ("Enclosures", "ICs") and rng.random() < 0.3,
            minimum_stock=Decimal(rng.choice([0, 0, 5, 10, 50])),
            pricing_min=price if rng.random() < 0.7 else None,
            pricing_max=price * 2 if rng.random() < 0.7 else None,
            creation_date=(start - timedelta(days=rng.randint(1, 900))).date(),
        )
        pks.append(part.pk)
    return pks


def _serial_showcase(data: InvenTreeData, part_pks: list[int]) -> int:
    """The first trackable part becomes the one with 166 serial numbers in one place (a controller board)."""
    trackable = [pk for pk in part_pks if data.parts[pk].trackable]
    if not trackable:
        raise RuntimeError("the seed made no trackable part")
    part = data.parts[trackable[0]]
    part.name, part.IPN, part.units = "Controller board CB-100", "", ""
    return part.pk


def _serialise(
    data: InvenTreeData,
    rng: random.Random,
    part_pks: list[int],
    showcase: int,
    stocked: list[int],
    start: datetime,
    home: dict[int, int],
) -> int:
    """Trackable parts arrive as one stock item and are serialised (a CREATED row, then one row of quantity 1 per
    serial, each carrying a copy of the original's history); the original is used up and deleted. Some serial
    items then move one by one. Returns the location of the 166 serials."""
    serial_location = home[showcase]
    for pk in (p for p in part_pks if data.parts[p].trackable):
        count = SERIALS_IN_ONE_PLACE if pk == showcase else rng.randint(3, 25)
        moment = start + timedelta(days=rng.randint(5, 35), minutes=rng.randint(0, 600))
        location = serial_location if pk == showcase else home[pk]
        bulk = data.create_stock(pk, count + rng.choice([0, 0, 2]), location, batch=_batch(rng, moment), at=moment)
        later = moment + timedelta(hours=rng.randint(1, 48))
        created = data.serialize_stock(bulk.pk, [str(n) for n in range(1, count + 1)], location, at=later)
        if pk != showcase:
            for item in rng.sample(created, k=min(len(created), rng.randint(0, 3))):
                data.move_stock(item, rng.choice(stocked), at=later + timedelta(days=rng.randint(1, 20)))
    return serial_location


def _life(
    data: InvenTreeData, rng: random.Random, stocked: list[int], begin: datetime, end: datetime, *, keep: int
) -> None:
    """Sales, receipts, counts, moves, splits, reservations, builds and depletion, in time order. The serial
    items of part ``keep`` stay where they are (reservations aside)."""
    span = int((end - begin).total_seconds() // 60)
    moments = sorted(begin + timedelta(minutes=rng.randint(0, span)) for _ in range(1800))
    kinds = ["remove", "add", "count", "move", "split", "allocate", "deallocate", "use_up", "build"]
    weights = [34, 20, 12, 8, 8, 9, 3, 3, 3]
    for moment in moments:
        kind = rng.choices(kinds, weights=weights)[0]
        candidates = [i for i in data.items.values() if _eligible(i, kind) and (kind != "move" or i.part != keep)]
        if not candidates:
            continue
        item = rng.choice(sorted(candidates, key=lambda i: i.pk))
        try:
            _apply(data, rng, kind, item, stocked, moment)
        except OperationRefused:
            continue


def _eligible(item: StockItem, kind: str) -> bool:
    if kind in ("move", "allocate"):
        return item.in_stock and item.location is not None
    if kind == "deallocate":
        return item.allocated > 0
    return item.in_stock and not item.serialized


def _apply(
    data: InvenTreeData, rng: random.Random, kind: str, item: StockItem, stocked: list[int], moment: datetime
) -> None:
    whole = item.quantity
    if kind == "remove":
        data.remove_stock(item.pk, _part_of(rng, whole, 0.3), at=moment)
    elif kind == "add":
        data.add_stock(item.pk, _quantity(rng, data.parts[item.part].units, small=True), at=moment)
    elif kind == "count":
        delta = _part_of(rng, whole, 0.1) * rng.choice([-1, 1, 1])
        data.count_stock(item.pk, max(Decimal(0), whole + delta) if rng.random() < 0.97 else 0, at=moment)
    elif kind == "move":
        partial = None if rng.random() < 0.6 or item.serialized else _part_of(rng, whole, 0.5)
        data.move_stock(item.pk, rng.choice(stocked), quantity=partial, at=moment)
    elif kind == "split":
        data.split_stock(item.pk, _part_of(rng, whole, 0.5), at=moment)
    elif kind == "allocate":
        data.allocate(item.pk, _part_of(rng, whole, 0.5), to=rng.choice(["sales_order", "sales_order", "build"]))
    elif kind == "deallocate":
        data.deallocate(item.pk, None if rng.random() < 0.5 else _part_of(rng, item.allocated, 0.5))
    elif kind == "use_up":
        data.use_up(item.pk, at=moment)
    else:
        build = data.add_build(rng.choice(sorted(data.parts)), title="Assembly run")
        data.allocate(item.pk, _part_of(rng, whole, 0.4), to="build")
        data.consume_for_build(item.pk, item.build_allocated, build.pk, at=moment)


def _quantity(rng: random.Random, units: str, *, small: bool = False) -> Decimal:
    """Pieces are whole numbers; lengths, volumes and weights have up to three decimals (InvenTree keeps five;
    Atlas stores four: see the module docstring of tests/sims/inventree.py)."""
    top = 60 if small else 600
    if units:
        return Decimal(rng.randint(1, top * 8)) / 8
    return Decimal(max(1, int(rng.paretovariate(1.2) * rng.randint(1, top // 6))))


def _part_of(rng: random.Random, whole: Decimal, share: float) -> Decimal:
    """Between one unit (or an eighth, for fractional stock) and ``share`` of ``whole``."""
    step = Decimal(1) if whole == whole.to_integral_value() else Decimal("0.125")
    units = max(1, int(whole * Decimal(str(share)) / step))
    return min(whole, step * rng.randint(1, units))


def _batch(rng: random.Random, moment: datetime) -> str | None:
    roll = rng.random()
    if roll < 0.35:
        return None
    if roll < 0.5:
        return ""
    return f"B{moment:%y%j}-{rng.randint(1, 99):02d}"
