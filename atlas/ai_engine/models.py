"""What the AI engine stores: analysis runs, per-series forecasts, anomalies and recommendations."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import CheckConstraint, Date, DateTime, Float, Index, Integer, Numeric, String, Text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from atlas.db.base import Base, TenantOwned, created_at_column, utcnow, uuid_pk


class AnalysisRun(TenantOwned, Base):
    __tablename__ = "analysis_runs"
    __table_args__ = (CheckConstraint("status IN ('running', 'succeeded', 'failed')", name="status"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    trigger: Mapped[str] = mapped_column(String(20), nullable=False)
    sync_run_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="running")
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    stats: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, default=dict)
    error: Mapped[str | None] = mapped_column(Text)


class Forecast(TenantOwned, Base):
    """The latest forecast of one item at one location (replaced by each analysis)."""

    __tablename__ = "forecasts"
    __table_args__ = (Index("uq_forecasts_series", "tenant_id", "item_id", "location_id", unique=True),)
    tenant_id_index = False

    id: Mapped[uuid.UUID] = uuid_pk()
    item_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    location_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    analysis_run_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    start_date: Mapped[date] = mapped_column(Date, nullable=False)  # the first forecast day
    method: Mapped[str] = mapped_column(String(20), nullable=False)
    mae: Mapped[float] = mapped_column(Float, nullable=False)
    mase: Mapped[float] = mapped_column(Float, nullable=False)
    forecast: Mapped[list[float]] = mapped_column(JSONB, nullable=False)
    lo80: Mapped[list[float]] = mapped_column(JSONB, nullable=False)
    hi80: Mapped[list[float]] = mapped_column(JSONB, nullable=False)
    # The daily median (q0.5); None on rows stored before migration 0019. lo80/hi80 are q0.1/q0.9.
    q50: Mapped[list[float] | None] = mapped_column(JSONB)
    figures: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)


class Anomaly(TenantOwned, Base):
    __tablename__ = "anomalies"
    __table_args__ = (
        CheckConstraint("severity IN ('low', 'medium', 'high', 'critical')", name="severity"),
        CheckConstraint("status IN ('open', 'resolved')", name="status"),
        Index("ix_anomalies_open", "tenant_id", "status", "detected_at"),
        Index("uq_anomalies_open_key", "tenant_id", "key", unique=True, postgresql_where="status = 'open'"),
    )
    tenant_id_index = False

    id: Mapped[uuid.UUID] = uuid_pk()
    key: Mapped[str] = mapped_column(String(300), nullable=False)
    type: Mapped[str] = mapped_column(String(40), nullable=False)
    severity: Mapped[str] = mapped_column(String(20), nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="open")
    item_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    location_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    occurred_on: Mapped[date | None] = mapped_column(Date)
    p_value: Mapped[float] = mapped_column(Float, nullable=False)
    zscore: Mapped[float] = mapped_column(Float, nullable=False)
    observed: Mapped[float] = mapped_column(Float, nullable=False)
    expected: Mapped[float] = mapped_column(Float, nullable=False)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, default=dict)
    analysis_run_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    detected_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Recommendation(TenantOwned, Base):
    """An AI proposal. ``pending`` until people decide; even approved ones are never executed."""

    __tablename__ = "recommendations"
    __table_args__ = (
        CheckConstraint("type IN ('reorder', 'transfer', 'write_off', 'investigate')", name="type"),
        CheckConstraint("priority IN ('low', 'medium', 'high')", name="priority"),
        CheckConstraint(
            "status IN ('pending', 'retired', 'approved', 'rejected', 'ready_for_execution', 'blocked_by_lock', "
            "'expired')",
            name="status",
        ),
        CheckConstraint("confidence_score >= 0 AND confidence_score <= 1", name="confidence"),
        Index("ix_recommendations_status", "tenant_id", "status", "priority"),
        Index("uq_recommendations_pending_key", "tenant_id", "key", unique=True, postgresql_where="status = 'pending'"),
        Index(
            "ix_recommendations_workflow_missing",
            "created_at",
            postgresql_where="status = 'pending' AND workflow_started_at IS NULL",
        ),
    )
    tenant_id_index = False

    id: Mapped[uuid.UUID] = uuid_pk()
    key: Mapped[str] = mapped_column(String(300), nullable=False)
    type: Mapped[str] = mapped_column(String(20), nullable=False)
    priority: Mapped[str] = mapped_column(String(10), nullable=False)
    status: Mapped[str] = mapped_column(String(30), nullable=False, default="pending")
    item_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    location_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    from_location_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    anomaly_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    quantity: Mapped[Decimal] = mapped_column(Numeric(18, 4), nullable=False)
    value: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    confidence_score: Mapped[float] = mapped_column(Float, nullable=False)
    signals_used: Mapped[list[str]] = mapped_column(JSONB, nullable=False)
    explanation_en: Mapped[str] = mapped_column(Text, nullable=False)
    explanation_ar: Mapped[str] = mapped_column(Text, nullable=False)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    correlation_id: Mapped[str] = mapped_column(String(100), nullable=False)
    analysis_run_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(200), nullable=False, default="ai_engine")
    last_changed_by: Mapped[str] = mapped_column(String(200), nullable=False, default="ai_engine")
    update_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # The approval workflow's read model (issue 6, migration 0010; written by atlas.approvals).
    policy_version: Mapped[int | None] = mapped_column(Integer)
    policy_revision: Mapped[int | None] = mapped_column(Integer)  # the update_count the policy was evaluated on
    policy_decision: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True))
    required_approvals: Mapped[int | None] = mapped_column(Integer)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reminded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_by: Mapped[str | None] = mapped_column(String(200))
    resolution_reason: Mapped[str | None] = mapped_column(Text)
    workflow_started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
