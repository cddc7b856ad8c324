"""ZATCA Phase 2: Atlas's invoicing units and the signed documents of each chain (issue 20).

``einvoicing_units`` is global (Atlas is the seller; a platform admin onboards a unit): the encrypted private key
and CSIDs, the certificate and its expiry, and the head of the unit's chain (``last_icv``, ``last_hash``), a row
locked by the transaction that issues a document so the chain has no gap and no fork. The application role may
read, insert and update it, never delete (a unit is retired, its chain kept).

``einvoices`` belongs to a tenant (row-level security like every tenant table): each signed document, its place in
the chain, its XML and where it stands with ZATCA. The role may insert and update (status columns move as ZATCA
answers), never delete.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from atlas.db.rls import app_role_name, enable_tenant_rls

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "einvoicing_units",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("environment", sa.String(20), nullable=False),
        sa.Column("gateway_url", sa.String(300), nullable=False),
        sa.Column("vat_number", sa.String(15), nullable=False),
        sa.Column("common_name", sa.String(200), nullable=False),
        sa.Column("serial", sa.String(200), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("private_key_encrypted", sa.Text(), nullable=False),
        sa.Column("compliance_request_id", sa.String(100), nullable=True),
        sa.Column("compliance_token_encrypted", sa.Text(), nullable=True),
        sa.Column("compliance_secret_encrypted", sa.Text(), nullable=True),
        sa.Column("compliance_checks", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("production_token_encrypted", sa.Text(), nullable=True),
        sa.Column("production_secret_encrypted", sa.Text(), nullable=True),
        sa.Column("certificate_pem", sa.Text(), nullable=True),
        sa.Column("certificate_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_icv", sa.BigInteger(), nullable=False),
        sa.Column("last_hash", sa.Text(), nullable=False),
        sa.Column("failure", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_einvoicing_units")),
    )
    # at most one unit issues documents at a time
    op.create_index(
        "uq_einvoicing_units_active", "einvoicing_units", ["active"], unique=True, postgresql_where=sa.text("active")
    )
    op.create_table(
        "einvoices",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("invoice_id", sa.UUID(), nullable=False),
        sa.Column("unit_id", sa.UUID(), nullable=False),
        sa.Column("icv", sa.BigInteger(), nullable=False),
        sa.Column("uuid", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(3), nullable=False),
        sa.Column("transaction", sa.String(7), nullable=False),
        sa.Column("number", sa.String(40), nullable=False),
        sa.Column("invoice_hash", sa.Text(), nullable=False),
        sa.Column("pih", sa.Text(), nullable=False),
        sa.Column("qr", sa.Text(), nullable=False),
        sa.Column("xml", sa.Text(), nullable=False),
        sa.Column("cleared_xml", sa.Text(), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("messages", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("report_by", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("superseded_by", sa.UUID(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.CheckConstraint(
            "status IN ('clearing', 'cleared', 'reporting', 'reported', 'refused')", name=op.f("ck_einvoices_status")
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name=op.f("fk_einvoices_invoice_id_invoices"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"],
            ["einvoicing_units.id"],
            name=op.f("fk_einvoices_unit_id_einvoicing_units"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_einvoices_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_einvoices")),
        sa.UniqueConstraint("unit_id", "icv", name="uq_einvoices_unit_icv"),
        sa.UniqueConstraint("uuid", name="uq_einvoices_uuid"),
    )
    op.create_index(op.f("ix_einvoices_invoice_id"), "einvoices", ["invoice_id"])
    op.create_index(op.f("ix_einvoices_tenant_id"), "einvoices", ["tenant_id"])
    # what the submitter looks for: a unit's documents still to send, in chain order
    op.create_index(
        "ix_einvoices_pending",
        "einvoices",
        ["unit_id", "icv"],
        postgresql_where=sa.text("status IN ('clearing', 'reporting')"),
    )

    role = app_role_name()
    op.execute(f'GRANT SELECT, INSERT, UPDATE ON einvoicing_units TO "{role}"')
    op.execute(f'GRANT SELECT, INSERT, UPDATE ON einvoices TO "{role}"')
    op.execute(f'REVOKE DELETE, TRUNCATE ON einvoicing_units, einvoices FROM "{role}"')
    enable_tenant_rls("einvoices")


def downgrade() -> None:
    op.drop_table("einvoices")
    op.drop_table("einvoicing_units")
