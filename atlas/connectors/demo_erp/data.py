"""The demo ERP's data: a deterministic simulation of 180 days of inventory for a Saudi retailer and wholesaler.

Plain dataclasses and functions, no web code. `dataset(catalogue, as_of)` builds (once, then from memory) the
items, locations, stock balances and movements that the HTTP app serves. The same `as_of` always gives the same
data: every item is simulated with its own `random.Random` seeded from (SEED, item id, as_of), so the first 100
items are identical for the demo and the enterprise catalogues.

The simulation runs day by day for each item across the locations that stock it: demand (weekly seasonality,
pay-day lift, trend, noise), sales (never more than the stock on hand), a reorder-point policy whose purchase
orders arrive as GOODS_RECEIPT after the supplier's lead time, occasional stock-count ADJUSTMENTs and
TRANSFER_OUT/TRANSFER_IN pairs. Balances are the result: opening stock + the signed sum of the movements.
On top of that, the scenarios of SPEC section 12 are planted on fixed item ids (`SCENARIOS`, `MAIN_LOCATIONS`).

Times are Asia/Riyadh (+03:00, no daylight saving). History covers the days `as_of - 179 .. as_of`; balances
are taken at the end of `as_of` (23:59:59+03:00). Within a day receipts come first (07:00-10:59), sales in
opening hours (from 11:00), transfers around midday and count adjustments late, so a running balance in time
order never goes negative.
"""

from __future__ import annotations

import math
import random
import statistics
from bisect import bisect_left
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache
from typing import Final, Literal

from atlas.connectors.demo_erp.products import (
    CATEGORIES,
    PRODUCTS,
    SUPPLIERS,
    Category,
    Product,
    Supplier,
    arabic_count,
)

__all__ = [
    "API_KEYS",
    "DEMO_API_KEY",
    "ENTERPRISE_API_KEY",
    "HISTORY_DAYS",
    "LOCATIONS",
    "MAIN_LOCATIONS",
    "RIYADH_TZ",
    "SCENARIOS",
    "Catalogue",
    "Category",
    "Dataset",
    "Item",
    "Location",
    "Movement",
    "OpenOrderLine",
    "StockBalance",
    "Supplier",
    "dataset",
    "resolve_as_of",
]

SEED: Final = 20_241_105
HISTORY_DAYS: Final = 180
RIYADH_TZ: Final = timezone(timedelta(hours=3))  # Asia/Riyadh: +03:00 all year, no daylight saving
CURRENCY: Final = "SAR"

DEMO_API_KEY: Final = "DEMO-API-KEY-2024"
ENTERPRISE_API_KEY: Final = "ENTERPRISE-KEY-001"


class Catalogue(StrEnum):
    """What an API key sees: the demo key 100 items, the enterprise key 300 (the same first 100)."""

    DEMO = "demo"
    ENTERPRISE = "enterprise"

    @property
    def size(self) -> int:
        return 100 if self is Catalogue.DEMO else 300


API_KEYS: Final[Mapping[str, Catalogue]] = {DEMO_API_KEY: Catalogue.DEMO, ENTERPRISE_API_KEY: Catalogue.ENTERPRISE}

MovementType = Literal["SALE", "GOODS_RECEIPT", "TRANSFER_IN", "TRANSFER_OUT", "ADJUSTMENT"]
Direction = Literal["in", "out"]
LocationType = Literal["warehouse", "store"]


@dataclass(frozen=True, slots=True)
class Location:
    id: str
    code: str
    name_en: str
    name_ar: str
    type: LocationType
    city: str
    district: str
    country: str = "SA"


@dataclass(frozen=True, slots=True)
class Item:
    id: int
    item_code: str
    name_en: str
    name_ar: str
    category: Category
    uom: str
    unit_cost: Decimal
    currency: str
    supplier: Supplier
    active: bool
    updated_at: datetime
    # How the supplier takes orders, in the item's unit: at least ``min_order_qty``, in multiples of ``order_multiple``
    # (a base product by its pack; a pack or a carton one at a time).
    min_order_qty: int = 1
    order_multiple: int = 1


@dataclass(frozen=True, slots=True)
class Movement:
    """One stock movement. `quantity` is always positive; `direction` gives the sign."""

    movement_id: str
    sku: str
    warehouse_id: str
    type: MovementType
    quantity: int
    direction: Direction
    occurred_at: datetime
    reference: str

    @property
    def signed_quantity(self) -> int:
        return self.quantity if self.direction == "in" else -self.quantity


@dataclass(frozen=True, slots=True)
class OpenOrderLine:
    """A purchase order line not yet received, or a transfer in transit, to ``warehouse_id``."""

    line_id: str
    order_number: str
    type: Literal["purchase", "transfer"]
    sku: str
    warehouse_id: str
    from_warehouse_id: str | None
    ordered_qty: int
    received_qty: int
    ordered_at: datetime
    expected_at: datetime

    @property
    def open_qty(self) -> int:
        return self.ordered_qty - self.received_qty


@dataclass(frozen=True, slots=True)
class StockBalance:
    sku: str
    warehouse_id: str
    on_hand: int
    reserved: int
    available: int
    as_of: datetime


LOCATIONS: Final[tuple[Location, ...]] = (
    Location(
        "WH-RUH-01", "RUH-01", "Riyadh Central Warehouse", "مستودع الرياض المركزي", "warehouse", "Riyadh", "Al Sulay"
    ),
    Location(
        "WH-JED-01",
        "JED-01",
        "Jeddah Distribution Warehouse",
        "مستودع جدة للتوزيع",
        "warehouse",
        "Jeddah",
        "Al Khumrah",
    ),
    Location("ST-RUH-02", "RUH-02", "Olaya Store, Riyadh", "فرع العليا - الرياض", "store", "Riyadh", "Al Olaya"),
    Location(
        "ST-DMM-01", "DMM-01", "Faisaliyah Store, Dammam", "فرع الفيصلية - الدمام", "store", "Dammam", "Al Faisaliyah"
    ),
)
_WAREHOUSES: Final = ("WH-RUH-01", "WH-JED-01")
LOCATIONS_ORDER: Final[Mapping[str, int]] = {loc.id: index + 1 for index, loc in enumerate(LOCATIONS)}
_STORES: Final = ("ST-RUH-02", "ST-DMM-01")
# Share of an item's demand at each location before per-item jitter: the Riyadh warehouse serves the most.
_LOCATION_WEIGHT: Final[Mapping[str, float]] = {
    "WH-RUH-01": 0.38,
    "WH-JED-01": 0.30,
    "ST-RUH-02": 0.18,
    "ST-DMM-01": 0.14,
}

SCENARIOS: Final[Mapping[str, tuple[int, ...]]] = {
    "near_stockout": (1, 2, 3, 4, 5),
    "demand_spike": (6, 7, 8, 9, 10),
    "large_transaction": (11, 12, 13, 14, 15),
    "dead_stock": (61, 62, 63, 64, 65),
}
# The location where each scenario shows (and that carries most of the item's demand).
MAIN_LOCATIONS: Final[Mapping[int, str]] = {
    1: "WH-RUH-01", 2: "WH-JED-01", 3: "ST-RUH-02", 4: "WH-RUH-01", 5: "ST-DMM-01",
    6: "WH-RUH-01", 7: "WH-JED-01", 8: "WH-RUH-01", 9: "ST-RUH-02", 10: "WH-RUH-01",
    11: "WH-RUH-01", 12: "WH-JED-01", 13: "WH-RUH-01", 14: "ST-RUH-02", 15: "WH-JED-01",
    61: "WH-RUH-01", 62: "WH-JED-01", 63: "WH-RUH-01", 64: "ST-DMM-01", 65: "WH-JED-01",
}  # fmt: skip
_SCENARIO_OF: Final[Mapping[int, str]] = {item: name for name, items in SCENARIOS.items() for item in items}
# Items 12 and 15 get a second anomaly: a large stock write-off (ADJUSTMENT out) as well as a bulk sale.
_SECOND_ANOMALY: Final = frozenset({12, 15})
# Scenario items get no random transfers or adjustments in their last 80 days, so nothing blurs the scenario.
_QUIET_FROM_DAY: Final = 100

# Mean demand per weekday, Monday first (Python's weekday()): the Saudi weekend is Friday and Saturday, and
# Thursday and Friday are the busiest shopping days.
_WEEKDAY_FACTOR: Final = tuple(f / (7.2 / 7) for f in (0.85, 0.85, 0.95, 1.30, 1.25, 1.05, 0.95))
_LEVEL_RATE: Final[Mapping[str, tuple[float, float]]] = {
    "high": (40.0, 90.0),
    "medium": (12.0, 35.0),
    "low": (4.0, 10.0),
    "slow": (0.3, 1.2),
    "dead": (2.0, 5.0),
}
_SLOW_SIZES: Final = (1, 1, 1, 2, 2, 3)  # units per sale of an intermittent (slow-moving) item


@dataclass(frozen=True)
class Dataset:
    """Everything one API key sees for one `as_of` date. Movements are sorted oldest first."""

    catalogue: Catalogue
    as_of: date
    snapshot_at: datetime
    items: tuple[Item, ...]
    locations: tuple[Location, ...]
    balances: tuple[StockBalance, ...]
    movements: tuple[Movement, ...]
    opening_stock: Mapping[tuple[str, str], int]
    main_locations: Mapping[int, str]
    balances_by_location: Mapping[str, tuple[StockBalance, ...]] = field(repr=False)
    _epochs: tuple[int, ...] = field(repr=False)
    # Purchase order lines not yet received and transfers in transit at `snapshot_at`, by line id.
    open_orders: tuple[OpenOrderLine, ...] = ()

    @property
    def history_start(self) -> datetime:
        """The first instant of the history (midnight in Riyadh, 179 days before `as_of`)."""
        return datetime.combine(self.as_of - timedelta(days=HISTORY_DAYS - 1), time(0), RIYADH_TZ)

    def location(self, location_id: str) -> Location | None:
        return next((loc for loc in self.locations if loc.id == location_id), None)

    def movement_range(self, start: datetime, end: datetime) -> tuple[int, int]:
        """Indexes [lo, hi) into `movements` of those with start <= occurred_at < end."""
        return bisect_left(self._epochs, int(start.timestamp())), bisect_left(self._epochs, int(end.timestamp()))


def resolve_as_of(as_of: date | None) -> date:
    """The data's reference date: the one given, else today in Riyadh, the zone of the data's times and of the
    analysis's days (with UTC's date, from 21:00 to 24:00 UTC the data would end on Riyadh's yesterday)."""
    return as_of if as_of is not None else datetime.now(RIYADH_TZ).date()


@lru_cache(maxsize=8)
def dataset(catalogue: Catalogue, as_of: date) -> Dataset:
    """The catalogue's data as of the end of `as_of`, built once and then served from memory."""
    histories = _histories(as_of, 1, 100)
    if catalogue is Catalogue.ENTERPRISE:
        histories += _histories(as_of, 101, catalogue.size)
    snapshot_at = datetime.combine(as_of, time(23, 59, 59), RIYADH_TZ)
    order = {loc.id: index for index, loc in enumerate(LOCATIONS)}

    balances: list[StockBalance] = []
    opening: dict[tuple[str, str], int] = {}
    keyed: list[tuple[int, str, Movement]] = []
    for history in histories:
        sku = history.item.item_code
        for loc_id in sorted(history.closing, key=order.__getitem__):
            on_hand, reserved = history.closing[loc_id], history.reserved[loc_id]
            balances.append(StockBalance(sku, loc_id, on_hand, reserved, on_hand - reserved, snapshot_at))
            opening[(sku, loc_id)] = history.opening[loc_id]
        keyed.extend(history.movements)
    keyed.sort(key=lambda entry: (entry[0], entry[1]))

    return Dataset(
        catalogue=catalogue,
        as_of=as_of,
        snapshot_at=snapshot_at,
        items=tuple(history.item for history in histories),
        locations=LOCATIONS,
        balances=tuple(balances),
        movements=tuple(entry[2] for entry in keyed),
        opening_stock=opening,
        main_locations={history.item.id: history.main_location for history in histories},
        balances_by_location={loc.id: tuple(b for b in balances if b.warehouse_id == loc.id) for loc in LOCATIONS},
        _epochs=tuple(entry[0] for entry in keyed),
        open_orders=tuple(sorted((line for h in histories for line in h.open_orders), key=lambda o: o.line_id)),
    )


# --- the simulation ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _ItemHistory:
    item: Item
    main_location: str
    opening: Mapping[str, int]
    closing: Mapping[str, int]
    reserved: Mapping[str, int]
    movements: tuple[tuple[int, str, Movement], ...]  # (epoch seconds, movement id, movement)
    open_orders: tuple[OpenOrderLine, ...] = ()


@lru_cache(maxsize=8)
def _histories(as_of: date, first: int, last: int) -> tuple[_ItemHistory, ...]:
    start = as_of - timedelta(days=HISTORY_DAYS - 1)
    days = [start + timedelta(days=d) for d in range(HISTORY_DAYS)]
    return tuple(_ItemSimulation(item_id, as_of, days).run() for item_id in range(first, last + 1))


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def _product_of(item_id: int) -> tuple[Product, int]:
    """The base product and pack multiple of an item id (1-100 base, 101-200 packs, 201-300 cartons)."""
    base = PRODUCTS[(item_id - 1) % 100]
    variant = (item_id - 1) // 100
    return base, (1, base.pack_size, base.carton_size)[variant]


class _ItemSimulation:
    """One item over the history, across the locations that stock it."""

    def __init__(self, item_id: int, as_of: date, days: list[date]) -> None:
        self.id = item_id
        self.rng = random.Random(f"{SEED}:{item_id}:{as_of.isoformat()}")  # noqa: S311 - a simulation, not secrets
        self.days = days
        self.horizon = len(days)
        self.scenario = _SCENARIO_OF.get(item_id)
        self.product, self.multiple = _product_of(item_id)
        self.item = self._item(as_of)
        rng = self.rng

        level = self.product.level
        rate = rng.uniform(*_LEVEL_RATE[level])
        if self.multiple > 1:  # wholesale packs: fewer, larger orders of the same product
            rate = rate * (0.5 if self.multiple == self.product.pack_size else 0.7) / self.multiple
            if level == "dead":
                rate = min(rate, 0.5)
        self.slow = rate < 1.5 or level == "slow"
        self.locations = self._stocking_locations()
        weights = {loc: _LOCATION_WEIGHT[loc] * rng.uniform(0.75, 1.25) for loc in self.locations}
        if item_id in MAIN_LOCATIONS:
            main = MAIN_LOCATIONS[item_id]
            weights[main] = 1.5 * max((w for loc, w in weights.items() if loc != main), default=1.0)
        total = sum(weights.values())
        self.rate = {loc: rate * w / total for loc, w in weights.items()}
        self.main = max(self.locations, key=lambda loc: (self.rate[loc], -self.locations.index(loc)))

        lead = self.item.supplier.lead_time_days
        self.lead = lead
        self.reorder_point: dict[str, float] = {}
        self.order_up_to: dict[str, float] = {}
        for loc in self.locations:
            r = self.rate[loc]
            cycle = rng.uniform(30, 60) if self.slow else rng.uniform(10, 20)
            # A well-run item: the reorder point leaves safety stock of about a lead time, so stock on hand
            # stays above what the lead time needs even while an order is on its way.
            self.reorder_point[loc] = max(2.0, r * (2.5 * lead + rng.uniform(7, 10)))
            self.order_up_to[loc] = self.reorder_point[loc] + max(3.0, r * cycle)

        self.spike_start = self.horizon - rng.randint(6, 7) if self.scenario == "demand_spike" else self.horizon
        self.spike_factor = rng.uniform(5.0, 6.0)
        self.death_day = rng.randint(25, 50) if self.scenario == "dead_stock" else self.horizon
        self.trend = rng.uniform(-0.15, 0.2)
        self.demand = {loc: self._demand(loc) for loc in self.locations}

        self.on_hand: dict[str, int] = {}
        # Orders on their way per location: (arrival day, quantity, the day it was placed).
        self.pipeline: dict[str, list[tuple[int, int, int]]] = {loc: [] for loc in self.locations}
        self.events: list[tuple[int, int, int, str, MovementType, int, Direction, str]] = []
        self.sales: dict[str, list[int]] = {loc: [0] * self.horizon for loc in self.locations}

    # --- set-up ----------------------------------------------------------------------------------------------
    def _item(self, as_of: date) -> Item:
        product, multiple = self.product, self.multiple
        name_en, name_ar, uom, cost = product.name_en, product.name_ar, product.uom, product.unit_cost
        if multiple > 1:
            carton = multiple == product.carton_size
            name_en += f", {'Carton' if carton else 'Pack'} of {multiple}"
            name_ar += f" - {'كرتون' if carton else 'عبوة'} {arabic_count(multiple)}"
            uom = "CTN" if carton else "PK"
            cost = (cost * multiple * Decimal("0.92" if carton else "0.96")).quantize(Decimal("0.01"))
        suppliers = SUPPLIERS[product.category]
        base_index = (self.id - 1) % 100
        updated = datetime.combine(as_of - timedelta(days=self.rng.randint(1, 170)), time(0), RIYADH_TZ)
        updated += timedelta(seconds=self.rng.randint(8 * 3600, 18 * 3600))
        return Item(
            id=self.id,
            item_code=f"SKU-{self.id:04d}",
            name_en=name_en,
            name_ar=name_ar,
            category=CATEGORIES[product.category],
            uom=uom,
            unit_cost=cost,
            currency=CURRENCY,
            supplier=suppliers[base_index % len(suppliers)],
            active=True,
            updated_at=updated,
            min_order_qty=product.pack_size if multiple == 1 else 1,
            order_multiple=product.pack_size if multiple == 1 else 1,
        )

    def _stocking_locations(self) -> list[str]:
        if self.scenario == "dead_stock":
            main = MAIN_LOCATIONS[self.id]
            other = next(w for w in _WAREHOUSES if w != main)
            return [loc.id for loc in LOCATIONS if loc.id in (main, other)]
        if self.scenario is not None:
            return [loc.id for loc in LOCATIONS]
        store_chance = 0.75 if self.multiple == 1 else (0.4 if self.multiple == self.product.pack_size else 0.0)
        stores = [s for s in _STORES if self.rng.random() < store_chance]
        return [*_WAREHOUSES, *stores]

    def _demand(self, loc: str) -> list[int]:
        rng, rate, out = self.rng, self.rate[loc], []
        for d, day in enumerate(self.days):
            if d >= self.death_day:
                out.append(0)
                continue
            factor = _WEEKDAY_FACTOR[day.weekday()]
            if day.day >= 27 or day.day <= 2:  # salaries are paid on the 27th
                factor *= 1.1
            if self.slow:
                chance = min(0.9, rate / 1.67 * factor)
                out.append(rng.choice(_SLOW_SIZES) if rng.random() < chance else 0)
                continue
            factor *= 1 + self.trend * (d - self.horizon / 2) / self.horizon
            if d >= self.spike_start:  # a sustained rush: every day of it well above normal, not just on average
                out.append(_poisson(rng, rate * factor * self.spike_factor))
                continue
            noise = min(2.2, rng.gammavariate(6.0, 1 / 6.0))  # busy and quiet days, without freak ones
            out.append(_poisson(rng, rate * factor * noise))
        return out

    # --- the day loop ----------------------------------------------------------------------------------------
    def _emit(
        self, d: int, minute: int, loc: str, kind: MovementType, qty: int, direction: Direction, ref: str
    ) -> None:
        self.events.append((d, minute, len(self.events), loc, kind, qty, direction, ref))
        self.on_hand[loc] += qty if direction == "in" else -qty

    def _reference(self, prefix: str, d: int, digits: int) -> str:
        return f"{prefix}-{self.days[d].year}-{self.rng.randint(1, 10**digits - 1):0{digits}d}"

    def _receive(self, d: int, loc: str, qty: int) -> None:
        if qty > 0:
            self._emit(
                d, self.rng.randint(7 * 60, 10 * 60 + 59), loc, "GOODS_RECEIPT", qty, "in", self._reference("GRN", d, 6)
            )

    def _transfer(self, d: int, source: str, target: str, qty: int) -> None:
        minute, ref = self.rng.randint(12 * 60, 15 * 60 + 59), self._reference("TRF", d, 5)
        self._emit(d, minute, source, "TRANSFER_OUT", qty, "out", ref)
        self._emit(d, minute, target, "TRANSFER_IN", qty, "in", ref)

    def run(self) -> _ItemHistory:
        rng = self.rng
        for loc in self.locations:
            low, high = self.reorder_point[loc], self.order_up_to[loc]
            if self.scenario == "dead_stock":
                low, high = (150, 400) if loc == self.main else (30, 80)
            self.on_hand[loc] = round(rng.uniform(low, high))
        opening = dict(self.on_hand)

        calibration_day = self.horizon - rng.randint(18, 24) if self.scenario == "near_stockout" else -1
        anomalies: dict[int, tuple[MovementType, int]] = {}
        if self.scenario == "large_transaction":
            anomalies = self._plan_anomalies()
        dead_receipt_day = rng.randint(3, 12) if self.scenario == "dead_stock" else -1

        for d in range(self.horizon):
            quiet = self.scenario is not None and d >= _QUIET_FROM_DAY
            for loc in self.locations:
                frozen = loc == self.main and d >= calibration_day >= 0
                # purchase orders arriving this morning (a near-stockout item's main location waits in vain)
                arriving = [qty for day, qty, _ in self.pipeline[loc] if day == d]
                self.pipeline[loc] = [order for order in self.pipeline[loc] if order[0] != d]
                if not frozen:
                    self._receive(d, loc, sum(arriving))
                if d == calibration_day and loc == self.main:
                    self._calibrate_near_stockout(d, loc)
                if d == self.spike_start:  # stock built up for the rush, so the spike shows in sales
                    need = sum(self.demand[loc][d:]) + math.ceil(self.rate[loc] * 3)
                    self._receive(d, loc, need - self.on_hand[loc])
                if d == dead_receipt_day and loc == self.main:
                    self._receive(d, loc, rng.randint(100, 300))
                anomaly = anomalies.get(d) if loc == self.main else None
                if anomaly is not None:
                    need = anomaly[1] + self.demand[loc][d] + math.ceil(self.rate[loc] * 2)
                    self._receive(d, loc, need - self.on_hand[loc])

                sold = min(self.demand[loc][d], self.on_hand[loc])
                if sold > 0:
                    self.sales[loc][d] = sold
                    minute = rng.randint(11 * 60, 22 * 60 + 59)
                    self._emit(d, minute, loc, "SALE", sold, "out", self._reference("INV", d, 6))
                if anomaly is not None:
                    self._plant_anomaly(d, loc, *anomaly)
                if not quiet and rng.random() < 1 / 120:
                    self._adjust(d, loc)
                if not frozen and self.scenario != "dead_stock":
                    self._reorder(d, loc)
            if not quiet and self.scenario != "dead_stock" and len(self.locations) > 1 and rng.random() < 1 / 15:
                self._rebalance(d)
        return self._history(opening)

    def _reorder(self, d: int, loc: str) -> None:
        position = self.on_hand[loc] + sum(qty for _, qty, _ in self.pipeline[loc])
        if position > self.reorder_point[loc]:
            return
        qty = math.ceil(self.order_up_to[loc] - position)
        case = self.product.carton_size if self.multiple == 1 and qty >= 2 * self.product.carton_size else 1
        qty = math.ceil(qty / case) * case
        self.pipeline[loc].append((d + self.lead + self.rng.randint(0, 2), qty, d))

    def _adjust(self, d: int, loc: str) -> None:
        qty = self.rng.randint(1, max(1, min(4, round(self.rate[loc] * 0.3))))
        direction: Direction = "out" if self.rng.random() < 0.7 else "in"
        if direction == "out" and self.on_hand[loc] < qty:
            return
        minute = self.rng.randint(21 * 60, 23 * 60 + 30)
        self._emit(d, minute, loc, "ADJUSTMENT", qty, direction, self._reference("ADJ", d, 5))

    def _rebalance(self, d: int) -> None:
        """Move a few days of stock from the best-covered location to the worst-covered one."""
        cover = {loc: self.on_hand[loc] / max(self.rate[loc], 0.1) for loc in self.locations}
        source = max(self.locations, key=cover.__getitem__)
        target = min(self.locations, key=cover.__getitem__)
        if source == target or cover[source] < 20 or cover[target] > 10:
            return
        qty = max(1, round(self.rate[target] * self.rng.uniform(3, 6)))
        if self.on_hand[source] - qty >= self.reorder_point[source]:
            self._transfer(d, source, target, qty)

    def _calibrate_near_stockout(self, d: int, loc: str) -> None:
        """From day `d` on the main location gets nothing more; leave it with 1.3-2.6 days of cover at the end.

        The cover counts like the tests and the AI engine do: stock at the end over the mean daily sales of
        the last 30 days. Sales from `d` on equal demand, since the stock is set to last.
        """
        horizon = self.horizon
        still_to_sell = sum(self.demand[loc][d:])
        mean_sales = (sum(self.sales[loc][horizon - 30 : d]) + still_to_sell) / 30
        target = max(2, round(mean_sales * self.rng.uniform(1.3, 2.6)))
        missing = target + still_to_sell - self.on_hand[loc]
        if missing >= 0:
            self._receive(d, loc, missing)
        else:  # too much here: the surplus went to the other warehouse
            other = next(w for w in _WAREHOUSES if w != loc)
            self._transfer(d, loc, other, -missing)

    def _plan_anomalies(self) -> dict[int, tuple[MovementType, int]]:
        """One bulk sale of 20-40x the usual sale size (plus a large write-off for some items), last 14 days."""
        rng, main = self.rng, self.main
        usual = max(
            statistics.median([q for q in self.demand[main] if q > 0] or [1]),
            statistics.median([q for loc in self.locations for q in self.demand[loc] if q > 0] or [1]),
        )
        sale_day = self.horizon - rng.randint(2, 12)
        planned: dict[int, tuple[MovementType, int]] = {sale_day: ("SALE", round(usual * rng.uniform(20, 40)))}
        if self.id in _SECOND_ANOMALY:
            write_off_day = self.horizon - rng.choice([n for n in range(2, 13) if self.horizon - n != sale_day])
            planned[write_off_day] = ("ADJUSTMENT", round(usual * rng.uniform(15, 25)))
        return planned

    def _plant_anomaly(self, d: int, loc: str, kind: MovementType, qty: int) -> None:
        if kind == "SALE":
            self._emit(
                d, self.rng.randint(11 * 60, 14 * 60 + 59), loc, "SALE", qty, "out", self._reference("INV", d, 6)
            )
        else:
            self._emit(d, self.rng.randint(21 * 60, 23 * 60 + 30), loc, kind, qty, "out", self._reference("ADJ", d, 5))

    def _history(self, opening: dict[str, int]) -> _ItemHistory:
        sku = self.item.item_code
        day_start = [datetime.combine(day, time(0), RIYADH_TZ) for day in self.days]
        day_epoch = [int(start.timestamp()) for start in day_start]
        movements: list[tuple[int, str, Movement]] = []
        for number, (d, minute, _, loc, kind, qty, direction, ref) in enumerate(sorted(self.events), start=1):
            movement_id = f"MV-{self.id * 100_000 + number:08d}"
            occurred_at = day_start[d] + timedelta(minutes=minute)
            movement = Movement(movement_id, sku, loc, kind, qty, direction, occurred_at, ref)
            movements.append((day_epoch[d] + minute * 60, movement_id, movement))
        reserved = {}
        for loc, on_hand in self.on_hand.items():
            share = 0.0 if self.scenario == "dead_stock" else self.rng.uniform(0, 0.12)
            reserved[loc] = min(on_hand, math.floor(on_hand * share))
        return _ItemHistory(
            self.item, self.main, opening, dict(self.on_hand), reserved, tuple(movements), self._open_orders()
        )

    def _open_orders(self) -> tuple[OpenOrderLine, ...]:
        """What is still on its way at the end: the purchase orders the simulation placed that arrive after the
        last day, and (a random stream of its own, so the history stays as it was) a few transfers in transit."""
        sku, last = self.item.item_code, self.horizon - 1
        as_of = self.days[last]

        def moment(d: int, hour: int) -> datetime:
            return datetime.combine(as_of + timedelta(days=d - last), time(hour), RIYADH_TZ)

        lines: list[OpenOrderLine] = []
        for loc in self.locations:
            for arrival, qty, placed in sorted(self.pipeline[loc]):
                number = f"PO-{self.days[placed].year}-{self.id:04d}{placed:03d}"
                # Some lines were partly received already: what is open is what the simulation still awaits.
                received = qty // 3 if (self.id + placed) % 5 == 0 and qty >= 4 else 0
                lines.append(
                    OpenOrderLine(
                        f"{number}-{LOCATIONS_ORDER[loc]}",
                        number,
                        "purchase",
                        sku,
                        loc,
                        None,
                        qty + received,
                        received,
                        moment(placed, 9),
                        moment(arrival, 8),
                    )
                )
        rng = random.Random(f"{SEED}:transit:{self.id}:{as_of.isoformat()}")  # noqa: S311 - a simulation
        if self.scenario is None and len(self.locations) > 1 and rng.random() < 0.12:
            source = max(self.locations, key=lambda loc: self.on_hand[loc] / max(self.rate[loc], 0.1))
            target = min(self.locations, key=lambda loc: self.on_hand[loc] / max(self.rate[loc], 0.1))
            qty = max(1, round(self.rate[target] * rng.uniform(2, 4)))
            if source != target and self.on_hand[source] >= qty:
                number = f"TRF-{as_of.year}-{self.id:04d}{last:03d}"
                lines.append(
                    OpenOrderLine(
                        f"{number}-{LOCATIONS_ORDER[target]}",
                        number,
                        "transfer",
                        sku,
                        target,
                        source,
                        qty,
                        0,
                        moment(last, 13),
                        moment(last + rng.randint(1, 2), 10),
                    )
                )
        return tuple(lines)
