"""Mapping pages: the editor of one endpoint's mapping, and discovery (a connector's, and "Other REST API").

Both pages only render what the JSON API also gives; every change (save, activate,
preview, discover) is made by the page's script through that API, so the same
permission checks, validation and audit apply.
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

from atlas.connectors import services as connectors
from atlas.errors import NotFound
from atlas.mapping import discovery_pages, services
from atlas.mapping.canonical import CANONICAL_FIELDS
from atlas.mapping.engine import TRANSFORMS
from atlas.platform.principal import Principal
from atlas.platform.rbac import Permission
from atlas.web.ui.layout import page, tenant_context_for

# Fields Atlas fills itself when the mapping leaves them empty (engine._finish_source), by resource.
FILLED_BY_ATLAS: dict[tuple[str, str], str] = {
    ("items", "external_id"): "sku",
    ("locations", "external_id"): "code",
    ("stock_balances", "reserved_qty"): "zero",
    ("stock_balances", "available_qty"): "difference",
    ("stock_movements", "external_id"): "hash",
}
TIMEZONES = (
    "Asia/Riyadh",
    "UTC",
    "Asia/Dubai",
    "Asia/Kuwait",
    "Asia/Qatar",
    "Asia/Bahrain",
    "Africa/Cairo",
    "Europe/London",
)


def canonical_fields(resource: str) -> list[dict[str, Any]]:
    """The resource's canonical fields as the editor shows them (required: the mapping must give it)."""
    return [
        {
            "name": f.name,
            "type": str(f.type),
            "required": f.required and (resource, f.name) not in FILLED_BY_ATLAS,
            "filled_by_atlas": FILLED_BY_ATLAS.get((resource, f.name)),
        }
        for f in CANONICAL_FIELDS.get(resource, ())
    ]


def _text(value: Any) -> str:
    return value if isinstance(value, str) else msgspec.json.encode(value).decode()


def field_rules(spec: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Per canonical field, what the form shows first: mode (one path, the first present of several paths, or a
    constant), its text, and the default when the rule finds nothing (with its JSON when it is not text)."""
    rules: dict[str, dict[str, Any]] = {}
    fields = (spec or {}).get("fields")
    for name, rule in (fields if isinstance(fields, dict) else {}).items():
        if not isinstance(rule, dict):
            continue
        shown: dict[str, Any] = {"mode": "path", "path": "", "constant": "", "paths": "", "default": ""}
        if "constant" in rule:
            shown.update(mode="constant", constant=_text(rule["constant"]))
        elif isinstance(rule.get("paths"), list):
            shown.update(mode="paths", paths="\n".join(str(p) for p in rule["paths"]))
        else:
            shown["path"] = str(rule.get("path") or "")
        if "default" in rule:
            shown["default"] = _text(rule["default"])
            if not isinstance(rule["default"], str):
                shown["default_json"] = shown["default"]
        rules[name] = shown
    return rules


def record_rules(spec: dict[str, Any] | None) -> dict[str, str]:
    """The rules about whole records, as the form shows them: how balance rows combine (sum unless the version
    says last), and the skip, count and unnest rules as JSON text."""
    spec = spec or {}

    def text(name: str) -> str:
        return msgspec.json.format(msgspec.json.encode(spec[name])).decode() if spec.get(name) else ""

    return {
        "combine": "last" if spec.get("combine") == "last" else "sum",
        "skip": text("skip"),
        "count": text("count"),
        "unnest": text("unnest"),
    }


class MappingPages(Controller):
    path = "/app/connectors"
    include_in_schema = False

    @get("/{connector_id:uuid}/mappings/{endpoint_key:str}", opt={"permission": Permission.READ})
    async def editor(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        connector_id: FromPath[uuid.UUID],
        endpoint_key: FromPath[str],
    ) -> Template:
        connector, endpoint_rows = await connectors.get_connector(db, connector_id)
        read = connectors.read_model(connector, endpoint_rows, request.app.state.secret_box)
        endpoint = next((e for e in read.endpoints if e.key == endpoint_key), None)
        if endpoint is None:
            raise NotFound("errors.endpoint_not_found", endpoint=endpoint_key[:60])
        mapping = next(
            (m for m in await services.list_mappings(db, connector_id) if m.endpoint_key == endpoint_key), None
        )
        mapping_read = None
        active_spec: dict[str, Any] | None = None
        if mapping is not None:
            _, versions = await services.get_mapping(db, mapping.id)
            mapping_read = services.mapping_read(mapping, versions)
            active = next((v for v in versions if v.version == mapping.active_version), None)
            active_spec = active.spec if active else None
        ctx = await tenant_context_for(db)
        fields = canonical_fields(endpoint.resource)
        can_manage = principal.can(Permission.MANAGE_CONNECTORS)
        model = {
            "connector_id": str(read.id),
            "endpoint_key": endpoint.key,
            "resource": endpoint.resource,
            "endpoint_record_path": endpoint.record_path,
            "fields": fields,
            "transforms": list(TRANSFORMS),
            "mapping": msgspec.to_builtins(mapping_read) if mapping_read else None,
            "spec": active_spec,
            "can_manage": can_manage,
        }
        spec = active_spec or {}
        return page(
            request,
            "mappings/editor.html",
            nav="connectors",
            connector=read,
            endpoint=endpoint,
            mapping=mapping_read,
            fields=fields,
            rules=field_rules(active_spec),
            record_rules=record_rules(active_spec),
            record_path=spec.get("record_path") or endpoint.record_path or "$",
            timezone=spec.get("timezone") or "",
            timezones=TIMEZONES,
            transforms=TRANSFORMS,
            model=model,
            can_manage=can_manage,
            **ctx,
        )

    @get("/{connector_id:uuid}/discover", opt={"permission": Permission.MANAGE_CONNECTORS})
    async def discover(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        connector_id: FromPath[uuid.UUID],
    ) -> Template:
        return await discovery_pages.connector_page(request, db, connector_id)

    @get("/new/other", opt={"permission": Permission.MANAGE_CONNECTORS})
    async def other_rest_api(self, request: Request[Any, Any, Any], db: NamedDependency[AsyncSession]) -> Template:
        """Other REST API: a base URL and authentication, then discovery proposes the rest."""
        return await discovery_pages.start_page(request, db)


PAGE_CONTROLLERS = [MappingPages]
