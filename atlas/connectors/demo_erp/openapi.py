"""The demo ERP's own OpenAPI 3.1 document, written by hand like a vendor's (served at GET /openapi.json)."""

from __future__ import annotations

import copy
from typing import Any, Final

_JSON: Final = "application/json"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _query(name: str, description: str, schema: dict[str, Any], *, required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "description": description, "schema": schema}


def _integer(default: int, minimum: int, maximum: int | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "integer", "default": default, "minimum": minimum}
    if maximum is not None:
        schema["maximum"] = maximum
    return schema


def _ok(description: str, schema: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description, "content": {_JSON: {"schema": _ref(schema)}}}
    if headers:
        response["headers"] = headers
    return response


def _errors(*statuses: str) -> dict[str, Any]:
    return {status: {"$ref": f"#/components/responses/{_ERROR_RESPONSES[status]}"} for status in statuses}


_ERROR_RESPONSES: Final = {"400": "BadRequest", "401": "Unauthorized", "404": "NotFound"}

_PAGE = _query("page", "1-based page number", _integer(1, 1))
_PER_PAGE = _query("per_page", "records per page", _integer(50, 1, 200))


def _read(
    operation_id: str,
    summary: str,
    description: str,
    parameters: list[dict[str, Any]],
    responses: dict[str, Any],
    *,
    public: bool = False,
    tag: str = "inventory",
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": operation_id,
        "summary": summary,
        "description": description,
        "tags": [tag],
        "parameters": parameters,
        "responses": responses,
    }
    if public:
        operation["security"] = []
    return {"get": operation}


_PATHS: Final[dict[str, Any]] = {
    "/api/v1/items": _read(
        "listItems",
        "List items",
        "The item master, paginated by page number (1-based). A page past the last one is empty.",
        [_PAGE, _PER_PAGE],
        {"200": _ok("A page of items", "ItemPage"), **_errors("400", "401")},
    ),
    "/api/v1/warehouses": _read(
        "listWarehouses",
        "List warehouses and stores",
        "Stock locations, paginated by offset and limit.",
        [
            _query("offset", "records to skip", _integer(0, 0)),
            _query("limit", "records to return", _integer(20, 1, 100)),
        ],
        {"200": _ok("A slice of locations", "WarehouseList"), **_errors("400", "401")},
    ),
    "/api/v1/warehouses/{id}/stock": _read(
        "listWarehouseStock",
        "List the stock balances of one location",
        "The balances of one warehouse or store, paginated by page number (1-based).",
        [
            {
                "name": "id",
                "in": "path",
                "required": True,
                "description": "location id, e.g. WH-RUH-01",
                "schema": {"type": "string"},
            },
            _PAGE,
            _PER_PAGE,
        ],
        {"200": _ok("A page of stock balances", "StockBalancePage"), **_errors("400", "401", "404")},
    ),
    "/api/v1/stock": _read(
        "listStock",
        "List all stock balances",
        "Every balance (item x location), paginated by an opaque cursor: pass `next_cursor` from one response as "
        "`cursor` in the next request; `next_cursor` is null on the last page.",
        [
            _query("cursor", "opaque cursor from the previous page's next_cursor", {"type": "string"}),
            _query("limit", "records to return", _integer(100, 1, 500)),
        ],
        {"200": _ok("A page of stock balances", "StockCursorPage"), **_errors("400", "401")},
    ),
    "/api/v1/movements": _read(
        "listMovements",
        "List stock movements in a time window",
        "Movements with from <= occurred_at < to, oldest first (then by movement_id). The window may be at most "
        "93 days long. When there are more, the `Link` header holds the absolute URL of the next page "
        '(rel="next"); follow it as is.',
        [
            _query(
                "from",
                "start of the window (inclusive), ISO 8601; without an offset it is Asia/Riyadh time",
                {"type": "string", "format": "date-time"},
                required=True,
            ),
            _query(
                "to",
                "end of the window (exclusive), ISO 8601",
                {"type": "string", "format": "date-time"},
                required=True,
            ),
            _query("page_size", "movements per page", _integer(200, 1, 1000)),
            _query("page_token", "opaque token, only ever taken from a Link header", {"type": "string"}),
        ],
        {
            "200": _ok(
                "A page of movements",
                "MovementPage",
                {
                    "Link": {
                        "description": 'The next page, when there is one: <absolute-url>; rel="next"',
                        "schema": {"type": "string"},
                    }
                },
            ),
            **_errors("400", "401"),
        },
    ),
    "/api/v1/open-orders": _read(
        "listOpenOrders",
        "List open purchase orders and transfers in transit",
        "Purchase order lines not yet fully received (`type` purchase, `status` open) and transfers shipped but not "
        "yet received (`type` transfer, `status` in_transit), paginated by page number (1-based). What is still to "
        "arrive at `warehouse_id` is `ordered_qty - received_qty`. A line leaves the list once it is received in "
        "full or cancelled.",
        [_PAGE, _PER_PAGE],
        {"200": _ok("A page of open order lines", "OpenOrderPage"), **_errors("400", "401")},
    ),
    "/health": _read(
        "health",
        "Liveness",
        "Answers without an API key.",
        [],
        {"200": _ok("The service is up", "Health")},
        public=True,
        tag="system",
    ),
    "/openapi.json": _read(
        "openapi",
        "This document",
        "The OpenAPI 3.1 description of this API; answers without an API key.",
        [],
        {"200": {"description": "An OpenAPI 3.1 document", "content": {_JSON: {"schema": {"type": "object"}}}}},
        public=True,
        tag="system",
    ),
}

_STRING: Final = {"type": "string"}
_INTEGER: Final = {"type": "integer"}


def _object(properties: dict[str, Any], description: str | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "required": list(properties), "properties": properties}
    if description:
        schema["description"] = description
    return schema


_PAGE_META = _object({"page": _INTEGER, "per_page": _INTEGER, "total_pages": _INTEGER, "total_items": _INTEGER})

_SCHEMAS: Final[dict[str, Any]] = {
    "LocalizedText": _object({"en": _STRING, "ar": _STRING}, "The same text in English and Arabic"),
    "Item": _object(
        {
            "id": _INTEGER,
            "item_code": {"type": "string", "examples": ["SKU-0001"]},
            "description": _ref("LocalizedText"),
            "category": _object({"code": {"type": "string", "examples": ["BEV"]}, "name": _STRING}),
            "uom": {"type": "string", "enum": ["EA", "PK", "CTN"]},
            "cost": _object(
                {
                    "amount": {"type": "string", "pattern": r"^\d+\.\d{2}$", "description": "decimal, as a string"},
                    "currency": {"type": "string", "examples": ["SAR"]},
                }
            ),
            "supplier": _object({"name": _STRING, "lead_time_days": _INTEGER}),
            "active": {"type": "boolean"},
            "updated_at": {"type": "string", "format": "date-time"},
            "ordering": _object(
                {
                    "min_order_qty": {"type": "integer", "minimum": 1, "description": "the least the supplier takes"},
                    "order_multiple": {
                        "type": "integer",
                        "minimum": 1,
                        "description": "orders are multiples of this (the case pack), in the item's unit",
                    },
                },
                "How the supplier takes orders of the item",
            ),
        }
    ),
    "Warehouse": _object(
        {
            "id": {"type": "string", "examples": ["WH-RUH-01"]},
            "code": _STRING,
            "name": _ref("LocalizedText"),
            "type": {"type": "string", "enum": ["warehouse", "store"]},
            "address": _object(
                {"city": _STRING, "district": _STRING, "country": {"type": "string", "examples": ["SA"]}}
            ),
        }
    ),
    "StockBalance": _object(
        {
            "sku": _STRING,
            "warehouse_id": _STRING,
            "on_hand": {"type": "integer", "minimum": 0},
            "reserved": {"type": "integer", "minimum": 0},
            "available": {"type": "integer", "minimum": 0, "description": "on_hand - reserved"},
            "as_of": {"type": "string", "format": "date-time"},
        }
    ),
    "Movement": _object(
        {
            "movement_id": {"type": "string", "examples": ["MV-00100001"]},
            "sku": _STRING,
            "warehouse_id": _STRING,
            "type": {"type": "string", "enum": ["SALE", "GOODS_RECEIPT", "TRANSFER_IN", "TRANSFER_OUT", "ADJUSTMENT"]},
            "quantity": {"type": "integer", "minimum": 1, "description": "always positive; direction gives the sign"},
            "direction": {"type": "string", "enum": ["in", "out"]},
            "occurred_at": {"type": "string", "format": "date-time"},
            "reference": {"type": "string", "examples": ["INV-2026-004512"]},
        }
    ),
    "OpenOrderLine": _object(
        {
            "line_id": {"type": "string", "examples": ["PO-2026-0003178-1"]},
            "order_number": {"type": "string", "examples": ["PO-2026-0003178"]},
            "type": {"type": "string", "enum": ["purchase", "transfer"]},
            "sku": _STRING,
            "warehouse_id": {"type": "string", "description": "the receiving location"},
            "from_warehouse_id": {
                "type": ["string", "null"],
                "description": "a transfer's source; null for a purchase",
            },
            "ordered_qty": {"type": "integer", "minimum": 1},
            "received_qty": {"type": "integer", "minimum": 0},
            "ordered_at": {"type": "string", "format": "date-time"},
            "expected_date": {"type": "string", "format": "date-time"},
            "status": {"type": "string", "enum": ["open", "in_transit"]},
        }
    ),
    "OpenOrderPage": _object({"data": {"type": "array", "items": _ref("OpenOrderLine")}, "meta": _ref("PageMeta")}),
    "PageMeta": _PAGE_META,
    "ItemPage": _object({"data": {"type": "array", "items": _ref("Item")}, "meta": _ref("PageMeta")}),
    "WarehouseList": _object(
        {
            "results": {"type": "array", "items": _ref("Warehouse")},
            "total": _INTEGER,
            "offset": _INTEGER,
            "limit": _INTEGER,
        }
    ),
    "StockBalancePage": _object({"data": {"type": "array", "items": _ref("StockBalance")}, "meta": _ref("PageMeta")}),
    "StockCursorPage": _object(
        {"items": {"type": "array", "items": _ref("StockBalance")}, "next_cursor": {"type": ["string", "null"]}}
    ),
    "MovementPage": _object({"movements": {"type": "array", "items": _ref("Movement")}}),
    "Health": _object({"status": {"type": "string", "enum": ["ok"]}}),
    "Error": _object(
        {"error": _object({"code": {"type": "string", "examples": ["unauthorized"]}, "message": _STRING})}
    ),
}


def _error_response(description: str) -> dict[str, Any]:
    return {"description": description, "content": {_JSON: {"schema": _ref("Error")}}}


def openapi_document(server_url: str | None = None) -> dict[str, Any]:
    """The document; `server_url` (the base URL the request came to) goes into `servers` when given."""
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "Demo ERP inventory API",
            "version": "1.0.0",
            "description": "A read-only inventory API (items, locations, stock balances, stock movements, open "
            "orders). "
            "Every /api/v1 endpoint needs the X-API-Key header; only GET, HEAD and OPTIONS are allowed "
            '(anything else is 405). Errors are JSON: {"error": {"code": ..., "message": ...}}. '
            "Times are Asia/Riyadh (+03:00).",
        },
        "paths": copy.deepcopy(_PATHS),
        "components": {
            "securitySchemes": {"ApiKeyAuth": {"type": "apiKey", "in": "header", "name": "X-API-Key"}},
            "schemas": copy.deepcopy(_SCHEMAS),
            "responses": {
                "BadRequest": _error_response("Invalid parameter, cursor, page token or time window"),
                "Unauthorized": _error_response("Missing or invalid API key"),
                "NotFound": _error_response("No such resource"),
            },
        },
        "security": [{"ApiKeyAuth": []}],
        "tags": [{"name": "inventory"}, {"name": "system"}],
    }
    if server_url:
        document["servers"] = [{"url": server_url}]
    return document
