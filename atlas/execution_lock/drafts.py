"""The content of an execution draft: what an approved action would be, for people to apply themselves.

Pure: a canonical action (`atlas.execution_lock.action`) in, plain JSON out; no database, no network. A draft
holds the action in canonical form (a purchase-order line for a reorder; from, to, item and quantity for a
transfer; item, location, quantity and value for a write-off; an investigation task), its impact on stock, the
exact request that *would* have been sent when the connector declares an action template for the type (never
sendable), and a summary in Arabic and English from the catalogue.

The summaries are plain text, with no bidirectional control characters: they end up in CSV and JSON files,
spreadsheet cells and ERP imports, where invisible U+2066/U+2069 characters are dirt (issue 19). A page that
shows a summary isolates each embedded name, code and figure itself, in mark-up: it fills the same catalogue
sentence with `summary_params` of the stored action, each value in a ``<bdi>`` (``LTR_PARAMS`` read left to
right, the names take their own direction); see `atlas.web.ui.isolation`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from atlas.execution_lock.action import (
    AnomalyFacts,
    CanonicalAction,
    ConnectorFacts,
    ItemFacts,
    LocationFacts,
    RecommendationFacts,
)
from atlas.execution_lock.templates import render_request
from atlas.i18n import translate

DEFAULT_LEAD_TIME_DAYS = 7  # as the AI engine assumes when the source has none
# Figures, codes and dates read left to right inside Arabic text (a page isolates them so 2026-12-08 stays whole);
# the other values of a summary (item and location names, the unit) are isolated in their own direction.
LTR_PARAMS = frozenset({"quantity", "value", "needed_by", "sku", "location_code", "from_location_code", "anomaly"})
NOT_SENDABLE_NOTE = (
    "Atlas never executes actions on your systems (execution lock). Apply this draft in your own system."
)


@dataclass(frozen=True)
class DraftContent:
    action: dict[str, Any]
    request: dict[str, Any] | None
    impact: dict[str, Any]
    summary_en: str
    summary_ar: str


def number(value: Decimal | None) -> int | float | None:
    """A JSON number for an exact decimal: an int when whole."""
    if value is None:
        return None
    if value == value.to_integral_value():
        return int(value)
    return float(value.normalize())


def _text(value: Decimal | None) -> str:
    if value is None:
        return "—"
    if value == value.to_integral_value():
        return f"{int(value):,}"
    return f"{value.normalize():,f}"


def _money(value: Decimal | None) -> str:
    return "—" if value is None else f"{value.quantize(Decimal('0.01')):,.2f}"


def _value_of(rec: RecommendationFacts, item: ItemFacts) -> Decimal | None:
    if rec.value is not None:
        return rec.value
    if item.unit_cost is not None:
        return (rec.quantity * item.unit_cost).quantize(Decimal("0.01"))
    return None


def _location_fields(prefix: str, location: LocationFacts) -> dict[str, Any]:
    return {
        f"{prefix}code": location.code,
        f"{prefix}name": location.name,
        f"{prefix}external_id": location.external_id,
    }


def build_draft(
    rec: RecommendationFacts,
    *,
    item: ItemFacts,
    location: LocationFacts,
    from_location: LocationFacts | None = None,
    anomaly: AnomalyFacts | None = None,
    connector: ConnectorFacts | None = None,
    today: date,
) -> DraftContent:
    """The draft of one recommendation's action. ``location`` is where the action lands (the short
    location of a transfer); ``from_location`` the source of a transfer."""
    value = _value_of(rec, item)
    action: dict[str, Any] = {
        "action_type": rec.type,
        "recommendation_id": str(rec.id),
        "reference": f"ATLAS-{rec.id.hex[:8].upper()}-R{rec.revision}",
        "item_sku": item.sku,
        "item_name": item.name,
        "item_external_id": item.external_id,
        "unit_of_measure": item.unit_of_measure,
        "quantity": number(rec.quantity),
    }
    stock: list[dict[str, Any]] = []
    if rec.type == "reorder":
        lead = item.lead_time_days if item.lead_time_days is not None else DEFAULT_LEAD_TIME_DAYS
        needed_by = today + timedelta(days=lead)
        action.update(_location_fields("location_", location))
        action.update(
            needed_by=needed_by.isoformat(),
            lead_time_days=lead,
            unit_cost=number(item.unit_cost),
            value=number(value),
        )
        stock.append(_stock_change(location, rec.quantity))
    elif rec.type == "transfer":
        if from_location is None:  # a source that is gone: the draft says so rather than failing the lock
            from_location = LocationFacts(uuid.UUID(int=0), "?", "?", "", None)
        action.update(_location_fields("from_location_", from_location))
        action.update(_location_fields("to_location_", location))
        action.update(unit_cost=number(item.unit_cost), value=number(value))
        stock.append(_stock_change(from_location, -rec.quantity))
        stock.append(_stock_change(location, rec.quantity))
    elif rec.type == "write_off":
        action.update(_location_fields("location_", location))
        action.update(unit_cost=number(item.unit_cost), value=number(value))
        stock.append(_stock_change(location, -rec.quantity))
    elif rec.type == "investigate":
        action.update(_location_fields("location_", location))
        anomaly_type = anomaly.type if anomaly else "unknown"
        task_en = translate("drafts.task", "en", item=item.name, location=location.name, anomaly=anomaly_type)
        action.update(
            anomaly_type=anomaly_type,
            anomaly_severity=anomaly.severity if anomaly else None,
            anomaly_observed=anomaly.observed if anomaly else None,
            anomaly_expected=anomaly.expected if anomaly else None,
            anomaly_occurred_on=anomaly.occurred_on.isoformat() if anomaly and anomaly.occurred_on else None,
            task=task_en,
        )
    else:
        raise ValueError(f"unknown action type {rec.type!r}")
    locations = [s["location_code"] for s in stock] or [location.code]
    impact: dict[str, Any] = {
        "items": 1,
        "quantity": number(rec.quantity) if rec.type != "investigate" else 0,
        "value_sar": None if value is None or rec.type == "investigate" else str(value),
        "locations": locations,
        "stock": stock,
    }
    request: dict[str, Any] | None = None
    if connector is not None:
        template = connector.action_templates.get(rec.type)
        if isinstance(template, dict):
            request = render_request(
                template,
                action,
                base_url=connector.base_url,
                auth_kind=connector.auth_kind,
                auth_settings=connector.auth_settings,
            )
            request["connector_id"] = str(connector.id)
            request["connector_name"] = connector.name
            request["note"] = NOT_SENDABLE_NOTE
    key = summary_key(rec.type)
    params = summary_params(action)
    return DraftContent(
        action=action,
        request=request,
        impact=impact,
        summary_en=translate(key, "en", **params),
        summary_ar=translate(key, "ar", **params),
    )


def summary_key(action_type: str) -> str:
    """The catalogue sentence of a draft's summary."""
    return f"drafts.summary.{action_type}"


def summary_params(action: dict[str, Any]) -> dict[str, str]:
    """The values a summary sentence embeds, as text, read from the draft's canonical action.

    From the action (not from the facts it was built of) so that a page can fill the sentence again from a stored
    draft, each value isolated in mark-up, and say exactly what the stored plain summary says. A value the action
    lacks (an investigation has no value) reads "—"."""
    transfer = action.get("action_type") == "transfer"
    to = "to_location_" if transfer else "location_"
    params = {
        "quantity": _text(_decimal(action.get("quantity"))),
        "unit": str(action.get("unit_of_measure") or ""),
        "item": str(action.get("item_name") or ""),
        "sku": str(action.get("item_sku") or ""),
        "location": str(action.get(f"{to}name") or ""),
        "location_code": str(action.get(f"{to}code") or ""),
        "value": _money(_decimal(action.get("value"))),
        "needed_by": str(action.get("needed_by") or "—"),
        "anomaly": str(action.get("anomaly_type") or ""),
    }
    if transfer:
        params["from_location"] = str(action.get("from_location_name") or "")
        params["from_location_code"] = str(action.get("from_location_code") or "")
    return params


def _decimal(value: Any) -> Decimal | None:
    """The exact decimal of a JSON number of the action (``str`` first: a float's shortest form, 381.25 not its
    binary expansion); None (shown "—") for what is not a finite number."""
    if value is None or isinstance(value, bool):
        return None
    try:
        exact = Decimal(str(value))
    except InvalidOperation:
        return None
    return exact if exact.is_finite() else None


def draft_of(action: CanonicalAction, *, today: date) -> DraftContent:
    """The draft of a canonical action (`build_draft` on its parts)."""
    return build_draft(
        action.facts(),
        item=action.item,
        location=action.location,
        from_location=action.from_location,
        anomaly=action.anomaly,
        connector=action.connector,
        today=today,
    )


def _stock_change(location: LocationFacts, change: Decimal) -> dict[str, Any]:
    before = location.available
    return {
        "location_code": location.code,
        "location_name": location.name,
        "available_before": number(before),
        "change": number(change),
        "available_after": None if before is None else number(before + change),
    }
