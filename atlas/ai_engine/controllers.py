"""Recommendations, anomalies and forecasts over HTTP: the routes that read the AI engine's own data.

Analysing now (``POST /api/recommendations``) and changing a recommendation's quantity
(``PATCH /api/recommendations/{id}``) reach the approval workflows, and the analysis reads the policy's service
levels: they are ``atlas.approvals.recommendation_controllers``, above the AI engine, on the same paths.
"""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import FromPath, Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from atlas.ai_engine import services
from atlas.ai_engine.schemas import ForecastRead
from atlas.platform.rbac import Permission
from atlas.web import params as paging


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

    @get("/{recommendation_id:uuid}", opt={"permission": Permission.READ})
    async def read(self, db: NamedDependency[AsyncSession], recommendation_id: FromPath[uuid.UUID]) -> dict[str, Any]:
        return await services.get_recommendation(db, recommendation_id)


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
