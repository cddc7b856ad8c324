"""No-code set-up: connectors remember the preset they were made from; two more OAuth2 grants.

* ``connectors.preset``: ``{"id": "inventree", "version": 3}`` when the connector was laid down from a preset
  (a versioned declarative file per system, ``atlas/presets/files/``), else null. The drafts page offers that
  system's import formats, and the connector page shows which preset version it came from.
* Two more authentication kinds: ``oauth2_refresh_token`` (Zoho Inventory: a long-lived refresh token exchanged
  for access tokens) and ``oauth2_password`` (Daftra: the resource-owner password grant).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

OLD_AUTH_KINDS = "('none', 'api_key', 'bearer', 'oauth2_client_credentials', 'basic', 'header', 'session_login')"
AUTH_KINDS = (
    "('none', 'api_key', 'bearer', 'oauth2_client_credentials', 'basic', 'header', 'session_login', "
    "'oauth2_refresh_token', 'oauth2_password')"
)


def upgrade() -> None:
    op.add_column("connectors", sa.Column("preset", JSONB))
    op.drop_constraint(op.f("ck_connectors_auth_kind"), "connectors", type_="check")
    op.create_check_constraint(op.f("ck_connectors_auth_kind"), "connectors", f"auth_kind IN {AUTH_KINDS}")


def downgrade() -> None:
    op.drop_constraint(op.f("ck_connectors_auth_kind"), "connectors", type_="check")
    op.create_check_constraint(op.f("ck_connectors_auth_kind"), "connectors", f"auth_kind IN {OLD_AUTH_KINDS}")
    op.drop_column("connectors", "preset")
