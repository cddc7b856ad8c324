"""Sign-in hardening: a login flow is bound to the browser that started it, and a session keeps its id_token.

``login_flows.browser_binding_hash`` is the SHA-256 of the random secret Atlas put in that browser's
``atlas_login_…`` cookie; the callback refuses a flow whose cookie is missing or different (login CSRF).
Flows in flight have no binding and last minutes: they are dropped.

``web_sessions.id_token_encrypted`` is the provider's id_token (encrypted with the deployment's key), sent back
as ``id_token_hint`` when signing out at the provider (RP-initiated logout).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DELETE FROM login_flows")
    op.add_column("login_flows", sa.Column("browser_binding_hash", sa.String(64), nullable=False))
    op.add_column("web_sessions", sa.Column("id_token_encrypted", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("web_sessions", "id_token_encrypted")
    op.drop_column("login_flows", "browser_binding_hash")
