"""The canonical inventory model, mappings with immutable versions, sync runs, checkpoints and quarantine.

Every canonical row keeps its source (connector and external id, unique per tenant
and connector) and which sync run created, changed and last saw it, so a re-sync
updates rather than duplicates and a run's counts come from the database itself.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from atlas.db.base import Base, TenantOwned, created_at_column, utcnow, uuid_pk

QTY = Numeric(18, 4)
MONEY = Numeric(18, 4)
# A balance part keeps six decimals (InvenTree keeps five): a balance summed from its parts equals the source's sum.
# So does a movement (Business Central keeps five, SAP Business One six): the history adds up as the source's does.
PART_QTY = Numeric(20, 6)


def _connector_fk() -> Mapped[uuid.UUID]:
    return mapped_column(UUID(as_uuid=True), ForeignKey("connectors.id", ondelete="CASCADE"), nullable=False)


def _connector_ref() -> Mapped[uuid.UUID]:
    """Balances and movements reach their connector through their item (see migration 0005)."""
    return mapped_column(UUID(as_uuid=True), nullable=False)


def _run_ref() -> Mapped[uuid.UUID | None]:
    return mapped_column(UUID(as_uuid=True))


class Item(TenantOwned, Base):
    __tablename__ = "items"
    __table_args__ = (
        UniqueConstraint("tenant_id", "connector_id", "external_id", name="uq_items_source"),
        Index("ix_items_tenant_sku", "tenant_id", "sku"),
    )
    tenant_id_index = False

    id: Mapped[uuid.UUID] = uuid_pk()
    connector_id: Mapped[uuid.UUID] = _connector_fk()
    external_id: Mapped[str] = mapped_column(String(200), nullable=False)
    sku: Mapped[str] = mapped_column(String(200), nullable=False)
    name: Mapped[str] = mapped_column(String(500), nullable=False)
    category: Mapped[str | None] = mapped_column(String(200))
    unit_of_measure: Mapped[str | None] = mapped_column(String(50))
    unit_cost: Mapped[Decimal | None] = mapped_column(MONEY)
    lead_time_days: Mapped[int | None] = mapped_column(Integer)
    min_order_qty: Mapped[Decimal | None] = mapped_column(QTY)
    order_multiple: Mapped[Decimal | None] = mapped_column(QTY)  # the case pack an order is a multiple of
    created_run_id: Mapped[uuid.UUID | None] = _run_ref()
    updated_run_id: Mapped[uuid.UUID | None] = _run_ref()
    seen_run_id: Mapped[uuid.UUID | None] = _run_ref()
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)


class Location(TenantOwned, Base):
    __tablename__ = "locations"
    __table_args__ = (UniqueConstraint("tenant_id", "connector_id", "external_id", name="uq_locations_source"),)
    tenant_id_index = False

    id: Mapped[uuid.UUID] = uuid_pk()
    connector_id: Mapped[uuid.UUID] = _connector_fk()
    external_id: Mapped[str] = mapped_column(String(200), nullable=False)
    code: Mapped[str] = mapped_column(String(200), nullable=False)
    name: Mapped[str] = mapped_column(String(500), nullable=False)
    type: Mapped[str | None] = mapped_column(String(40))
    address: Mapped[str | None] = mapped_column(String(1000))
    created_run_id: Mapped[uuid.UUID | None] = _run_ref()
    updated_run_id: Mapped[uuid.UUID | None] = _run_ref()
    seen_run_id: Mapped[uuid.UUID | None] = _run_ref()
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)


class StockBalance(TenantOwned, Base):
    """One item at one location: a **view** (migration 0012), the sum of the parts Atlas holds for the pair
    (`StockBalancePart`), read under the reader's own row-level security. Read-only: syncs write parts."""

    __tablename__ = "stock_balances"
    __table_args__ = {"info": {"is_view": True}}
    tenant_id_index = False
    tenant_id_foreign_key = False

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    connector_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    item_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    location_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    quantity: Mapped[Decimal] = mapped_column(QTY, nullable=False)
    reserved_qty: Mapped[Decimal] = mapped_column(QTY, nullable=False)
    available_qty: Mapped[Decimal] = mapped_column(QTY, nullable=False)
    as_of: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class StockBalancePart(TenantOwned, Base):
    """One source record of a stock balance: a lot, a serial, a bin, one of several stock rows of an item at a
    location. Keyed by the endpoint and the record's own id, so a record read twice is one part and a record that
    moves to another location leaves the first. A part the source no longer has is kept at zero
    (``vanished_run_id``): its balance stays, at zero, with its history. No foreign keys (a check per row each):
    items and locations are resolved before writing, and a trigger removes the parts with their connector."""

    __tablename__ = "stock_balance_parts"
    __table_args__ = (
        Index("ix_stock_balance_parts_pair", "tenant_id", "item_id", "location_id"),
        Index(
            "ix_stock_balance_parts_vanished",
            "tenant_id",
            "connector_id",
            postgresql_where="vanished_run_id IS NOT NULL",
        ),
    )
    tenant_id_index = False
    tenant_id_foreign_key = False

    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    connector_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    endpoint_key: Mapped[str] = mapped_column(String(60), primary_key=True)
    source_id: Mapped[str] = mapped_column(String(420), primary_key=True)
    item_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    location_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    quantity: Mapped[Decimal] = mapped_column(PART_QTY, nullable=False)
    reserved_qty: Mapped[Decimal] = mapped_column(PART_QTY, nullable=False)
    available_qty: Mapped[Decimal] = mapped_column(PART_QTY, nullable=False)
    as_of: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_run_id: Mapped[uuid.UUID | None] = _run_ref()
    updated_run_id: Mapped[uuid.UUID | None] = _run_ref()
    seen_run_id: Mapped[uuid.UUID | None] = _run_ref()
    vanished_run_id: Mapped[uuid.UUID | None] = _run_ref()
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)


class StockMovement(TenantOwned, Base):
    __tablename__ = "stock_movements"
    __table_args__ = (
        UniqueConstraint("tenant_id", "connector_id", "external_id", name="uq_stock_movements_source"),
        Index("ix_stock_movements_item_time", "tenant_id", "item_id", "location_id", "occurred_at"),
        Index(
            "ix_stock_movements_level",
            "tenant_id",
            "connector_id",
            "level_key",
            "occurred_at",
            postgresql_where="level_key IS NOT NULL",
        ),
        CheckConstraint(
            "kind IN ('sale', 'issue', 'receipt', 'transfer_in', 'transfer_out', 'adjustment')", name="kind"
        ),
    )
    tenant_id_index = False
    tenant_id_foreign_key = False

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    connector_id: Mapped[uuid.UUID] = _connector_ref()
    external_id: Mapped[str] = mapped_column(String(200), nullable=False)
    item_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("items.id", ondelete="CASCADE"), nullable=False
    )
    location_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("locations.id", ondelete="CASCADE"), nullable=False
    )
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    quantity: Mapped[Decimal] = mapped_column(PART_QTY, nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    reference: Mapped[str | None] = mapped_column(String(200))
    # The quantity after the movement, when the source says it; whose level it is (a pair, or the source's own
    # stock row); and whether the record was a stock count, whose change is the counted level minus the level before.
    level: Mapped[Decimal | None] = mapped_column(PART_QTY)
    level_key: Mapped[str | None] = mapped_column(String(420))
    is_count: Mapped[bool] = mapped_column(default=False, server_default="false", nullable=False)
    created_run_id: Mapped[uuid.UUID | None] = _run_ref()
    updated_run_id: Mapped[uuid.UUID | None] = _run_ref()
    seen_run_id: Mapped[uuid.UUID | None] = _run_ref()


class OpenOrder(TenantOwned, Base):
    """One open order line at the source: a purchase order line or a transfer in transit to ``location_id``, with
    what is still to arrive (``open_qty`` = ordered − received). A complete full read of its endpoint replaces the
    endpoint's open set (migration 0018): a line the source no longer lists is deleted."""

    __tablename__ = "open_orders"
    __table_args__ = (
        UniqueConstraint("tenant_id", "connector_id", "endpoint_key", "external_id", name="uq_open_orders_source"),
        Index("ix_open_orders_pair", "tenant_id", "item_id", "location_id"),
        CheckConstraint("kind IN ('purchase', 'transfer')", name="kind"),
    )
    tenant_id_index = False
    tenant_id_foreign_key = False

    id: Mapped[uuid.UUID] = uuid_pk()
    connector_id: Mapped[uuid.UUID] = _connector_fk()
    endpoint_key: Mapped[str] = mapped_column(String(60), nullable=False)
    external_id: Mapped[str] = mapped_column(String(200), nullable=False)
    item_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("items.id", ondelete="CASCADE"), nullable=False
    )
    location_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("locations.id", ondelete="CASCADE"), nullable=False
    )
    open_qty: Mapped[Decimal] = mapped_column(PART_QTY, nullable=False)
    expected_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    reference: Mapped[str | None] = mapped_column(String(200))
    created_run_id: Mapped[uuid.UUID | None] = _run_ref()
    updated_run_id: Mapped[uuid.UUID | None] = _run_ref()
    seen_run_id: Mapped[uuid.UUID | None] = _run_ref()
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)


RESOURCE_CHECK = "resource IN ('items', 'locations', 'stock_balances', 'stock_movements', 'open_orders')"


class Mapping(TenantOwned, Base):
    """How one connector endpoint becomes one canonical resource. Its content lives in versions."""

    __tablename__ = "mappings"
    __table_args__ = (
        UniqueConstraint("tenant_id", "connector_id", "endpoint_key", name="uq_mappings_endpoint"),
        CheckConstraint(RESOURCE_CHECK, name="resource"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    connector_id: Mapped[uuid.UUID] = _connector_fk()
    endpoint_key: Mapped[str] = mapped_column(String(60), nullable=False)
    resource: Mapped[str] = mapped_column(String(40), nullable=False)
    active_version: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)


class MappingVersion(TenantOwned, Base):
    """One immutable version of a mapping: the database rejects UPDATE and DELETE."""

    __tablename__ = "mapping_versions"
    __table_args__ = (UniqueConstraint("mapping_id", "version", name="uq_mapping_versions_version"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    mapping_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("mappings.id", ondelete="CASCADE"), nullable=False
    )
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    spec: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    note: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    author: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = created_at_column()


class SyncRun(TenantOwned, Base):
    __tablename__ = "sync_runs"
    __table_args__ = (
        CheckConstraint("status IN ('queued', 'running', 'succeeded', 'needs_attention', 'failed')", name="status"),
        Index("ix_sync_runs_connector_started", "tenant_id", "connector_id", "started_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    connector_id: Mapped[uuid.UUID] = _connector_fk()
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="queued")
    trigger: Mapped[str] = mapped_column(String(20), nullable=False, default="manual")
    requested_by: Mapped[str] = mapped_column(String(200), nullable=False)
    workflow_id: Mapped[str | None] = mapped_column(String(200))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    mapping_versions: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, default=dict)
    stats: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, default=dict)
    progress: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, default=dict)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True))
    # Why a run that finished needs attention: [{"reason": "set_aside_share" | "vanish_refused", ...}, ...]
    attention: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONB(none_as_null=True))


class SyncCheckpoint(TenantOwned, Base):
    """Where an incremental endpoint resumes. Advanced only in the transaction that commits its batch."""

    __tablename__ = "sync_checkpoints"
    __table_args__ = (UniqueConstraint("connector_id", "endpoint_key", name="uq_sync_checkpoints_endpoint"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    connector_id: Mapped[uuid.UUID] = _connector_fk()
    endpoint_key: Mapped[str] = mapped_column(String(60), nullable=False)
    watermark: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)


class QuarantinedRecord(TenantOwned, Base):
    """A source record that could not be mapped or stored, with why. Never silently dropped."""

    __tablename__ = "quarantined_records"
    __table_args__ = (
        UniqueConstraint(
            "tenant_id", "connector_id", "endpoint_key", "content_hash", "sync_run_id", name="uq_quarantine_record_run"
        ),
        Index("ix_quarantine_open", "tenant_id", "connector_id", "status"),
        CheckConstraint("status IN ('open', 'reprocessed', 'dismissed', 'superseded')", name="status"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    connector_id: Mapped[uuid.UUID] = _connector_fk()
    sync_run_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    endpoint_key: Mapped[str] = mapped_column(String(60), nullable=False)
    resource: Mapped[str] = mapped_column(String(40), nullable=False)
    mapping_version: Mapped[int | None] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    raw: Mapped[Any] = mapped_column(JSONB, nullable=False)
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="open")
    created_at: Mapped[datetime] = created_at_column()
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_run_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
