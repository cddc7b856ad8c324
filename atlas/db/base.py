"""Declarative base and the mixin that marks a table as tenant-owned."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import DateTime, ForeignKey, MetaData
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class TenantOwned:
    """A row that belongs to one tenant.

    Every table with this mixin gets row-level security in its migration
    (`atlas.db.rls.enable_tenant_rls`) and is only reached through
    `atlas.platform.tenancy.TenantRepository`, which filters and stamps
    `tenant_id`. A test checks that the two lists agree.
    """

    # Tables whose other indexes all start with tenant_id set this to False: a separate index on
    # tenant_id alone would only slow their writes.
    tenant_id_index = True
    # Bulk tables whose rows reach the tenant through another foreign key set this to False.
    tenant_id_foreign_key = True

    @declared_attr
    def tenant_id(cls) -> Mapped[uuid.UUID]:
        index = bool(getattr(cls, "tenant_id_index", True))
        if not getattr(cls, "tenant_id_foreign_key", True):
            return mapped_column(UUID(as_uuid=True), index=index, nullable=False)
        return mapped_column(
            UUID(as_uuid=True), ForeignKey("tenants.id", ondelete="CASCADE"), index=index, nullable=False
        )


def uuid_pk() -> Mapped[uuid.UUID]:
    return mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)


def created_at_column() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)
