"""Stored forecasts keep the daily median (q0.5).

The engine publishes the daily quantiles q0.1, q0.5 and q0.9 of every forecast (issue 17); ``forecasts`` kept only
the mean and q0.1/q0.9 (as ``lo80``/``hi80``). ``q50`` holds the median per day, rounded like the others. Nullable:
rows written before this revision have none until the next analysis replaces them (the API says ``null``).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("forecasts", sa.Column("q50", JSONB))


def downgrade() -> None:
    op.drop_column("forecasts", "q50")
