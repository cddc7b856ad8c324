"""Connectors: configuration, endpoints and health history (tenant-owned, row-level security).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from atlas.db.rls import app_role_name, enable_tenant_rls, grant_tables

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "connectors",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("base_url", sa.String(length=1000), nullable=False),
        sa.Column("environment", sa.String(length=20), nullable=False),
        sa.Column("auth_kind", sa.String(length=40), nullable=False),
        sa.Column("auth_settings", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("secrets_encrypted", sa.Text(), nullable=True),
        sa.Column("rate_limit_per_second", sa.Float(), nullable=False),
        sa.Column("rate_limit_burst", sa.Integer(), nullable=False),
        sa.Column("timeout_seconds", sa.Float(), nullable=False),
        sa.Column("max_concurrency", sa.Integer(), nullable=False),
        sa.Column("retry_attempts", sa.Integer(), nullable=False),
        sa.Column("health_status", sa.String(length=20), nullable=False),
        sa.Column("last_checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.CheckConstraint(
            "auth_kind IN ('none', 'api_key', 'bearer', 'oauth2_client_credentials')",
            name=op.f("ck_connectors_auth_kind"),
        ),
        sa.CheckConstraint("environment IN ('production', 'sandbox')", name=op.f("ck_connectors_environment")),
        sa.CheckConstraint(
            "health_status IN ('unknown', 'healthy', 'degraded', 'failing')", name=op.f("ck_connectors_health_status")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_connectors_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connectors")),
        sa.UniqueConstraint("tenant_id", "name", name="uq_connectors_tenant_name"),
    )
    op.create_index(op.f("ix_connectors_tenant_id"), "connectors", ["tenant_id"], unique=False)
    op.create_table(
        "connector_endpoints",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("connector_id", sa.UUID(), nullable=False),
        sa.Column("key", sa.String(length=60), nullable=False),
        sa.Column("resource", sa.String(length=40), nullable=False),
        sa.Column("path", sa.String(length=1000), nullable=False),
        sa.Column("params", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("record_path", sa.String(length=500), nullable=False),
        sa.Column("pagination", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("time_window", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("parent_key", sa.String(length=60), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.CheckConstraint(
            "resource IN ('items', 'locations', 'stock_balances', 'stock_movements')",
            name=op.f("ck_connector_endpoints_resource"),
        ),
        sa.ForeignKeyConstraint(
            ["connector_id"],
            ["connectors.id"],
            name=op.f("fk_connector_endpoints_connector_id_connectors"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_connector_endpoints_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connector_endpoints")),
        sa.UniqueConstraint("connector_id", "key", name="uq_connector_endpoints_connector_key"),
    )
    op.create_index(op.f("ix_connector_endpoints_connector_id"), "connector_endpoints", ["connector_id"], unique=False)
    op.create_index(op.f("ix_connector_endpoints_tenant_id"), "connector_endpoints", ["tenant_id"], unique=False)
    op.create_table(
        "connector_health_checks",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("connector_id", sa.UUID(), nullable=False),
        sa.Column("endpoint_key", sa.String(length=60), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("trigger", sa.String(length=20), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=True),
        sa.Column("sample_count", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=100), nullable=True),
        sa.Column("detail", sa.String(length=500), nullable=True),
        sa.Column("url", sa.String(length=1000), nullable=True),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["connector_id"],
            ["connectors.id"],
            name=op.f("fk_connector_health_checks_connector_id_connectors"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_connector_health_checks_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connector_health_checks")),
    )
    op.create_index(
        "ix_connector_health_checks_recent", "connector_health_checks", ["connector_id", "checked_at"], unique=False
    )
    op.create_index(
        op.f("ix_connector_health_checks_tenant_id"), "connector_health_checks", ["tenant_id"], unique=False
    )

    tables = ("connectors", "connector_endpoints", "connector_health_checks")
    grant_tables(app_role_name(), *tables)
    for table in tables:
        enable_tenant_rls(table)


def downgrade() -> None:
    op.drop_index(op.f("ix_connector_health_checks_tenant_id"), table_name="connector_health_checks")
    op.drop_index("ix_connector_health_checks_recent", table_name="connector_health_checks")
    op.drop_table("connector_health_checks")
    op.drop_index(op.f("ix_connector_endpoints_tenant_id"), table_name="connector_endpoints")
    op.drop_index(op.f("ix_connector_endpoints_connector_id"), table_name="connector_endpoints")
    op.drop_table("connector_endpoints")
    op.drop_index(op.f("ix_connectors_tenant_id"), table_name="connectors")
    op.drop_table("connectors")
