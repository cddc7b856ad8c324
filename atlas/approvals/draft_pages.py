"""The execution drafts page: what the lock stopped (and what dry runs showed), with filters and export.

Above the lock: it reads the lock's drafts through `atlas.execution_lock.services`. Each summary is shown with its
embedded names, codes and figures isolated in ``<bdi>`` (`summaries`), never with control characters: the lock
stores plain text (issue 19)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.response import Template
from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession

from atlas.execution_lock import services
from atlas.execution_lock.drafts import LTR_PARAMS, summary_key, summary_params
from atlas.platform.rbac import Permission
from atlas.web.params import page_param
from atlas.web.ui.formatting import pager, pretty_json
from atlas.web.ui.isolation import isolated
from atlas.web.ui.layout import page, tenant_context_for

PAGE_SIZE = 50


def summaries(draft: dict[str, Any]) -> dict[str, Markup | str]:
    """A draft's summary in each language for a page, filled again from the stored action with each embedded name,
    code and figure in its own ``<bdi>``: Latin text inside a right-to-left sentence is what the bidirectional
    algorithm scrambles, and a code or figure must not break across lines in either language ("WH-1" is not "WH-"
    then "1" on a phone). The stored plain summary when the action cannot fill the sentence; the text a reader sees
    is the stored summary's either way."""
    params = summary_params(draft.get("action") or {})
    key = summary_key(str(draft.get("action_type")))
    shown: dict[str, Markup | str] = {}
    for lang in ("ar", "en"):
        marked = isolated(key, lang, params, ltr=LTR_PARAMS)
        shown[lang] = marked if marked is not None else str(draft.get(f"summary_{lang}") or "")
    return shown


class DraftPages(Controller):
    include_in_schema = False

    @get("/app/drafts", opt={"permission": Permission.READ})
    async def drafts(self, request: Request[Any, Any, Any], db: NamedDependency[AsyncSession]) -> Template:
        ctx = await tenant_context_for(db)
        q = request.query_params
        # Read leniently: an unknown filter value is ignored, never a 400 (people edit these links).
        kind = q.get("kind") if q.get("kind") in services.KINDS else None
        action_type = q.get("type") if q.get("type") in services.TYPES else None
        current = page_param(q.get("page") or "1")
        result = await services.list_drafts(
            db, kind=kind, action_type=action_type, limit=PAGE_SIZE, offset=(current - 1) * PAGE_SIZE
        )
        filters = {"kind": kind or "", "type": action_type or ""}
        link_params = {k: v for k, v in filters.items() if v}
        export_query = "&".join(f"{k}={v}" for k, v in {"kind": kind or "all", "type": action_type or ""}.items() if v)
        rows = [
            dict(
                d,
                created_at=datetime.fromisoformat(d["created_at"]),
                action_json=pretty_json(d["action"]),
                request_json=pretty_json(d["request"]),
                impact_json=pretty_json(d["impact"]),
                summary=summaries(d),
            )
            for d in result["items"]
        ]
        return page(
            request,
            "drafts/drafts.html",
            nav="drafts",
            rows=rows,
            pager=pager(result["total"], current, PAGE_SIZE),
            filters=filters,
            link_params=link_params,
            export_query=export_query,
            kinds=services.KINDS,
            types=services.TYPES,
            **ctx,
        )
