"""The Litestar application: JSON API under /api, server-rendered pages, OpenAPI at /schema."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from jinja2 import pass_context
from litestar import Litestar, Router
from litestar.config.compression import CompressionConfig
from litestar.contrib.jinja import JinjaTemplateEngine
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.plugins.prometheus import PrometheusConfig
from litestar.static_files import create_static_files_router
from litestar.template import TemplateConfig
from markupsafe import Markup, escape

from atlas.ai_engine.controllers import CONTROLLERS as AI_CONTROLLERS
from atlas.ai_engine.pages import AiPages
from atlas.approvals.controllers import CONTROLLERS as APPROVAL_CONTROLLERS
from atlas.approvals.draft_controllers import CONTROLLERS as LOCK_CONTROLLERS
from atlas.approvals.draft_imports import DraftImportController
from atlas.approvals.draft_pages import DraftPages
from atlas.approvals.pages import PAGES as APPROVAL_PAGES
from atlas.approvals.recommendation_controllers import CONTROLLERS as RECOMMENDATION_WRITE_CONTROLLERS
from atlas.approvals.recommendation_pages import RecommendationPages
from atlas.billing.access import subscription_guard
from atlas.billing.controllers import CONTROLLERS as BILLING_CONTROLLERS
from atlas.billing.moyasar import client_from_settings
from atlas.billing.pages import PAGES as BILLING_PAGES
from atlas.billing.tenant_controllers import CONTROLLERS as TENANT_CONTROLLERS
from atlas.config import Settings, get_settings
from atlas.connectors.controllers import ConnectorController
from atlas.db.engine import Database
from atlas.i18n import LANGS, has_embedded_plural, translate, translate_plural
from atlas.i18n.filters import FILTERS, GLOBALS, both_languages
from atlas.mapping.controllers import CONTROLLERS as MAPPING_CONTROLLERS
from atlas.mapping.data_pages import DataPages
from atlas.mapping.pages import MappingPages
from atlas.observability import configure_logging
from atlas.platform.checkpoint_controllers import AuditCheckpointController
from atlas.platform.controllers import CONTROLLERS, rate_limits
from atlas.platform.crypto import SecretBox
from atlas.platform.oidc import OIDCClient
from atlas.platform.tenant_settings import TenantSettingsController
from atlas.policy.controllers import CONTROLLERS as POLICY_CONTROLLERS
from atlas.policy.pages import PolicyPages
from atlas.presets.controllers import PresetController
from atlas.presets.pages import PresetPages
from atlas.web.connector_pages import ConnectorPages
from atlas.web.context import RequestContextMiddleware
from atlas.web.input_guard import InputGuardMiddleware
from atlas.web.openapi import document_errors
from atlas.web.pages import PAGE_CONTROLLERS
from atlas.web.problems import EXCEPTION_HANDLERS
from atlas.web.proxies import trusted_proxy_middleware
from atlas.web.security_headers import security_headers_hook
from atlas.web.system import MetricsController, SystemController
from atlas.web.ui.bidi_markup import IsolatingTemplate
from atlas.web.ui.dependencies import DEPENDENCIES
from atlas.web.ui.guards import authorize
from atlas.wiring import wire
from atlas.workflows.client import TemporalConnection

WEB_DIR = Path(__file__).parent


@pass_context
def _t(context: Any, key: str, **params: Any) -> str:
    return translate(key, context.get("lang", "ar"), **params)


@pass_context
def _i18n(context: Any, key: str, **params: Any) -> Markup:
    import json

    if params and has_embedded_plural(key):  # a counted phrase inside: the server picks each language's form
        return both_languages(context, key, {lang: translate(key, lang, **params) for lang in LANGS})
    text = translate(key, context.get("lang", "ar"), **params)
    params_attr = f" data-i18n-params='{escape(json.dumps(params, default=str))}'" if params else ""
    return Markup(f'<span data-i18n="{escape(key)}"{params_attr}>{escape(text)}</span>')  # noqa: S704


@pass_context
def _i18n_plural(context: Any, key: str, count: Any, **params: Any) -> Markup:
    """A counted phrase (a plural entry, `translate_plural`) in the page's language; both languages' texts ride
    along (data-text-ar/-en) so the language switch shows the other without a CLDR table in the browser."""
    texts = {lang: translate_plural(key, count, lang, **params) for lang in LANGS}
    text = texts.get(context.get("lang", "ar"), texts["ar"])
    return Markup(  # noqa: S704
        f'<span data-i18n-plural="{escape(key)}" data-text-ar="{escape(texts["ar"])}" '
        f'data-text-en="{escape(texts["en"])}">{escape(text)}</span>'
    )


def _engine_callback(engine: JinjaTemplateEngine) -> None:
    engine.engine.template_class = IsolatingTemplate  # no bidi controls in a page: <bdi> mark-up (issue 19)
    engine.engine.globals["t"] = _t
    engine.engine.globals["i18n"] = _i18n
    engine.engine.globals["i18n_plural"] = _i18n_plural
    engine.engine.filters.update(FILTERS)  # numbers, money and dates by locale; times in the tenant's zone
    engine.engine.globals.update(GLOBALS)


def oidc_client(settings: Settings) -> OIDCClient:
    return OIDCClient(
        issuer=settings.oidc_issuer or "http://127.0.0.1:9400",
        client_id=settings.oidc_client_id,
        client_secret=settings.oidc_client_secret,
        redirect_uri=settings.base_url.rstrip("/") + "/api/auth/callback",
        scopes=settings.oidc_scopes,
    )


def serving_app() -> Litestar:
    """The app as `atlas serve` runs it, once per web process: the collector tuned for a long-running process and
    the settings from the environment (uvicorn calls this in each process with `--workers N`)."""
    from atlas import collector

    collector.tune()
    return create_app(get_settings())


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or get_settings()
    wire()  # billing's plan limits, and the connector and item counts, for the platform's entitlements
    configure_logging(settings.log_level, json_output=settings.log_json)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        app.state.db = Database(settings.database_url, app_role=settings.db_app_role, pool_size=settings.db_pool_size)
        # Billing: the Moyasar client (secret key, server only) and what the payment form needs in the browser.
        app.state.moyasar = client_from_settings(settings) if settings.moyasar_configured else None
        app.state.moyasar_browser = (
            {
                "base_url": settings.moyasar_base_url,
                "publishable_key": settings.moyasar_publishable_key,
                "callback_url": settings.base_url.rstrip("/") + "/api/payments/callback",
            }
            if settings.moyasar_configured
            else None
        )
        try:
            yield
        finally:
            if app.state.moyasar is not None:
                await app.state.moyasar.aclose()
            await app.state.db.dispose()

    prometheus = PrometheusConfig(app_name="atlas", prefix="atlas", group_path=True, exclude=["/metrics", "/static"])
    oidc = oidc_client(settings)
    return Litestar(
        route_handlers=[
            *CONTROLLERS,
            *TENANT_CONTROLLERS,
            AuditCheckpointController,
            TenantSettingsController,
            *BILLING_CONTROLLERS,
            *BILLING_PAGES,
            ConnectorController,
            ConnectorPages,
            PresetController,
            PresetPages,
            *MAPPING_CONTROLLERS,
            *AI_CONTROLLERS,
            AiPages,
            *APPROVAL_CONTROLLERS,
            *RECOMMENDATION_WRITE_CONTROLLERS,  # after AI_CONTROLLERS: they join its recommendation paths
            *APPROVAL_PAGES,
            RecommendationPages,
            *POLICY_CONTROLLERS,
            PolicyPages,
            *LOCK_CONTROLLERS,
            DraftImportController,
            DraftPages,
            DataPages,
            MappingPages,
            *PAGE_CONTROLLERS,
            SystemController,
            MetricsController,
            create_static_files_router(path="/static", directories=[WEB_DIR / "static"], opt={"public": True}),
        ],
        dependencies=DEPENDENCIES,
        guards=[authorize, subscription_guard],
        middleware=[
            *trusted_proxy_middleware(settings),  # first: the rate limits must count the real client
            prometheus.middleware,
            RequestContextMiddleware(),
            *rate_limits(settings),
            InputGuardMiddleware(max_body_size=1_000_000),  # NULs and runaway nesting: refused before any handler
        ],
        # CSP, nosniff, framing, Referrer-Policy, HSTS on every response, unknown paths' 404s included.
        before_send=[security_headers_hook(settings, oidc_issuer=oidc.issuer)],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=[lifespan],
        on_startup=[document_errors],  # every operation's error statuses and redirects in /schema/openapi.json
        state=State(
            {
                "settings": settings,
                "oidc": oidc,
                "secret_box": SecretBox(settings.fernet_key()),
                "temporal": TemporalConnection(settings),
            }
        ),
        template_config=TemplateConfig(
            directory=WEB_DIR / "templates", engine=JinjaTemplateEngine, engine_callback=_engine_callback
        ),
        openapi_config=OpenAPIConfig(
            title="Atlas API",
            version="0.1.0",
            path="/schema",
            render_plugins=[JsonRenderPlugin(path=["/", "/openapi.json"])],
            openapi_router=Router(path="/schema", route_handlers=[], opt={"public": True}, include_in_schema=False),
        ),
        compression_config=CompressionConfig(backend="gzip", minimum_size=1024),
        request_max_body_size=1_000_000,
        debug=False,
        logging_config=None,
    )
