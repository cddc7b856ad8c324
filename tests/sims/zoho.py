"""A simulation of Zoho Inventory (API v1) and its accounts server, as two real HTTP servers on 127.0.0.1.

Built from Zoho's public documentation: the API introduction (www.zoho.com/inventory/api/v1/: the root
``https://www.zohoapis.<dc>/inventory/v1``, ``organization_id`` on every request, ``Authorization:
Zoho-oauthtoken <token>``, 100 requests per minute per organization and daily quotas by plan), Zoho's OpenAPI
documents for items, locations and inventory adjustments (published by Zoho; read from the stored copy in
``api-evangelist/zoho-inventory``, ``openapi/_original/*.yml``), and the OAuth guide of Zoho's accounts server
(``POST https://accounts.zoho.<dc>/oauth/v2/token`` with ``grant_type=refresh_token``; a bad token answered 200
``{"error": "invalid_code"}``; at most ten access tokens per refresh token in ten minutes). Never bend it toward
what is convenient for Atlas.

What comes from the documents:

* ``GET /items?page=&per_page=`` (``per_page`` default 200) → ``{"code": 0, "message": "success", "items": [...],
  "page_context": {"page", "per_page", "has_more_page", ...}}``. Each item carries ``locations[]`` with
  ``location_id``, ``location_name``, ``status``, ``is_primary`` and the stock as **strings**:
  ``location_stock_on_hand``, ``location_available_stock``, ``location_actual_available_stock`` (the schema's
  type is string and its example is ``""``). ``filter_by`` takes ``Status.All``, ``Status.Active``,
  ``Status.Inactive`` ...; ``last_modified_time`` and ``created_time`` are ``2026-11-22T06:08:12+0300``.
* ``GET /items/{item_id}`` → ``{"code": 0, "message": "success", "item": {... "locations": [...]}}``.
* ``GET /locations`` → ``{"code": 0, "message": "success", "locations": [...]}`` (no page_context documented).
* ``GET /inventoryadjustments?page=&per_page=`` → ``inventory_adjustments`` (no line items: ``date``, ``reason``,
  ``reference_number``, ``adjustment_type``, ``total``) and ``page_context``; ``GET
  /inventoryadjustments/{id}`` → ``inventory_adjustment`` with ``line_items`` (``line_item_id``, ``item_id``,
  ``quantity_adjusted`` signed, ``location_id``, ``location_name``).
* ``GET /transferorders`` → ``transfer_orders`` (``transfer_order_number``, ``date``, ``status``,
  ``from_location_id``, ``to_location_id``, ``is_intransit_order``) and ``page_context``; ``GET
  /transferorders/{id}`` → ``transfer_order`` with ``line_items`` (``line_item_id``, ``item_id``,
  ``quantity_transfer``) and no status (as the documents show it). Only orders marked transferred are simulated.

* ``GET /purchaseorders?page=&per_page=`` → ``purchaseorders`` (no line items: ``status``, ``purchaseorder_number``,
  ``date``, ``delivery_date``) and ``page_context``; ``GET /purchaseorders/{id}`` → the order with
  ``expected_delivery_date``, ``location_id`` and ``line_items`` (``line_item_id``, ``item_id``, ``quantity``,
  ``quantity_received``, ``location_id``, ``location_name``; ``openapi/_original/purchaseorders.yml``).

From public client code that reads real organizations (not in the documents): the single order comes under the key
``purchaseorder`` (the documents' example says ``purchase_order``; four independent clients read ``purchaseorder``);
the list takes ``filter_by`` with one value at a time (``Status.Issued``, ``Status.PartiallyReceived``,
``Status.Draft`` ...), and its rows carry ``order_status`` (draft, open, closed, cancelled) and ``received_status``
beside ``status``; an order closed after a partial receipt is still listed under ``Status.PartiallyReceived``, and
Zoho no longer counts what it did not bring. Chosen here: an unknown ``filter_by`` value is a 400 (as for items);
a line entered before the organization turned locations on has ``location_id`` ""; an order without an expected
date has ``""`` in both date fields.

Not in the public documents, and chosen here (marked so in the report): the exact JSON of errors (Zoho answers
``{"code": <n>, "message": ...}``; the codes used are 57 for authorization, 2 for a missing organization_id,
6041 for an organization the token cannot see, 44 for the per-minute quota); that a quota answer is HTTP 429
without ``Retry-After``; that ``per_page`` above 200 is served as 200; that ``filter_by`` defaults to all items;
that a token refused for being rationed is 400 ``{"error": "Access Denied", ...}``; the list's ``stock_on_hand``
(a number, as real answers carry it beside the documented fields); the default ordering (by creation).

Every request is reported to the canary: reads as ``read``, the token request as ``token``, anything else as
``write`` (a POST to /inventoryadjustments is applied, as Zoho would: only a deliberate test write may do it).
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs

from tests.sims.auth_http import Log, SimHandler, serve
from tests.sims.zoho_model import (
    Adjustment,
    Item,
    PurchaseOrder,
    TransferOrder,
    ZohoData,
    quantity_text,
    zoho_time,
)

ROOT = "/inventory/v1"
TOKEN_PATH = "/oauth/v2/token"
CLIENT_ID = "1000.ZQ3F8W2KX7Y1ABCDEF0123456789XY"
CLIENT_SECRET = "5f2e0c1d9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e3d"
REFRESH_TOKEN = "1000.4a1b2c3d4e5f60718293a4b5c6d7e8f9.0a1b2c3d4e5f60718293a4b5c6d7e8f9"
MAX_PER_PAGE = 200
UNAUTHORIZED = {"code": 57, "message": "You are not authorized to perform this operation"}
TOO_MANY = {"code": 44, "message": "You have made too many requests continuously. Please try again after some time."}


@dataclass
class ZohoServers:
    """The accounts server and the API of one organization. ``quota``/``quota_window``: API requests allowed per
    window (Zoho: 100 per 60 s); ``token_quota``/``token_window``: access tokens per refresh token (10 per 600 s)."""

    data: ZohoData
    token_lifetime: int = 3600
    quota: int = 100
    quota_window: float = 60.0
    token_quota: int = 10
    token_window: float = 600.0
    accounts: str = ""
    api: str = ""
    log: Log = field(default_factory=Log)
    lock: threading.Lock = field(default_factory=threading.Lock)
    tokens: dict[str, float] = field(default_factory=dict)  # access token -> expiry (epoch seconds)
    issued: deque[float] = field(default_factory=deque)
    calls: deque[float] = field(default_factory=deque)
    refused_for_quota: int = 0
    rejected_tokens: int = 0  # API requests refused for an unknown or expired access token
    rationed: int = 0  # token requests refused: more than ten access tokens in ten minutes

    @property
    def token_url(self) -> str:
        return self.accounts + TOKEN_PATH

    @property
    def base(self) -> str:
        """The API's address as a person types it (the preset adds ``/inventory/v1``)."""
        return self.api

    @property
    def token_requests(self) -> int:
        return len(self.log.of(kind="token"))

    def api_requests(self, path: str | None = None) -> list[Any]:
        return [r for r in self.log.of(kind="read") if r.path.startswith(ROOT) and (path is None or r.path == path)]

    def revoke_all(self) -> None:
        with self.lock:
            self.tokens.clear()

    def issue(self) -> dict[str, Any] | None:
        """A new access token, or None when this refresh token has had its ten in ten minutes."""
        now = time.time()
        with self.lock:
            while self.issued and now - self.issued[0] > self.token_window:
                self.issued.popleft()
            if len(self.issued) >= self.token_quota:
                self.rationed += 1
                return None
            self.issued.append(now)
            token = f"1000.{secrets.token_hex(16)}.{secrets.token_hex(16)}"
            self.tokens[token] = now + self.token_lifetime
        return {
            "access_token": token,
            "api_domain": self.api or "https://www.zohoapis.sa",
            "token_type": "Bearer",
            "expires_in": self.token_lifetime,
        }

    def valid(self, token: str) -> bool:
        with self.lock:
            return self.tokens.get(token, 0) > time.time()

    def within_quota(self) -> bool:
        now = time.monotonic()
        with self.lock:
            while self.calls and now - self.calls[0] > self.quota_window:
                self.calls.popleft()
            if len(self.calls) >= self.quota:
                self.refused_for_quota += 1
                return False
            self.calls.append(now)
            return True


# --- rendering, as Zoho's documents shape each resource ------------------------------------------------------------


def location_entries(data: ZohoData, item: Item) -> list[dict[str, Any]]:
    entries = []
    for location_id, on_hand in item.stock.items():
        location = data.locations[location_id]
        available = on_hand - item.committed.get(location_id, Decimal(0))
        blank = location_id in item.blank
        entries.append(
            {
                "location_id": location_id,
                "location_name": location.name,
                "status": location.status,
                "is_primary": location.is_primary,
                "location_stock_on_hand": "" if blank else quantity_text(on_hand),
                "location_available_stock": "" if blank else quantity_text(available),
                "location_actual_available_stock": "" if blank else quantity_text(available),
            }
        )
    return entries


def render_item(data: ZohoData, item: Item) -> dict[str, Any]:
    on_hand = sum(item.stock.values(), Decimal(0))
    available = on_hand - sum(item.committed.values(), Decimal(0))
    record: dict[str, Any] = {
        "item_id": item.item_id,
        "name": item.name,
        "status": item.status,
        "source": "user",
        "is_linked_with_zohocrm": False,
        "item_type": item.item_type,
        "product_type": item.product_type,
        "description": "",
        "rate": float(item.rate),
        "is_taxable": True,
        "tax_id": "",
        "tax_name": "",
        "tax_percentage": 0,
        "purchase_description": "",
        "purchase_rate": float(item.purchase_rate),
        "is_combo_product": False,
        "reorder_level": "",
        "sku": item.sku,
        "upc": "",
        "ean": "",
        "isbn": "",
        "part_number": "",
        "unit": item.unit,
        "category_name": item.category_name,
        "track_inventory": item.track_inventory,
        "image_name": "",
        "image_type": "",
        "created_time": zoho_time(item.created),
        "last_modified_time": zoho_time(item.modified),
        "locations": location_entries(data, item) if item.track_inventory else [],
    }
    if item.track_inventory:
        record["stock_on_hand"] = float(on_hand)
        record["available_stock"] = float(available)
        record["actual_available_stock"] = float(available)
    return record


def adjustment_header(adjustment: Adjustment) -> dict[str, Any]:
    return {
        "inventory_adjustment_id": adjustment.adjustment_id,
        "date": adjustment.day.isoformat(),
        "reason": adjustment.reason,
        "reason_id": "",
        "description": adjustment.description,
        "reference_number": adjustment.reference_number,
        "adjustment_type": "quantity",
        "total": 0,
        "created_time": zoho_time(adjustment.created),
        "last_modified_time": zoho_time(adjustment.created),
        "custom_fields": [],
    }


def adjustment_detail(data: ZohoData, adjustment: Adjustment) -> dict[str, Any]:
    location = data.locations[adjustment.location_id]
    lines = []
    for line in adjustment.lines:
        item = data.items[line.item_id]
        lines.append(
            {
                "item_id": line.item_id,
                "line_item_id": line.line_item_id,
                "name": item.name,
                "description": "",
                "quantity_adjusted": float(line.quantity_adjusted),
                "item_total": 0,
                "unit": item.unit,
                "is_combo_product": False,
                "adjustment_account_id": "4815000000000388",
                "adjustment_account_name": "Cost of Goods Sold",
                "location_id": line.location_id,
                "location_name": data.locations[line.location_id].name,
            }
        )
    return {
        **adjustment_header(adjustment),
        "line_items": lines,
        "location_id": adjustment.location_id,
        "location_name": location.name,
    }


def transfer_header(data: ZohoData, order: TransferOrder) -> dict[str, Any]:
    return {
        "transfer_order_id": order.transfer_order_id,
        "transfer_order_number": order.number,
        "date": order.day.isoformat(),
        "description": "",
        "status": "transferred",
        "from_location_id": order.from_location_id,
        "from_location_name": data.locations[order.from_location_id].name,
        "to_location_id": order.to_location_id,
        "to_location_name": data.locations[order.to_location_id].name,
        "is_intransit_order": False,
        "created_time": zoho_time(order.created),
        "last_modified_time": zoho_time(order.created),
        "custom_fields": [],
    }


def transfer_detail(data: ZohoData, order: TransferOrder) -> dict[str, Any]:
    detail = {key: value for key, value in transfer_header(data, order).items() if key != "status"}
    detail["line_items"] = [
        {
            "item_id": line.item_id,
            "line_item_id": line.line_item_id,
            "name": data.items[line.item_id].name,
            "description": "",
            "quantity_transfer": float(line.quantity),
            "unit": data.items[line.item_id].unit,
        }
        for line in order.lines
    ]
    return detail


# ``filter_by`` of the purchase-order list: one value at a time. Issued: open orders with nothing received yet;
# PartiallyReceived: orders some of whose goods arrived, closed ones included (Zoho still calls a closed order
# partially received; what it counts as still to come leaves it out).
PO_FILTERS = {
    "Status.All": lambda o: True,
    "Status.Draft": lambda o: o.order_status == "draft",
    "Status.Issued": lambda o: o.order_status == "open" and o.received_status == "",
    "Status.PartiallyReceived": lambda o: (
        o.order_status in ("open", "closed") and o.received_status == "partially_received"
    ),
    "Status.Received": lambda o: o.order_status in ("open", "closed") and o.received_status == "received",
    "Status.Closed": lambda o: o.order_status == "closed",
    "Status.Cancelled": lambda o: o.order_status == "cancelled",
}


def purchase_header(data: ZohoData, order: PurchaseOrder) -> dict[str, Any]:
    """An order as the list shows it: no line items (documented), with the order, receive and bill statuses."""
    return {
        "purchaseorder_id": order.purchaseorder_id,
        "vendor_id": "4815000000044080",
        "vendor_name": "Al Rajhi Dates Co. - شركة الراجحي للتمور",
        "status": order.status,
        "order_status": order.order_status,
        "received_status": order.received_status,
        "billed_status": "",
        "purchaseorder_number": order.number,
        "reference_number": "",
        "date": order.day.isoformat(),
        "delivery_date": order.expected.isoformat() if order.expected else "",
        "currency_id": "4815000000000097",
        "currency_code": "SAR",
        "price_precision": 2,
        "total": 0,
        "custom_fields": [],
        "created_time": zoho_time(order.created),
        "last_modified_time": zoho_time(order.modified),
        "is_drop_shipment": False,
        "is_backorder": False,
    }


def purchase_detail(data: ZohoData, order: PurchaseOrder) -> dict[str, Any]:
    """The order with its ``line_items`` (quantity, quantity_received, the line's location, "" when none)."""
    detail = purchase_header(data, order)
    detail.update(
        {
            "expected_delivery_date": order.expected.isoformat() if order.expected else "",
            "location_id": order.location_id,
            "location_name": data.locations[order.location_id].name,
            "line_items": [
                {
                    "line_item_id": line.line_item_id,
                    "item_id": line.item_id,
                    "name": data.items[line.item_id].name,
                    "sku": data.items[line.item_id].sku,
                    "description": "",
                    "item_order": index,
                    "quantity": float(line.quantity),
                    "quantity_received": float(line.received),
                    "unit": data.items[line.item_id].unit,
                    "purchase_rate": float(data.items[line.item_id].purchase_rate),
                    "location_id": line.location_id,
                    "location_name": data.locations[line.location_id].name if line.location_id else "",
                }
                for index, line in enumerate(order.lines)
            ],
        }
    )
    return detail


def page_of(rows: list[Any], query: dict[str, str], report: str) -> tuple[list[Any], dict[str, Any]] | None:
    try:
        page = int(query.get("page") or 1)
        per_page = min(int(query.get("per_page") or MAX_PER_PAGE), MAX_PER_PAGE)
    except ValueError:
        return None
    if page < 1 or per_page < 1:
        return None
    start = (page - 1) * per_page
    chosen = rows[start : start + per_page]
    context = {
        "page": page,
        "per_page": per_page,
        "has_more_page": start + per_page < len(rows),
        "report_name": report,
        "sort_column": "created_time",
        "sort_order": "A",
    }
    return chosen, context


# --- the two servers -----------------------------------------------------------------------------------------------


def _accounts_handler(sim: ZohoServers) -> type[SimHandler]:
    class Accounts(SimHandler):
        system = "zoho_accounts"
        log = sim.log

        def kind_of(self, method: str, path: str) -> str:
            if method == "POST" and path == TOKEN_PATH:
                return "token"
            return "read" if method in ("GET", "HEAD") else "write"

        def handle_request(self, method: str, path: str, query: dict[str, str], body: bytes) -> None:
            if method != "POST" or path != TOKEN_PATH:
                self.send(404, {"error": "invalid_request"})
                return
            form = dict(query)  # Zoho's guide sends the values in the query string; a form body works as well
            form.update({k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace")).items()})
            if form.get("grant_type") != "refresh_token":
                self.send(200, {"error": "unsupported_grant_type"})
            elif form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
                self.send(200, {"error": "invalid_client"})
            elif form.get("refresh_token") != REFRESH_TOKEN:
                self.send(200, {"error": "invalid_code"})
            else:
                issued = sim.issue()
                if issued is None:
                    self.send(
                        400,
                        {
                            "error_description": TOO_MANY["message"],
                            "error": "Access Denied",
                            "status": "failure",
                        },
                    )
                else:
                    self.send(200, issued)

    return Accounts


def _api_handler(sim: ZohoServers) -> type[SimHandler]:
    data = sim.data

    class Api(SimHandler):
        system = "zoho_inventory"
        log = sim.log

        def kind_of(self, method: str, path: str) -> str:
            return "read" if method in ("GET", "HEAD") else "write"

        def handle_request(self, method: str, path: str, query: dict[str, str], body: bytes) -> None:
            if not path.startswith(ROOT + "/"):
                self.send(404, {"code": 5, "message": "Invalid URL Passed"})
                return
            scheme, _, token = (self.headers.get("Authorization") or "").partition(" ")
            if scheme != "Zoho-oauthtoken" or not sim.valid(token.strip()):
                with sim.lock:
                    sim.rejected_tokens += 1
                self.send(401, UNAUTHORIZED)
                return
            organization = query.get("organization_id") or self.headers.get("X-com-zoho-inventory-organizationid")
            if not organization:
                self.send(400, {"code": 2, "message": "Invalid value passed for organization_id"})
                return
            if organization != data.organization_id:
                message = f"This user is not associated with the CompanyID/CompanyName:{organization[:30]}."
                self.send(401, {"code": 6041, "message": message})
                return
            if not sim.within_quota():
                self.send(429, TOO_MANY)
                return
            resource = path[len(ROOT) :]
            if method == "POST" and resource == "/inventoryadjustments":
                self.create_adjustment(body)
            elif method not in ("GET", "HEAD"):
                self.send(405, {"code": 5, "message": "Invalid URL Passed"})
            else:
                self.read(resource, query)

        def read(self, resource: str, query: dict[str, str]) -> None:
            with data.lock:
                parts = resource.strip("/").split("/")
                if parts == ["items"]:
                    self.items(query)
                elif len(parts) == 2 and parts[0] == "items":
                    item = data.items.get(parts[1])
                    if item is None:
                        self.send(404, {"code": 1002, "message": "Item does not exist."})
                    else:
                        self.send(200, {"code": 0, "message": "success", "item": render_item(data, item)})
                elif parts == ["locations"]:
                    locations = [
                        {
                            "location_id": loc.location_id,
                            "location_name": loc.name,
                            "type": "general",
                            "status": loc.status,
                            "is_primary": loc.is_primary,
                            "address": {"city": loc.city, "country": "Saudi Arabia", "street_address1": ""},
                            "parent_location_id": "",
                        }
                        for loc in data.locations.values()
                    ]
                    self.send(200, {"code": 0, "message": "success", "locations": locations})
                elif parts == ["inventoryadjustments"]:
                    rows = sorted(data.adjustments.values(), key=lambda a: (a.day, a.adjustment_id))
                    paged = page_of(rows, query, "Inventory Adjustments")
                    if paged is None:
                        self.send(400, {"code": 2, "message": "Invalid value passed for page"})
                        return
                    chosen, context = paged
                    self.send(
                        200,
                        {
                            "code": 0,
                            "message": "success",
                            "inventory_adjustments": [adjustment_header(a) for a in chosen],
                            "page_context": context,
                        },
                    )
                elif parts == ["transferorders"]:
                    orders = sorted(data.transfer_orders.values(), key=lambda o: (o.day, o.transfer_order_id))
                    paged = page_of(orders, query, "zb.transfer.order.title")
                    if paged is None:
                        self.send(400, {"code": 2, "message": "Invalid value passed for page"})
                        return
                    chosen, context = paged
                    context["applied_filter"] = "TransferDate.All"
                    headers = [transfer_header(data, o) for o in chosen]
                    self.send(
                        200, {"code": 0, "message": "success", "transfer_orders": headers, "page_context": context}
                    )
                elif parts == ["purchaseorders"]:
                    self.purchase_orders(query)
                elif len(parts) == 2 and parts[0] == "purchaseorders":
                    purchase = data.purchase_orders.get(parts[1])
                    if purchase is None:
                        self.send(404, {"code": 1002, "message": "Purchase order does not exist."})
                    else:
                        detail = purchase_detail(data, purchase)
                        self.send(200, {"code": 0, "message": "success", "purchaseorder": detail})
                elif len(parts) == 2 and parts[0] == "transferorders":
                    order = data.transfer_orders.get(parts[1])
                    if order is None:
                        self.send(404, {"code": 1002, "message": "Transfer order does not exist."})
                    else:
                        body = {"code": 0, "message": "success", "transfer_order": transfer_detail(data, order)}
                        self.send(200, body)
                elif len(parts) == 2 and parts[0] == "inventoryadjustments":
                    adjustment = data.adjustments.get(parts[1])
                    if adjustment is None:
                        self.send(404, {"code": 1002, "message": "Inventory adjustment does not exist."})
                    else:
                        detail = adjustment_detail(data, adjustment)
                        self.send(200, {"code": 0, "message": "success", "inventory_adjustment": detail})
                else:
                    self.send(404, {"code": 5, "message": "Invalid URL Passed"})

        def items(self, query: dict[str, str]) -> None:
            chosen_filter = query.get("filter_by") or "Status.All"
            rows = sorted(data.items.values(), key=lambda i: (i.created, i.item_id))
            if chosen_filter == "Status.Active":
                rows = [i for i in rows if i.status == "active"]
            elif chosen_filter == "Status.Inactive":
                rows = [i for i in rows if i.status == "inactive"]
            elif chosen_filter != "Status.All":
                self.send(400, {"code": 2, "message": "Invalid value passed for filter_by"})
                return
            paged = page_of(rows, query, "Items")
            if paged is None:
                self.send(400, {"code": 2, "message": "Invalid value passed for page"})
                return
            chosen, context = paged
            context["applied_filter"] = chosen_filter
            items = [render_item(data, item) for item in chosen]
            self.send(200, {"code": 0, "message": "success", "items": items, "page_context": context})

        def purchase_orders(self, query: dict[str, str]) -> None:
            chosen_filter = query.get("filter_by") or "Status.All"
            keep = PO_FILTERS.get(chosen_filter)
            if keep is None:
                self.send(400, {"code": 2, "message": "Invalid value passed for filter_by"})
                return
            rows = sorted(data.purchase_orders.values(), key=lambda o: (o.created, o.purchaseorder_id))
            paged = page_of([o for o in rows if keep(o)], query, "Purchase Orders")
            if paged is None:
                self.send(400, {"code": 2, "message": "Invalid value passed for page"})
                return
            chosen, context = paged
            context["applied_filter"] = chosen_filter
            headers = [purchase_header(data, o) for o in chosen]
            self.send(200, {"code": 0, "message": "success", "purchaseorders": headers, "page_context": context})

        def create_adjustment(self, body: bytes) -> None:
            try:
                payload = json.loads(body)
                line = payload["line_items"][0]
                adjustment = data.adjust(
                    str(line["item_id"]),
                    str(line["location_id"]),
                    Decimal(str(line["quantity_adjusted"])),
                    reason=str(payload.get("reason") or "Stocktaking results"),
                )
            except (ValueError, KeyError, IndexError, TypeError):
                self.send(400, {"code": 4, "message": "Invalid value passed for JSONString"})
                return
            detail = adjustment_detail(data, adjustment)
            message = "Inventory Adjustment has been added."
            self.send(201, {"code": 0, "message": message, "inventory_adjustment": detail})

    return Api


@contextmanager
def zoho_servers(data: ZohoData | None = None, **options: Any) -> Iterator[ZohoServers]:
    """The accounts server and the API, each on its own port (as accounts.zoho.<dc> and www.zohoapis.<dc> are)."""
    sim = ZohoServers(data or ZohoData(), **options)
    with serve(_accounts_handler(sim)) as accounts, serve(_api_handler(sim)) as api:
        sim.accounts, sim.api = accounts, api
        yield sim
