"""Movements keep six decimals, as balance parts do.

A movement's quantity and level were numeric(18, 4): Business Central keeps quantities to five decimals and SAP
Business One to six, so a weighed sale of 2.31988 kg was stored as 2.3199 and the history no longer added up to the
source's. numeric(20, 6) holds what those systems hold (and what balance parts already hold since 0012).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for column in ("quantity", "level"):
        op.alter_column("stock_movements", column, type_=sa.Numeric(20, 6), existing_type=sa.Numeric(18, 4))


def downgrade() -> None:
    for column in ("quantity", "level"):
        op.alter_column("stock_movements", column, type_=sa.Numeric(18, 4), existing_type=sa.Numeric(20, 6))
