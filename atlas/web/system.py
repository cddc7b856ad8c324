"""Operational endpoints: liveness, readiness, the i18n catalogue for the browser."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Controller, Request, Response, get
from litestar.plugins.prometheus import PrometheusController

from atlas.i18n import catalogue


class SystemController(Controller):
    include_in_schema = True
    tags = ["system"]

    @get("/health", opt={"public": True})
    async def health(self) -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @get("/ready", opt={"public": True})
    async def ready(self, request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
        """503 unless PostgreSQL and Temporal both answer."""
        state = request.app.state

        async def database_ok() -> bool:
            try:
                return bool(await asyncio.wait_for(state.db.ping(), 3.0))
            except Exception:
                return False

        db_ok, temporal_ok = await asyncio.gather(database_ok(), state.temporal.healthy())
        checks = {
            "database": "ok" if db_ok else "unavailable",
            "temporal": "ok" if temporal_ok else "unavailable",
        }
        ready = db_ok and temporal_ok
        return Response(
            {"status": "ready" if ready else "not_ready", "checks": checks}, status_code=200 if ready else 503
        )

    @get("/i18n/catalogue.json", opt={"public": True}, include_in_schema=False, cache=300)
    async def i18n_catalogue(self) -> dict[str, dict[str, str]]:
        """The one translation catalogue, both languages, for switching without a reload."""
        return catalogue()


class MetricsController(PrometheusController):
    path = "/metrics"
    opt = {"public": True}
    include_in_schema = False
