"""Recommendations, anomalies and forecasts over HTTP."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from litestar import Controller, Request, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from atlas.ai_engine import services
from atlas.ai_engine.schemas import ForecastRead
from atlas.approvals import hooks as approval_hooks
from atlas.approvals.controllers import change_recommendation
from atlas.approvals.dispatch import notify_safely
from atlas.approvals.schemas import ChangeIn
from atlas.db.engine import Database
from atlas.platform.principal import Principal
from atlas.platform.rbac import Permission
from atlas.policy.services import analysis_settings
from atlas.web import paging


class RecommendationController(Controller):
    path = "/api/recommendations"
    tags = ["ai"]

    @get("/", opt={"permission": Permission.READ})
    async def list_recommendations(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        type: str | None = None,
        status: str | None = "pending",
        priority: str | None = None,
        item_id: uuid.UUID | None = None,
        location_id: uuid.UUID | None = None,
        limit: int = paging.limit_param(),
        offset: int = paging.offset_param(),
        cursor: str | None = paging.cursor_param(),
    ) -> dict[str, Any]:
        """Recommendations with their confidence, signals, explanation (Arabic and English) and evidence;
        ``next_cursor`` (when more follow) is the ``cursor`` of the next page."""
        return await services.list_recommendations(
            db,
            type=type,
            status=status or None,
            priority=priority,
            item_id=item_id,
            location_id=location_id,
            limit=limit,
            offset=offset,
            cursor=cursor,
            cursor_key=paging.cursor_key(request),
        )

    @post("/", opt={"permission": Permission.DECIDE_RECOMMENDATIONS}, status_code=200)
    async def analyse_now(
        self,
        request: Request[Any, Any, Any],
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
    ) -> dict[str, Any]:
        """Run an analysis of the tenant now; returns what it produced."""
        async with database.tenant_session(principal.tenant_id) as session:
            settings = await analysis_settings(session)  # the policy's service levels
            outcome = await services.analyse_tenant(session, trigger="manual", settings=settings)
            outcome["recommendations"] = (await services.list_recommendations(session, limit=500))["items"]
            changes = approval_hooks.take(session)
        # Committed: the new recommendations' approval workflows start, revised and retired ones are told.
        await notify_safely(request.app.state.temporal, request.app.state.settings, principal.tenant_id, changes)
        return outcome

    @get("/{recommendation_id:uuid}", opt={"permission": Permission.READ})
    async def read(self, db: NamedDependency[AsyncSession], recommendation_id: FromPath[uuid.UUID]) -> dict[str, Any]:
        return await services.get_recommendation(db, recommendation_id)

    @patch("/{recommendation_id:uuid}", opt={"permission": Permission.DECIDE_RECOMMENDATIONS}, status_code=200)
    async def change(
        self,
        request: Request[Any, Any, Any],
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        recommendation_id: FromPath[uuid.UUID],
        data: ChangeIn,
    ) -> dict[str, Any]:
        """Change the quantity of a pending recommendation, with a reason: a new revision for the approval
        workflow (earlier approvals no longer count; whoever changed it cannot approve it)."""
        return await change_recommendation(request, database, principal, recommendation_id, data)


class AnomalyController(Controller):
    path = "/api"
    tags = ["ai"]

    @get("/anomalies", opt={"permission": Permission.READ})
    async def list_anomalies(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        type: str | None = None,
        severity: str | None = None,
        status: str | None = "open",
        item_id: uuid.UUID | None = None,
        location_id: uuid.UUID | None = None,
        limit: int = paging.limit_param(),
        offset: int = paging.offset_param(),
        cursor: str | None = paging.cursor_param(),
    ) -> dict[str, Any]:
        """Anomalies by type and severity, each with its item, location and the figures behind it;
        ``next_cursor`` (when more follow) is the ``cursor`` of the next page."""
        return await services.list_anomalies(
            db,
            type=type,
            severity=severity,
            status=status or None,
            item_id=item_id,
            location_id=location_id,
            limit=limit,
            offset=offset,
            cursor=cursor,
            cursor_key=paging.cursor_key(request),
        )

    @get("/analysis-runs", opt={"permission": Permission.READ})
    async def analysis_runs(
        self,
        db: NamedDependency[AsyncSession],
        sync_run_id: uuid.UUID | None = None,
        limit: int = Parameter(default=10, ge=1, le=100),
    ) -> dict[str, Any]:
        """The latest analyses (those a sync started, with ``sync_run_id``), newest first, and how many
        recommendations are pending now: what the set-up wizard waits for after the first sync."""
        return await services.list_analysis_runs(db, sync_run_id=sync_run_id, limit=limit)

    @get("/forecasts", opt={"permission": Permission.READ})
    async def forecasts(self, db: NamedDependency[AsyncSession], item_id: uuid.UUID) -> list[ForecastRead]:
        """An item's forecast at each location: method, backtest error and 30 days of the mean (``forecast``) and
        the daily quantiles ``q10``, ``q50`` (the median) and ``q90``; ``lo80``/``hi80`` are ``q10``/``q90``
        under their earlier names. ``q50`` is null on a forecast stored before migration 0019."""
        return msgspec.convert(await services.forecasts_of(db, item_id), list[ForecastRead])


CONTROLLERS = [RecommendationController, AnomalyController]
