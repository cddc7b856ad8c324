"""One recommendation's page (`/app/recommendations/{id}`): the AI's explanation, figures and chart, and below them
its approval (policy result, votes, dry run and its draft, approve / reject, the timeline).

Moved here from `atlas.ai_engine.pages` in issue 18's pages part: the page needs the approvals' part
(`atlas.approvals.pages.approval_context`), and the approvals sit above the AI engine, so the handler sits with
them and reads the AI's rows and chart downwards. Same route, template and context as before.
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from atlas.ai_engine import services as ai
from atlas.ai_engine.pages import (
    demand_chart,
    figure_entries,
    plain_figures,
    recommendation_row,
    signal_entries,
    statistics_figures,
)
from atlas.approvals.pages import approval_context
from atlas.platform.principal import Principal
from atlas.platform.rbac import Permission
from atlas.web.ui.layout import page, tenant_context_for


class RecommendationPages(Controller):
    include_in_schema = False

    @get("/app/recommendations/{recommendation_id:uuid}", opt={"permission": Permission.READ})
    async def recommendation(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        recommendation_id: FromPath[uuid.UUID],
    ) -> Template:
        ctx = await tenant_context_for(db)
        rec = recommendation_row(await ai.get_recommendation(db, recommendation_id))
        evidence = rec.get("evidence") or {}
        row = await ai.RecommendationRepo(db).get(recommendation_id)
        return page(
            request,
            "ai/recommendation.html",
            nav="recommendations",
            rec=rec,
            signals=signal_entries(rec.get("signals_used")),
            figures=figure_entries(plain_figures(evidence.get("figures"))),
            statistics=figure_entries(statistics_figures(evidence.get("figures"))),
            chart=demand_chart(evidence.get("history"), evidence.get("forecast")),
            **await approval_context(db, row, principal),
            **ctx,
        )
