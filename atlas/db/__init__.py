"""Database access: the engine, tenant-scoped sessions and the declarative base."""

from atlas.db.base import Base, TenantOwned, utcnow
from atlas.db.engine import Database, TenantContext

__all__ = ["Base", "Database", "TenantContext", "TenantOwned", "utcnow"]
