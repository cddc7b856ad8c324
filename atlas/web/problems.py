"""RFC 9457 problem details for every error, in the request's language, with the correlation id.

API paths (``/api``, ``/health``, ``/ready``) answer ``application/problem+json``;
pages answer an HTML error page, and a page that needs sign-in redirects there.

The error page follows the language other pages would show (the cookie; `_lang`) and says its title and detail
through the catalogue in mark-up, so the in-page language switch turns them too, not only the header around them
(issue 19). Every answer carries a reference id: an unknown path is answered before the request context runs, so
the id is made here then (the client's valid ``X-Request-ID``, else a new one) and kept in the scope's state, so
the page, the header and the log say the same id.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

import structlog
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException, ValidationException
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from sqlalchemy.exc import StatementError

from atlas.errors import AtlasError
from atlas.i18n import DEFAULT_LANG, LANG_COOKIE, direction, negotiate, translate
from atlas.web.context import REQUEST_ID_RE

log = structlog.get_logger("atlas.web")

PROBLEM_JSON = "application/problem+json"
STATUS_SLUGS = {
    400: "bad-request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "validation-failed",
    423: "locked",
    429: "too-many-requests",
    500: "internal-error",
    503: "unavailable",
}


def _lang(request: Request[Any, Any, Any]) -> str:
    state = request.scope.get("state") or {}
    if state.get("lang"):
        return str(state["lang"])
    # No route matched (a 404 or 405 answered before the request context ran): the same choice it would make.
    path = request.scope.get("path", "")
    accept_language = request.headers.get("accept-language") if path.startswith(("/api/", "/ready")) else None
    return negotiate(request.cookies.get(LANG_COOKIE), accept_language) or DEFAULT_LANG


def _request_id(request: Request[Any, Any, Any]) -> str:
    state = request.scope.setdefault("state", {})
    if not state.get("request_id"):  # no route matched: the request context never ran (see the module's docstring)
        incoming = request.headers.get("x-request-id") or ""
        state["request_id"] = incoming if REQUEST_ID_RE.match(incoming) else uuid.uuid4().hex
    return str(state["request_id"])


def wants_html(request: Request[Any, Any, Any]) -> bool:
    path = request.scope.get("path", "")
    if path.startswith(("/api/", "/health", "/ready", "/metrics", "/i18n/", "/static/")) or path == "/api":
        return False
    return "text/html" in (request.headers.get("accept") or "text/html")


def problem_response(
    request: Request[Any, Any, Any],
    *,
    status: int,
    slug: str,
    message_key: str,
    params: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> Response[Any]:
    lang = _lang(request)
    request_id = _request_id(request)
    title = translate(f"problems.{slug}", lang)
    detail = translate(message_key, lang, **(params or {}))
    if status == 401 and wants_html(request):
        target = request.scope.get("path", "/app")
        query = request.scope.get("query_string", b"").decode("latin-1")
        next_path = target + (f"?{query}" if query else "")
        return Redirect(f"/signin?next={quote(next_path, safe='')}")
    if wants_html(request):
        return Template(
            "error.html",
            context={
                "status": status,
                "title": title,
                "detail": detail,
                # the catalogue's keys too: the page says them in mark-up the language switch re-translates
                "title_key": f"problems.{slug}",
                "detail_key": message_key,
                "detail_params": params or {},
                "correlation_id": request_id,
                "lang": lang,
                "dir": direction(lang),
                "principal": request.scope.get("user"),
                "csrf_token": None,
                "tenant_name": None,
                "demo_mode": False,
                "nav": None,
                "trial": None,
            },
            status_code=status,
            headers={"X-Request-ID": request_id, **(headers or {})},
            media_type=MediaType.HTML,
        )
    body: dict[str, Any] = {
        "type": f"urn:atlas:problem:{slug}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.scope.get("path", ""),
        "correlation_id": request_id,
        "code": message_key,
    }
    body.update(extra or {})
    return Response(
        content=body,
        status_code=status,
        media_type=PROBLEM_JSON,
        headers={"X-Request-ID": request_id, "Content-Language": lang, **(headers or {})},
    )


def handle_atlas_error(request: Request[Any, Any, Any], exc: AtlasError) -> Response[Any]:
    # Some refusals send a page to where the person can act (the subscription's trial-ended screen).
    html_redirect = getattr(exc, "html_redirect", None)
    if html_redirect and wants_html(request):
        return Redirect(html_redirect)
    return problem_response(
        request,
        status=exc.status,
        slug=exc.slug,
        message_key=exc.message_key,
        params=exc.params,
        headers=exc.headers,
        extra=exc.extra,
    )


def handle_validation(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    lang = _lang(request)
    fields: list[dict[str, Any]] = []
    for item in exc.extra or []:
        if isinstance(item, dict):
            fields.append(
                {
                    "field": item.get("key"),
                    "source": item.get("source"),
                    "message": translate("errors.field_invalid", lang, field=item.get("key") or "?"),
                }
            )
    extra: dict[str, Any] = {"errors": fields}
    if fields and fields[0]["field"]:
        extra["field"] = fields[0]["field"]  # the first field named, where the other 422s name theirs
    return problem_response(
        request,
        status=422,
        slug="validation-failed",
        message_key="errors.validation_failed",
        extra=extra,
    )


def handle_http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    if isinstance(exc, NotAuthorizedException):
        status = 401
    slug = STATUS_SLUGS.get(status, "error")
    key = f"errors.http_{status}" if status in STATUS_SLUGS else "errors.http_other"
    headers = dict(exc.headers or {})
    if status == 429 and request.scope.get("path") in ("/api/login", "/api/auth/callback"):
        return Redirect("/signin?error=rate_limited")
    return problem_response(request, status=status, slug=slug, message_key=key, headers=headers)


# SQLSTATE class 22 (data exception): a value the column cannot hold. Validation names the field first; this is
# the safety net, so that what slipped past it is still the client's 422, never a 500.
OUT_OF_RANGE_STATES = frozenset({"22003", "22008", "22015"})  # numeric, datetime field, interval field overflow
UNSTORABLE_TEXT_STATES = frozenset({"22P05", "22021"})  # untranslatable character (NUL), not in the encoding


def database_value_error(exc: BaseException) -> str | None:
    """The message key when ``exc`` (a SQLAlchemy error, or what it wraps) is the database refusing a value the
    client sent; None for any other database error, which stays a 500."""
    states: list[str] = []
    overflow = False
    current: BaseException | None = exc
    for _ in range(8):  # SQLAlchemy error -> the DBAPI adapter's -> asyncpg's -> its cause
        if current is None:
            break
        state = getattr(current, "sqlstate", None)
        if isinstance(state, str):
            states.append(state)
        # asyncpg checks an argument itself (an int past int4/int8): SQLSTATE 22000 caused by an OverflowError.
        overflow = overflow or isinstance(current, OverflowError)
        current = getattr(current, "orig", None) or current.__cause__
    data_states = [s for s in states if s.startswith("22")]
    if not data_states:
        return None
    if overflow or any(s in OUT_OF_RANGE_STATES for s in data_states):
        return "errors.value_out_of_range"
    if any(s in UNSTORABLE_TEXT_STATES for s in data_states):
        return "errors.value_not_storable"
    return "errors.value_rejected"


def handle_database_error(request: Request[Any, Any, Any], exc: StatementError) -> Response[Any]:
    key = database_value_error(exc)
    if key is None:
        return handle_unexpected(request, exc)
    log.warning("database_refused_value", error_type=type(getattr(exc, "orig", None) or exc).__name__)
    return problem_response(request, status=422, slug="validation-failed", message_key=key)


def handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unhandled_error", error_type=type(exc).__name__)
    return problem_response(
        request, status=HTTP_500_INTERNAL_SERVER_ERROR, slug="internal-error", message_key="errors.http_500"
    )


EXCEPTION_HANDLERS: dict[Any, Any] = {
    AtlasError: handle_atlas_error,
    ValidationException: handle_validation,
    HTTPException: handle_http,
    StatementError: handle_database_error,
    Exception: handle_unexpected,
}
