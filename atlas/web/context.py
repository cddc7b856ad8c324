"""Per-request context: correlation id, language, and who is asking (session cookie or API token)."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import structlog
from litestar.datastructures import Headers, MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from atlas.billing.access import read_status, remember_status
from atlas.i18n import LANG_COOKIE, negotiate
from atlas.platform.auth import SESSION_COOKIE, principal_for_api_token, principal_for_session

REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")
log = structlog.get_logger("atlas.access")


def _cookies(headers: Headers) -> dict[str, str]:
    jar: dict[str, str] = {}
    for part in (headers.get("cookie") or "").split(";"):
        name, sep, value = part.strip().partition("=")
        if sep and name:
            jar[name] = value
    return jar


class RequestContextMiddleware(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        started = time.perf_counter()
        headers = Headers.from_scope(scope)
        incoming = headers.get("x-request-id") or ""
        request_id = incoming if REQUEST_ID_RE.match(incoming) else uuid.uuid4().hex
        cookies = _cookies(headers)
        state: dict[str, Any] = scope.setdefault("state", {})
        state["request_id"] = request_id
        # Pages are Arabic unless the person chose English (the cookie); API clients may also
        # ask with Accept-Language.
        path = scope.get("path", "")
        accept_language = headers.get("accept-language") if path.startswith(("/api/", "/ready")) else None
        state["lang"] = negotiate(cookies.get(LANG_COOKIE), accept_language)
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        principal = None
        authorization = headers.get("authorization") or ""
        db = scope["litestar_app"].state.db
        if authorization:
            scheme, _, credential = authorization.partition(" ")
            if scheme.lower() == "bearer" and credential.strip():
                async with db.system_session() as session:
                    principal = await principal_for_api_token(session, credential.strip())
                    if principal is not None:
                        remember_status(scope, await read_status(session, principal.tenant_id))
            if principal is None:
                state["auth_error"] = "errors.invalid_token"
        elif cookies.get(SESSION_COOKIE):
            async with db.system_session() as session:
                principal = await principal_for_session(session, cookies[SESSION_COOKIE])
                if principal is not None:
                    # What the subscription guard will ask, read now in this transaction rather than its own.
                    remember_status(scope, await read_status(session, principal.tenant_id))
        scope["user"] = principal
        scope["auth"] = principal.kind if principal else None
        if principal is not None:
            structlog.contextvars.bind_contextvars(
                tenant_id=str(principal.tenant_id),
                user_id=str(principal.user_id) if principal.user_id else None,
                token_id=str(principal.token_id) if principal.token_id else None,
            )
        status_holder: dict[str, int] = {}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                response_headers = MutableScopeHeaders.from_message(message)
                if "x-request-id" not in response_headers:
                    response_headers["X-Request-ID"] = request_id
            await send(message)

        try:
            await next_app(scope, receive, send_with_id)
        finally:
            log.info(
                "request",
                method=scope.get("method"),
                path=scope.get("path"),
                status=status_holder.get("status"),
                duration_ms=round((time.perf_counter() - started) * 1000, 1),
            )
