"""The discovery pages: "Other REST API" (base URL and authentication, then Discover and Apply) and a connector's
discovery. Both render what the JSON API gives and act through it (`discovery_controllers`), so the same checks,
validation and audit apply; the page never holds a stored secret."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from atlas.connectors import services as connectors
from atlas.mapping import services
from atlas.web.ui.layout import page, tenant_context_for

# Authentication the start page offers; OAuth2 and session logins have presets and the full form.
START_AUTH_KINDS = ("api_key", "header", "bearer", "basic", "none")
CANONICAL = ("items", "locations", "stock_balances", "stock_movements")


async def start_page(request: Request[Any, Any, Any], db: AsyncSession) -> Template:
    ctx = await tenant_context_for(db)
    model = {"mode": "new", "auth_kinds": list(START_AUTH_KINDS)}
    return page(
        request,
        "mappings/discover_start.html",
        nav="connectors",
        model=model,
        auth_kinds=START_AUTH_KINDS,
        **ctx,
    )


async def connector_page(request: Request[Any, Any, Any], db: AsyncSession, connector_id: uuid.UUID) -> Template:
    connector, endpoint_rows = await connectors.get_connector(db, connector_id)
    read = connectors.read_model(connector, endpoint_rows, request.app.state.secret_box)
    mapped = {m.endpoint_key: m.active_version for m in await services.list_mappings(db, connector_id)}
    ctx = await tenant_context_for(db)
    model = {
        "mode": "connector",
        "connector_id": str(read.id),
        "endpoints": [{"key": e.key, "resource": e.resource, "path": e.path} for e in read.endpoints],
        "mapped": mapped,
    }
    return page(
        request,
        "mappings/discover.html",
        nav="connectors",
        connector=read,
        mapped=mapped,
        model=model,
        **ctx,
    )
