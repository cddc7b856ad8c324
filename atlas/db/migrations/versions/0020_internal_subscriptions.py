"""A subscription can be marked internal: the operator's own tenant, reported apart from revenue.

The platform admin's billing overview summed the plan price of every active or past-due subscription as monthly
recurring revenue, so the platform's own operations tenant (on the enterprise plan by contract) counted as income
(issue 19). ``subscriptions.internal`` says a tenant is Atlas's own: its plan price is shown as internal use, never
as revenue. Contract customers need no new column: ``billing_mode = 'contract'`` already says so. Existing rows are
customers (``false``); the demo seed marks its platform tenant.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("subscriptions", sa.Column("internal", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    op.drop_column("subscriptions", "internal")
