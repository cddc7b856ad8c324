"""The connector chooser and the preset wizard: pick a system, type its address and credentials, connect, check
the data, run the first sync and reach the first recommendations, on one page.

The pages hold no credential: the wizard posts what the person types to the preset API and never shows it again.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from atlas.i18n import request_lang
from atlas.platform.rbac import Permission
from atlas.presets.controllers import preset_read
from atlas.presets.loader import get_preset, load_presets
from atlas.web.ui.layout import page, tenant_context_for


class PresetPages(Controller):
    path = "/app/connectors/connect"
    include_in_schema = False

    @get("/", opt={"permission": Permission.MANAGE_CONNECTORS})
    async def choose(self, request: Request[Any, Any, Any], db: NamedDependency[AsyncSession]) -> Template:
        """Every system Atlas knows, "Other REST API" (discovery), and the full form for engineers."""
        lang = request_lang(request)
        ctx = await tenant_context_for(db)
        presets = [preset_read(p, lang) for p in load_presets().values()]
        return page(request, "presets/choose.html", nav="connectors", presets=presets, **ctx)

    @get("/{preset_id:str}", opt={"permission": Permission.MANAGE_CONNECTORS})
    async def wizard(
        self, request: Request[Any, Any, Any], db: NamedDependency[AsyncSession], preset_id: str
    ) -> Template:
        """Connect → check the data → first sync → recommendations, for one system."""
        preset = preset_read(get_preset(preset_id), request_lang(request))
        ctx = await tenant_context_for(db)
        return page(request, "presets/wizard.html", nav="connectors", preset=preset, **ctx)
