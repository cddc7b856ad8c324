"""A reference connector and mappings for InvenTree, as an admin would type them into Atlas.

The connector reads four endpoints, each ending in its ``/`` (InvenTree answers 404 without it), with limit/offset
pages (without ``limit`` InvenTree would answer one bare array of everything) and ``Authorization: Token <key>``
(a ``Bearer`` with the same key is refused). The mappings:

* parts → items: the external id is the part's pk; the SKU is the IPN, or the pk when the IPN is empty (most
  demo parts have none); ``category_name`` is the category; ``units`` "" means pieces.
* locations → locations: code ← pk, name ← ``pathstring`` (``Riyadh DC/Aisle A/Shelf A2``: a leaf's own name is
  not unique, ``Shelf 1`` exists twice). InvenTree has no code or address.
* stock items → balances: each stock row (a lot, a serial, a split) is one part of its (part, location) balance,
  identified by its pk, and the parts add up (``combine: sum``); ``allocated`` is reserved; a row without a
  location goes to Atlas's "no location" bucket.
* tracking entries (``item_detail=true``) → movements: ``item`` is a STOCK ROW pk, so the part comes from
  ``item_detail.part`` and the location from ``item_detail.location`` (where the stock row is now: InvenTree keeps no
  other). Entries of serialised items are skipped (``serializeStock`` copies the original's whole history onto
  every serial item, so they would count it once per serial), and so are entries that change no quantity (edits,
  moves of a whole item, serial assignment). Stock counts hold only the counted quantity: the count rule makes
  them adjustments of counted minus the level before, per stock row (``level_key`` ← ``item``); every other entry
  with a quantity after it gives that level (``deltas.quantity``), so the chain of levels has no gap.
"""

from __future__ import annotations

from typing import Any

from tests.sims.inventree import TOKEN

# StockHistoryCode values (stock/status_codes.py) that change a stock row's quantity, and what they are.
MOVEMENT_KINDS = {
    "1": "receipt",  # CREATED: the stock arrived (its quantity)
    "11": "receipt",  # STOCK_ADD: added
    "12": "sale",  # STOCK_REMOVE: removed (a sale recorded by hand)
    "40": "transfer_in",  # SPLIT_FROM_PARENT: the new row's quantity, split off another row
    "42": "transfer_out",  # SPLIT_CHILD_ITEM: removed from this row into a new one
    "57": "issue",  # BUILD_CONSUMED: consumed by a build order
}
OUTGOING = [12, 42, 57]
COUNT = 10  # STOCK_COUNT


def inventree_connector_body(
    base_url: str,
    *,
    token: str = TOKEN,
    name: str = "InvenTree",
    stock_page: int = 200,
    incremental_stock: bool = False,
) -> dict[str, Any]:
    """The body of ``POST /api/connectors``. ``incremental_stock``: read stock rows by ``updated_after`` date
    windows instead of in full (an incremental read: it never zeroes a balance)."""
    stock: dict[str, Any] = {
        "key": "stock",
        "resource": "stock_balances",
        "path": "/api/stock/",
        "record_path": "$.results",
        "pagination": {"kind": "offset", "page_size": stock_page, "total_path": "$.count"},
    }
    if incremental_stock:
        stock["time_window"] = {
            "start_param": "updated_after",
            "end_param": "updated_before",
            "format": "date",
            "window_hours": 24 * 60,
            "lookback_days": 365,
        }
    return {
        "name": name,
        "base_url": base_url,
        "environment": "production",
        "auth": {"kind": "header", "scheme": "Token", "credential": token},
        "rate_limit_per_second": 50,
        "rate_limit_burst": 20,
        "max_concurrency": 2,
        "endpoints": [
            {
                "key": "parts",
                "resource": "items",
                "path": "/api/part/",
                "record_path": "$.results",
                "pagination": {"kind": "offset", "page_size": 100, "total_path": "$.count"},
            },
            {
                "key": "locations",
                "resource": "locations",
                "path": "/api/stock/location/",
                "record_path": "$.results",
                "pagination": {"kind": "offset", "page_size": 100, "total_path": "$.count"},
            },
            stock,
            {
                "key": "history",
                "resource": "stock_movements",
                "path": "/api/stock/track/",
                "record_path": "$.results",
                # The first page's ``limit`` is a parameter: a next-URL cursor sends no page size of its own, and
                # without ``limit`` InvenTree answers one bare array. The next links keep it.
                "params": {"item_detail": "true", "limit": "500"},
                "pagination": {"kind": "cursor", "cursor_source": "next_url", "cursor_path": "$.next"},
            },
        ],
    }


INVENTREE_MAPPINGS: dict[str, dict[str, Any]] = {
    "parts": {
        "record_path": "$.results",
        "fields": {
            "external_id": {"path": "$.pk"},
            "sku": {"paths": ["$.IPN", "$.pk"]},
            "name": {"path": "$.name"},
            "category": {"path": "$.category_name"},
            "unit_of_measure": {"path": "$.units", "default": "pcs"},
        },
    },
    "locations": {
        "record_path": "$.results",
        "fields": {
            "code": {"path": "$.pk"},
            "name": {"path": "$.pathstring"},
            "type": {
                "path": "$.location_type_detail.name",
                "transforms": [{"op": "lookup", "table": {"Warehouse": "warehouse"}, "default": "other"}],
            },
        },
    },
    "stock": {
        "record_path": "$.results",
        "combine": "sum",
        "fields": {
            "source_id": {"path": "$.pk"},
            "item_ref": {"path": "$.part"},
            "location_ref": {"path": "$.location"},
            "quantity": {"path": "$.quantity"},
            "reserved_qty": {"path": "$.allocated"},
            "as_of": {"path": "$.updated"},
        },
    },
    "history": {
        "record_path": "$.results",
        "skip": [
            {"path": "$.item_detail.serial", "empty": False},
            {"path": "$.tracking_type", "not_in": [COUNT, *(int(k) for k in MOVEMENT_KINDS)]},
        ],
        "count": {
            "when": [{"path": "$.tracking_type", "equals": COUNT}],
            "counted": {"path": "$.deltas.quantity"},
            "level_key": {"path": "$.item"},
        },
        "fields": {
            "external_id": {"path": "$.pk"},
            "item_ref": {"path": "$.item_detail.part"},
            "location_ref": {"path": "$.item_detail.location"},
            "occurred_at": {"path": "$.date"},
            "quantity": {
                "paths": ["$.deltas.added", "$.deltas.removed", "$.deltas.quantity"],
                "transforms": [{"op": "negate_when", "path": "$.tracking_type", "values": OUTGOING}],
            },
            "kind": {"path": "$.tracking_type", "transforms": [{"op": "lookup", "table": MOVEMENT_KINDS}]},
            "reference": {"path": "$.label"},
            "level": {"path": "$.deltas.quantity"},
        },
    },
}
