"""Billing: subscription lifecycle columns, saved cards, payment attempts, invoices (gapless numbers),
billing profiles, meeting requests, in-app billing notices, and Moyasar's webhook events.

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from atlas.db.rls import app_role_name, enable_tenant_rls, grant_tables

revision = "0008"
down_revision = "0006"
branch_labels = None
depends_on = None

TENANT_TABLES = (
    "payment_methods",
    "payment_attempts",
    "invoices",
    "billing_profiles",
    "meeting_requests",
    "billing_notices",
)


def _tenant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id"], ["tenants.id"], name=op.f(f"fk_{table}_tenant_id_tenants"), ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "payment_methods",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("token_encrypted", sa.Text(), nullable=False),
        sa.Column("brand", sa.String(length=20), nullable=True),
        sa.Column("last_four", sa.String(length=4), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        _tenant_fk("payment_methods"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_methods")),
    )
    op.create_index(op.f("ix_payment_methods_tenant_id"), "payment_methods", ["tenant_id"])

    op.add_column("subscriptions", sa.Column("billing_mode", sa.String(20), nullable=False, server_default="moyasar"))
    op.add_column(
        "subscriptions", sa.Column("cancel_at_period_end", sa.Boolean(), nullable=False, server_default="false")
    )
    op.add_column("subscriptions", sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("subscriptions", sa.Column("expired_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("subscriptions", sa.Column("pending_plan_id", sa.String(40), nullable=True))
    op.add_column("subscriptions", sa.Column("past_due_since", sa.DateTime(timezone=True), nullable=True))
    op.add_column("subscriptions", sa.Column("failed_renewals", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("subscriptions", sa.Column("payment_method_id", sa.UUID(), nullable=True))
    op.add_column("subscriptions", sa.Column("contract_reference", sa.String(200), nullable=True))
    op.create_check_constraint(
        op.f("ck_subscriptions_billing_mode"), "subscriptions", "billing_mode IN ('moyasar', 'contract')"
    )
    op.create_foreign_key(
        op.f("fk_subscriptions_pending_plan_id_subscription_plans"),
        "subscriptions",
        "subscription_plans",
        ["pending_plan_id"],
        ["id"],
    )
    op.create_foreign_key(
        op.f("fk_subscriptions_payment_method_id_payment_methods"),
        "subscriptions",
        "payment_methods",
        ["payment_method_id"],
        ["id"],
        ondelete="SET NULL",
    )

    op.create_table(
        "payment_attempts",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("subscription_id", sa.UUID(), nullable=False),
        sa.Column("purpose", sa.String(20), nullable=False),
        sa.Column("plan_id", sa.String(40), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempt_no", sa.Integer(), nullable=False),
        sa.Column("amount_net", sa.Integer(), nullable=False),
        sa.Column("vat", sa.Integer(), nullable=False),
        sa.Column("amount_total", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("payment_method_id", sa.UUID(), nullable=True),
        sa.Column("transaction_url", sa.Text(), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.CheckConstraint("purpose IN ('subscribe', 'upgrade', 'renewal')", name=op.f("ck_payment_attempts_purpose")),
        sa.CheckConstraint(
            "status IN ('created', 'initiated', 'paid', 'failed', 'abandoned', 'error')",
            name=op.f("ck_payment_attempts_status"),
        ),
        sa.CheckConstraint("amount_total = amount_net + vat", name=op.f("ck_payment_attempts_total")),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["subscriptions.id"],
            name=op.f("fk_payment_attempts_subscription_id_subscriptions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["subscription_plans.id"], name=op.f("fk_payment_attempts_plan_id_subscription_plans")
        ),
        sa.ForeignKeyConstraint(
            ["payment_method_id"],
            ["payment_methods.id"],
            name=op.f("fk_payment_attempts_payment_method_id_payment_methods"),
            ondelete="SET NULL",
        ),
        _tenant_fk("payment_attempts"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_attempts")),
        sa.UniqueConstraint(
            "subscription_id", "purpose", "plan_id", "period_start", "attempt_no", name=op.f("uq_payment_attempts_key")
        ),
    )
    op.create_index(op.f("ix_payment_attempts_tenant_id"), "payment_attempts", ["tenant_id"])

    op.create_table(
        "invoices",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("number", sa.BigInteger(), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payment_attempt_id", sa.UUID(), nullable=True),
        sa.Column("purpose", sa.String(20), nullable=False),
        sa.Column("plan_id", sa.String(40), nullable=False),
        sa.Column("plan_name_ar", sa.String(100), nullable=False),
        sa.Column("plan_name_en", sa.String(100), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("net", sa.Integer(), nullable=False),
        sa.Column("vat", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("vat_rate_bp", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("seller_name", sa.String(200), nullable=False),
        sa.Column("seller_vat_number", sa.String(15), nullable=False),
        sa.Column("buyer_legal_name", sa.String(200), nullable=False),
        sa.Column("buyer_vat_number", sa.String(15), nullable=True),
        sa.Column("card_brand", sa.String(20), nullable=True),
        sa.Column("card_last_four", sa.String(4), nullable=True),
        sa.Column("qr_tlv_base64", sa.Text(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.CheckConstraint("total = net + vat", name=op.f("ck_invoices_total")),
        sa.ForeignKeyConstraint(
            ["payment_attempt_id"],
            ["payment_attempts.id"],
            name=op.f("fk_invoices_payment_attempt_id_payment_attempts"),
            ondelete="RESTRICT",
        ),
        _tenant_fk("invoices"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoices")),
        sa.UniqueConstraint("number", name="uq_invoices_number"),
        sa.UniqueConstraint("payment_attempt_id", name="uq_invoices_payment_attempt"),
    )
    op.create_index(op.f("ix_invoices_tenant_id"), "invoices", ["tenant_id"])

    op.create_table(
        "invoice_counters",
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("last_number", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_invoice_counters")),
    )
    op.execute("INSERT INTO invoice_counters (name, last_number) VALUES ('invoices', 0)")

    op.create_table(
        "billing_profiles",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("legal_name", sa.String(200), nullable=False),
        sa.Column("vat_number", sa.String(15), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        _tenant_fk("billing_profiles"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_profiles")),
        sa.UniqueConstraint("tenant_id", name="uq_billing_profiles_tenant"),
    )

    op.create_table(
        "meeting_requests",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("contact_name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("phone", sa.String(40), nullable=False),
        sa.Column("preferred_times", sa.Text(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        _tenant_fk("meeting_requests"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_requests")),
    )
    op.create_index(op.f("ix_meeting_requests_tenant_id"), "meeting_requests", ["tenant_id"])

    op.create_table(
        "billing_notices",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("params", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("action_url", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        _tenant_fk("billing_notices"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_notices")),
    )
    op.create_index(op.f("ix_billing_notices_tenant_id"), "billing_notices", ["tenant_id"])

    op.create_table(
        "moyasar_events",
        sa.Column("id", sa.String(100), nullable=False),
        sa.Column("type", sa.String(50), nullable=False),
        sa.Column("payment_id", sa.String(100), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(60), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_moyasar_events")),
    )

    role = app_role_name()
    grant_tables(role, *TENANT_TABLES, "moyasar_events")
    # The counter is only ever read and incremented.
    op.execute(f'GRANT SELECT, UPDATE ON invoice_counters TO "{role}"')
    op.execute(f'REVOKE INSERT, DELETE, TRUNCATE ON invoice_counters FROM "{role}"')
    # An issued invoice never changes.
    op.execute(f'REVOKE UPDATE, DELETE, TRUNCATE ON invoices FROM "{role}"')
    for table in TENANT_TABLES:
        enable_tenant_rls(table)


def downgrade() -> None:
    for table in ("moyasar_events", "billing_notices", "meeting_requests", "billing_profiles", "invoice_counters"):
        op.drop_table(table)
    op.drop_table("invoices")
    op.drop_table("payment_attempts")
    op.drop_constraint(op.f("fk_subscriptions_payment_method_id_payment_methods"), "subscriptions", type_="foreignkey")
    op.drop_constraint(op.f("fk_subscriptions_pending_plan_id_subscription_plans"), "subscriptions", type_="foreignkey")
    op.drop_constraint(op.f("ck_subscriptions_billing_mode"), "subscriptions", type_="check")
    for column in (
        "contract_reference",
        "payment_method_id",
        "failed_renewals",
        "past_due_since",
        "pending_plan_id",
        "expired_at",
        "cancelled_at",
        "cancel_at_period_end",
        "billing_mode",
    ):
        op.drop_column("subscriptions", column)
    op.drop_table("payment_methods")
