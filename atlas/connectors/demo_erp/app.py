"""The demo ERP's HTTP API: a read-only inventory API with four pagination styles, like real systems have.

| endpoint                                  | pagination                                         |
| ----------------------------------------- | -------------------------------------------------- |
| GET /api/v1/items                         | page number: page (1-based), per_page (50, max 200) |
| GET /api/v1/warehouses                    | offset + limit (20, max 100)                        |
| GET /api/v1/stock                         | cursor in the body: cursor, limit (100, max 500)    |
| GET /api/v1/warehouses/{id}/stock         | page number, like items                             |
| GET /api/v1/movements                     | time window from/to + `Link: <...>; rel="next"`     |
| GET /openapi.json, GET /health            | public, no API key                                  |

Everything under /api/v1 needs an `X-API-Key` header. Only GET, HEAD and OPTIONS exist: anything else answers
405 with `Allow: GET, HEAD, OPTIONS`. Every error is JSON: `{"error": {"code": "...", "message": "..."}}`.
Movements come oldest first (by `occurred_at`, then `movement_id`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import re
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Final, TypeVar
from urllib.parse import urlencode

from litestar import Litestar, Request, Response, Router, route
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.enums import HttpMethod, ScopeType
from litestar.exceptions import HTTPException, MethodNotAllowedException, NotFoundException, ValidationException
from litestar.handlers.base import BaseRouteHandler
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.types import Message, Scope

from atlas.connectors.demo_erp.data import (
    API_KEYS,
    RIYADH_TZ,
    Catalogue,
    Dataset,
    Item,
    Location,
    Movement,
    OpenOrderLine,
    StockBalance,
    dataset,
    resolve_as_of,
)
from atlas.connectors.demo_erp.openapi import openapi_document

__all__ = ["ALLOW", "MAX_WINDOW", "create_app"]

ALLOW: Final = "GET, HEAD, OPTIONS"
READ: Final = [HttpMethod.GET, HttpMethod.HEAD]
MAX_WINDOW: Final = timedelta(days=93)
_T = TypeVar("_T")


class ApiError(HTTPException):
    """An error answered as `{"error": {"code": ..., "message": ...}}`."""

    def __init__(self, status_code: int, code: str, message: str) -> None:
        super().__init__(detail=message, status_code=status_code)
        self.code = code


# --- auth --------------------------------------------------------------------------------------------------


def _require_api_key(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    if connection.scope.get("method") == "OPTIONS":
        return
    key = connection.headers.get("x-api-key")
    if not key:
        raise ApiError(401, "unauthorized", "missing API key: send it in the X-API-Key header")
    if not any(hmac.compare_digest(key.encode(), known.encode()) for known in API_KEYS):
        raise ApiError(401, "unauthorized", "invalid API key")


def _dataset(request: Request[Any, Any, Any]) -> Dataset:
    catalogue: Catalogue = API_KEYS[request.headers["x-api-key"]]  # the guard has checked the key
    return dataset(catalogue, resolve_as_of(request.app.state.as_of))


# --- JSON shapes -------------------------------------------------------------------------------------------


def _item_json(item: Item) -> dict[str, Any]:
    return {
        "id": item.id,
        "item_code": item.item_code,
        "description": {"en": item.name_en, "ar": item.name_ar},
        "category": {"code": item.category.code, "name": item.category.name},
        "uom": item.uom,
        "cost": {"amount": f"{item.unit_cost:.2f}", "currency": item.currency},
        "supplier": {"name": item.supplier.name, "lead_time_days": item.supplier.lead_time_days},
        "active": item.active,
        "updated_at": item.updated_at.isoformat(),
        "ordering": {"min_order_qty": item.min_order_qty, "order_multiple": item.order_multiple},
    }


def _location_json(location: Location) -> dict[str, Any]:
    return {
        "id": location.id,
        "code": location.code,
        "name": {"en": location.name_en, "ar": location.name_ar},
        "type": location.type,
        "address": {"city": location.city, "district": location.district, "country": location.country},
    }


def _balance_json(balance: StockBalance) -> dict[str, Any]:
    return {
        "sku": balance.sku,
        "warehouse_id": balance.warehouse_id,
        "on_hand": balance.on_hand,
        "reserved": balance.reserved,
        "available": balance.available,
        "as_of": balance.as_of.isoformat(),
    }


def _movement_json(movement: Movement) -> dict[str, Any]:
    return {
        "movement_id": movement.movement_id,
        "sku": movement.sku,
        "warehouse_id": movement.warehouse_id,
        "type": movement.type,
        "quantity": movement.quantity,
        "direction": movement.direction,
        "occurred_at": movement.occurred_at.isoformat(),
        "reference": movement.reference,
    }


def _open_order_json(line: OpenOrderLine) -> dict[str, Any]:
    return {
        "line_id": line.line_id,
        "order_number": line.order_number,
        "type": line.type,
        "sku": line.sku,
        "warehouse_id": line.warehouse_id,
        "from_warehouse_id": line.from_warehouse_id,
        "ordered_qty": line.ordered_qty,
        "received_qty": line.received_qty,
        "ordered_at": line.ordered_at.isoformat(),
        "expected_date": line.expected_at.isoformat(),
        "status": "open" if line.type == "purchase" else "in_transit",
    }


def _numbered_page(
    records: Sequence[_T], page: int, per_page: int, render: Callable[[_T], dict[str, Any]]
) -> dict[str, Any]:
    chunk = records[(page - 1) * per_page : page * per_page]
    return {
        "data": [render(record) for record in chunk],
        "meta": {
            "page": page,
            "per_page": per_page,
            "total_pages": math.ceil(len(records) / per_page),
            "total_items": len(records),
        },
    }


# --- opaque cursors and page tokens: url-safe base64 of a small JSON object, checked on the way back ---------


def _encode_token(kind: str, offset: int, **bound: str) -> str:
    payload = json.dumps({"k": kind, "o": offset, **bound}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def _decode_token(token: str, kind: str, limit: int, error: str, **bound: str) -> int:
    """The offset in `token`, or a 400 when it is not one of ours, is for another listing, or is out of range."""
    what = error.removeprefix("invalid_").replace("_", " ")
    try:
        payload = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except ValueError:
        raise ApiError(400, error, f"malformed {what}") from None
    offset = payload.get("o") if isinstance(payload, dict) else None
    if not isinstance(payload, dict) or payload.get("k") != kind or type(offset) is not int:
        raise ApiError(400, error, f"malformed {what}")
    if any(payload.get(name) != value for name, value in bound.items()):
        raise ApiError(400, error, f"the {what} belongs to another query")
    if not 0 <= offset <= limit:
        raise ApiError(400, error, f"the {what} is out of range")
    return offset


# --- time windows ------------------------------------------------------------------------------------------

# An unencoded '+' in a query string arrives as a space: "2026-11-20T00:00:00 03:00" means +03:00.
_SPACE_FOR_PLUS = re.compile(r"(T[\d:.]+) (\d{2}(?::?\d{2})?)$")


def _instant(value: str | None, name: str) -> datetime:
    if value is None or not value.strip():
        raise ApiError(400, "invalid_window", f"'{name}' is required: an ISO 8601 date or date-time")
    text = _SPACE_FOR_PLUS.sub(r"\1+\2", value.strip())
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ApiError(400, "invalid_window", f"'{name}' is not an ISO 8601 date or date-time: {value!r}") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=RIYADH_TZ)


# --- route handlers ----------------------------------------------------------------------------------------

Page = Annotated[int, QueryParameter(ge=1, description="1-based page number")]
PerPage = Annotated[int, QueryParameter(ge=1, le=200, description="records per page")]


@route("/items", http_method=READ, sync_to_thread=False)
def list_items(request: Request[Any, Any, Any], page: Page = 1, per_page: PerPage = 50) -> dict[str, Any]:
    """Items, by page number."""
    return _numbered_page(_dataset(request).items, page, per_page, _item_json)


@route("/warehouses", http_method=READ, sync_to_thread=False)
def list_warehouses(
    request: Request[Any, Any, Any],
    offset: Annotated[int, QueryParameter(ge=0)] = 0,
    limit: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
) -> dict[str, Any]:
    """Locations (warehouses and stores), by offset and limit."""
    locations = _dataset(request).locations
    return {
        "results": [_location_json(location) for location in locations[offset : offset + limit]],
        "total": len(locations),
        "offset": offset,
        "limit": limit,
    }


@route("/stock", http_method=READ, sync_to_thread=False)
def list_stock(
    request: Request[Any, Any, Any],
    cursor: FromQuery[str | None] = None,
    limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    """Every stock balance (item x location), by an opaque cursor returned in the body."""
    balances = _dataset(request).balances
    offset = _decode_token(cursor, "stock", len(balances), "invalid_cursor") if cursor is not None else 0
    end = offset + limit
    return {
        "items": [_balance_json(balance) for balance in balances[offset:end]],
        "next_cursor": _encode_token("stock", end) if end < len(balances) else None,
    }


@route("/warehouses/{warehouse_id:str}/stock", http_method=READ, sync_to_thread=False)
def list_warehouse_stock(
    request: Request[Any, Any, Any], warehouse_id: FromPath[str], page: Page = 1, per_page: PerPage = 50
) -> dict[str, Any]:
    """The stock balances of one location, by page number."""
    data = _dataset(request)
    if data.location(warehouse_id) is None:
        raise ApiError(404, "not_found", f"no warehouse {warehouse_id!r}")
    return _numbered_page(data.balances_by_location[warehouse_id], page, per_page, _balance_json)


@route("/movements", http_method=READ, sync_to_thread=False)
def list_movements(
    request: Request[Any, Any, Any],
    window_from: Annotated[str | None, QueryParameter(name="from")] = None,
    window_to: Annotated[str | None, QueryParameter(name="to")] = None,
    page_size: Annotated[int, QueryParameter(ge=1, le=1000)] = 200,
    page_token: FromQuery[str | None] = None,
) -> Response[dict[str, Any]]:
    """Movements with from <= occurred_at < to, oldest first; the next page is in the `Link` header."""
    start, end = _instant(window_from, "from"), _instant(window_to, "to")
    if end <= start:
        raise ApiError(400, "invalid_window", "'to' must be later than 'from'")
    if end - start > MAX_WINDOW:
        raise ApiError(400, "invalid_window", f"the window is longer than {MAX_WINDOW.days} days")
    data = _dataset(request)
    low, high = data.movement_range(start, end)
    window = hashlib.sha256(f"{start.timestamp()}|{end.timestamp()}".encode()).hexdigest()[:16]
    offset = 0
    if page_token is not None:
        offset = _decode_token(page_token, "movements", high - low, "invalid_page_token", w=window)
    first, last = low + offset, min(high, low + offset + page_size)
    headers: dict[str, str] = {}
    if last < high:
        query = {
            "from": start.isoformat(),
            "to": end.isoformat(),
            "page_size": str(page_size),
            "page_token": _encode_token("movements", last - low, w=window),
        }
        next_url = f"{str(request.base_url).rstrip('/')}/api/v1/movements?{urlencode(query)}"
        headers["Link"] = f'<{next_url}>; rel="next"'
    return Response({"movements": [_movement_json(m) for m in data.movements[first:last]]}, headers=headers)


@route("/open-orders", http_method=READ, sync_to_thread=False)
def list_open_orders(request: Request[Any, Any, Any], page: Page = 1, per_page: PerPage = 50) -> dict[str, Any]:
    """Purchase order lines not yet fully received and transfers in transit, by page number."""
    return _numbered_page(_dataset(request).open_orders, page, per_page, _open_order_json)


@route("/health", http_method=READ, sync_to_thread=False)
def health() -> dict[str, str]:
    """Liveness, without an API key."""
    return {"status": "ok"}


@route("/openapi.json", http_method=READ, sync_to_thread=False)
def openapi(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """This API's OpenAPI 3.1 document, without an API key."""
    return openapi_document(str(request.base_url).rstrip("/"))


# --- errors ------------------------------------------------------------------------------------------------

_CODES: Final = {400: "bad_request", 401: "unauthorized", 404: "not_found", 405: "method_not_allowed"}


def _validation_message(exc: ValidationException) -> str:
    problems = exc.extra if isinstance(exc.extra, list) else []
    parts = [
        f"{getattr(source, 'value', source)} parameter {problem.get('key')!r}: {problem.get('message')}"
        for problem in problems
        if isinstance(problem, dict) and (source := problem.get("source", "query"))
    ]
    return "; ".join(parts) or str(exc.detail)


def _error(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    headers: dict[str, str] = {}
    if isinstance(exc, ApiError):
        status, code, message = exc.status_code, exc.code, exc.detail
    elif isinstance(exc, ValidationException):
        status, code, message = 400, "invalid_parameter", _validation_message(exc)
    elif isinstance(exc, MethodNotAllowedException):
        status, code = 405, "method_not_allowed"
        message = f"{request.method} is not allowed: this API is read-only ({ALLOW})"
        headers["Allow"] = ALLOW
    elif isinstance(exc, NotFoundException):
        status, code, message = 404, "not_found", f"no such path: {request.url.path}"
    elif isinstance(exc, HTTPException):
        status, message = exc.status_code, exc.detail
        code = _CODES.get(status, "error")
    else:
        status, code, message = 500, "internal_error", "internal error"
    return Response({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


async def _no_body_for_head(message: Message, scope: Scope) -> None:
    """HEAD gets the GET headers (Content-Length included) and no body, whichever server runs the app."""
    if message["type"] == "http.response.body" and scope["type"] == ScopeType.HTTP and scope["method"] == "HEAD":
        message["body"] = b""


def create_app(as_of: date | None = None) -> Litestar:
    """The demo ERP as an ASGI app. `as_of` fixes the data's date; None means today's date in Riyadh, per request."""

    def warm_up() -> None:  # build today's data at start-up rather than on the first request
        for catalogue in Catalogue:
            dataset(catalogue, resolve_as_of(as_of))

    api = Router(
        path="/api/v1",
        guards=[_require_api_key],
        route_handlers=[
            list_items,
            list_warehouses,
            list_stock,
            list_warehouse_stock,
            list_movements,
            list_open_orders,
        ],
    )
    return Litestar(
        route_handlers=[api, health, openapi],
        state=State({"as_of": as_of}),
        exception_handlers={Exception: _error},
        before_send=[_no_body_for_head],
        on_startup=[warm_up],
        openapi_config=None,
        logging_config=None,  # keep the host process's logging (the demo runs it inside Atlas's own process)
    )
