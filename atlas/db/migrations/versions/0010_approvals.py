"""Approval workflow state on recommendations and approval decisions (issue 6, owned by the approval-workflow work).

The recommendation row is the read model of its approval workflow: the policy it was evaluated under (version,
decision, required approvals, which revision), when it expires and was reminded, and how it was resolved.
`approval_decisions` holds every counted vote; one per person per revision of a recommendation.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from atlas.db.rls import app_role_name, enable_tenant_rls, grant_tables

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def _columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("policy_version", sa.Integer(), nullable=True),
        sa.Column("policy_revision", sa.Integer(), nullable=True),
        sa.Column("policy_decision", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("required_approvals", sa.Integer(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(length=200), nullable=True),
        sa.Column("resolution_reason", sa.Text(), nullable=True),
        sa.Column("workflow_started_at", sa.DateTime(timezone=True), nullable=True),
    ]


def upgrade() -> None:
    for column in _columns():
        op.add_column("recommendations", column)
    # The reconcile sweep looks for pending recommendations whose workflow never ran (across tenants).
    op.create_index(
        "ix_recommendations_workflow_missing",
        "recommendations",
        ["created_at"],
        postgresql_where=sa.text("status = 'pending' AND workflow_started_at IS NULL"),
    )
    op.create_table(
        "approval_decisions",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("recommendation_id", sa.UUID(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("subject_display", sa.String(length=320), nullable=True),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("verdict", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.CheckConstraint("verdict IN ('approve', 'reject')", name=op.f("ck_approval_decisions_verdict")),
        sa.CheckConstraint("revision >= 0", name=op.f("ck_approval_decisions_revision")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_approval_decisions_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["recommendation_id"],
            ["recommendations.id"],
            name=op.f("fk_approval_decisions_recommendation_id_recommendations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approval_decisions")),
        sa.UniqueConstraint("tenant_id", "recommendation_id", "revision", "subject", name="uq_approval_decisions_vote"),
    )
    grant_tables(app_role_name(), "approval_decisions")
    enable_tenant_rls("approval_decisions")


def downgrade() -> None:
    op.drop_table("approval_decisions")
    op.drop_index(
        "ix_recommendations_workflow_missing",
        table_name="recommendations",
        postgresql_where=sa.text("status = 'pending' AND workflow_started_at IS NULL"),
    )
    for column in reversed(_columns()):
        op.drop_column("recommendations", column.name)
