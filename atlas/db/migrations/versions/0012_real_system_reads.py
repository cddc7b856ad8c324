"""Loading exactly what real systems hold: balance parts, stock counts, read kinds, honest run outcomes.

* ``stock_balance_parts``: every source record of a stock balance (a lot, a serial, a bin, one of several
  stock rows of an item at a location), keyed by the connector's endpoint and the record's own id; existing
  balances become one part each, keyed by their item and location ids (``<item_id>@<location_id>``), the key a
  ``last`` mapping uses. ``stock_balances`` becomes a view: the sum of the parts of each item and location,
  read with the reader's own row-level security (``security_invoker``). A balance is therefore always exactly
  the sum of the source records Atlas holds, and a sync writes each record once (no second row to keep in step).
  A part the source no longer has is kept at zero (``vanished_run_id``), so its balance stays, at zero, with its
  history. Parts reach their connector without a foreign key (one fewer check per row): a trigger removes them
  with their connector.
* ``stock_movements`` gains ``level`` (the quantity after the movement, when the source says it),
  ``level_key`` (whose level it is) and ``is_count`` (a stock count: the change is computed as counted minus the
  level before it).
* ``sync_runs.status`` may be ``needs_attention``: a run that wrote what it could but set aside too much, or
  refused to zero balances a broken source seemed to have lost; ``sync_runs.attention`` says why.
* Connectors: three more authentication kinds (HTTP Basic, an Authorization header with any scheme, a session
  login), static request headers, and the two thresholds a run is judged by; endpoints may be read-RPC calls.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

from atlas.db.rls import app_role_name, enable_tenant_rls, grant_tables

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

QTY = sa.Numeric(18, 4)
# A part keeps six decimals, so a balance summed from rows with five (InvenTree) or six equals the source's sum.
PART_QTY = sa.Numeric(20, 6)
OLD_AUTH_KINDS = "('none', 'api_key', 'bearer', 'oauth2_client_credentials')"
AUTH_KINDS = "('none', 'api_key', 'bearer', 'oauth2_client_credentials', 'basic', 'header', 'session_login')"


BALANCES_VIEW = """
CREATE VIEW stock_balances WITH (security_invoker = true) AS
SELECT md5(p.item_id::text || '@' || p.location_id::text)::uuid AS id,
       p.tenant_id, min(p.connector_id::text)::uuid AS connector_id, p.item_id, p.location_id,
       sum(p.quantity) AS quantity, sum(p.reserved_qty) AS reserved_qty, sum(p.available_qty) AS available_qty,
       max(p.as_of) AS as_of, max(p.updated_at) AS updated_at
FROM stock_balance_parts p
GROUP BY p.tenant_id, p.item_id, p.location_id
"""


def upgrade() -> None:
    op.create_table(
        "stock_balance_parts",
        sa.Column("tenant_id", UUID(as_uuid=True), nullable=False),
        sa.Column("connector_id", UUID(as_uuid=True), nullable=False),
        sa.Column("endpoint_key", sa.String(60), nullable=False),
        sa.Column("source_id", sa.String(420), nullable=False),
        sa.Column("item_id", UUID(as_uuid=True), nullable=False),
        sa.Column("location_id", UUID(as_uuid=True), nullable=False),
        sa.Column("quantity", PART_QTY, nullable=False),
        sa.Column("reserved_qty", PART_QTY, nullable=False),
        sa.Column("available_qty", PART_QTY, nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True)),
        sa.Column("created_run_id", UUID(as_uuid=True)),
        sa.Column("updated_run_id", UUID(as_uuid=True)),
        sa.Column("seen_run_id", UUID(as_uuid=True)),
        sa.Column("vanished_run_id", UUID(as_uuid=True)),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()")),
        sa.PrimaryKeyConstraint(
            "tenant_id", "connector_id", "endpoint_key", "source_id", name="pk_stock_balance_parts"
        ),
    )
    op.create_index("ix_stock_balance_parts_pair", "stock_balance_parts", ["tenant_id", "item_id", "location_id"])
    # The zero parts a reconciliation left (few, often none): found without reading every part.
    op.create_index(
        "ix_stock_balance_parts_vanished",
        "stock_balance_parts",
        ["tenant_id", "connector_id"],
        postgresql_where=sa.text("vanished_run_id IS NOT NULL"),
    )
    op.execute("ALTER TABLE stock_balance_parts SET (fillfactor = 70)")
    enable_tenant_rls("stock_balance_parts")
    grant_tables(app_role_name(), "stock_balance_parts")
    op.execute(
        """
        CREATE FUNCTION stock_balance_parts_of_connector() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            DELETE FROM stock_balance_parts WHERE tenant_id = OLD.tenant_id AND connector_id = OLD.id;
            RETURN OLD;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER stock_balance_parts_of_connector AFTER DELETE ON connectors "
        "FOR EACH ROW EXECUTE FUNCTION stock_balance_parts_of_connector()"
    )
    # Every existing balance becomes its own part, under the connector's first balance endpoint.
    op.execute("SELECT set_config('app.scope', 'system', true)")
    op.execute(
        """
        INSERT INTO stock_balance_parts (tenant_id, connector_id, endpoint_key, source_id, item_id, location_id,
                                         quantity, reserved_qty, available_qty, as_of, created_run_id,
                                         updated_run_id, seen_run_id, updated_at)
        SELECT b.tenant_id, b.connector_id,
               coalesce((SELECT e.key FROM connector_endpoints e
                         WHERE e.connector_id = b.connector_id AND e.resource = 'stock_balances'
                         ORDER BY e.position LIMIT 1), 'stock'),
               b.item_id::text || '@' || b.location_id::text, b.item_id, b.location_id, b.quantity, b.reserved_qty,
               b.available_qty, b.as_of, b.created_run_id, b.updated_run_id, b.seen_run_id, b.updated_at
        FROM stock_balances b
        ON CONFLICT DO NOTHING
        """
    )
    op.drop_table("stock_balances")
    op.execute(BALANCES_VIEW)
    op.execute(f'GRANT SELECT ON stock_balances TO "{app_role_name()}"')

    op.add_column("stock_movements", sa.Column("level", QTY))
    op.add_column("stock_movements", sa.Column("level_key", sa.String(420)))
    op.add_column("stock_movements", sa.Column("is_count", sa.Boolean(), nullable=False, server_default="false"))
    op.create_index(
        "ix_stock_movements_level",
        "stock_movements",
        ["tenant_id", "connector_id", "level_key", "occurred_at"],
        postgresql_where=sa.text("level_key IS NOT NULL"),
    )

    op.drop_constraint(op.f("ck_sync_runs_status"), "sync_runs", type_="check")
    op.create_check_constraint(
        op.f("ck_sync_runs_status"),
        "sync_runs",
        "status IN ('queued', 'running', 'succeeded', 'needs_attention', 'failed')",
    )
    op.add_column("sync_runs", sa.Column("attention", JSONB))

    op.drop_constraint(op.f("ck_connectors_auth_kind"), "connectors", type_="check")
    op.create_check_constraint(op.f("ck_connectors_auth_kind"), "connectors", f"auth_kind IN {AUTH_KINDS}")
    op.add_column("connectors", sa.Column("headers", JSONB, nullable=False, server_default="{}"))
    op.add_column("connectors", sa.Column("max_set_aside_share", sa.Float(), nullable=False, server_default="0.05"))
    op.add_column("connectors", sa.Column("max_vanished_share", sa.Float(), nullable=False, server_default="0.2"))
    op.add_column("connector_endpoints", sa.Column("rpc", JSONB))


def downgrade() -> None:
    op.drop_column("connector_endpoints", "rpc")
    op.drop_column("connectors", "max_vanished_share")
    op.drop_column("connectors", "max_set_aside_share")
    op.drop_column("connectors", "headers")
    op.drop_constraint(op.f("ck_connectors_auth_kind"), "connectors", type_="check")
    op.create_check_constraint(op.f("ck_connectors_auth_kind"), "connectors", f"auth_kind IN {OLD_AUTH_KINDS}")
    op.drop_column("sync_runs", "attention")
    op.drop_constraint(op.f("ck_sync_runs_status"), "sync_runs", type_="check")
    op.create_check_constraint(
        op.f("ck_sync_runs_status"), "sync_runs", "status IN ('queued', 'running', 'succeeded', 'failed')"
    )
    op.drop_index("ix_stock_movements_level", table_name="stock_movements")
    op.drop_column("stock_movements", "is_count")
    op.drop_column("stock_movements", "level_key")
    op.drop_column("stock_movements", "level")
    # Balances as a table again, one row per item and location with the sum of its parts.
    op.execute("DROP VIEW stock_balances")
    op.execute(
        """
        CREATE TABLE stock_balances (
            id uuid PRIMARY KEY, tenant_id uuid NOT NULL, connector_id uuid NOT NULL, external_id varchar(420) NOT NULL,
            item_id uuid NOT NULL REFERENCES items (id) ON DELETE CASCADE,
            location_id uuid NOT NULL REFERENCES locations (id) ON DELETE CASCADE,
            quantity numeric(18, 4) NOT NULL, reserved_qty numeric(18, 4) NOT NULL, available_qty numeric(18, 4) NOT NULL,
            as_of timestamptz, created_run_id uuid, updated_run_id uuid, seen_run_id uuid, updated_at timestamptz NOT NULL,
            CONSTRAINT uq_stock_balances_item_location UNIQUE (tenant_id, item_id, location_id)
        ) WITH (fillfactor = 70)
        """
    )
    enable_tenant_rls("stock_balances")
    grant_tables(app_role_name(), "stock_balances")
    op.execute("SELECT set_config('app.scope', 'system', true)")
    op.execute(
        """
        INSERT INTO stock_balances (id, tenant_id, connector_id, external_id, item_id, location_id, quantity,
                                    reserved_qty, available_qty, as_of, updated_at)
        SELECT md5(item_id::text || '@' || location_id::text)::uuid, tenant_id, min(connector_id::text)::uuid,
               item_id::text || '@' || location_id::text, item_id, location_id, sum(quantity), sum(reserved_qty),
               sum(available_qty), max(as_of), max(updated_at)
        FROM stock_balance_parts GROUP BY tenant_id, item_id, location_id
        """
    )
    op.execute("DROP TRIGGER stock_balance_parts_of_connector ON connectors")
    op.execute("DROP FUNCTION stock_balance_parts_of_connector()")
    op.drop_table("stock_balance_parts")
