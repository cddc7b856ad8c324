"""The canonical action: what the execution lock is given, as plain data.

The lock knows no recommendation, item, location, anomaly or connector table. The layer above it (the approvals,
``atlas/approvals/lock_actions.py``) reads those and hands the lock one frozen `CanonicalAction`: the kind of
action, the item and the locations with their display names, the quantities and the value, the connector's action
template, and the recommendation's id as an opaque reference (stored on the draft, never looked up). From it the
lock computes the draft (`atlas.execution_lock.drafts`) and stores it. Pure: no database, no network.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from atlas.execution_lock.templates import ACTION_TYPES


@dataclass(frozen=True)
class ItemFacts:
    id: uuid.UUID
    sku: str
    name: str
    external_id: str
    unit_of_measure: str | None
    unit_cost: Decimal | None
    lead_time_days: int | None


@dataclass(frozen=True)
class LocationFacts:
    id: uuid.UUID
    code: str
    name: str
    external_id: str
    available: Decimal | None  # the item's available stock there, when known


@dataclass(frozen=True)
class AnomalyFacts:
    type: str
    severity: str
    observed: float
    expected: float
    occurred_on: date | None


@dataclass(frozen=True)
class ConnectorFacts:
    """Only what a draft may show: never a credential."""

    id: uuid.UUID
    name: str
    base_url: str
    environment: str
    auth_kind: str
    auth_settings: dict[str, Any]
    action_templates: dict[str, Any]


@dataclass(frozen=True)
class RecommendationFacts:
    id: uuid.UUID
    type: str
    priority: str
    quantity: Decimal
    value: Decimal | None
    revision: int


@dataclass(frozen=True)
class CanonicalAction:
    """One action that people approved (or want to dry-run), everything the lock needs to draft it.

    ``location`` is where the action lands (the short location of a transfer); ``from_location`` the source of a
    transfer. ``connector`` carries the action template the draft's request is rendered from (None: no request).
    ``recommendation_id`` and ``revision`` only label the draft; the lock never reads the recommendation.
    """

    kind: str  # one of templates.ACTION_TYPES: reorder, transfer, write_off, investigate
    recommendation_id: uuid.UUID
    revision: int
    priority: str
    quantity: Decimal
    value: Decimal | None
    item: ItemFacts
    location: LocationFacts
    from_location: LocationFacts | None = None
    anomaly: AnomalyFacts | None = None
    connector: ConnectorFacts | None = None

    def __post_init__(self) -> None:
        if self.kind not in ACTION_TYPES:
            raise ValueError(f"unknown action type {self.kind!r}")

    def facts(self) -> RecommendationFacts:
        """The figures the draft's action, impact and summary are computed from."""
        return RecommendationFacts(
            id=self.recommendation_id,
            type=self.kind,
            priority=self.priority,
            quantity=self.quantity,
            value=self.value,
            revision=self.revision,
        )
