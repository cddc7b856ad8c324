"""Preset API: list the systems Atlas knows, and connect one from its base URL and credentials."""

from __future__ import annotations

from typing import Any, Literal

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from atlas.db.engine import Database
from atlas.execution_lock import NetworkPolicy
from atlas.execution_lock.audit import blocked_auditor
from atlas.i18n import request_lang, translate
from atlas.platform.principal import Principal
from atlas.platform.rbac import Permission
from atlas.presets import services
from atlas.presets.loader import Preset, get_preset, load_presets


class PresetInputRead(msgspec.Struct):
    name: str
    label: str
    help: str | None
    secret: bool
    required: bool
    default: str | None
    advanced: bool
    choices: list[str]


class PresetRead(msgspec.Struct):
    id: str
    version: int
    name: str
    summary: str
    docs_url: str | None
    base_url_example: str | None
    base_url_default: str | None
    base_url_required: bool
    inputs: list[PresetInputRead]
    resources: dict[str, str]  # endpoint key -> resource


class PresetConnect(msgspec.Struct, forbid_unknown_fields=True):
    base_url: str | None = None
    inputs: dict[str, str] = msgspec.field(default_factory=dict)
    name: str | None = None
    environment: Literal["production", "sandbox"] | None = None


def preset_read(preset: Preset, lang: str) -> PresetRead:
    """A preset as people see it: labels and help in their language, never a secret (presets hold none)."""
    return PresetRead(
        id=preset.id,
        version=preset.version,
        name=preset.name,
        summary=translate(preset.summary, lang),
        docs_url=preset.docs_url,
        base_url_example=preset.base_url_example,
        base_url_default=preset.base_url_default,
        base_url_required=not preset.base_url_default,
        inputs=[
            PresetInputRead(
                name=i.name,
                label=translate(i.label, lang),
                help=translate(i.help, lang) if i.help else None,
                secret=i.secret,
                required=i.required,
                default=i.default,
                advanced=i.advanced,
                choices=list(i.choices),
            )
            for i in preset.inputs
        ],
        resources=preset.endpoint_resources(),
    )


class PresetController(Controller):
    path = "/api/presets"
    tags = ["presets"]

    @get("/", opt={"permission": Permission.READ})
    async def list_presets(self, request: Request[Any, Any, Any]) -> list[PresetRead]:
        """Every system Atlas has a preset for, in the chooser's order."""
        lang = request_lang(request)
        return [preset_read(p, lang) for p in load_presets().values()]

    @get("/{preset_id:str}", opt={"permission": Permission.READ})
    async def read(self, request: Request[Any, Any, Any], preset_id: str) -> PresetRead:
        return preset_read(get_preset(preset_id), request_lang(request))

    @post("/{preset_id:str}/connect", opt={"permission": Permission.MANAGE_CONNECTORS}, status_code=201)
    async def connect(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        database: NamedDependency[Database],
        preset_id: str,
        data: PresetConnect,
        principal: NamedDependency[Principal],
        correlation_id: NamedDependency[str],
    ) -> services.PresetConnected:
        """Test the credentials and every endpoint, then lay down the connector and its mappings (422 and nothing
        stored when the system refuses or answers something else)."""
        preset = get_preset(preset_id)
        state = request.app.state
        return await services.connect(
            db,
            preset,
            base_url=data.base_url,
            inputs=data.inputs,
            name=data.name,
            environment=data.environment,
            tenant_id=principal.tenant_id,
            actor=principal.actor,
            correlation_id=correlation_id,
            box=state.secret_box,
            network=NetworkPolicy.from_settings(state.settings),
            on_blocked=blocked_auditor(
                database,
                tenant_id=principal.tenant_id,
                actor=principal.actor,
                correlation_id=correlation_id,
                source="preset_connect",
            ),
        )
