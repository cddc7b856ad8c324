"""The one guard on every route: authentication, CSRF for cookie sessions, and the permission matrix.

In the web layer's lower half (``atlas/web/ui/``, was ``atlas/web/guards.py``; issue 18, pages part): billing's
subscription guard and the lock's execute route read its markers, and they sit below the web app."""

from __future__ import annotations

import hmac
from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from atlas.errors import Forbidden, Unauthenticated
from atlas.platform.principal import Principal
from atlas.platform.rbac import Permission

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_UNVERIFIED = "atlas.csrf_unverified"  # scope state: a cookie session's write without its CSRF token


def route_access(handler: BaseRouteHandler) -> str | Permission | None:
    """What a route declares: ``"public"``, ``"authenticated"``, a `Permission`, or None (a bug)."""
    opt = handler.opt
    if opt.get("public"):
        return "public"
    if opt.get("authenticated"):
        return "authenticated"
    permission = opt.get("permission")
    return permission if isinstance(permission, Permission) else None


def authorize(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    access = route_access(handler)
    if access == "public":
        return
    principal = connection.scope.get("user")
    if not isinstance(principal, Principal):
        state = connection.scope.get("state") or {}
        raise Unauthenticated(state.get("auth_error") or "errors.sign_in_required")
    if principal.kind == "session" and connection.scope.get("method", "GET") not in SAFE_METHODS:
        sent = connection.headers.get("x-csrf-token") or ""
        verified = bool(principal.csrf_token) and hmac.compare_digest(sent, principal.csrf_token or "")
        if not verified:
            if not handler.opt.get("execution_lock"):
                raise Forbidden("errors.csrf_failed", slug="csrf-failed")
            # The execute route changes nothing but the audit trail, and must meet every attempt with the lock
            # (423): it answers, recording that the request may not have come from this person's own page.
            connection.scope.setdefault("state", {})[CSRF_UNVERIFIED] = True
    if access == "authenticated":
        return
    if access is None:
        # Deny by default: a route that forgot to declare its access is closed, not open.
        raise Forbidden("errors.forbidden")
    if not isinstance(access, Permission) or not principal.can(access):
        raise Forbidden("errors.forbidden")
