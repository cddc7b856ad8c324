"""The InvenTree preset's connector and mappings, for tests that vary them, and what InvenTree's codes mean.

The preset (atlas/presets/files/inventree.toml) is what a customer connects with; this module renders it.

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

from atlas.presets.loader import get_preset, render
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
    """The body of ``POST /api/connectors`` that the InvenTree preset lays down (atlas/presets/files/inventree.toml),
    for tests that vary it. ``incremental_stock``: read stock rows by ``updated_after`` date windows instead of in
    full (an incremental read: it never zeroes a balance)."""
    body = render(get_preset("inventree"), base_url, {"token": token}, name=name).connector
    stock = next(e for e in body["endpoints"] if e["key"] == "stock")
    stock["pagination"]["page_size"] = stock_page
    if incremental_stock:
        stock["time_window"] = {
            "start_param": "updated_after",
            "end_param": "updated_before",
            "format": "date",
            "window_hours": 24 * 60,
            "lookback_days": 365,
        }
    return body


# The preset's mappings, as the preset connects them (one per endpoint).
INVENTREE_MAPPINGS: dict[str, dict[str, Any]] = render(
    get_preset("inventree"), "http://inventree.invalid", {"token": "-"}
).mappings
