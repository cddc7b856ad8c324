"""Faster sync writes: room on each page so repeated syncs update in place, no redundant tenant_id indexes.

Every other index of these tables starts with tenant_id, so the single-column index only
cost writes. Balances and movements keep their foreign keys to items and locations; their
keys to tenants and connectors were only a second path to the same rows (an item belongs to
the connector and the tenant, and deleting either still cascades through the item), and each
cost a trigger per inserted row. With a fillfactor below 100, a sync that rewrites a balance without changing
an indexed column makes a HOT update (no index maintenance).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TABLES = ("items", "locations", "stock_balances", "stock_movements")


def upgrade() -> None:
    for table in TABLES:
        op.drop_index(f"ix_{table}_tenant_id", table_name=table)
    for table in ("stock_balances", "stock_movements"):
        op.drop_constraint(f"fk_{table}_tenant_id_tenants", table, type_="foreignkey")
        op.drop_constraint(f"fk_{table}_connector_id_connectors", table, type_="foreignkey")
    op.execute("ALTER TABLE stock_balances SET (fillfactor = 70)")
    op.execute("ALTER TABLE items SET (fillfactor = 85)")
    op.execute("ALTER TABLE locations SET (fillfactor = 85)")


def downgrade() -> None:
    for table in ("stock_balances", "stock_movements"):
        op.create_foreign_key(
            f"fk_{table}_tenant_id_tenants", table, "tenants", ["tenant_id"], ["id"], ondelete="CASCADE"
        )
        op.create_foreign_key(
            f"fk_{table}_connector_id_connectors", table, "connectors", ["connector_id"], ["id"], ondelete="CASCADE"
        )
    for table in ("items", "locations", "stock_balances"):
        op.execute(f"ALTER TABLE {table} RESET (fillfactor)")
    for table in TABLES:
        op.create_index(f"ix_{table}_tenant_id", table, ["tenant_id"])
