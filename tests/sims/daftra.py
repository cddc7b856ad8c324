"""A simulation of a Daftra site (https://<subdomain>.daftra.com), over real HTTP on 127.0.0.1.

Built from Daftra's public API documents (docs.daftara.dev): "Generate Access Token" (``POST /v2/oauth/token``,
form fields ``client_id``, ``client_secret``, ``grant_type=password``, ``username``, ``password``; the older
``apikey`` header is marked deprecated), "GET All Products" (``GET /api2/products?page=&limit=``, ``limit`` from 1
to 1000, default 20, answered ``{"code": 200, "result": "successful", "data": [{"Product": {...}}], "pagination":
{"prev", "next", "page", "page_count", "total_results"}}`` with ``Product.stock_balance``), and the endpoint list
(stock transactions). Never bend it toward what is convenient for Atlas.

Not in the public documents, and chosen here (each marked so in the report):

* The token answer: the documents show ``{}``. The path and fields are Laravel Passport's, so its answers are
  used: ``{"token_type": "Bearer", "expires_in", "access_token", "refresh_token"}``; a wrong user name or password
  is 400 ``invalid_grant`` ("The user credentials were incorrect."), a wrong client 401 ``invalid_client``.
* Field types: the documents' example shows numbers and booleans (``"id": 0``, ``"track_stock": true``); answers
  seen by public client code carry strings (ids, ``transaction_type: "2"``), as CakePHP 2 returns database values.
  Strings are used, with ``null`` for a missing balance.
* ``GET /api2/stores`` (``{"Store": {"id", "name", "active"}}``) and ``GET /api2/stock_transactions``
  (``{"StockTransaction": {"id", "product_id", "store_id", "quantity", "transaction_type", "price",
  "currency_code", "order_id", "received_date", "created", "modified"}}``): endpoints public client code uses;
  their fields are not in the stored documents. ``quantity`` is signed. Per-store stock of a product is not
  documented at all: the site keeps it (each transaction names its store), the API gives only ``stock_balance``.
* Errors: 401 ``{"code": 401, "result": "failed", "message": ...}`` without a token or with an expired one; a page
  past the last is 404 (CakePHP's paginator); ``limit`` outside 1..1000 is 400; ``.json`` after a resource is
  accepted (CakePHP's extension routing).

Every request is reported to the canary: reads as ``read``, the token request as ``token``, anything else as
``write`` (answered 405 here: a Daftra write is not simulated).
"""

from __future__ import annotations

import math
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode

from tests.sims.auth_http import Log, SimHandler, serve
from tests.sims.daftra_model import DaftraData, Product, StockTransaction, daftra_time, decimal_text

TOKEN_PATH = "/v2/oauth/token"
API = "/api2"
CLIENT_ID = "7"
CLIENT_SECRET = "jCfy6cMh1X6NTxR3OWLuvEFa0si5uZKr05UeoAEs"
USERNAME = "owner@hayat-dates.sa"
PASSWORD = "كلمة-مرور 2026!"
MAX_LIMIT = 1000
DEFAULT_LIMIT = 20


@dataclass
class DaftraSite:
    data: DaftraData
    token_lifetime: int = 31_536_000  # Passport's default: a year
    base: str = ""
    log: Log = field(default_factory=Log)
    lock: threading.Lock = field(default_factory=threading.Lock)
    tokens: dict[str, float] = field(default_factory=dict)
    rejected_tokens: int = 0

    @property
    def token_url(self) -> str:
        return self.base + TOKEN_PATH

    @property
    def token_requests(self) -> int:
        return len(self.log.of(kind="token"))

    def api_requests(self) -> list[Any]:
        return [r for r in self.log.of(kind="read") if r.path.startswith(API)]

    def revoke_all(self) -> None:
        with self.lock:
            self.tokens.clear()

    def issue(self) -> dict[str, Any]:
        token = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9." + secrets.token_urlsafe(48)
        with self.lock:
            self.tokens[token] = time.time() + self.token_lifetime
        return {
            "token_type": "Bearer",
            "expires_in": self.token_lifetime,
            "access_token": token,
            "refresh_token": "def50200" + secrets.token_hex(40),
        }

    def valid(self, token: str) -> bool:
        with self.lock:
            return self.tokens.get(token, 0) > time.time()


def render_product(data: DaftraData, product: Product) -> dict[str, Any]:
    balance = None if product.balance_missing else decimal_text(data.stock_balance(product))
    return {
        "Product": {
            "id": str(product.product_id),
            "staff_id": "0",
            "name": product.name,
            "description": "",
            "unit_price": decimal_text(product.unit_price),
            "tax1": "1",
            "tax2": "0",
            "supplier_id": "0",
            "brand": "",
            "category": product.category,
            "tags": "",
            "buy_price": decimal_text(product.buy_price),
            "product_code": product.product_code,
            "track_stock": "1" if product.track_stock else "0",
            "stock_balance": balance if product.track_stock else "0",
            "low_stock_thershold": "0",
            "barcode": product.barcode,
            "notes": "",
            "status": str(product.status),
            "created": daftra_time(product.created),
            "modified": daftra_time(product.modified),
            "follow_up_status": None,
            "updated_price": "1",
            "average_price": decimal_text(product.buy_price),
            "type": None,
            "minimum_price": None,
            "profit_margin": None,
            "discount": None,
            "discount_type": None,
            "duration_minutes": "0",
            "availabe_online": "0",
            "raw_store_id": None,
            "ProductImage": [],
            "ProductCategory": [],
        }
    }


def render_transaction(transaction: StockTransaction) -> dict[str, Any]:
    return {
        "StockTransaction": {
            "id": str(transaction.transaction_id),
            "product_id": str(transaction.product_id),
            "store_id": str(transaction.store_id),
            "quantity": decimal_text(transaction.quantity),
            "transaction_type": transaction.transaction_type,
            "price": decimal_text(transaction.price),
            "currency_code": "SAR",
            "order_id": None if transaction.order_id is None else str(transaction.order_id),
            "branch_id": "1",
            "received_date": daftra_time(transaction.received),
            "created": daftra_time(transaction.received),
            "modified": daftra_time(transaction.received),
        }
    }


def _handler(sim: DaftraSite) -> type[SimHandler]:
    data = sim.data

    class Handler(SimHandler):
        system = "daftra"
        log = sim.log

        def kind_of(self, method: str, path: str) -> str:
            if method == "POST" and path == TOKEN_PATH:
                return "token"
            return "read" if method in ("GET", "HEAD") else "write"

        def handle_request(self, method: str, path: str, query: dict[str, str], body: bytes) -> None:
            if path == TOKEN_PATH:
                if method != "POST":
                    self.send(405, {"message": "The GET method is not supported for this route."})
                else:
                    self.token(body)
                return
            if not path.startswith(API + "/"):
                self.send(404, {"code": 404, "result": "failed", "message": "Not Found"})
                return
            scheme, _, token = (self.headers.get("Authorization") or "").partition(" ")
            if scheme.lower() != "bearer" or not sim.valid(token.strip()):
                with sim.lock:
                    sim.rejected_tokens += 1
                self.send(401, {"code": 401, "result": "failed", "message": "Unauthenticated."})
                return
            if method not in ("GET", "HEAD"):
                self.send(405, {"code": 405, "result": "failed", "message": "Method Not Allowed"})
                return
            resource = path[len(API) + 1 :].strip("/").removesuffix(".json")
            with data.lock:
                if resource == "products":
                    rows = [render_product(data, p) for p in sorted(data.products.values(), key=lambda p: p.product_id)]
                elif resource == "stores":
                    rows = [
                        {"Store": {"id": str(s.store_id), "name": s.name, "active": "1" if s.active else "0"}}
                        for s in data.stores.values()
                    ]
                elif resource == "stock_transactions":
                    ordered = sorted(data.transactions.values(), key=lambda t: t.transaction_id)
                    rows = [render_transaction(t) for t in ordered]
                else:
                    self.send(404, {"code": 404, "result": "failed", "message": "Not Found"})
                    return
            self.page(path, rows, query)

        def page(self, path: str, rows: list[Any], query: dict[str, str]) -> None:
            try:
                page = int(query.get("page") or 1)
                limit = int(query.get("limit") or DEFAULT_LIMIT)
            except ValueError:
                self.send(400, {"code": 400, "result": "failed", "message": "Invalid page or limit"})
                return
            if not 1 <= limit <= MAX_LIMIT or page < 1:
                self.send(400, {"code": 400, "result": "failed", "message": "limit must be between 1 and 1000"})
                return
            count = max(1, math.ceil(len(rows) / limit))
            if page > count:
                self.send(404, {"code": 404, "result": "failed", "message": "Not Found"})
                return

            def link(number: int) -> str:
                return f"{path}?{urlencode({**query, 'page': number})}"

            self.send(
                200,
                {
                    "code": 200,
                    "result": "successful",
                    "data": rows[(page - 1) * limit : page * limit],
                    "pagination": {
                        "prev": link(page - 1) if page > 1 else None,
                        "next": link(page + 1) if page < count else None,
                        "page": page,
                        "page_count": count,
                        "total_results": len(rows),
                    },
                },
            )

        def token(self, body: bytes) -> None:
            form = {k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}
            if form.get("grant_type") != "password":
                unsupported = "The authorization grant type is not supported by the authorization server."
                self.send(
                    400, {"error": "unsupported_grant_type", "error_description": unsupported, "message": unsupported}
                )
            elif form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
                failed = "Client authentication failed"
                self.send(401, {"error": "invalid_client", "error_description": failed, "message": failed})
            elif form.get("username") != USERNAME or form.get("password") != PASSWORD:
                wrong = "The user credentials were incorrect."
                self.send(400, {"error": "invalid_grant", "error_description": wrong, "message": wrong})
            else:
                self.send(200, sim.issue())

    return Handler


@contextmanager
def daftra_site(data: DaftraData | None = None, **options: Any) -> Iterator[DaftraSite]:
    sim = DaftraSite(data or DaftraData(), **options)
    with serve(_handler(sim)) as base:
        sim.base = base
        yield sim
