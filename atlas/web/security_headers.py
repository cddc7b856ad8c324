"""The web's standard defences on every response Atlas sends (docs/security.md, "Web defences").

Pages (any ``text/html`` answer) get a Content-Security-Policy that allows only Atlas's own scripts, styles,
fonts and images: no inline script, no inline event handler, no ``style=`` attribute (page data travels in
``data-*`` attributes and ``<script type="application/json">`` blocks, which are data, not script). The
browser may talk to Atlas and, for the payment form's card tokenisation, to Moyasar; forms may post to Atlas
and to the OpenID provider (a sign-in or sign-out that redirects there). Everything else (JSON, problem
details, static files, metrics) gets ``default-src 'none'``. Every answer says nosniff, no framing, a strict
Referrer-Policy, and HSTS when Atlas's base URL is https.

It is a ``before_send`` hook rather than a route middleware so that it also covers what no route answers
(an unknown path's 404, a 405), which Litestar produces outside the route middleware stack.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from litestar.datastructures import MutableScopeHeaders
from litestar.types import BeforeMessageSendHookHandler, Message, Scope

from atlas.config import Settings

API_POLICY = "default-src 'none'; frame-ancestors 'none'"
HSTS = "max-age=31536000; includeSubDomains"


def origin(url: str | None) -> str | None:
    """``scheme://host[:port]`` of an http(s) URL, or None for anything else (never a wildcard)."""
    if not url:
        return None
    parts = urlsplit(url.strip())
    host = parts.netloc.rpartition("@")[2]
    if parts.scheme not in ("http", "https") or not host or "*" in host:
        return None
    return f"{parts.scheme}://{host}".lower()


def _sources(*extra: str | None) -> str:
    seen: list[str] = ["'self'"]
    for source in extra:
        if source and source not in seen:
            seen.append(source)
    return " ".join(seen)


def page_policy(*, connect_origins: Iterable[str | None] = (), form_origins: Iterable[str | None] = ()) -> str:
    """The Content-Security-Policy of an HTML page."""
    directives = [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        # The favicon is an inline SVG data: URL; nothing else needs data:.
        "img-src 'self' data:",
        "font-src 'self'",
        f"connect-src {_sources(*connect_origins)}",
        f"form-action {_sources(*form_origins)}",
        "frame-src 'none'",
        "frame-ancestors 'none'",
        "object-src 'none'",
        "base-uri 'self'",
    ]
    return "; ".join(directives)


@dataclass(frozen=True)
class SecurityHeaders:
    """The headers for pages and for everything else, computed once from the settings."""

    page: tuple[tuple[str, str], ...]
    other: tuple[tuple[str, str], ...]

    @classmethod
    def from_settings(cls, settings: Settings, *, oidc_issuer: str | None) -> SecurityHeaders:
        # The payment form sends the card from the browser straight to Moyasar (billing.js, POST …/tokens);
        # 3-D Secure is a top-level navigation, so no frame is needed.
        moyasar = origin(settings.moyasar_base_url) if settings.moyasar_configured else None
        common = [
            ("X-Content-Type-Options", "nosniff"),
            ("X-Frame-Options", "DENY"),
            ("Referrer-Policy", "strict-origin-when-cross-origin"),
        ]
        if settings.base_url.strip().lower().startswith("https://"):
            common.append(("Strict-Transport-Security", HSTS))
        page = page_policy(connect_origins=[moyasar], form_origins=[origin(oidc_issuer)])
        return cls(
            page=(("Content-Security-Policy", page), *common),
            other=(("Content-Security-Policy", API_POLICY), *common),
        )

    def apply(self, message: Message) -> None:
        """Add the headers to a response start message; a header the handler set itself is kept."""
        headers = MutableScopeHeaders.from_message(message)
        content_type = (headers.get("content-type") or "").lower()
        for name, value in self.page if content_type.startswith("text/html") else self.other:
            if headers.get(name) is None:
                headers[name] = value


def security_headers_hook(settings: Settings, *, oidc_issuer: str | None) -> BeforeMessageSendHookHandler:
    """A Litestar ``before_send`` hook adding `SecurityHeaders` to every HTTP response."""
    policy = SecurityHeaders.from_settings(settings, oidc_issuer=oidc_issuer)

    # Asynchronous on purpose: Litestar would run a synchronous hook in its thread pool.
    async def add_security_headers(message: Message, scope: Scope) -> None:
        if message["type"] == "http.response.start":
            policy.apply(message)

    return add_security_headers
