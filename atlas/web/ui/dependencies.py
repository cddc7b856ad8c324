"""Request dependencies: the tenant transaction, the principal and the correlation id.

In the web layer's lower half (``atlas/web/ui/``, was ``atlas/web/dependencies.py``; issue 18, pages part): the
components' controllers stand on it, below the web app that registers them. The request's language is
``atlas.i18n.request_lang``; import it from there."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from litestar import Request
from litestar.di import Provide
from sqlalchemy.ext.asyncio import AsyncSession

from atlas.config import Settings
from atlas.db.engine import Database
from atlas.errors import Unauthenticated
from atlas.platform.principal import Principal


def current_principal(request: Request[Any, Any, Any]) -> Principal:
    principal = request.scope.get("user")
    if not isinstance(principal, Principal):
        raise Unauthenticated("errors.sign_in_required")
    return principal


async def provide_db(request: Request[Any, Any, Any]) -> AsyncIterator[AsyncSession]:
    """One request, one transaction, scoped to the principal's tenant; committed by the edge."""
    principal = current_principal(request)
    database: Database = request.app.state.db
    async with database.tenant_session(principal.tenant_id) as session:
        yield session


def provide_principal(request: Request[Any, Any, Any]) -> Principal:
    return current_principal(request)


def provide_correlation_id(request: Request[Any, Any, Any]) -> str:
    return str(request.scope.get("state", {}).get("request_id") or "")


def provide_settings(request: Request[Any, Any, Any]) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def provide_database(request: Request[Any, Any, Any]) -> Database:
    database: Database = request.app.state.db
    return database


DEPENDENCIES = {
    "db": Provide(provide_db),
    "principal": Provide(provide_principal, sync_to_thread=False),
    "correlation_id": Provide(provide_correlation_id, sync_to_thread=False),
    "settings": Provide(provide_settings, sync_to_thread=False),
    "database": Provide(provide_database, sync_to_thread=False),
}
