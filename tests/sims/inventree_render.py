"""How InvenTree's serializers render the simulated state as JSON (``stock/serializers.py``, ``part/serializers.py``).

Field lists follow the serializers' ``Meta.fields`` order with their default detail flags; quantities and the
``allocated`` annotation are JSON floats (``InvenTreeDecimalField`` and ``FloatField`` are float fields); money
(``InvenTreeMoneySerializer``: prices in ``*_detail`` and on parts) is a decimal string with six places; datetimes
use REST_FRAMEWORK's ``DATETIME_FORMAT`` ``%Y-%m-%d %H:%M`` in server time (UTC), dates ISO.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from tests.sims.inventree_model import (
    PO_OPEN,
    STATUS_LABELS,
    TRACKING_LABELS,
    ZERO,
    InvenTreeData,
    Location,
    Part,
    PurchaseOrderLine,
    StockItem,
    TrackingEntry,
)

THUMBNAIL = "/static/img/blank_image.thumbnail.png"
USERS = {1: {"pk": 1, "username": "admin", "first_name": "Admin", "last_name": "User", "email": "admin@example.com"}}


def when(moment: datetime | None) -> str | None:
    """DRF's DateTimeField with ``DATETIME_FORMAT = '%Y-%m-%d %H:%M'``: converted to the server's zone (UTC),
    minutes, no zone."""
    return None if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def money(value: Decimal | None) -> str | None:
    """A DRF DecimalField with six decimal places renders a string (COERCE_DECIMAL_TO_STRING)."""
    return None if value is None else f"{value.quantize(Decimal('0.000001'))}"


def number(value: Decimal) -> float:
    return float(value)


def full_name(part: Part) -> str:
    """PART_NAME_FORMAT's default: ``IPN | name | revision``, each only when set."""
    return " | ".join(x for x in (part.IPN or "", part.name, part.revision) if x)


@dataclass
class PartStock:
    """The Part list's stock annotations."""

    in_stock: Decimal = ZERO
    item_count: int = 0
    sales_allocated: Decimal = ZERO
    build_allocated: Decimal = ZERO


class Renderer:
    """Renders one response; the annotations (counts over all stock items and tracking entries) and location
    bodies are computed once per response, as the real server computes them in one query."""

    def __init__(self, data: InvenTreeData) -> None:
        self.data = data
        self._children: dict[int, int] | None = None
        self._tracked: dict[int, int] = {}
        self._part_stock: dict[int, PartStock] | None = None
        self._locations: dict[int, dict[str, Any]] = {}

    # --- annotations ----------------------------------------------------------------------------------
    def _counts(self) -> tuple[dict[int, int], dict[int, int]]:
        if self._children is None:
            self._children = {}
            for item in self.data.items.values():
                if item.parent is not None:
                    self._children[item.parent] = self._children.get(item.parent, 0) + 1
            for entry in self.data.tracking.values():
                self._tracked[entry.item] = self._tracked.get(entry.item, 0) + 1
        return self._children, self._tracked

    def part_stock(self, part: int) -> PartStock:
        if self._part_stock is None:
            self._part_stock = {}
            for item in self.data.items.values():
                entry = self._part_stock.setdefault(item.part, PartStock())
                entry.item_count += 1
                entry.sales_allocated += item.sales_allocated
                entry.build_allocated += item.build_allocated
                if item.in_stock:
                    entry.in_stock += item.quantity
        return self._part_stock.get(part, PartStock())

    # --- parts ----------------------------------------------------------------------------------------
    def part(self, part: Part, *, detail: bool = False) -> dict[str, Any]:
        """PartSerializer (list and detail; ``notes`` only on the detail view)."""
        stock = self.part_stock(part.pk)
        unallocated = stock.in_stock - stock.sales_allocated - stock.build_allocated
        body: dict[str, Any] = {
            "active": part.active,
            "assembly": part.assembly,
            "barcode_hash": "",
            "category": part.category,
            "category_name": self.data.category_name(part.category),
            "component": part.component,
            "creation_date": day(part.creation_date),
            "creation_user": None,
            "default_expiry": 0,
            "default_location": part.default_location,
            "default_supplier": None,
            "description": part.description,
            "full_name": full_name(part),
            "image": None,
            "thumbnail": THUMBNAIL,
            "IPN": part.IPN,
            "is_template": False,
            "keywords": part.keywords,
            "link": "",
            "locked": False,
            "minimum_stock": number(part.minimum_stock),
            "name": part.name,
            "pk": part.pk,
            "purchaseable": part.purchaseable,
            "revision": part.revision,
            "salable": part.salable,
            "starred": False,
            "trackable": part.trackable,
            "units": part.units,
            "variant_of": None,
            "virtual": part.virtual,
            "pricing_min": money(part.pricing_min),
            "pricing_max": money(part.pricing_max),
            "pricing_updated": when(part.pricing_updated),
            "responsible": None,
            "allocated_to_build_orders": number(stock.build_allocated),
            "allocated_to_sales_orders": number(stock.sales_allocated),
            "building": 0.0,
            "category_default_location": None,
            "in_stock": number(stock.in_stock),
            "ordering": 0.0,
            "required_for_build_orders": 0,
            "required_for_sales_orders": 0,
            "stock_item_count": stock.item_count,
            "suppliers": 0,
            "total_in_stock": number(stock.in_stock),
            "external_stock": 0.0,
            "unallocated_stock": number(unallocated),
            "variant_stock": 0.0,
            "tags": [],
        }
        if detail:
            body["notes"] = None
        return body

    @staticmethod
    def part_brief(part: Part) -> dict[str, Any]:
        """PartBriefSerializer: the ``part_detail`` of a stock item."""
        return {
            "pk": part.pk,
            "IPN": part.IPN,
            "barcode_hash": "",
            "category_default_location": None,
            "default_location": part.default_location,
            "default_expiry": 0,
            "name": part.name,
            "revision": part.revision,
            "full_name": full_name(part),
            "description": part.description,
            "image": None,
            "thumbnail": THUMBNAIL,
            "active": part.active,
            "locked": False,
            "assembly": part.assembly,
            "component": part.component,
            "is_template": False,
            "purchaseable": part.purchaseable,
            "salable": part.salable,
            "testable": False,
            "trackable": part.trackable,
            "virtual": part.virtual,
            "units": part.units,
            "pricing_min": money(part.pricing_min),
            "pricing_max": money(part.pricing_max),
        }

    # --- locations ------------------------------------------------------------------------------------
    def location(self, location: Location) -> dict[str, Any]:
        """LocationSerializer: no code and no address; the tree is in ``parent``, ``level`` and ``pathstring``;
        ``items`` counts the stock items in the location and below it."""
        if location.pk in self._locations:
            return dict(self._locations[location.pk])
        data = self.data
        below = data.sublocations(location.pk)
        places = {location.pk, *below}
        kind = data.location_types.get(location.location_type) if location.location_type else None
        body = {
            "pk": location.pk,
            "barcode_hash": "",
            "name": location.name,
            "level": data.level(location.pk),
            "description": location.description,
            "parent": location.parent,
            "pathstring": data.pathstring(location.pk),
            "items": sum(1 for item in data.items.values() if item.location in places),
            "sublocations": len(below),
            "owner": None,
            "icon": location.custom_icon or (kind.icon if kind else ""),
            "custom_icon": location.custom_icon or None,
            "structural": location.structural,
            "external": location.external,
            "location_type": location.location_type,
            "location_type_detail": None
            if kind is None
            else {
                "pk": kind.pk,
                "name": kind.name,
                "description": kind.description,
                "icon": kind.icon,
                "location_count": sum(1 for loc in data.locations.values() if loc.location_type == kind.pk),
            },
            "tags": [],
        }
        self._locations[location.pk] = body
        return dict(body)

    # --- stock items ----------------------------------------------------------------------------------
    def stock(
        self,
        item: StockItem,
        *,
        part_detail: bool = True,
        location_detail: bool = False,
        supplier_part_detail: bool = False,
    ) -> dict[str, Any]:
        """StockItemSerializer, its ``Meta.fields`` order; ``part_detail`` is on unless turned off (API v296)."""
        data = self.data
        children, tracked = self._counts()
        body: dict[str, Any] = {
            "pk": item.pk,
            "part": item.part,
            "quantity": number(item.quantity),
            "serial": item.serial,
            "batch": item.batch,
            "location": item.location,
            "belongs_to": item.belongs_to,
            "build": None,
            "consumed_by": item.consumed_by,
            "customer": item.customer,
            "delete_on_deplete": item.delete_on_deplete,
            "expiry_date": day(item.expiry_date),
            "in_stock": item.in_stock,
            "is_building": item.is_building,
            "link": "",
            "notes": item.notes,
            "owner": None,
            "packaging": item.packaging,
            "parent": item.parent,
            "purchase_order": None,
            "purchase_order_reference": None,
            "sales_order": item.sales_order,
            "sales_order_reference": None,
            "status": item.status,
            "status_text": STATUS_LABELS.get(item.status, ""),
            "status_custom_key": item.status,
            "supplier_part": None,
            "SKU": None,
            "MPN": None,
            "barcode_hash": "",
            "updated": when(item.updated),
            "stocktake_date": day(item.stocktake_date),
            "purchase_price": money(item.purchase_price),
            "purchase_price_currency": "USD" if item.purchase_price is not None else "",
            "allocated": number(item.allocated),
            "expired": False,
            "installed_items": 0,
            "child_items": children.get(item.pk, 0),
            "stale": False,
            "tracking_items": tracked.get(item.pk, 0),
            "tags": [],
        }
        if supplier_part_detail:
            body["supplier_part_detail"] = None
        if part_detail:
            body["part_detail"] = self.part_brief(data.parts[item.part])
        if location_detail:
            body["location_detail"] = (
                None
                if item.location is None
                else {
                    "pk": item.location,
                    "name": data.locations[item.location].name,
                    "pathstring": data.pathstring(item.location),
                }
            )
        return body

    # --- tracking -------------------------------------------------------------------------------------
    def track(
        self, entry: TrackingEntry, *, item_detail: bool = False, user_detail: bool = False, list_view: bool = False
    ) -> dict[str, Any]:
        """StockTrackingSerializer. ``item`` is a stock item pk; ``item_detail`` is the stock item as it is NOW (its
        current location, with its own part, location and supplier part details: a nested serializer keeps its
        defaults). The list view adds ``<key>_detail`` next to known keys inside ``deltas``."""
        deltas = dict(entry.deltas)
        if list_view:
            for key in DELTA_KEYS:
                if key in deltas:
                    deltas[f"{key}_detail"] = self._delta_detail(key, deltas[key])
        body: dict[str, Any] = {"pk": entry.pk, "item": entry.item}
        if item_detail:
            body["item_detail"] = self.stock(
                self.data.items[entry.item], part_detail=True, location_detail=True, supplier_part_detail=True
            )
        body.update(
            {
                "date": when(entry.date),
                "deltas": deltas,
                "label": TRACKING_LABELS.get(entry.tracking_type, ""),
                "notes": entry.notes,
                "tracking_type": entry.tracking_type,
                "user": entry.user,
            }
        )
        if user_detail:
            body["user_detail"] = USERS.get(entry.user) if entry.user is not None else None
        return body

    def _delta_detail(self, key: str, value: Any) -> Any:
        data = self.data
        if not isinstance(value, int) or isinstance(value, bool):
            return None
        if key == "location" and value in data.locations:
            return self.location(data.locations[value])
        if key in ("item", "stockitem") and value in data.items:
            return self.stock(data.items[value], part_detail=True, location_detail=True, supplier_part_detail=True)
        if key == "part" and value in data.parts:
            return self.part_brief(data.parts[value])
        if key == "buildorder" and value in data.builds:
            build = data.builds[value]
            return {
                "pk": build.pk,
                "reference": build.reference,
                "title": build.title,
                "part": build.part,
                "status": 40,
                "status_text": "Complete",
            }
        return None

    def po_line(self, line: PurchaseOrderLine, *, order_detail: bool = False) -> dict[str, Any]:
        """PurchaseOrderLineItemSerializer (order/serializers.py): ``part`` is the SupplierPart pk, ``internal_part``
        the part it is; quantities are floats; ``order_detail`` (``order_detail=true``) the order's serializer."""
        order = self.data.purchase_orders[line.order]
        supplier_part = self.data.supplier_parts[line.part]
        part = self.data.parts[supplier_part.part]
        today = self.data.now().date()
        target = line.target_date or order.target_date
        body: dict[str, Any] = {
            "pk": line.pk,
            "order": line.order,
            "part": line.part,
            "quantity": number(line.quantity),
            "received": number(line.received),
            "reference": line.reference,
            "notes": "",
            "link": "",
            "target_date": day(line.target_date),
            "overdue": bool(order.status in PO_OPEN and target is not None and target < today),
            "purchase_price": None,
            "purchase_price_currency": "SAR",
            "auto_pricing": True,
            "destination": line.destination,
            "total_price": None,
            "merge_items": True,
            "sku": supplier_part.SKU,
            "mpn": None,
            "ipn": part.IPN,
            "internal_part": part.pk,
            "internal_part_name": part.name,
            "build_order": None,
        }
        if order_detail:
            body["order_detail"] = {
                "pk": order.pk,
                "reference": order.reference,
                "status": order.status,
                "destination": order.destination,
                "target_date": day(order.target_date),
            }
        return body


DELTA_KEYS = (
    "part",
    "location",
    "customer",
    "purchaseorder",
    "salesorder",
    "returnorder",
    "buildorder",
    "item",
    "stockitem",
)
