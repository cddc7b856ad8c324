"""Row-level security, the second wall of tenant isolation (ARCHITECTURE rule 1).

Policies read two transaction-local settings that `atlas.db.engine` sets:
- ``app.tenant_id``: the tenant of the current request, job or activity;
- ``app.scope``: ``system`` for the few explicit cross-tenant operations (sign-in
  lookups, provisioning, the audit verifier), ``platform_read`` for a platform
  admin's audited read-only views (the transaction is also READ ONLY).
Without either, a query sees no rows and can insert none.
"""

from __future__ import annotations

from alembic import op

TENANT_MATCH = "tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid"
SYSTEM = "current_setting('app.scope', true) = 'system'"
PLATFORM_READ = "current_setting('app.scope', true) = 'platform_read'"


def enable_tenant_rls(table: str, *, column: str = "tenant_id") -> None:
    match = TENANT_MATCH.replace("tenant_id", column, 1)
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY {table}_tenant ON {table} USING ({match} OR {SYSTEM}) WITH CHECK ({match} OR {SYSTEM})")
    op.execute(f"CREATE POLICY {table}_platform_read ON {table} FOR SELECT USING ({PLATFORM_READ})")


def app_role_name() -> str:
    from atlas.config import get_settings

    return get_settings().db_app_role


def create_app_role(role: str) -> None:
    """The role the application's queries run as: no login, no ownership, no BYPASSRLS."""
    op.execute(
        f"""
        DO $$ BEGIN
          IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN
            CREATE ROLE "{role}" NOLOGIN NOSUPERUSER NOBYPASSRLS;
          END IF;
        END $$
        """
    )
    # The login role of DATABASE_URL must be able to SET ROLE to it.
    op.execute(f'GRANT "{role}" TO current_user')
    op.execute(f'GRANT USAGE ON SCHEMA public TO "{role}"')
    op.execute(f'ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO "{role}"')
    op.execute(f'ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO "{role}"')


def grant_tables(role: str, *tables: str) -> None:
    for table in tables:
        op.execute(f'GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO "{role}"')
