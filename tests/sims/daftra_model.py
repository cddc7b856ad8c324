"""The state of a simulated Daftra site (an Arabic-first Saudi business): its stores (warehouses), products with
their stock, and the stock transactions that move it, with the operations that change them and the truth computed
from them (never from what a reader made of the API). Deterministic for a seed; a few hundred records.

A product's ``stock_balance`` is what Daftra documents: the product's stock across all its stores. Here it is kept
per store (every stock transaction names its store) and summed, so the truth is the site's own.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

ZONE = timezone(timedelta(hours=3))  # the site's time zone (Asia/Riyadh); Daftra's times carry none
# StockTransaction.transaction_type as this simulation uses it. The codes are not in Daftra's public documents:
# "2" is a sales invoice in public client code that reads the endpoint; the others are this simulation's choice.
PURCHASE, SALE, MANUAL, TRANSFER_OUT, TRANSFER_IN = "1", "2", "3", "4", "5"


def daftra_time(moment: datetime) -> str:
    """``2018-05-10 00:42:00``: the site's local time, no zone (as the documents' examples)."""
    return moment.astimezone(ZONE).strftime("%Y-%m-%d %H:%M:%S")


def decimal_text(value: Decimal) -> str:
    """A quantity as the API sends it: a string (CakePHP returns database values as strings)."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


@dataclass
class Store:
    store_id: int
    name: str
    active: bool = True


@dataclass
class Product:
    product_id: int
    name: str
    product_code: str
    barcode: str
    unit_price: Decimal
    buy_price: Decimal
    category: str
    created: datetime
    modified: datetime
    track_stock: bool = True
    status: int = 0  # 0 active
    stock: dict[int, Decimal] = field(default_factory=dict)  # store_id -> stock
    balance_missing: bool = False  # messy data: the API sends stock_balance null


@dataclass
class StockTransaction:
    transaction_id: int
    product_id: int
    store_id: int
    quantity: Decimal  # signed: received positive, issued negative
    transaction_type: str
    price: Decimal
    received: datetime
    order_id: int | None = None


STORES = ("المستودع الرئيسي - الرياض", "فرع جدة", "مستودع الدمام")
NAMES = (
    ("تمر سكري فاخر", "تمور"),
    ("قهوة عربية بالهيل", "مشروبات"),
    ("زعفران إيراني", "بهارات"),
    ("أرز بسمتي", "مواد غذائية"),
    ("عسل سدر", "مواد غذائية"),
    ("شاي أخضر", "مشروبات"),
    ("زيت زيتون بكر", "مواد غذائية"),
    ("Mineral water 330ml", "Beverages"),
)


class DaftraData:
    def __init__(self, *, seed: int = 9, products: int = 180, transactions: int = 60, nulls: int = 0) -> None:
        self.lock = threading.RLock()
        self.random = random.Random(seed)
        self.stores: dict[int, Store] = {}
        self.products: dict[int, Product] = {}
        self.transactions: dict[int, StockTransaction] = {}
        self.now = datetime.now(UTC).replace(microsecond=0)
        self._populate(products, transactions, nulls)

    def tick(self) -> datetime:
        self.now = max(self.now + timedelta(seconds=1), datetime.now(UTC).replace(microsecond=0))
        return self.now

    def _populate(self, count: int, transactions: int, nulls: int) -> None:
        rng = self.random
        for index, name in enumerate(STORES, start=1):
            self.stores[index] = Store(index, name)
        start = self.now - timedelta(days=300)
        for n in range(count):
            name, category = NAMES[n % len(NAMES)]
            created = start + timedelta(hours=n * 9)
            product = Product(
                product_id=1056800 + n * 3,
                name=f"{name} {n + 1}",
                product_code="" if n % 9 == 4 else f"P-{n + 1:04d}",
                barcode="" if n % 5 else f"62800{n:07d}",
                unit_price=Decimal(rng.randrange(500, 90000)) / 100,
                buy_price=Decimal(rng.randrange(300, 60000)) / 100,
                category=category,
                created=created,
                modified=created,
            )
            if n % 17 == 3:
                product.track_stock = False  # a service or a product sold without stock
            else:
                product.stock = {store: Decimal(rng.randrange(0, 300)) for store in self.stores}
                if n % 29 == 6:
                    product.stock[1] += Decimal("0.25")  # sold by weight
            self.products[product.product_id] = product
        tracked = [p for p in self.products.values() if p.track_stock]
        for victim in tracked[3 : 3 + nulls]:
            victim.balance_missing = True
        for n in range(transactions):
            product = rng.choice(tracked)
            store = rng.choice(list(self.stores))
            kind = rng.choice((PURCHASE, SALE, SALE, MANUAL))
            amount = Decimal(rng.randrange(1, 20))
            when = self.now - timedelta(days=transactions - n, hours=rng.randrange(0, 12))
            self.record(product.product_id, store, amount if kind == PURCHASE else -amount, kind, when=when)

    # --- operations (a person working in Daftra) --------------------------------------------------------------
    def record(
        self, product_id: int, store_id: int, quantity: Decimal, kind: str, *, when: datetime | None = None
    ) -> StockTransaction:
        """A stock transaction (a purchase, a sale, a manual adjustment): the product's stock at the store moves."""
        with self.lock:
            product = self.products[product_id]
            if not product.track_stock:
                raise ValueError("the product does not track stock")
            moment = when or self.tick()
            transaction = StockTransaction(
                transaction_id=len(self.transactions) + 900001,
                product_id=product_id,
                store_id=store_id,
                quantity=quantity,
                transaction_type=kind,
                price=product.unit_price if kind == SALE else product.buy_price,
                received=moment,
                order_id=5000 + len(self.transactions) if kind in (SALE, PURCHASE) else None,
            )
            self.transactions[transaction.transaction_id] = transaction
            product.stock[store_id] = product.stock.get(store_id, Decimal(0)) + quantity
            product.modified = max(product.modified, moment)
            return transaction

    def transfer(self, product_id: int, source: int, target: int, quantity: Decimal) -> None:
        self.record(product_id, source, -quantity, TRANSFER_OUT)
        self.record(product_id, target, quantity, TRANSFER_IN)

    def add_product(self, name: str, code: str) -> Product:
        with self.lock:
            moment = self.tick()
            product_id = max(self.products) + 3
            product = Product(product_id, name, code, "", Decimal(12), Decimal(8), "مواد غذائية", moment, moment)
            product.stock = {store: Decimal(0) for store in self.stores}
            self.products[product_id] = product
            return product

    # --- the truth -----------------------------------------------------------------------------------------------
    def stock_balance(self, product: Product) -> Decimal:
        return sum(product.stock.values(), Decimal(0))

    def truth_balances(self) -> dict[int, Decimal]:
        """Each stock-tracked product's stock across its stores, as the site holds it, the ones the API sends
        without a balance left out (``truth_missing``)."""
        with self.lock:
            return {
                p.product_id: self.stock_balance(p)
                for p in self.products.values()
                if p.track_stock and not p.balance_missing
            }

    def truth_missing(self) -> set[int]:
        with self.lock:
            return {p.product_id for p in self.products.values() if p.track_stock and p.balance_missing}

    def truth_movements(self) -> dict[int, tuple[int, int, Decimal]]:
        with self.lock:
            return {t.transaction_id: (t.product_id, t.store_id, t.quantity) for t in self.transactions.values()}
