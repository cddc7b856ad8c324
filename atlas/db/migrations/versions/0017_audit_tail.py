"""The audit trail's tail is tamper-evident: chain heads only move forward, and signed checkpoints.

``audit_chain_heads``: the application role may no longer DELETE or TRUNCATE a head (the grant is revoked and a
trigger refuses it for everyone, as on ``audit_events``), a new head starts at the genesis, and an UPDATE must move
the head forward: same row and tenant, a higher ``last_seq``, and (checked at COMMIT, when the transaction's own
events are visible) the events between the old and the new head exist, chain on from the old head's hash, and end
at the new head's hash. Cutting off the newest events and rewinding the head is then out of the application's
reach; a superuser behind the app's back is caught by ``atlas audit verify`` against the signed checkpoints.

``audit_checkpoints``: each tenant's chain head (seq, hash, time) signed with Ed25519 by a key the database never
holds. Append-only like the events: SELECT and INSERT for the application, no UPDATE, DELETE or TRUNCATE.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from atlas.db.rls import app_role_name, enable_tenant_rls

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

GENESIS = "0" * 64


def upgrade() -> None:
    role = app_role_name()
    op.execute(f'REVOKE DELETE, TRUNCATE ON audit_chain_heads FROM "{role}"')
    op.execute(
        f"""
        CREATE FUNCTION audit_chain_heads_guard() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF TG_OP = 'INSERT' THEN
            IF NEW.last_seq <> 0 OR NEW.last_hash <> '{GENESIS}' THEN
              RAISE EXCEPTION 'audit_chain_heads: a new chain head starts at seq 0 and the genesis hash'
                USING ERRCODE = 'insufficient_privilege';
            END IF;
            RETURN NEW;
          END IF;
          IF TG_OP = 'UPDATE' THEN
            IF NEW.id <> OLD.id OR NEW.tenant_id <> OLD.tenant_id OR NEW.last_seq <= OLD.last_seq THEN
              RAISE EXCEPTION 'audit_chain_heads: a chain head only moves forward (seq % to %)',
                OLD.last_seq, NEW.last_seq USING ERRCODE = 'insufficient_privilege';
            END IF;
            RETURN NEW;
          END IF;
          RAISE EXCEPTION 'audit_chain_heads: % is not allowed', TG_OP USING ERRCODE = 'insufficient_privilege';
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER audit_chain_heads_guard BEFORE INSERT OR UPDATE OR DELETE ON audit_chain_heads "
        "FOR EACH ROW EXECUTE FUNCTION audit_chain_heads_guard()"
    )
    op.execute(
        "CREATE TRIGGER audit_chain_heads_no_truncate BEFORE TRUNCATE ON audit_chain_heads "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_chain_heads_guard()"
    )
    # At COMMIT the transaction's events are visible (the append inserts them in the same statement that moves the
    # head, where a row trigger cannot see them yet): the new head must be the end of a chain continuing the old.
    op.execute(
        """
        CREATE FUNCTION audit_chain_heads_consistent() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
          appended bigint;
          first_prev text;
          last_hash text;
        BEGIN
          SELECT count(*),
                 min(e.prev_hash) FILTER (WHERE e.seq = OLD.last_seq + 1),
                 min(e.hash) FILTER (WHERE e.seq = NEW.last_seq)
            INTO appended, first_prev, last_hash
            FROM audit_events e
           WHERE e.tenant_id = NEW.tenant_id AND e.seq > OLD.last_seq AND e.seq <= NEW.last_seq;
          IF appended <> NEW.last_seq - OLD.last_seq OR first_prev IS DISTINCT FROM OLD.last_hash
             OR last_hash IS DISTINCT FROM NEW.last_hash THEN
            RAISE EXCEPTION 'audit_chain_heads: the head of tenant % moved to seq % without the events to match',
              NEW.tenant_id, NEW.last_seq USING ERRCODE = 'insufficient_privilege';
          END IF;
          RETURN NULL;
        END $$
        """
    )
    op.execute(
        "CREATE CONSTRAINT TRIGGER audit_chain_heads_consistent AFTER UPDATE ON audit_chain_heads "
        "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION audit_chain_heads_consistent()"
    )

    op.create_table(
        "audit_checkpoints",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("tenant_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("head_hash", sa.String(length=64), nullable=False),
        sa.Column("sealed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.String(length=200), nullable=False),
        sa.Column("sealed_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_audit_checkpoints_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_checkpoints")),
    )
    op.create_index("ix_audit_checkpoints_tenant_seq", "audit_checkpoints", ["tenant_id", "seq"], unique=False)
    op.execute(f'GRANT SELECT, INSERT ON audit_checkpoints TO "{role}"')
    op.execute(f'REVOKE UPDATE, DELETE, TRUNCATE ON audit_checkpoints FROM "{role}"')
    op.execute(f'GRANT USAGE, SELECT ON SEQUENCE audit_checkpoints_id_seq TO "{role}"')
    op.execute(
        """
        CREATE FUNCTION audit_checkpoints_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          RAISE EXCEPTION 'audit_checkpoints is append-only: % is not allowed', TG_OP
            USING ERRCODE = 'insufficient_privilege';
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER audit_checkpoints_no_update_delete BEFORE UPDATE OR DELETE ON audit_checkpoints "
        "FOR EACH ROW EXECUTE FUNCTION audit_checkpoints_append_only()"
    )
    op.execute(
        "CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_checkpoints_append_only()"
    )
    enable_tenant_rls("audit_checkpoints")


def downgrade() -> None:
    role = app_role_name()
    op.execute("DROP TABLE audit_checkpoints")
    op.execute("DROP FUNCTION audit_checkpoints_append_only()")
    op.execute("DROP TRIGGER audit_chain_heads_consistent ON audit_chain_heads")
    op.execute("DROP TRIGGER audit_chain_heads_no_truncate ON audit_chain_heads")
    op.execute("DROP TRIGGER audit_chain_heads_guard ON audit_chain_heads")
    op.execute("DROP FUNCTION audit_chain_heads_consistent()")
    op.execute("DROP FUNCTION audit_chain_heads_guard()")
    op.execute(f'GRANT DELETE ON audit_chain_heads TO "{role}"')
