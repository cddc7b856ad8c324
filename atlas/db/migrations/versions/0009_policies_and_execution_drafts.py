"""Policies (versioned), execution drafts and connector action templates (issue 6, owned by the policy-and-lock work).

Both tables are insert-only for the application: its role has no UPDATE or DELETE on them, and a
trigger refuses either for anyone else, so a policy version or a draft is evidence that cannot change.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from atlas.db.rls import app_role_name, enable_tenant_rls

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

INSERT_ONLY = ("policies", "execution_drafts")


def upgrade() -> None:
    op.create_table(
        "policies",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("rules", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("author", sa.String(length=200), nullable=False),
        sa.Column("author_display", sa.String(length=320), nullable=True),
        sa.Column("note", sa.Text(), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.CheckConstraint("version >= 1", name=op.f("ck_policies_version")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_policies_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policies")),
        sa.UniqueConstraint("tenant_id", "version", name="uq_policies_tenant_version"),
    )
    op.create_table(
        "execution_drafts",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("recommendation_id", sa.UUID(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("action_type", sa.String(length=20), nullable=False),
        sa.Column("action", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("request", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("impact", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("summary_en", sa.Text(), nullable=False),
        sa.Column("summary_ar", sa.Text(), nullable=False),
        sa.Column("correlation_id", sa.String(length=100), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.CheckConstraint("kind IN ('dry_run', 'blocked')", name=op.f("ck_execution_drafts_kind")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_execution_drafts_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_execution_drafts")),
    )
    op.create_index(
        "ix_execution_drafts_recommendation",
        "execution_drafts",
        ["tenant_id", "recommendation_id", "revision", "kind"],
        unique=False,
    )
    op.create_index("ix_execution_drafts_recent", "execution_drafts", ["tenant_id", "kind", "created_at"], unique=False)
    op.add_column(
        "connectors",
        sa.Column(
            "action_templates", postgresql.JSONB(astext_type=sa.Text()), nullable=False, server_default=sa.text("'{}'")
        ),
    )

    role = app_role_name()
    for table in INSERT_ONLY:
        op.execute(f'GRANT SELECT, INSERT ON {table} TO "{role}"')
        op.execute(f'REVOKE UPDATE, DELETE, TRUNCATE ON {table} FROM "{role}"')
        enable_tenant_rls(table)
    op.execute(
        """
        CREATE FUNCTION atlas_insert_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          RAISE EXCEPTION '% rows are immutable: % is not allowed', TG_TABLE_NAME, TG_OP
            USING ERRCODE = 'insufficient_privilege';
        END $$
        """
    )
    for table in INSERT_ONLY:
        op.execute(
            f"CREATE TRIGGER {table}_insert_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION atlas_insert_only()"
        )


def downgrade() -> None:
    for table in INSERT_ONLY:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_insert_only ON {table}")
    op.execute("DROP FUNCTION IF EXISTS atlas_insert_only()")
    op.drop_column("connectors", "action_templates")
    op.drop_index("ix_execution_drafts_recent", table_name="execution_drafts")
    op.drop_index("ix_execution_drafts_recommendation", table_name="execution_drafts")
    op.drop_table("execution_drafts")
    op.drop_table("policies")
