"""A tenant's time zone: where its people read times (issue 19).

Pages showed every time in UTC. ``tenants.time_zone`` holds an IANA name (validated against the machine's zoneinfo
names when the tenant's admin changes it, ``PATCH /api/tenant/settings``); the pages show times in it, with the
Hijri date beside the Gregorian where people read dates (``atlas.i18n.formats``). Existing tenants, like new ones,
read Saudi time: Asia/Riyadh.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "tenants", sa.Column("time_zone", sa.String(64), nullable=False, server_default=sa.text("'Asia/Riyadh'"))
    )


def downgrade() -> None:
    op.drop_column("tenants", "time_zone")
