"""Inventory position's data: open order lines, and how an item can be ordered.

``open_orders``: what is on its way to a location and not received yet, one row per source line (a purchase order
line, a transfer in transit) with its open quantity (ordered − received), expected date and kind. Keyed by the
connector, the endpoint and the line's own id; a complete full read of the endpoint replaces its open set, so a
line the source no longer lists (received, cancelled) is deleted. Tenant-owned with row-level security; removed
with its connector, item or location.

``items`` gain ``min_order_qty`` and ``order_multiple`` (case pack), carried from the source.

The resource checks of connector endpoints and mappings admit ``open_orders``.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

from atlas.db.rls import app_role_name, enable_tenant_rls, grant_tables

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

QTY = sa.Numeric(18, 4)
PART_QTY = sa.Numeric(20, 6)
OLD = "('items', 'locations', 'stock_balances', 'stock_movements')"
NEW = "('items', 'locations', 'stock_balances', 'stock_movements', 'open_orders')"
CHECKS = (("connector_endpoints", "ck_connector_endpoints_resource"), ("mappings", "ck_mappings_resource"))


def upgrade() -> None:
    op.add_column("items", sa.Column("min_order_qty", QTY))
    op.add_column("items", sa.Column("order_multiple", QTY))
    for table, name in CHECKS:
        op.drop_constraint(op.f(name), table, type_="check")
        op.create_check_constraint(op.f(name), table, f"resource IN {NEW}")
    op.create_table(
        "open_orders",
        sa.Column("id", UUID(as_uuid=True), nullable=False),
        sa.Column("tenant_id", UUID(as_uuid=True), nullable=False),
        sa.Column("connector_id", UUID(as_uuid=True), nullable=False),
        sa.Column("endpoint_key", sa.String(60), nullable=False),
        sa.Column("external_id", sa.String(200), nullable=False),
        sa.Column("item_id", UUID(as_uuid=True), nullable=False),
        sa.Column("location_id", UUID(as_uuid=True), nullable=False),
        sa.Column("open_qty", PART_QTY, nullable=False),
        sa.Column("expected_at", sa.DateTime(timezone=True)),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("reference", sa.String(200)),
        sa.Column("created_run_id", UUID(as_uuid=True)),
        sa.Column("updated_run_id", UUID(as_uuid=True)),
        sa.Column("seen_run_id", UUID(as_uuid=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()")),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_open_orders")),
        sa.UniqueConstraint(
            "tenant_id", "connector_id", "endpoint_key", "external_id", name=op.f("uq_open_orders_source")
        ),
        sa.CheckConstraint("kind IN ('purchase', 'transfer')", name=op.f("ck_open_orders_kind")),
        sa.ForeignKeyConstraint(
            ["connector_id"], ["connectors.id"], ondelete="CASCADE", name=op.f("fk_open_orders_connector")
        ),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], ondelete="CASCADE", name=op.f("fk_open_orders_item")),
        sa.ForeignKeyConstraint(
            ["location_id"], ["locations.id"], ondelete="CASCADE", name=op.f("fk_open_orders_location")
        ),
    )
    op.create_index("ix_open_orders_pair", "open_orders", ["tenant_id", "item_id", "location_id"])
    enable_tenant_rls("open_orders")
    grant_tables(app_role_name(), "open_orders")


def downgrade() -> None:
    op.drop_table("open_orders")
    op.execute("DELETE FROM connector_endpoints WHERE resource = 'open_orders'")
    op.execute("DELETE FROM mappings WHERE resource = 'open_orders'")
    for table, name in CHECKS:
        op.drop_constraint(op.f(name), table, type_="check")
        op.create_check_constraint(op.f(name), table, f"resource IN {OLD}")
    op.drop_column("items", "order_multiple")
    op.drop_column("items", "min_order_qty")
