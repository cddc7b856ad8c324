"""Who the client is behind a reverse proxy: X-Forwarded-For and X-Forwarded-Proto, believed only from
the proxies named in ATLAS_TRUSTED_PROXIES (docs/security.md, "Web defences").

With no proxy configured (the default) the client is the TCP peer and the headers are ignored, so nobody
can pick a new address per request and step around the per-client rate limits. With proxies configured,
uvicorn's well-tested middleware rewrites the scope's client and scheme: the client is the right-most
address in X-Forwarded-For that is not itself a trusted proxy. `atlas serve` turns uvicorn's own handling
off (it would trust loopback by default): the app decides, whatever server runs it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from litestar.types import ASGIApp
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from atlas.config import Settings


def trusted_proxy_middleware(settings: Settings) -> list[Callable[[ASGIApp], ASGIApp]]:
    """The proxy-headers middleware for the configured proxies, or nothing when none is configured."""
    networks = settings.trusted_proxy_networks
    if not networks:
        return []

    def believe_trusted_proxies(app: ASGIApp) -> ASGIApp:
        # uvicorn's ASGI types are its own TypedDicts; the protocol is the same.
        return cast("ASGIApp", ProxyHeadersMiddleware(cast("Any", app), trusted_hosts=networks))

    return [believe_trusted_proxies]
