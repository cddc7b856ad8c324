"""ERPNext's stock as the simulation keeps it: items, warehouses, bins, the stock ledger and the vouchers behind it.

Each operation follows what ERPNext v15 does (``erpnext/stock/stock_ledger.py``, ``stock/doctype/*``; sources and
inferences are listed in ``tests/sims/frappe.py``):

* A submitted voucher writes one Stock Ledger Entry (SLE) per line and warehouse, named with a temporary
  10-character hash and ``to_rename = 1`` (``StockLedgerEntry.autoname``); the hourly scheduler job
  ``rename_gle_sle_docs`` later gives it its series name (``MAT-SLE-2026-00001``) and a new ``modified``
  (`StockData.rename_temporarily_named_docs`).
* ``qty_after_transaction`` is the running quantity of the item in the warehouse, in posting order
  (``posting_datetime``, then ``creation``), over the entries that are not cancelled; a Stock Reconciliation's entry
  has ``actual_qty = 0`` and sets the level to the counted quantity. A backdated entry reposts the entries after it:
  their ``qty_after_transaction`` changes without touching ``modified`` (``update_qty_in_future_sle`` is a plain
  SQL update, ``process_sle`` a ``db_update``).
* Cancelling a voucher marks its entries ``is_cancelled = 1`` (and ``modified``: ``set_as_cancel``) and writes a
  reversing entry per line with the quantity negated, also ``is_cancelled = 1``, with the voucher's posting date and
  time (``make_sl_entries`` with ``cancel``). Reports and bins leave cancelled entries out.
* The Bin of an item and warehouse (made on first use, ``get_or_make_bin``) holds ``actual_qty`` (the ledger's
  last level), ``reserved_qty`` (open sales orders), ``ordered_qty``, ``projected_qty``; each update sets its
  ``modified``. A Bin is never deleted.
* Negative stock is refused (``allow_negative_stock`` is off by default), also for backdated entries that would
  make a later level negative.

Nothing here knows about HTTP: ``tests/sims/frappe.py`` renders this state as Frappe's REST API does, and tests call
the operations to make the source change under Atlas. The ``truth_*`` functions say what the source holds now,
replayed from the ledger and the orders, never from what a reader saw.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from tests.sims.frappe_purchasing import OpenLine, PurchaseOrder, PurchaseOrderItem, open_lines, ordered_qty

ZERO = Decimal(0)
SYSTEM_TIME_ZONE = "Asia/Riyadh"
# Naming series of ERPNext v15's stock doctypes (the "MAT-" prefixes of stock documents).
SERIES = {
    "Purchase Receipt": "MAT-PRE",
    "Delivery Note": "MAT-DN",
    "Stock Entry": "MAT-STE",
    "Stock Reconciliation": "MAT-RECO",
    "Sales Invoice": "ACC-SINV",
    "POS Invoice": "ACC-PSINV",
    "Sales Order": "SAL-ORD",
    "Purchase Order": "PUR-ORD",
    "Asset Capitalization": "ACC-ASC",
}


class OperationRefused(Exception):
    """What ERPNext would refuse (a ValidationError): negative stock, a group warehouse, a non-stock item."""


@dataclass
class Item:
    name: str
    item_code: str
    item_name: str
    item_group: str
    stock_uom: str
    valuation_rate: Decimal
    is_stock_item: int
    disabled: int
    has_variants: int
    variant_of: str | None
    creation: datetime
    modified: datetime


@dataclass
class Warehouse:
    name: str
    warehouse_name: str
    is_group: int
    parent_warehouse: str | None
    disabled: int
    company: str
    warehouse_type: str | None
    creation: datetime
    modified: datetime


@dataclass
class Bin:
    name: str
    item_code: str
    warehouse: str
    actual_qty: Decimal
    reserved_qty: Decimal
    ordered_qty: Decimal
    stock_uom: str
    creation: datetime
    modified: datetime

    @property
    def projected_qty(self) -> Decimal:
        """actual + ordered + indented + planned - reserved - reserved for production/subcontracting (the last
        four are zero here)."""
        return self.actual_qty + self.ordered_qty - self.reserved_qty


@dataclass
class Entry:
    """One Stock Ledger Entry."""

    name: str
    item_code: str
    warehouse: str
    posting_date: date
    posting_time: time
    voucher_type: str
    voucher_no: str
    voucher_detail_no: str
    actual_qty: Decimal
    qty_after_transaction: Decimal
    is_cancelled: int
    to_rename: int
    company: str
    stock_uom: str
    creation: datetime
    modified: datetime
    valuation_rate: Decimal = ZERO

    @property
    def posting_datetime(self) -> datetime:
        return datetime.combine(self.posting_date, self.posting_time)

    @property
    def order(self) -> tuple[datetime, datetime]:
        """Posting order: ``posting_datetime``, then ``creation`` (``get_future_sle`` ordering)."""
        return (self.posting_datetime, self.creation)


@dataclass(frozen=True)
class Line:
    detail_no: str
    item_code: str
    warehouse: str
    qty: Decimal  # signed change; for a Stock Reconciliation, the counted quantity


@dataclass
class Voucher:
    doctype: str
    name: str
    posting: datetime
    lines: list[Line]
    docstatus: int = 1
    purpose: str = ""  # a Stock Entry's purpose, a Stock Reconciliation's ("Opening Stock", "Stock Reconciliation")
    current_qty: dict[str, Decimal] = field(default_factory=dict)  # reconciliation: the level before, per line


@dataclass
class Order:
    """A submitted Sales Order's reservation of an item in a warehouse."""

    name: str
    item_code: str
    warehouse: str
    qty: Decimal
    open: bool = True


@dataclass(frozen=True)
class Movement:
    """What one ledger entry is as a change of stock, from the ledger itself (for tests)."""

    key: str
    item_code: str
    warehouse: str
    voucher_type: str
    voucher_no: str
    change: Decimal  # the quantity it changed (a reconciliation: counted minus the level before it)
    level: Decimal
    is_reconciliation: bool
    opens_ledger: bool  # the first entry of its item and warehouse


class StockData:
    """The site's stock. ``clock`` returns the system's local time (naive, as Frappe keeps it)."""

    def __init__(self, *, time_zone: str = SYSTEM_TIME_ZONE, clock: Callable[[], datetime] | None = None) -> None:
        self.time_zone = time_zone
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(ZoneInfo(time_zone)).replace(tzinfo=None))
        self._last = datetime.min
        self.lock = threading.RLock()
        self.companies: dict[str, str] = {}  # name -> abbreviation
        self.items: dict[str, Item] = {}
        self.warehouses: dict[str, Warehouse] = {}
        self.bins: dict[tuple[str, str], Bin] = {}
        self.entries: dict[str, Entry] = {}
        self.vouchers: dict[tuple[str, str], Voucher] = {}
        self.orders: dict[str, Order] = {}
        self.purchase_orders: dict[str, PurchaseOrder] = {}
        self._series: dict[str, int] = {}
        self._hashes = 0

    # --- clocks and names ---------------------------------------------------------------------------
    def now(self) -> datetime:
        """The local time, strictly increasing (two documents never share a ``creation``)."""
        moment = self.clock()
        if moment <= self._last:
            moment = self._last + timedelta(microseconds=1)
        self._last = moment
        return moment

    def new_hash(self) -> str:
        """``frappe.generate_hash(length=10)``: ten hex characters."""
        self._hashes += 1
        return hashlib.sha256(f"frappe-sim-{self._hashes}".encode()).hexdigest()[:10]

    def next_name(self, prefix: str, year: int, digits: int = 5) -> str:
        key = f"{prefix}-{year}"
        self._series[key] = self._series.get(key, 0) + 1
        return f"{key}-{self._series[key]:0{digits}d}"

    # --- masters ------------------------------------------------------------------------------------
    def add_company(self, name: str, abbr: str) -> None:
        self.companies[name] = abbr

    def add_warehouse(
        self,
        warehouse_name: str,
        company: str,
        *,
        parent: str | None = None,
        is_group: bool = False,
        warehouse_type: str | None = None,
        disabled: bool = False,
    ) -> Warehouse:
        """Warehouse.autoname: ``<warehouse_name> - <company abbreviation>``."""
        with self.lock:
            moment = self.now()
            name = f"{warehouse_name} - {self.companies[company]}"
            warehouse = Warehouse(
                name, warehouse_name, int(is_group), parent, int(disabled), company, warehouse_type, moment, moment
            )
            self.warehouses[name] = warehouse
            return warehouse

    def add_item(
        self,
        item_code: str,
        item_name: str,
        *,
        item_group: str = "Products",
        stock_uom: str = "Nos",
        valuation_rate: Decimal = ZERO,
        is_stock_item: bool = True,
        disabled: bool = False,
        has_variants: bool = False,
        variant_of: str | None = None,
    ) -> Item:
        """Item.autoname with "Item Naming By: Item Code" (the default): the name is the code, stripped."""
        with self.lock:
            code = item_code.strip()
            if code in self.items:
                raise OperationRefused(f"Item {code} already exists")
            moment = self.now()
            item = Item(
                code,
                code,
                item_name.strip() or code,
                item_group,
                stock_uom,
                valuation_rate,
                int(is_stock_item),
                int(disabled),
                int(has_variants),
                variant_of,
                moment,
                moment,
            )
            self.items[code] = item
            return item

    def edit_item(self, item_code: str, **values: object) -> Item:
        """Saving an Item; ``is_stock_item`` cannot change while submitted documents use it (``Item.cant_change``)."""
        with self.lock:
            item = self.items[item_code]
            changes_kind = "is_stock_item" in values and values["is_stock_item"] != item.is_stock_item
            if changes_kind and self._used(item_code):
                raise OperationRefused(f"As there are existing transactions against item {item_code}, ...")
            for key, value in values.items():
                setattr(item, key, value)
            item.modified = self.now()
            return item

    def _used(self, item_code: str) -> bool:
        in_vouchers = any(
            line.item_code == item_code for v in self.vouchers.values() if v.docstatus == 1 for line in v.lines
        )
        in_orders = any(o.item_code == item_code and o.open for o in self.orders.values())
        return in_vouchers or in_orders

    # --- bins ---------------------------------------------------------------------------------------
    def _bin(self, item_code: str, warehouse: str) -> Bin:
        """``get_or_make_bin``."""
        found = self.bins.get((item_code, warehouse))
        if found is None:
            moment = self.now()
            found = Bin(
                self.next_name("MAT-BIN", moment.year),
                item_code,
                warehouse,
                ZERO,
                ZERO,
                ZERO,
                self.items[item_code].stock_uom,
                moment,
                moment,
            )
            self.bins[(item_code, warehouse)] = found
        return found

    def _refresh_bins(self, pairs: set[tuple[str, str]]) -> None:
        """``update_bin_qty`` after a posting: actual from the ledger, reserved from the open orders."""
        levels = self._levels()
        for item_code, warehouse in pairs:
            stock = self._bin(item_code, warehouse)
            actual = levels.get((item_code, warehouse), ZERO)
            reserved = sum(
                (
                    o.qty
                    for o in self.orders.values()
                    if o.open and (o.item_code, o.warehouse) == (item_code, warehouse)
                ),
                ZERO,
            )
            ordered = self._ordered_qty(item_code, warehouse)
            if (stock.actual_qty, stock.reserved_qty, stock.ordered_qty) != (actual, reserved, ordered):
                stock.actual_qty, stock.reserved_qty, stock.ordered_qty = actual, reserved, ordered
                stock.modified = self.now()

    def _ordered_qty(self, item_code: str, warehouse: str) -> Decimal:
        """``erpnext.stock.stock_balance.get_ordered_qty``: see ``tests/sims/frappe_purchasing.py``."""
        return ordered_qty(self.purchase_orders, item_code, warehouse)

    # --- the ledger ---------------------------------------------------------------------------------
    def _check_target(self, item_code: str, warehouse: str) -> None:
        item = self.items.get(item_code)
        place = self.warehouses.get(warehouse)
        if item is None or place is None:
            raise OperationRefused(f"{item_code} / {warehouse} not found")
        if not item.is_stock_item:
            raise OperationRefused(f"Item {item_code} must be a stock Item")
        if item.has_variants:
            raise OperationRefused(f"Stock cannot exist for Item {item_code} since has variants")
        if place.is_group:
            raise OperationRefused(f"Group node warehouse {warehouse} is not allowed to select for transactions")
        if place.disabled:
            raise OperationRefused(f"Warehouse {warehouse} is disabled")

    def _ordered(self, item_code: str, warehouse: str) -> list[Entry]:
        live = [
            e
            for e in self.entries.values()
            if e.item_code == item_code and e.warehouse == warehouse and not e.is_cancelled
        ]
        return sorted(live, key=lambda e: e.order)

    def _repost(self, pairs: set[tuple[str, str]]) -> None:
        """Every live entry of these pairs gets its running level again (``update_entries_after``); a negative
        level is refused. Changes ``qty_after_transaction`` only, never ``modified``."""
        for item_code, warehouse in pairs:
            level = ZERO
            for entry in self._ordered(item_code, warehouse):
                if entry.voucher_type == "Stock Reconciliation":
                    level = entry.qty_after_transaction
                else:
                    level += entry.actual_qty
                if level < 0:
                    raise OperationRefused(
                        f"{-level} units of {item_code} needed in {warehouse} on {entry.posting_datetime}"
                    )
                entry.qty_after_transaction = level

    def _levels(self) -> dict[tuple[str, str], Decimal]:
        levels: dict[tuple[str, str], Decimal] = {}
        for entry in sorted((e for e in self.entries.values() if not e.is_cancelled), key=lambda e: e.order):
            pair = (entry.item_code, entry.warehouse)
            if entry.voucher_type == "Stock Reconciliation":
                levels[pair] = entry.qty_after_transaction
            else:
                levels[pair] = levels.get(pair, ZERO) + entry.actual_qty
        return levels

    def _level_before(self, item_code: str, warehouse: str, moment: datetime) -> Decimal:
        level = ZERO
        for entry in self._ordered(item_code, warehouse):
            if entry.posting_datetime > moment:
                break
            level = (
                entry.qty_after_transaction
                if entry.voucher_type == "Stock Reconciliation"
                else level + entry.actual_qty
            )
        return level

    def _entry(self, voucher: Voucher, line: Line, actual: Decimal, after: Decimal, *, cancelled: bool) -> Entry:
        moment = self.now()
        company = self.warehouses[line.warehouse].company
        entry = Entry(
            name=self.new_hash(),
            item_code=line.item_code,
            warehouse=line.warehouse,
            posting_date=voucher.posting.date(),
            posting_time=voucher.posting.time(),
            voucher_type=voucher.doctype,
            voucher_no=voucher.name,
            voucher_detail_no=line.detail_no,
            actual_qty=actual,
            qty_after_transaction=after,
            is_cancelled=int(cancelled),
            to_rename=1,
            company=company,
            stock_uom=self.items[line.item_code].stock_uom,
            creation=moment,
            modified=moment,
            valuation_rate=self.items[line.item_code].valuation_rate,
        )
        self.entries[entry.name] = entry
        return entry

    def submit(
        self,
        doctype: str,
        lines: list[tuple[str, str, Decimal]],
        *,
        posting: datetime | None = None,
        purpose: str = "",
    ) -> Voucher:
        """Submit a stock voucher: one ledger entry per line (``qty`` signed; a Stock Reconciliation's ``qty`` is
        the counted quantity)."""
        with self.lock:
            posting = posting or self.now()
            rows = [Line(self.new_hash(), i, w, Decimal(q)) for i, w, q in lines]
            return self._post(
                Voucher(doctype, self.next_name(SERIES[doctype], posting.year), posting, rows, purpose=purpose)
            )

    def transfer(
        self, item_code: str, source: str, target: str, qty: Decimal, *, posting: datetime | None = None
    ) -> Voucher:
        """A Stock Entry "Material Transfer": one row, two ledger entries (out of the source, into the target)
        that share the row's name as ``voucher_detail_no``."""
        with self.lock:
            posting = posting or self.now()
            row = self.new_hash()
            lines = [Line(row, item_code, source, -Decimal(qty)), Line(row, item_code, target, Decimal(qty))]
            name = self.next_name(SERIES["Stock Entry"], posting.year)
            return self._post(Voucher("Stock Entry", name, posting, lines, purpose="Material Transfer"))

    def _post(self, voucher: Voucher) -> Voucher:
        """All or nothing, as one database transaction: the entries, the repost of later entries, the bins."""
        for line in voucher.lines:
            self._check_target(line.item_code, line.warehouse)
        snapshot = self._snapshot()
        pairs = {(line.item_code, line.warehouse) for line in voucher.lines}
        try:
            for line in voucher.lines:
                if voucher.doctype == "Stock Reconciliation":
                    before = self._level_before(line.item_code, line.warehouse, voucher.posting)
                    voucher.current_qty[line.detail_no] = before
                    self._entry(voucher, line, ZERO, line.qty, cancelled=False)
                else:
                    self._entry(voucher, line, line.qty, ZERO, cancelled=False)
            self._repost(pairs)
        except OperationRefused:
            self._restore(snapshot)
            raise
        self.vouchers[(voucher.doctype, voucher.name)] = voucher
        self._refresh_bins(pairs)
        return voucher

    def cancel(self, doctype: str, name: str) -> list[Entry]:
        """Cancel a voucher: ``set_as_cancel`` on its entries, then one reversing entry per line (``is_cancelled``,
        quantity negated; a reconciliation's reversal carries the level before it, as its ``docstatus == 2`` branch
        of ``get_sle_for_items`` writes it), then the later entries are reposted."""
        with self.lock:
            voucher = self.vouchers[(doctype, name)]
            if voucher.docstatus != 1:
                raise OperationRefused(f"{doctype} {name} is not submitted")
            snapshot = self._snapshot()
            moment = self.now()
            for entry in self.entries.values():
                if entry.voucher_type == doctype and entry.voucher_no == name and not entry.is_cancelled:
                    entry.is_cancelled = 1
                    entry.modified = moment
            reversals = []
            for line in voucher.lines:
                if doctype == "Stock Reconciliation":
                    current = voucher.current_qty.get(line.detail_no, ZERO)
                    actual = current if current else -line.qty
                    reversals.append(self._entry(voucher, line, actual, current, cancelled=True))
                else:
                    reversals.append(self._entry(voucher, line, -line.qty, ZERO, cancelled=True))
            pairs = {(line.item_code, line.warehouse) for line in voucher.lines}
            try:
                self._repost(pairs)
            except OperationRefused:
                self._restore(snapshot)
                raise
            voucher.docstatus = 2
            self._refresh_bins(pairs)
            return reversals

    def _snapshot(self) -> dict[str, tuple[Decimal, int, datetime]]:
        return {n: (e.qty_after_transaction, e.is_cancelled, e.modified) for n, e in self.entries.items()}

    def _restore(self, snapshot: dict[str, tuple[Decimal, int, datetime]]) -> None:
        for name in [n for n in self.entries if n not in snapshot]:
            del self.entries[name]
        for name, (after, cancelled, modified) in snapshot.items():
            entry = self.entries[name]
            entry.qty_after_transaction, entry.is_cancelled, entry.modified = after, cancelled, modified

    # --- orders -------------------------------------------------------------------------------------
    def sales_order(self, item_code: str, warehouse: str, qty: Decimal) -> Order:
        """A submitted Sales Order reserves stock of a stock item (``update_reserved_qty``)."""
        with self.lock:
            self._check_target(item_code, warehouse)
            moment = self.now()
            order = Order(self.next_name(SERIES["Sales Order"], moment.year), item_code, warehouse, Decimal(qty))
            self.orders[order.name] = order
            self._refresh_bins({(item_code, warehouse)})
            return order

    def close_order(self, name: str) -> None:
        """Delivered in full, closed or cancelled: the order reserves nothing any more."""
        with self.lock:
            order = self.orders[name]
            order.open = False
            self._refresh_bins({(order.item_code, order.warehouse)})

    def purchase_order(
        self,
        items: list[PurchaseOrderItem],
        *,
        supplier: str = "Gulf Packaging Co.",
        submit: bool = True,
        transaction_date: date | None = None,
    ) -> PurchaseOrder:
        """A Purchase Order of these lines, submitted unless ``submit`` is false (a Draft orders nothing): the Bins'
        ``ordered_qty`` grows (``update_ordered_qty``). Each line gets its hash name and ``idx``; a line without a
        unit is in the item's stock unit (conversion factor 1)."""
        with self.lock:
            moment = self.now()
            for position, line in enumerate(items, start=1):
                item = self.items.get(line.item_code)
                if item is None or not line.qty > 0 or not line.conversion_factor > 0:
                    raise OperationRefused(f"Row {position}: an item, a quantity and a conversion factor are required")
                if line.warehouse is not None:
                    self._check_target(line.item_code, line.warehouse)
                line.uom = line.uom or item.stock_uom
                line.name, line.idx, line.received_qty = self.new_hash(), position, ZERO
            name = self.next_name(SERIES["Purchase Order"], moment.year)
            company = next(iter(self.companies), "")
            order = PurchaseOrder(
                name, supplier, company, transaction_date or moment.date(), items, moment, moment, int(submit)
            )
            self.purchase_orders[name] = order
            self._refresh_orders(order)
            return order

    def _refresh_orders(self, order: PurchaseOrder) -> None:
        order.modified = self.now()
        lines = [line for line in order.items if line.warehouse and not line.delivered_by_supplier]
        self._refresh_bins({(line.item_code, line.warehouse) for line in lines if line.warehouse})

    def receive_purchase(self, name: str, idx: int, qty: Decimal | int) -> None:
        """A Purchase Receipt against line ``idx`` of the order, ``qty`` in the line's unit: ``received_qty`` grows,
        the Bin's ``ordered_qty`` shrinks. (The stock it brings is a ledger posting of its own, not simulated here.)
        Refused for an order that is not submitted, on hold or closed."""
        with self.lock:
            order = self.purchase_orders[name]
            if order.docstatus != 1 or order.status in ("On Hold", "Closed", "Delivered"):
                raise OperationRefused(f"Purchase Order {name} is {order.status}")
            line = order.items[idx - 1]
            line.received_qty += Decimal(qty)
            self._refresh_orders(order)

    def set_purchase_order_status(self, name: str, status: str) -> None:
        """``update_status``: "On Hold", "Closed", "Delivered", or "" to resume or re-open (the status is worked out
        again); "Cancelled" cancels a submitted order; "Billed" bills it in full (``per_billed`` 100)."""
        with self.lock:
            order = self.purchase_orders[name]
            if status == "Cancelled":
                order.docstatus = 2
            elif status == "Billed":
                order.per_billed = Decimal(100)
            elif status in ("", "On Hold", "Closed", "Delivered"):
                order.held = status
            else:
                raise OperationRefused(f"Unknown status {status}")
            self._refresh_orders(order)

    def set_expected_delivery_date(self, name: str, idx: int, expected: date | None) -> None:
        """The supplier's new date on line ``idx`` of a submitted order (``expected_delivery_date`` is
        ``allow_on_submit``; saving the order sets its ``modified``)."""
        with self.lock:
            order = self.purchase_orders[name]
            order.items[idx - 1].expected_delivery_date = expected
            order.modified = self.now()

    def truth_ordered(self) -> dict[tuple[str, str], Decimal]:
        """(item, warehouse) -> quantity on order in the stock unit, from the purchase orders themselves; pairs with
        none left out."""
        with self.lock:
            ordered: dict[tuple[str, str], Decimal] = {}
            for line in open_lines(self.purchase_orders).values():
                pair = (line.item_code, line.warehouse)
                ordered[pair] = ordered.get(pair, ZERO) + line.open_qty
            return ordered

    def truth_open_lines(self) -> dict[str, OpenLine]:
        """Line name -> what the line still brings (in the stock unit) and when, from the orders themselves."""
        with self.lock:
            return open_lines(self.purchase_orders)

    # --- the scheduler ------------------------------------------------------------------------------
    def rename_temporarily_named_docs(self) -> dict[str, str]:
        """The hourly ``rename_gle_sle_docs`` job: entries still named by hash get their series name, in order of
        creation, with ``to_rename = 0`` and a new ``modified``. Returns old name -> new name."""
        with self.lock:
            renamed: dict[str, str] = {}
            for entry in sorted((e for e in self.entries.values() if e.to_rename), key=lambda e: e.creation):
                old = entry.name
                entry.name = self.next_name("MAT-SLE", entry.posting_date.year)
                entry.to_rename = 0
                entry.modified = self.now()
                del self.entries[old]
                self.entries[entry.name] = entry
                renamed[old] = entry.name
            return renamed

    # --- truth --------------------------------------------------------------------------------------
    def truth_items(self) -> dict[str, Item]:
        """The items that can hold stock, by name: stock items (disabled ones too: they may still hold stock), not
        templates (their variants hold the stock)."""
        with self.lock:
            return {n: i for n, i in self.items.items() if i.is_stock_item and not i.has_variants}

    def truth_warehouses(self) -> dict[str, Warehouse]:
        """The warehouses stock can be in (not groups), by name."""
        with self.lock:
            return {n: w for n, w in self.warehouses.items() if not w.is_group}

    def truth_balances(self) -> dict[tuple[str, str], tuple[Decimal, Decimal]]:
        """(item, warehouse) -> (quantity, reserved), replayed from the live ledger and the open orders; pairs that
        hold nothing and reserve nothing are left out."""
        with self.lock:
            levels = self._levels()
            reserved: dict[tuple[str, str], Decimal] = {}
            for order in self.orders.values():
                if order.open:
                    pair = (order.item_code, order.warehouse)
                    reserved[pair] = reserved.get(pair, ZERO) + order.qty
            pairs = set(levels) | set(reserved)
            held = {p: (levels.get(p, ZERO), reserved.get(p, ZERO)) for p in pairs}
            return {p: v for p, v in held.items() if v != (ZERO, ZERO)}

    def truth_movements(self) -> list[Movement]:
        """Every live ledger entry as the change it made, in posting order per pair."""
        with self.lock:
            result = []
            pairs = {(e.item_code, e.warehouse) for e in self.entries.values() if not e.is_cancelled}
            for item_code, warehouse in sorted(pairs):
                level = ZERO
                for position, entry in enumerate(self._ordered(item_code, warehouse)):
                    reconciliation = entry.voucher_type == "Stock Reconciliation"
                    change = entry.qty_after_transaction - level if reconciliation else entry.actual_qty
                    level = entry.qty_after_transaction
                    result.append(
                        Movement(
                            movement_key(entry),
                            item_code,
                            warehouse,
                            entry.voucher_type,
                            entry.voucher_no,
                            change,
                            level,
                            reconciliation,
                            position == 0,
                        )
                    )
            return result


def movement_key(entry: Entry) -> str:
    """An entry's identity that survives the rename job: its creation time, the voucher row and the warehouse (a
    transfer's two entries share the row; a reversal shares row and warehouse but not the creation time)."""
    return f"{frappe_datetime(entry.creation)}|{entry.voucher_detail_no}|{entry.warehouse}"


def frappe_datetime(moment: datetime) -> str:
    """A Datetime as Frappe's JSON handler writes it: ``str(datetime)``, microseconds only when there are some."""
    return str(moment.replace(tzinfo=None))


def frappe_time(moment: time) -> str:
    """A Time field as Frappe writes it (``format_timedelta``): hours without padding, seconds with a fraction
    only when there is one (``6:08:12``, ``14:03:22.512345``)."""
    seconds = moment.second + moment.microsecond / 1_000_000
    shown: object = int(seconds) if moment.microsecond == 0 else round(seconds, 6)
    return f"{moment.hour:01}:{moment.minute:02}:{shown:02}"
