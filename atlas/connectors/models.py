"""Connector configuration and health history: tenant-owned; credentials only encrypted."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from atlas.db.base import Base, TenantOwned, created_at_column, utcnow, uuid_pk


class Connector(TenantOwned, Base):
    __tablename__ = "connectors"
    __table_args__ = (
        UniqueConstraint("tenant_id", "name", name="uq_connectors_tenant_name"),
        CheckConstraint("environment IN ('production', 'sandbox')", name="environment"),
        CheckConstraint(
            "auth_kind IN ('none', 'api_key', 'bearer', 'oauth2_client_credentials', 'basic', 'header', "
            "'session_login', 'oauth2_refresh_token', 'oauth2_password')",
            name="auth_kind",
        ),
        CheckConstraint("health_status IN ('unknown', 'healthy', 'degraded', 'failing')", name="health_status"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    base_url: Mapped[str] = mapped_column(String(1000), nullable=False)
    environment: Mapped[str] = mapped_column(String(20), nullable=False, default="sandbox")
    auth_kind: Mapped[str] = mapped_column(String(40), nullable=False, default="none")
    # Non-secret parts of the authentication (header name, token URL, client id, scopes...).
    auth_settings: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, default=dict)
    # The secret parts (API key, token, client secret), Fernet-encrypted JSON. Never returned, never logged.
    secrets_encrypted: Mapped[str | None] = mapped_column(Text)
    rate_limit_per_second: Mapped[float] = mapped_column(Float, nullable=False, default=10.0)
    rate_limit_burst: Mapped[int] = mapped_column(Integer, nullable=False, default=10)
    timeout_seconds: Mapped[float] = mapped_column(Float, nullable=False, default=30.0)
    max_concurrency: Mapped[int] = mapped_column(Integer, nullable=False, default=4)
    retry_attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=5)
    # Static, non-secret headers sent with every request (X-Odoo-Database, an API version).
    headers: Mapped[dict[str, str]] = mapped_column(JSONB, nullable=False, default=dict)
    # A run that sets aside more than this share of the records it read ends ``needs_attention``.
    max_set_aside_share: Mapped[float] = mapped_column(Float, nullable=False, default=0.05)
    # A full read that would zero more than this share of the connector's balances zeroes none and ends
    # ``needs_attention``: a source that suddenly answers with far fewer records is more likely broken than empty.
    max_vanished_share: Mapped[float] = mapped_column(Float, nullable=False, default=0.2)
    # Minutes between scheduled syncs; None: on demand only.
    sync_interval_minutes: Mapped[int | None] = mapped_column(Integer)
    # How an action of each type *would* be sent to this system (action type -> {method, path, body}).
    # Only ever rendered into execution drafts; nothing sends it (the execution lock).
    action_templates: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, default=dict)
    # The preset it was laid down from, ``{"id": "inventree", "version": 3}``; null when set up by hand.
    preset: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    health_status: Mapped[str] = mapped_column(String(20), nullable=False, default="unknown")
    last_checked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(100), nullable=False)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)


class ConnectorEndpoint(TenantOwned, Base):
    __tablename__ = "connector_endpoints"
    __table_args__ = (
        UniqueConstraint("connector_id", "key", name="uq_connector_endpoints_connector_key"),
        CheckConstraint(
            "resource IN ('items', 'locations', 'stock_balances', 'stock_movements', 'open_orders')", name="resource"
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    connector_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("connectors.id", ondelete="CASCADE"), nullable=False, index=True
    )
    key: Mapped[str] = mapped_column(String(60), nullable=False)
    resource: Mapped[str] = mapped_column(String(40), nullable=False)
    path: Mapped[str] = mapped_column(String(1000), nullable=False)
    params: Mapped[dict[str, str]] = mapped_column(JSONB, nullable=False, default=dict)
    record_path: Mapped[str] = mapped_column(String(500), nullable=False, default="$")
    pagination: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, default=dict)
    time_window: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True))
    parent_key: Mapped[str | None] = mapped_column(String(60))
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # A read-RPC endpoint: {"protocol": "odoo_json2" | "graphql" | "sql", "body": {...}}; None for GET endpoints.
    rpc: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True))


class ConnectorHealthCheck(TenantOwned, Base):
    __tablename__ = "connector_health_checks"
    __table_args__ = (Index("ix_connector_health_checks_recent", "connector_id", "checked_at"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    connector_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("connectors.id", ondelete="CASCADE"), nullable=False
    )
    endpoint_key: Mapped[str] = mapped_column(String(60), nullable=False)
    checked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)
    trigger: Mapped[str] = mapped_column(String(20), nullable=False, default="manual")
    ok: Mapped[bool] = mapped_column(Boolean, nullable=False)
    status_code: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[float | None] = mapped_column(Float)
    sample_count: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(String(100))
    detail: Mapped[str | None] = mapped_column(String(500))
    url: Mapped[str | None] = mapped_column(String(1000))
