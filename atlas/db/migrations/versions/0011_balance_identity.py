"""A stock balance is identified by its item and location: one unique index instead of two.

A balance is the quantity of one item at one location, and an item belongs to one connector, so
``(tenant_id, item_id, location_id)`` identifies it. The sync upserted balances on
``(tenant_id, connector_id, external_id)``, with ``external_id`` made from the references the source used
(``item_ref@location_ref``), and kept a second index on ``(tenant_id, item_id, location_id)`` for reading.
Keyed on item and location, the one unique index serves both, every inserted balance maintains one index
fewer, and two references to the same item (its SKU and its source id) can no longer make two balances of
it. ``external_id`` stays on the row as the source's reference. Duplicates an older sync made that way are
removed first, keeping the most recently changed.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Row-level security is forced on this table: see every tenant's rows whatever role migrates.
    op.execute("SELECT set_config('app.scope', 'system', true)")
    op.execute(
        """
        DELETE FROM stock_balances a USING stock_balances b
        WHERE a.tenant_id = b.tenant_id AND a.item_id = b.item_id AND a.location_id = b.location_id
          AND (a.updated_at, a.id) < (b.updated_at, b.id)
        """
    )
    op.drop_constraint("uq_stock_balances_source", "stock_balances", type_="unique")
    op.drop_index("ix_stock_balances_item_location", table_name="stock_balances")
    op.create_unique_constraint(
        "uq_stock_balances_item_location", "stock_balances", ["tenant_id", "item_id", "location_id"]
    )


def downgrade() -> None:
    op.drop_constraint("uq_stock_balances_item_location", "stock_balances", type_="unique")
    op.create_index("ix_stock_balances_item_location", "stock_balances", ["tenant_id", "item_id", "location_id"])
    op.create_unique_constraint(
        "uq_stock_balances_source", "stock_balances", ["tenant_id", "connector_id", "external_id"]
    )
