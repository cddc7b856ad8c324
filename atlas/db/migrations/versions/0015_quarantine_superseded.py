"""A record set aside again by a later run supersedes its earlier copy: the quarantine counts each failing source
record once.

A full read sets aside the same bad records on every run (the quarantine is keyed by run, so each run keeps what
it met). Open counts, groups and "set aside now" therefore grew with every sync while the source had not changed.
Now the newest copy of a record (same connector, endpoint and content) stays open and the earlier ones become
``superseded`` (resolved by the run that met the record again). Existing duplicates are resolved the same way here.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

STATUSES = "status IN ('open', 'reprocessed', 'dismissed', 'superseded')"
OLD_STATUSES = "status IN ('open', 'reprocessed', 'dismissed')"


def upgrade() -> None:
    op.drop_constraint(op.f("ck_quarantined_records_status"), "quarantined_records", type_="check")
    op.create_check_constraint(op.f("ck_quarantined_records_status"), "quarantined_records", STATUSES)
    op.execute(
        "CREATE INDEX ix_quarantine_open_content ON quarantined_records "
        "(tenant_id, connector_id, endpoint_key, content_hash) WHERE status = 'open'"
    )
    op.execute("SELECT set_config('app.scope', 'system', true)")
    op.execute(
        """
        UPDATE quarantined_records q SET status = 'superseded', resolved_at = newer.created_at,
               resolved_run_id = newer.sync_run_id
        FROM (
            SELECT id, created_at, sync_run_id,
                   lead(id) OVER w AS next_id
            FROM quarantined_records WHERE status = 'open'
            WINDOW w AS (PARTITION BY tenant_id, connector_id, endpoint_key, content_hash ORDER BY created_at, id)
        ) older
        JOIN quarantined_records newer ON newer.id = older.next_id
        WHERE q.id = older.id
        """
    )


def downgrade() -> None:
    op.execute("SELECT set_config('app.scope', 'system', true)")
    op.execute("UPDATE quarantined_records SET status = 'dismissed' WHERE status = 'superseded'")
    op.execute("DROP INDEX ix_quarantine_open_content")
    op.drop_constraint(op.f("ck_quarantined_records_status"), "quarantined_records", type_="check")
    op.create_check_constraint(op.f("ck_quarantined_records_status"), "quarantined_records", OLD_STATUSES)
