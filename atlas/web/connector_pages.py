"""Connector pages: the list, one form for new and edit, and the detail page with its health checks.

The pages read through the same services as the API and never hold a credential: the form
learns only whether each secret is set, and every save goes through the JSON API.

In the top web layer (was ``atlas/connectors/pages.py``; issue 18, pages part): the detail page assembles the
connector's mappings, syncs and quarantine (mapping) and whether an analysis has run (the AI engine), which sit
above the connectors; from here every one of them is downwards.
"""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from atlas.ai_engine.services import list_analysis_runs
from atlas.connectors import services
from atlas.connectors.schemas import ConnectorRead
from atlas.i18n import request_lang
from atlas.mapping import quarantine as quarantine_service
from atlas.mapping import services as mapping_services
from atlas.mapping import sync as sync_service
from atlas.mapping.controllers import run_read
from atlas.platform.principal import Principal
from atlas.platform.rbac import Permission
from atlas.web.ui.layout import page, tenant_context_for

RESOURCES = ("items", "locations", "stock_balances", "stock_movements", "open_orders")
AUTH_KINDS = (
    "none",
    "api_key",
    "bearer",
    "basic",
    "header",
    "oauth2_client_credentials",
    "oauth2_refresh_token",
    "oauth2_password",
    "session_login",
)
PAGINATION_KINDS = ("none", "cursor", "offset", "page")
# What the form starts from for a new connector: the API's own defaults.
DEFAULT_LIMITS = {
    "rate_limit_per_second": 10.0,
    "rate_limit_burst": 10,
    "timeout_seconds": 30.0,
    "max_concurrency": 4,
    "retry_attempts": 5,
    "max_set_aside_share": 0.05,
    "max_vanished_share": 0.2,
    "headers": {},
}


def form_model(read: ConnectorRead | None) -> dict[str, Any]:
    """The connector as the form edits it: secrets replaced by whether they are set, never a value."""
    if read is None:
        return {
            "id": None,
            "name": "",
            "base_url": "",
            "environment": "sandbox",
            "auth": {"kind": "none", "secrets_set": {name: False for name in services.SECRET_FIELDS}},
            "endpoints": [],
            **DEFAULT_LIMITS,
        }
    data: dict[str, Any] = msgspec.to_builtins(read)
    auth = data["auth"]
    auth["secrets_set"] = {name: bool(auth.pop(name, None)) for name in services.SECRET_FIELDS}
    for name in ("health_status", "last_checked_at", "created_at", "updated_at"):
        data.pop(name, None)
    return data


GUIDE_STEPS = ("connect", "check", "map", "sync", "recommendations")


def set_up_guide(
    read: ConnectorRead, health_status: str, mappings: dict[str, Any], run_statuses: list[str], analysed: bool
) -> dict[str, Any]:
    """Where the connector is in its set-up (connect → check the data → map → first sync → recommendations): each
    step done or not, and the first one not done (``done`` when all are). An endpoint read only as another's parent
    needs no mapping."""
    parents = {e.parent for e in read.endpoints if e.parent}
    mapped = all(e.key in mappings or e.key in parents for e in read.endpoints)
    synced = any(status in ("succeeded", "needs_attention") for status in run_statuses)
    done = {
        "connect": True,
        "check": health_status == "healthy",
        "map": mapped,
        "sync": synced,
        "recommendations": synced and analysed,
    }
    hrefs = {
        "connect": f"/app/connectors/{read.id}/edit",
        "check": "#check",
        "map": "#mappings",
        "sync": "#syncs",
        "recommendations": "/app/recommendations",
    }
    steps = [{"key": key, "done": done[key], "href": hrefs[key]} for key in GUIDE_STEPS]
    current = next((key for key in GUIDE_STEPS if not done[key]), "done")
    return {"steps": steps, "current": current}


class ConnectorPages(Controller):
    path = "/app/connectors"
    include_in_schema = False

    @get("/", opt={"permission": Permission.READ})
    async def connectors(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
    ) -> Template:
        ctx = await tenant_context_for(db)
        box = request.app.state.secret_box
        connectors = [services.read_model(c, e, box) for c, e in await services.list_connectors(db)]
        return page(
            request,
            "connectors/list.html",
            nav="connectors",
            connectors=connectors,
            can_manage=principal.can(Permission.MANAGE_CONNECTORS),
            **ctx,
        )

    @get("/new", opt={"permission": Permission.MANAGE_CONNECTORS})
    async def new(self, request: Request[Any, Any, Any], db: NamedDependency[AsyncSession]) -> Template:
        ctx = await tenant_context_for(db)
        return self._form(request, None, ctx)

    @get("/{connector_id:uuid}/edit", opt={"permission": Permission.MANAGE_CONNECTORS})
    async def edit(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        connector_id: FromPath[uuid.UUID],
    ) -> Template:
        connector, endpoints = await services.get_connector(db, connector_id)
        read = services.read_model(connector, endpoints, request.app.state.secret_box)
        ctx = await tenant_context_for(db)
        return self._form(request, read, ctx)

    @get("/{connector_id:uuid}", opt={"permission": Permission.READ})
    async def detail(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        connector_id: FromPath[uuid.UUID],
    ) -> Template:
        connector, endpoints = await services.get_connector(db, connector_id)
        read = services.read_model(connector, endpoints, request.app.state.secret_box)
        health = await services.health_of(db, connector_id, lang=request_lang(request))
        ctx = await tenant_context_for(db)
        mappings = {
            m.endpoint_key: mapping_services.mapping_read(m)
            for m in await mapping_services.list_mappings(db, connector_id)
        }
        runs = [run_read(r, request_lang(request)) for r in await sync_service.list_runs(db, connector_id, limit=10)]
        open_quarantine = (
            await quarantine_service.list_quarantine(
                db, connector_id=connector_id, status="open", endpoint_key=None, limit=1, offset=0
            )
        )["total"]
        analysed = any(
            r["status"] == "succeeded" for r in (await list_analysis_runs(db, sync_run_id=None, limit=5))["items"]
        )
        guide = set_up_guide(read, health.health_status, mappings, [r.status for r in runs], analysed)
        return page(
            request,
            "connectors/detail.html",
            guide=guide,
            mappings_by_endpoint=mappings,
            runs=runs,
            quarantine_open=open_quarantine,
            nav="connectors",
            connector=read,
            secrets_set={name: bool(getattr(read.auth, name)) for name in services.SECRET_FIELDS},
            health=health,
            # the latest result of each current endpoint (an endpoint removed since keeps only its history)
            latest=[h for h in health.latest if h.endpoint in {e.key for e in read.endpoints}],
            can_manage=principal.can(Permission.MANAGE_CONNECTORS),
            **ctx,
        )

    @staticmethod
    def _form(request: Request[Any, Any, Any], read: ConnectorRead | None, ctx: dict[str, Any]) -> Template:
        model = form_model(read)
        return page(
            request,
            "connectors/form.html",
            nav="connectors",
            connector=read,
            model=model,
            resources=RESOURCES,
            auth_kinds=AUTH_KINDS,
            pagination_kinds=PAGINATION_KINDS,
            **ctx,
        )
