"""The one guard on every route: authentication, CSRF for cookie sessions, and the permission matrix."""

from __future__ import annotations

import hmac
from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from atlas.errors import Forbidden, Unauthenticated
from atlas.platform.principal import Principal
from atlas.policy.rbac import Permission

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


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
        if not principal.csrf_token or not hmac.compare_digest(sent, principal.csrf_token):
            raise Forbidden("errors.csrf_failed", slug="csrf-failed")
    if access == "authenticated":
        return
    if access is None:
        # Deny by default: a route that forgot to declare its access is closed, not open.
        raise Forbidden("errors.forbidden")
    if not isinstance(access, Permission) or not principal.can(access):
        raise Forbidden("errors.forbidden")
