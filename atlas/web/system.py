"""Operational endpoints: liveness, readiness, the i18n catalogue for the browser, Prometheus metrics."""

from __future__ import annotations

import asyncio
import hmac
from typing import Any

from litestar import Controller, Request, Response, get
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.plugins.prometheus import PrometheusController
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from atlas.billing.einvoicing_reminders import refresh_certificate_gauge
from atlas.config import Settings
from atlas.errors import NotFound, Unauthenticated
from atlas.i18n import catalogue, plurals


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
    async def i18n_catalogue(self) -> dict[str, dict[str, str] | dict[str, dict[str, str]]]:
        """The one translation catalogue, both languages, for switching without a reload; with its plural
        entries (language → CLDR category → text), so the browser builds counted messages (`atlas.js`
        chooses the form with `Intl.PluralRules`, CLDR's rules as Babel's on the server)."""
        return {**catalogue(), **plurals()}


async def metrics_token_guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """/metrics only for a scraper with ATLAS_METRICS_TOKEN as its bearer token; without one configured, 404.

    The metrics name routes, statuses and timings across every tenant: not for the public internet.
    """
    settings: Settings = connection.app.state.settings
    if settings.metrics_token is None:
        raise NotFound("errors.http_404")
    scheme, _, credential = (connection.headers.get("authorization") or "").partition(" ")
    expected = settings.metrics_token.get_secret_value().encode()
    if scheme.lower() != "bearer" or not hmac.compare_digest(credential.strip().encode(), expected):
        raise Unauthenticated("errors.metrics_token", headers={"WWW-Authenticate": 'Bearer realm="metrics"'})


class MetricsController(PrometheusController):
    path = "/metrics"
    # Not a person's route: the metrics token guard below decides (the permission matrix lists it as public).
    opt = {"public": True}
    guards = [metrics_token_guard]
    include_in_schema = False

    @get()
    async def get(self, request: Request[Any, Any, Any]) -> Response[Any]:
        """The metrics, the ZATCA certificate's days left read first (a gauge operators alert on)."""
        await refresh_certificate_gauge(request.app.state.db)
        return Response(generate_latest(REGISTRY), status_code=200, headers={"Content-Type": CONTENT_TYPE_LATEST})
