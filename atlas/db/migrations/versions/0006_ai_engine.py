"""AI engine: analysis runs, per-series forecasts, anomalies and recommendations (tenant-owned, RLS).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from atlas.db.rls import app_role_name, enable_tenant_rls, grant_tables

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "analysis_runs",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("trigger", sa.String(length=20), nullable=False),
        sa.Column("sync_run_id", sa.UUID(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stats", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.CheckConstraint("status IN ('running', 'succeeded', 'failed')", name=op.f("ck_analysis_runs_status")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_analysis_runs_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analysis_runs")),
    )
    op.create_index(op.f("ix_analysis_runs_tenant_id"), "analysis_runs", ["tenant_id"], unique=False)
    op.create_table(
        "anomalies",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("severity", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("item_id", sa.UUID(), nullable=True),
        sa.Column("location_id", sa.UUID(), nullable=True),
        sa.Column("occurred_on", sa.Date(), nullable=True),
        sa.Column("p_value", sa.Float(), nullable=False),
        sa.Column("zscore", sa.Float(), nullable=False),
        sa.Column("observed", sa.Float(), nullable=False),
        sa.Column("expected", sa.Float(), nullable=False),
        sa.Column("details", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("analysis_run_id", sa.UUID(), nullable=False),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.CheckConstraint("severity IN ('low', 'medium', 'high', 'critical')", name=op.f("ck_anomalies_severity")),
        sa.CheckConstraint("status IN ('open', 'resolved')", name=op.f("ck_anomalies_status")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_anomalies_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_anomalies")),
    )
    op.create_index("ix_anomalies_open", "anomalies", ["tenant_id", "status", "detected_at"], unique=False)
    op.create_index(
        "uq_anomalies_open_key", "anomalies", ["tenant_id", "key"], unique=True, postgresql_where="status = 'open'"
    )
    op.create_table(
        "forecasts",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("item_id", sa.UUID(), nullable=False),
        sa.Column("location_id", sa.UUID(), nullable=False),
        sa.Column("analysis_run_id", sa.UUID(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("mae", sa.Float(), nullable=False),
        sa.Column("mase", sa.Float(), nullable=False),
        sa.Column("forecast", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("lo80", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("hi80", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("figures", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_forecasts_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forecasts")),
    )
    op.create_index("uq_forecasts_series", "forecasts", ["tenant_id", "item_id", "location_id"], unique=True)
    op.create_table(
        "recommendations",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("priority", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("item_id", sa.UUID(), nullable=False),
        sa.Column("location_id", sa.UUID(), nullable=False),
        sa.Column("from_location_id", sa.UUID(), nullable=True),
        sa.Column("anomaly_id", sa.UUID(), nullable=True),
        sa.Column("quantity", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("value", sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column("confidence_score", sa.Float(), nullable=False),
        sa.Column("signals_used", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("explanation_en", sa.Text(), nullable=False),
        sa.Column("explanation_ar", sa.Text(), nullable=False),
        sa.Column("evidence", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("correlation_id", sa.String(length=100), nullable=False),
        sa.Column("analysis_run_id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("last_changed_by", sa.String(length=200), nullable=False),
        sa.Column("update_count", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.CheckConstraint("priority IN ('low', 'medium', 'high')", name=op.f("ck_recommendations_priority")),
        sa.CheckConstraint(
            "status IN ('pending', 'retired', 'approved', 'rejected', 'ready_for_execution', 'blocked_by_lock', 'expired')",
            name=op.f("ck_recommendations_status"),
        ),
        sa.CheckConstraint(
            "type IN ('reorder', 'transfer', 'write_off', 'investigate')", name=op.f("ck_recommendations_type")
        ),
        sa.CheckConstraint(
            "confidence_score >= 0 AND confidence_score <= 1", name=op.f("ck_recommendations_confidence")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_recommendations_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recommendations")),
    )
    op.create_index("ix_recommendations_status", "recommendations", ["tenant_id", "status", "priority"], unique=False)
    op.create_index(
        "uq_recommendations_pending_key",
        "recommendations",
        ["tenant_id", "key"],
        unique=True,
        postgresql_where="status = 'pending'",
    )

    tables = ("analysis_runs", "forecasts", "anomalies", "recommendations")
    grant_tables(app_role_name(), *tables)
    for table in tables:
        enable_tenant_rls(table)


def downgrade() -> None:
    op.drop_index("uq_recommendations_pending_key", table_name="recommendations", postgresql_where="status = 'pending'")
    op.drop_index("ix_recommendations_status", table_name="recommendations")
    op.drop_table("recommendations")
    op.drop_index("uq_forecasts_series", table_name="forecasts")
    op.drop_table("forecasts")
    op.drop_index("uq_anomalies_open_key", table_name="anomalies", postgresql_where="status = 'open'")
    op.drop_index("ix_anomalies_open", table_name="anomalies")
    op.drop_table("anomalies")
    op.drop_index(op.f("ix_analysis_runs_tenant_id"), table_name="analysis_runs")
    op.drop_table("analysis_runs")
