"""Credit notes, debit notes and refunds (issue 20).

``invoices`` holds every document billing issues, numbered from the one gapless platform-wide sequence: ``kind``
is ``invoice`` (388), ``credit_note`` (381) or ``debit_note`` (383). A note names the document it adjusts
(``original_invoice_id``: NULL exactly when the row is an invoice) and its ``reason`` (ZATCA's KSA-10 instruction
note, required for notes). ``replaces_invoice_id`` is set on an amended invoice that replaces one ZATCA refused.
Existing rows become invoices. The table keeps its row-level security and grants (0008: no UPDATE or DELETE).

``refunds`` belongs to a tenant (row-level security like every tenant table): money a platform admin gives back on a
paid invoice or debit note, recorded ``requested`` before Moyasar is called (the refund API is not idempotent) and
settled after (``refunded``, ``failed`` or ``unknown``); ``refunded_before`` is Moyasar's ``refunded`` figure read just
before the call, what tells a refund that went through from one that did not. At most one ``requested`` refund per
payment attempt. The role may insert and update (the status moves), never delete.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from atlas.db.rls import app_role_name, enable_tenant_rls

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("invoices", sa.Column("kind", sa.String(20), nullable=False, server_default=sa.text("'invoice'")))
    op.add_column("invoices", sa.Column("original_invoice_id", sa.UUID(), nullable=True))
    op.add_column("invoices", sa.Column("reason", sa.Text(), nullable=True))
    op.add_column("invoices", sa.Column("replaces_invoice_id", sa.UUID(), nullable=True))
    op.create_foreign_key(
        op.f("fk_invoices_original_invoice_id_invoices"),
        "invoices",
        "invoices",
        ["original_invoice_id"],
        ["id"],
        ondelete="RESTRICT",
    )
    op.create_foreign_key(
        op.f("fk_invoices_replaces_invoice_id_invoices"),
        "invoices",
        "invoices",
        ["replaces_invoice_id"],
        ["id"],
        ondelete="RESTRICT",
    )
    op.create_check_constraint(op.f("ck_invoices_kind"), "invoices", "kind IN ('invoice', 'credit_note', 'debit_note')")
    op.create_check_constraint(
        op.f("ck_invoices_original"), "invoices", "(original_invoice_id IS NULL) = (kind = 'invoice')"
    )
    op.create_check_constraint(
        op.f("ck_invoices_note_reason"),
        "invoices",
        "kind = 'invoice' OR (reason IS NOT NULL AND length(btrim(reason)) > 0)",
    )
    op.create_index(
        op.f("ix_invoices_original_invoice_id"),
        "invoices",
        ["original_invoice_id"],
        postgresql_where=sa.text("original_invoice_id IS NOT NULL"),
    )

    op.create_table(
        "refunds",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("invoice_id", sa.UUID(), nullable=False),
        sa.Column("payment_attempt_id", sa.UUID(), nullable=False),
        sa.Column("moyasar_payment_id", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("plan_id", sa.String(40), nullable=True),
        sa.Column("amount_net", sa.Integer(), nullable=False),
        sa.Column("vat", sa.Integer(), nullable=False),
        sa.Column("amount_total", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False, server_default=sa.text("'SAR'")),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("refunded_before", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("credit_note_id", sa.UUID(), nullable=True),
        sa.Column("requested_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.CheckConstraint("kind IN ('refund', 'cancellation', 'downgrade')", name=op.f("ck_refunds_kind")),
        sa.CheckConstraint("status IN ('requested', 'refunded', 'failed', 'unknown')", name=op.f("ck_refunds_status")),
        sa.CheckConstraint("amount_total = amount_net + vat", name=op.f("ck_refunds_total")),
        sa.CheckConstraint("amount_total > 0 AND amount_net >= 0 AND vat >= 0", name=op.f("ck_refunds_positive")),
        sa.CheckConstraint("(plan_id IS NOT NULL) = (kind = 'downgrade')", name=op.f("ck_refunds_plan")),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name=op.f("fk_refunds_invoice_id_invoices"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["payment_attempt_id"],
            ["payment_attempts.id"],
            name=op.f("fk_refunds_payment_attempt_id_payment_attempts"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["subscription_plans.id"], name=op.f("fk_refunds_plan_id_subscription_plans")
        ),
        sa.ForeignKeyConstraint(
            ["credit_note_id"], ["invoices.id"], name=op.f("fk_refunds_credit_note_id_invoices"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_refunds_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refunds")),
    )
    op.create_index(op.f("ix_refunds_tenant_id"), "refunds", ["tenant_id"])
    op.create_index(op.f("ix_refunds_invoice_id"), "refunds", ["invoice_id"])
    # never two refunds in flight on one payment: the second would read a stale ``refunded_before``
    op.create_index(
        "uq_refunds_requested",
        "refunds",
        ["payment_attempt_id"],
        unique=True,
        postgresql_where=sa.text("status = 'requested'"),
    )
    # what reconciliation and the platform pages look for
    op.create_index(
        "ix_refunds_open", "refunds", ["created_at"], postgresql_where=sa.text("status IN ('requested', 'unknown')")
    )

    role = app_role_name()
    op.execute(f'GRANT SELECT, INSERT, UPDATE ON refunds TO "{role}"')
    op.execute(f'REVOKE DELETE, TRUNCATE ON refunds FROM "{role}"')
    enable_tenant_rls("refunds")


def downgrade() -> None:
    op.drop_table("refunds")
    op.drop_index(op.f("ix_invoices_original_invoice_id"), table_name="invoices")
    op.drop_constraint(op.f("ck_invoices_note_reason"), "invoices", type_="check")
    op.drop_constraint(op.f("ck_invoices_original"), "invoices", type_="check")
    op.drop_constraint(op.f("ck_invoices_kind"), "invoices", type_="check")
    op.drop_constraint(op.f("fk_invoices_replaces_invoice_id_invoices"), "invoices", type_="foreignkey")
    op.drop_constraint(op.f("fk_invoices_original_invoice_id_invoices"), "invoices", type_="foreignkey")
    op.drop_column("invoices", "replaces_invoice_id")
    op.drop_column("invoices", "reason")
    op.drop_column("invoices", "original_invoice_id")
    op.drop_column("invoices", "kind")
