"""The tenant-scoped repository: the first wall of tenant isolation (ARCHITECTURE rule 1).

Every read, update and delete of a tenant-owned table goes through a
`TenantRepository`, which adds ``tenant_id = <the transaction's tenant>`` to the
statement, and every insert is stamped with it. Another tenant's row is simply
not found (404, never 403). Row-level security in PostgreSQL is the second wall.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from atlas.db.base import Base
from atlas.db.engine import tenant_context
from atlas.errors import NotFound

M = TypeVar("M", bound=Base)


class TenantRepository(Generic[M]):
    model: type[M]
    tenant_column = "tenant_id"
    not_found_key = "errors.not_found"

    def __init__(self, session: AsyncSession, *, tenant_id: uuid.UUID | None = None) -> None:
        context = tenant_context(session)
        if context.scope == "tenant":
            if tenant_id is not None and tenant_id != context.tenant_id:
                raise PermissionError("a tenant transaction cannot reach another tenant")
            self.tenant_id = context.tenant_id
        elif context.scope == "anonymous":
            raise PermissionError("an anonymous transaction cannot reach tenant data")
        else:
            # System and platform-read transactions must name the tenant explicitly.
            if tenant_id is None:
                raise PermissionError(f"a {context.scope} transaction must name the tenant it works on")
            self.tenant_id = tenant_id
        assert self.tenant_id is not None
        self.read_only = context.scope == "platform_read"
        self.session = session

    @property
    def _tenant_col(self) -> Any:
        return getattr(self.model, self.tenant_column)

    def _where_tenant(self) -> ColumnElement[bool]:
        return self._tenant_col == self.tenant_id  # type: ignore[no-any-return]

    def select(self, *where: ColumnElement[bool]) -> Select[Any]:
        return select(self.model).where(self._where_tenant(), *where)

    def _writable(self) -> None:
        if self.read_only:
            raise PermissionError("platform read-only views cannot change anything")

    async def get(self, entity_id: Any) -> M:
        found = await self.get_or_none(entity_id)
        if found is None:
            raise NotFound(self.not_found_key)
        return found

    async def get_or_none(self, entity_id: Any) -> M | None:
        pk = self.model.__mapper__.primary_key[0]
        result = await self.session.execute(self.select(pk == entity_id))
        found: M | None = result.scalar_one_or_none()
        return found

    async def one_or_none(self, *where: ColumnElement[bool]) -> M | None:
        found: M | None = (await self.session.execute(self.select(*where))).scalar_one_or_none()
        return found

    async def list(
        self, *where: ColumnElement[bool], order_by: Sequence[Any] = (), limit: int | None = None
    ) -> list[M]:
        statement = self.select(*where).order_by(*order_by)
        if limit is not None:
            statement = statement.limit(limit)
        rows: list[M] = list((await self.session.execute(statement)).scalars())
        return rows

    async def count(self, *where: ColumnElement[bool]) -> int:
        statement = select(func.count()).select_from(self.model).where(self._where_tenant(), *where)
        return int((await self.session.execute(statement)).scalar_one())

    async def add(self, entity: M) -> M:
        self._writable()
        current = getattr(entity, self.tenant_column, None)
        if current is not None and current != self.tenant_id:
            raise PermissionError("cannot insert a row for another tenant")
        setattr(entity, self.tenant_column, self.tenant_id)
        self.session.add(entity)
        await self.session.flush()
        return entity

    async def update_values(self, entity: M, **values: Any) -> M:
        self._writable()
        if getattr(entity, self.tenant_column) != self.tenant_id:
            raise NotFound(self.not_found_key)
        for key, value in values.items():
            setattr(entity, key, value)
        await self.session.flush()
        return entity

    async def delete(self, entity: M) -> None:
        self._writable()
        if getattr(entity, self.tenant_column) != self.tenant_id:
            raise NotFound(self.not_found_key)
        await self.session.delete(entity)
        await self.session.flush()

    async def bulk_update(self, *where: ColumnElement[bool], values: dict[str, Any]) -> int:
        self._writable()
        statement = update(self.model).where(self._where_tenant(), *where).values(**values)
        result = await self.session.execute(statement.execution_options(synchronize_session=False))
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def bulk_delete(self, *where: ColumnElement[bool]) -> int:
        self._writable()
        statement = delete(self.model).where(self._where_tenant(), *where)
        result = await self.session.execute(statement.execution_options(synchronize_session=False))
        return int(result.rowcount)  # type: ignore[attr-defined]
