"""Connectors: minutes between scheduled syncs (None: on demand only).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("connectors", sa.Column("sync_interval_minutes", sa.Integer(), nullable=True))
    op.create_check_constraint(
        "ck_connectors_sync_interval",
        "connectors",
        "sync_interval_minutes IS NULL OR sync_interval_minutes BETWEEN 5 AND 10080",
    )


def downgrade() -> None:
    op.drop_constraint("ck_connectors_sync_interval", "connectors", type_="check")
    op.drop_column("connectors", "sync_interval_minutes")
