"""Canonical inventory model, mappings with immutable versions, sync runs, checkpoints, quarantine.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from atlas.db.rls import app_role_name, enable_tenant_rls, grant_tables

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "items",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("connector_id", sa.UUID(), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("sku", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("category", sa.String(length=200), nullable=True),
        sa.Column("unit_of_measure", sa.String(length=50), nullable=True),
        sa.Column("unit_cost", sa.Numeric(precision=18, scale=4), nullable=True),
        sa.Column("lead_time_days", sa.Integer(), nullable=True),
        sa.Column("created_run_id", sa.UUID(), nullable=True),
        sa.Column("updated_run_id", sa.UUID(), nullable=True),
        sa.Column("seen_run_id", sa.UUID(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["connector_id"], ["connectors.id"], name=op.f("fk_items_connector_id_connectors"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_items_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_items")),
        sa.UniqueConstraint("tenant_id", "connector_id", "external_id", name="uq_items_source"),
    )
    op.create_index(op.f("ix_items_tenant_id"), "items", ["tenant_id"], unique=False)
    op.create_index("ix_items_tenant_sku", "items", ["tenant_id", "sku"], unique=False)
    op.create_table(
        "locations",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("connector_id", sa.UUID(), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("code", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=True),
        sa.Column("address", sa.String(length=1000), nullable=True),
        sa.Column("created_run_id", sa.UUID(), nullable=True),
        sa.Column("updated_run_id", sa.UUID(), nullable=True),
        sa.Column("seen_run_id", sa.UUID(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["connector_id"], ["connectors.id"], name=op.f("fk_locations_connector_id_connectors"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_locations_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_locations")),
        sa.UniqueConstraint("tenant_id", "connector_id", "external_id", name="uq_locations_source"),
    )
    op.create_index(op.f("ix_locations_tenant_id"), "locations", ["tenant_id"], unique=False)
    op.create_table(
        "mappings",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("connector_id", sa.UUID(), nullable=False),
        sa.Column("endpoint_key", sa.String(length=60), nullable=False),
        sa.Column("resource", sa.String(length=40), nullable=False),
        sa.Column("active_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.CheckConstraint(
            "resource IN ('items', 'locations', 'stock_balances', 'stock_movements')", name=op.f("ck_mappings_resource")
        ),
        sa.ForeignKeyConstraint(
            ["connector_id"], ["connectors.id"], name=op.f("fk_mappings_connector_id_connectors"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_mappings_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mappings")),
        sa.UniqueConstraint("tenant_id", "connector_id", "endpoint_key", name="uq_mappings_endpoint"),
    )
    op.create_index(op.f("ix_mappings_tenant_id"), "mappings", ["tenant_id"], unique=False)
    op.create_table(
        "quarantined_records",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("connector_id", sa.UUID(), nullable=False),
        sa.Column("sync_run_id", sa.UUID(), nullable=True),
        sa.Column("endpoint_key", sa.String(length=60), nullable=False),
        sa.Column("resource", sa.String(length=40), nullable=False),
        sa.Column("mapping_version", sa.Integer(), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("raw", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("errors", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_run_id", sa.UUID(), nullable=True),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.CheckConstraint(
            "status IN ('open', 'reprocessed', 'dismissed')", name=op.f("ck_quarantined_records_status")
        ),
        sa.ForeignKeyConstraint(
            ["connector_id"],
            ["connectors.id"],
            name=op.f("fk_quarantined_records_connector_id_connectors"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_quarantined_records_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantined_records")),
        sa.UniqueConstraint(
            "tenant_id", "connector_id", "endpoint_key", "content_hash", "sync_run_id", name="uq_quarantine_record_run"
        ),
    )
    op.create_index("ix_quarantine_open", "quarantined_records", ["tenant_id", "connector_id", "status"], unique=False)
    op.create_index(op.f("ix_quarantined_records_tenant_id"), "quarantined_records", ["tenant_id"], unique=False)
    op.create_table(
        "sync_checkpoints",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("connector_id", sa.UUID(), nullable=False),
        sa.Column("endpoint_key", sa.String(length=60), nullable=False),
        sa.Column("watermark", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["connector_id"],
            ["connectors.id"],
            name=op.f("fk_sync_checkpoints_connector_id_connectors"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_sync_checkpoints_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_checkpoints")),
        sa.UniqueConstraint("connector_id", "endpoint_key", name="uq_sync_checkpoints_endpoint"),
    )
    op.create_index(op.f("ix_sync_checkpoints_tenant_id"), "sync_checkpoints", ["tenant_id"], unique=False)
    op.create_table(
        "sync_runs",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("connector_id", sa.UUID(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("trigger", sa.String(length=20), nullable=False),
        sa.Column("requested_by", sa.String(length=200), nullable=False),
        sa.Column("workflow_id", sa.String(length=200), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("mapping_versions", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("stats", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("progress", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("error", postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), nullable=True),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.CheckConstraint("status IN ('queued', 'running', 'succeeded', 'failed')", name=op.f("ck_sync_runs_status")),
        sa.ForeignKeyConstraint(
            ["connector_id"], ["connectors.id"], name=op.f("fk_sync_runs_connector_id_connectors"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_sync_runs_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_runs")),
    )
    op.create_index(
        "ix_sync_runs_connector_started", "sync_runs", ["tenant_id", "connector_id", "started_at"], unique=False
    )
    op.create_index(op.f("ix_sync_runs_tenant_id"), "sync_runs", ["tenant_id"], unique=False)
    op.create_table(
        "mapping_versions",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("mapping_id", sa.UUID(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("spec", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("author", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["mapping_id"], ["mappings.id"], name=op.f("fk_mapping_versions_mapping_id_mappings"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_mapping_versions_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mapping_versions")),
        sa.UniqueConstraint("mapping_id", "version", name="uq_mapping_versions_version"),
    )
    op.create_index(op.f("ix_mapping_versions_tenant_id"), "mapping_versions", ["tenant_id"], unique=False)
    op.create_table(
        "stock_balances",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("connector_id", sa.UUID(), nullable=False),
        sa.Column("external_id", sa.String(length=420), nullable=False),
        sa.Column("item_id", sa.UUID(), nullable=False),
        sa.Column("location_id", sa.UUID(), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("reserved_qty", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("available_qty", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_run_id", sa.UUID(), nullable=True),
        sa.Column("updated_run_id", sa.UUID(), nullable=True),
        sa.Column("seen_run_id", sa.UUID(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["connector_id"],
            ["connectors.id"],
            name=op.f("fk_stock_balances_connector_id_connectors"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["items.id"], name=op.f("fk_stock_balances_item_id_items"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["location_id"], ["locations.id"], name=op.f("fk_stock_balances_location_id_locations"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_stock_balances_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_balances")),
        sa.UniqueConstraint("tenant_id", "connector_id", "external_id", name="uq_stock_balances_source"),
    )
    op.create_index(
        "ix_stock_balances_item_location", "stock_balances", ["tenant_id", "item_id", "location_id"], unique=False
    )
    op.create_index(op.f("ix_stock_balances_tenant_id"), "stock_balances", ["tenant_id"], unique=False)
    op.create_table(
        "stock_movements",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("connector_id", sa.UUID(), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("item_id", sa.UUID(), nullable=False),
        sa.Column("location_id", sa.UUID(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=True),
        sa.Column("created_run_id", sa.UUID(), nullable=True),
        sa.Column("updated_run_id", sa.UUID(), nullable=True),
        sa.Column("seen_run_id", sa.UUID(), nullable=True),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('sale', 'issue', 'receipt', 'transfer_in', 'transfer_out', 'adjustment')",
            name=op.f("ck_stock_movements_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["connector_id"],
            ["connectors.id"],
            name=op.f("fk_stock_movements_connector_id_connectors"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["items.id"], name=op.f("fk_stock_movements_item_id_items"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["location_id"], ["locations.id"], name=op.f("fk_stock_movements_location_id_locations"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_stock_movements_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_movements")),
        sa.UniqueConstraint("tenant_id", "connector_id", "external_id", name="uq_stock_movements_source"),
    )
    op.create_index(
        "ix_stock_movements_item_time",
        "stock_movements",
        ["tenant_id", "item_id", "location_id", "occurred_at"],
        unique=False,
    )
    op.create_index(op.f("ix_stock_movements_tenant_id"), "stock_movements", ["tenant_id"], unique=False)

    role = app_role_name()
    tables = (
        "items",
        "locations",
        "stock_balances",
        "stock_movements",
        "mappings",
        "mapping_versions",
        "sync_runs",
        "sync_checkpoints",
        "quarantined_records",
    )
    grant_tables(role, *tables)
    op.execute(f'GRANT USAGE, SELECT ON SEQUENCE stock_movements_id_seq TO "{role}"')
    for table in tables:
        enable_tenant_rls(table)
    # Mapping versions are immutable: a change is a new version, never an edit.
    op.execute(f'REVOKE UPDATE ON mapping_versions FROM "{role}"')
    op.execute(
        """
        CREATE FUNCTION mapping_versions_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          RAISE EXCEPTION 'mapping versions are immutable: % is not allowed', TG_OP
            USING ERRCODE = 'insufficient_privilege';
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER mapping_versions_no_update BEFORE UPDATE ON mapping_versions "
        "FOR EACH ROW EXECUTE FUNCTION mapping_versions_immutable()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS mapping_versions_no_update ON mapping_versions")
    op.execute("DROP FUNCTION IF EXISTS mapping_versions_immutable()")
    op.drop_index(op.f("ix_stock_movements_tenant_id"), table_name="stock_movements")
    op.drop_index("ix_stock_movements_item_time", table_name="stock_movements")
    op.drop_table("stock_movements")
    op.drop_index(op.f("ix_stock_balances_tenant_id"), table_name="stock_balances")
    op.drop_index("ix_stock_balances_item_location", table_name="stock_balances")
    op.drop_table("stock_balances")
    op.drop_index(op.f("ix_mapping_versions_tenant_id"), table_name="mapping_versions")
    op.drop_table("mapping_versions")
    op.drop_index(op.f("ix_sync_runs_tenant_id"), table_name="sync_runs")
    op.drop_index("ix_sync_runs_connector_started", table_name="sync_runs")
    op.drop_table("sync_runs")
    op.drop_index(op.f("ix_sync_checkpoints_tenant_id"), table_name="sync_checkpoints")
    op.drop_table("sync_checkpoints")
    op.drop_index(op.f("ix_quarantined_records_tenant_id"), table_name="quarantined_records")
    op.drop_index("ix_quarantine_open", table_name="quarantined_records")
    op.drop_table("quarantined_records")
    op.drop_index(op.f("ix_mappings_tenant_id"), table_name="mappings")
    op.drop_table("mappings")
    op.drop_index(op.f("ix_locations_tenant_id"), table_name="locations")
    op.drop_table("locations")
    op.drop_index("ix_items_tenant_sku", table_name="items")
    op.drop_index(op.f("ix_items_tenant_id"), table_name="items")
    op.drop_table("items")
