"""A generated ERPNext site: two months of stock history made by the model's own operations, deterministic per seed.

``messy=False`` gives what a tidy site holds: one company, stock items only, receipts, sales, transfers and counts,
nothing cancelled. ``messy=True`` adds what real sites hold and a connector must not get wrong, each remembered in
`Landmarks` so tests can say why a record was skipped or set aside:

* a second company whose "Stores" is "Stores - RBC" beside "Stores - ATC" (same ``warehouse_name``);
* service items (``is_stock_item = 0``), a disabled item that still holds stock, a template with variants;
* item codes with spaces and in Arabic, Arabic item names, quantities in kilograms with three decimals;
* opening stock entered with a Stock Reconciliation (the first entry of its item and warehouse);
* cancelled vouchers (a delivery, a receipt, a count) with the reversing entries ERPNext writes;
* a disabled warehouse emptied before it was disabled (its Bin stays, at zero), a Bin sold down to zero;
* a reservation on an item that has no stock there (a Bin with only ``reserved_qty``);
* an item that was a stock item, got a sales order (and so a Bin), had the order cancelled and became a service:
  its Bin, all zero, names an item that is no longer a stock item;
* ledger entries whose hourly rename has run (``MAT-SLE-2026-00042``) and younger ones still named by hash.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from tests.sims.frappe_model import OperationRefused, StockData

MAIN = "Atlas Trading Co"
BRANCH = "Riyadh Branch Co"
GROUPS = ("Products", "Raw Material", "Consumable", "Sub Assemblies")
SALES = ("Delivery Note", "Sales Invoice", "POS Invoice")


@dataclass
class Landmarks:
    stores: str = ""
    shops: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    non_stock: list[str] = field(default_factory=list)
    disabled_with_stock: str = ""
    template: str = ""
    spaced_code: str = ""
    arabic_code: str = ""
    weighed: str = ""
    never_used: list[str] = field(default_factory=list)
    zero_bin: tuple[str, str] = ("", "")
    reserved_only: tuple[str, str] = ("", "")
    disabled_warehouse: str = ""
    stale_bin_item: str = ""
    cancelled: list[tuple[str, str]] = field(default_factory=list)
    opening_counts: list[tuple[str, str]] = field(default_factory=list)  # (item, warehouse) opened by a count


def populate(data: StockData, *, seed: int = 15, items: int = 60, messy: bool = True, as_of: datetime) -> Landmarks:
    """Fill ``data`` with masters and 60 days of history ending at ``as_of`` (local time)."""
    rng = random.Random(seed)
    marks = Landmarks()
    start = as_of - timedelta(days=60)
    moment = {"now": start - timedelta(days=1)}
    real_clock = data.clock
    data.clock = lambda: moment["now"]

    def at(when: datetime) -> datetime:
        moment["now"] = max(moment["now"], when)
        return when

    _masters(data, rng, marks, items=items, messy=messy)
    stock_items = [i.name for i in data.items.values() if i.is_stock_item and not i.has_variants]
    used = [code for code in stock_items if code not in marks.never_used]
    places = [marks.stores, *marks.shops]
    # Opening stock: a receipt, or (messy) a count entered as "Opening Stock".
    when = at(start + timedelta(hours=9))
    receipt: list[tuple[str, str, Decimal]] = []
    counts: list[tuple[str, str, Decimal]] = []
    for code in used:
        for place in rng.sample(places, k=rng.randint(1, 2)):
            line = (code, place, _quantity(data, code, rng, 20, 80))
            (counts if messy and rng.random() < 0.25 else receipt).append(line)
    data.submit("Purchase Receipt", receipt, posting=when)
    if counts:
        data.submit("Stock Reconciliation", counts, posting=at(when + timedelta(minutes=7)), purpose="Opening Stock")
        marks.opening_counts = [(c, w) for c, w, _ in counts]
    # Two months of business. The hourly job that gives entries their series names runs in the gap before each
    # event at least an hour after its last run (so an entry's `modified` is its creation plus an hour or a few, as
    # on a real site), until an hour before the end: the youngest entries are still named by hash.
    cursor = start + timedelta(days=1)
    rename_until = as_of - timedelta(hours=1)
    renamed = False
    last_run = start
    while cursor < as_of - timedelta(minutes=30):
        job = cursor - timedelta(minutes=1)
        if job <= rename_until and job - last_run >= timedelta(hours=1):
            at(job)
            data.rename_temporarily_named_docs()
            renamed, last_run = True, job
        when = at(cursor)
        _one_event(data, rng, used, places, marks, when, messy=messy)
        cursor += timedelta(
            minutes=rng.randint(90, 420), seconds=rng.randint(0, 59), microseconds=rng.randint(1, 999_999)
        )
    if not renamed:
        data.rename_temporarily_named_docs()
    _landmarks(data, rng, used, marks, messy=messy, when=at(as_of - timedelta(minutes=20)))
    data.clock = real_clock
    return marks


def _quantity(data: StockData, code: str, rng: random.Random, low: int, high: int) -> Decimal:
    if data.items[code].stock_uom == "Kg":
        return Decimal(rng.randint(low * 1000, high * 1000)) / 1000
    return Decimal(rng.randint(low, high))


def _masters(data: StockData, rng: random.Random, marks: Landmarks, *, items: int, messy: bool) -> None:
    data.add_company(MAIN, "ATC")
    root = data.add_warehouse("All Warehouses", MAIN, is_group=True).name
    marks.stores = data.add_warehouse("Stores", MAIN, parent=root).name
    data.add_warehouse("Finished Goods", MAIN, parent=root)
    data.add_warehouse("Work In Progress", MAIN, parent=root)
    data.add_warehouse("Goods In Transit", MAIN, parent=root, warehouse_type="Transit")
    branches = data.add_warehouse("Riyadh Branches", MAIN, parent=root, is_group=True).name
    marks.shops = [data.add_warehouse(n, MAIN, parent=branches).name for n in ("Olaya Store", "Malaz Store")]
    marks.groups = [root, branches]
    if messy:
        data.add_company(BRANCH, "RBC")
        other = data.add_warehouse("All Warehouses", BRANCH, is_group=True).name
        data.add_warehouse("Stores", BRANCH, parent=other)
        marks.groups.append(other)
        marks.disabled_warehouse = data.add_warehouse("Old Depot", MAIN, parent=root).name
    uoms = ("Nos", "Nos", "Nos", "Box", "Litre", "Kg")
    for n in range(1, items + 1):
        uom = uoms[n % len(uoms)]
        data.add_item(
            f"SKU-{n:04d}",
            f"Product {n:04d}",
            item_group=GROUPS[n % len(GROUPS)],
            stock_uom=uom,
            valuation_rate=Decimal(rng.randint(150, 90_000)) / 100,
        )
    marks.spaced_code = data.add_item("ORANGE JUICE 1L", "Orange Juice 1 L", stock_uom="Litre").name
    marks.weighed = data.add_item("RICE-BASMATI", "أرز بسمتي", stock_uom="Kg", valuation_rate=Decimal("7.25")).name
    marks.never_used = [data.add_item("SKU-UNUSED", "Never stocked", valuation_rate=Decimal("12.5")).name]
    if messy:
        marks.arabic_code = data.add_item("زيت-زيتون-500", "زيت زيتون بكر ٥٠٠ مل", valuation_rate=Decimal("18.9")).name
        marks.non_stock = [
            data.add_item(code, name, item_group="Services", is_stock_item=False).name
            for code, name in (("DELIVERY CHARGE", "Delivery charge"), ("INSTALLATION", "تركيب"))
        ]
        marks.template = data.add_item("T-SHIRT", "T-Shirt", has_variants=True).name
        for variant in ("T-SHIRT-RED-M", "T-SHIRT-BLUE-L"):
            data.add_item(variant, variant.title(), variant_of=marks.template)
        marks.disabled_with_stock = data.add_item("OLD-MODEL-TV", "Old model TV", valuation_rate=Decimal(900)).name
        marks.never_used.append(data.add_item("DISCONTINUED-MUG", "Discontinued mug", disabled=True).name)


def _one_event(
    data: StockData,
    rng: random.Random,
    used: list[str],
    places: list[str],
    marks: Landmarks,
    when: datetime,
    *,
    messy: bool,
) -> None:
    """One business document at ``when``; a sale or an issue the stock cannot cover is simply not made. On a tidy
    site counts are made only where the ledger already has the item (a messy one also counts what it never
    recorded, whose change no earlier level can give)."""
    roll = rng.random()
    code = rng.choice(used)
    place = rng.choice(places)
    try:
        if roll < 0.45:
            doctype = rng.choice(SALES)
            lines = [(c, place, -_quantity(data, c, rng, 1, 6)) for c in rng.sample(used, k=rng.randint(1, 3))]
            data.submit(doctype, lines, posting=when)
        elif roll < 0.65:
            data.submit("Purchase Receipt", [(code, marks.stores, _quantity(data, code, rng, 10, 40))], posting=when)
        elif roll < 0.82:
            data.transfer(code, marks.stores, rng.choice(marks.shops), _quantity(data, code, rng, 1, 8), posting=when)
        elif roll < 0.92:
            data.submit(
                "Stock Entry",
                [(code, place, -_quantity(data, code, rng, 1, 3))],
                posting=when,
                purpose="Material Issue",
            )
        elif messy or (code, place) in data.bins:
            level = data.truth_balances().get((code, place), (Decimal(0), Decimal(0)))[0]
            counted = max(Decimal(0), level + _quantity(data, code, rng, -3, 3))
            data.submit("Stock Reconciliation", [(code, place, counted)], posting=when, purpose="Stock Reconciliation")
    except OperationRefused:
        pass  # the site refused it (no stock to issue, not a stock item …), as ERPNext would: no entry that day


def _landmarks(
    data: StockData, rng: random.Random, used: list[str], marks: Landmarks, *, messy: bool, when: datetime
) -> None:
    """The cases tests look for, made deterministically near the end of the history."""
    balances = data.truth_balances()
    held = sorted(p for p, (q, _) in balances.items() if q > 0 and p[1] == marks.stores and p[0].startswith("SKU-"))
    zero = held[0]
    data.submit("Delivery Note", [(zero[0], zero[1], -balances[zero][0])], posting=when)
    marks.zero_bin = zero
    empty_pairs = [(c, w) for c in used for w in marks.shops if (c, w) not in balances]
    marks.reserved_only = empty_pairs[0]
    data.sales_order(*marks.reserved_only, Decimal(4))
    for pair in held[1:4]:
        data.sales_order(*pair, min(Decimal(2), balances[pair][0]))
    if not messy:
        return
    # A disabled warehouse: stocked, emptied into the stores, then disabled. Its Bin stays at zero.
    depot = marks.disabled_warehouse
    data.submit("Purchase Receipt", [(marks.weighed, depot, Decimal("12.5"))], posting=when - timedelta(days=3))
    data.transfer(marks.weighed, depot, marks.stores, Decimal("12.5"), posting=when - timedelta(days=2))
    data.warehouses[depot].disabled = 1
    # A disabled item that still holds stock, the Arabic and spaced codes in the ledger.
    data.submit(
        "Purchase Receipt",
        [(marks.disabled_with_stock, marks.stores, Decimal(3)), (marks.arabic_code, marks.shops[0], Decimal(24))],
        posting=when - timedelta(days=2, hours=1),
    )
    data.submit("POS Invoice", [(marks.arabic_code, marks.shops[0], Decimal(-5))], posting=when - timedelta(days=1))
    data.items[marks.disabled_with_stock].disabled = 1
    # A stock item that got an order, lost it and became a service: its Bin stays, at zero.
    stale = data.add_item("GIFT-BOX", "Gift box", valuation_rate=Decimal(30)).name
    order = data.sales_order(stale, marks.stores, Decimal(2))
    data.close_order(order.name)
    data.edit_item(stale, is_stock_item=0)
    marks.stale_bin_item = stale
    # Cancelled vouchers: a delivery, a receipt, a count (each cancellable without negative stock).
    for doctype in ("Delivery Note", "Purchase Receipt", "Stock Reconciliation"):
        for (kind, name), voucher in sorted(data.vouchers.items(), key=lambda kv: kv[1].posting, reverse=True):
            touches_zero = any((line.item_code, line.warehouse) == marks.zero_bin for line in voucher.lines)
            if kind != doctype or voucher.docstatus != 1 or len(voucher.lines) > 2 or touches_zero:
                continue
            try:
                data.cancel(kind, name)
            except OperationRefused:
                continue
            marks.cancelled.append((kind, name))
            break
