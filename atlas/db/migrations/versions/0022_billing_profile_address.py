"""The billing profile names the buyer as a ZATCA Phase 2 standard invoice needs (issue 20).

A standard (B2B) tax invoice names the VAT-registered buyer's legal name, VAT number and national address; Atlas
kept only one ``legal_name`` and the VAT number. ``billing_profiles`` gains the legal name in Arabic and in English,
the Saudi national address (street, building number, additional number, district, city, postal code, country:
ISO 3166 alpha-2, ``SA`` by default) and the commercial registration number (CRN).

Existing names move to the language they are written in: a ``legal_name`` with an Arabic letter becomes
``legal_name_ar``, any other ``legal_name_en``. Keeping every old name as the English one would print an Arabic name
in the English slot of the bilingual invoice and leave the Arabic one (which the invoice shows first) empty; the
script is unambiguous, so the move is safe. At least one of the two stays set (a check). Downgrading puts the
Arabic name, else the English one, back into ``legal_name``.

``invoices`` gains ``buyer_address`` and ``buyer_crn``: what the profile held when the invoice was issued (an issued
invoice never changes, so its page cannot read today's profile). The table already has its row-level security and
the application role's grants (0008); table-level grants cover the new columns.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-08
"""

from __future__ import annotations

import unicodedata

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

ADDRESS_COLUMNS = (
    ("street", 200),
    ("building_number", 16),
    ("additional_number", 16),
    ("district", 100),
    ("city", 100),
    ("postal_code", 16),
)


def _has_arabic_letters(value: str) -> bool:
    # Kept here rather than imported: a migration must keep meaning what it meant when it was written.
    return any(ch.isalpha() and unicodedata.name(ch, "").startswith("ARABIC") for ch in value)


def upgrade() -> None:
    op.add_column("billing_profiles", sa.Column("legal_name_ar", sa.String(200), nullable=True))
    op.add_column("billing_profiles", sa.Column("legal_name_en", sa.String(200), nullable=True))
    for name, length in ADDRESS_COLUMNS:
        op.add_column("billing_profiles", sa.Column(name, sa.String(length), nullable=True))
    op.add_column(
        "billing_profiles", sa.Column("country", sa.String(2), nullable=False, server_default=sa.text("'SA'"))
    )
    op.add_column("billing_profiles", sa.Column("crn", sa.String(10), nullable=True))

    # The profiles of every tenant (row-level security is forced, even for the table's owner).
    op.execute("SELECT set_config('app.scope', 'system', true)")
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, legal_name FROM billing_profiles")).all()
    for row_id, legal_name in rows:
        column = "legal_name_ar" if _has_arabic_letters(legal_name) else "legal_name_en"
        bind.execute(
            sa.text(f"UPDATE billing_profiles SET {column} = :name WHERE id = :id"), {"name": legal_name, "id": row_id}
        )
    op.drop_column("billing_profiles", "legal_name")
    op.create_check_constraint(
        op.f("ck_billing_profiles_legal_name"),
        "billing_profiles",
        "legal_name_ar IS NOT NULL OR legal_name_en IS NOT NULL",
    )
    op.create_check_constraint(op.f("ck_billing_profiles_country"), "billing_profiles", "country ~ '^[A-Z]{2}$'")
    op.create_check_constraint(
        op.f("ck_billing_profiles_crn"), "billing_profiles", "crn IS NULL OR crn ~ '^[0-9]{10}$'"
    )

    op.add_column("invoices", sa.Column("buyer_address", postgresql.JSONB(astext_type=sa.Text()), nullable=True))
    op.add_column("invoices", sa.Column("buyer_crn", sa.String(10), nullable=True))


def downgrade() -> None:
    op.drop_column("invoices", "buyer_crn")
    op.drop_column("invoices", "buyer_address")

    op.execute("SELECT set_config('app.scope', 'system', true)")
    op.add_column("billing_profiles", sa.Column("legal_name", sa.String(200), nullable=True))
    op.execute("UPDATE billing_profiles SET legal_name = coalesce(legal_name_ar, legal_name_en)")
    op.alter_column("billing_profiles", "legal_name", nullable=False)
    for constraint in ("crn", "country", "legal_name"):
        op.drop_constraint(op.f(f"ck_billing_profiles_{constraint}"), "billing_profiles", type_="check")
    for name in (
        "crn",
        "country",
        *(column for column, _ in reversed(ADDRESS_COLUMNS)),
        "legal_name_en",
        "legal_name_ar",
    ):
        op.drop_column("billing_profiles", name)
