"""The execution lock over HTTP: execution drafts (read and export) and the execute route that always refuses.

Above the lock (which imports nothing above the platform): the lock's drafts are read through
`atlas.execution_lock.services`, and the refusal's reason is the lock's own ``LOCK_REASON``.

``/api/recommendations/{id}/execute`` exists so that an attempt to bypass the approval path through
the API meets the lock: every method, every role (platform admins too), any payload gets 423 Locked,
the attempt is recorded as ``action_blocked`` with the actor and the method, and nothing else changes.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import msgspec
from litestar import Controller, HttpMethod, Request, Response, get, route
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from atlas.ai_engine.models import Recommendation
from atlas.db.base import utcnow
from atlas.db.engine import Database
from atlas.errors import Locked, ValidationFailed
from atlas.execution_lock import services
from atlas.execution_lock.lock import LOCK_REASON
from atlas.platform.audit import EventType, record
from atlas.platform.principal import Principal
from atlas.platform.rbac import Permission
from atlas.platform.tenancy import TenantRepository
from atlas.web import params as paging
from atlas.web.ui.guards import CSRF_UNVERIFIED, SAFE_METHODS

# Every method HTTP has, so no verb reaches anything but the lock (Litestar adds no OPTIONS handler of its own).
EXECUTE_METHODS = [
    HttpMethod.GET,
    HttpMethod.HEAD,
    HttpMethod.POST,
    HttpMethod.PUT,
    HttpMethod.PATCH,
    HttpMethod.DELETE,
    HttpMethod.OPTIONS,
    HttpMethod.TRACE,
]
EXECUTION_LOCK_OPT = {"execution_lock": True, "authenticated": True}


def _choice(name: str, value: str | None, allowed: tuple[str, ...]) -> str | None:
    if value in (None, ""):
        return None
    if value not in allowed:
        raise ValidationFailed("errors.draft_filter", value=value, allowed=", ".join(allowed), extra={"field": name})
    return value


def _export_kind(kind: str | None) -> str | None:
    """Exports hold blocked drafts unless ``kind`` says otherwise (``all`` for every kind)."""
    if kind == "all":
        return None
    return _choice("kind", kind, services.KINDS) or "blocked"


def _filename(kind: str | None, extension: str) -> str:
    return f"atlas-drafts-{kind or 'all'}-{utcnow().strftime('%Y%m%d-%H%M%S')}.{extension}"


class DraftExport(msgspec.Struct):
    """What ``/api/drafts/export.json`` holds (the handler writes it as indented JSON, a download)."""

    exported_at: str
    kind: str
    sendable: bool
    drafts: list[dict[str, Any]]


class DraftController(Controller):
    path = "/api/drafts"
    tags = ["execution lock"]

    @get("/", opt={"permission": Permission.READ})
    async def list_drafts(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        kind: str | None = None,
        action_type: str | None = Parameter(query="type", default=None),
        recommendation_id: uuid.UUID | None = None,
        limit: int = paging.limit_param(),
        offset: int = paging.offset_param(),
        cursor: str | None = paging.cursor_param(),
    ) -> dict[str, Any]:
        """Execution drafts, newest first: what approved actions (``blocked``) or dry runs would do;
        ``next_cursor`` (when more follow) is the ``cursor`` of the next page."""
        return await services.list_drafts(
            db,
            kind=_choice("kind", kind, services.KINDS),
            action_type=_choice("type", action_type, services.TYPES),
            recommendation_id=recommendation_id,
            limit=limit,
            offset=offset,
            cursor=cursor,
            cursor_key=paging.cursor_key(request),
        )

    @get(
        "/export.csv",
        opt={"permission": Permission.READ},
        media_type="text/csv",
        response_description="Drafts as CSV, UTF-8 with a byte-order mark (a download)",
    )
    async def export_csv(
        self,
        db: NamedDependency[AsyncSession],
        kind: str | None = None,
        action_type: str | None = Parameter(query="type", default=None),
    ) -> Response[bytes]:
        """Drafts as CSV (UTF-8 with a byte-order mark, a header row) to apply in your own system."""
        chosen = _export_kind(kind)
        rows = await services.export_rows(db, kind=chosen, action_type=_choice("type", action_type, services.TYPES))
        return Response(
            content=services.to_csv(rows),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{_filename(chosen, "csv")}"'},
        )

    @get(
        "/export.json",
        opt={"permission": Permission.READ},
        responses={200: ResponseSpec(data_container=DraftExport, description="Drafts as a JSON document (a download)")},
    )
    async def export_json(
        self,
        db: NamedDependency[AsyncSession],
        kind: str | None = None,
        action_type: str | None = Parameter(query="type", default=None),
    ) -> Response[bytes]:
        """Drafts as JSON, with everything each one holds."""
        chosen = _export_kind(kind)
        rows = await services.export_rows(db, kind=chosen, action_type=_choice("type", action_type, services.TYPES))
        body = {
            "exported_at": utcnow().isoformat(),
            "kind": chosen or "all",
            "sendable": False,
            "drafts": rows,
        }
        return Response(
            content=json.dumps(body, ensure_ascii=False, indent=2, default=str).encode("utf-8"),
            media_type="application/json; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{_filename(chosen, "json")}"'},
        )

    @get("/{draft_id:uuid}", opt={"permission": Permission.READ})
    async def read(self, db: NamedDependency[AsyncSession], draft_id: FromPath[uuid.UUID]) -> dict[str, Any]:
        return await services.get_draft(db, draft_id)


class _RecommendationRepo(TenantRepository[Recommendation]):
    model = Recommendation


class ExecuteController(Controller):
    """The route that would execute a recommendation, if Atlas could. It cannot."""

    path = "/api/recommendations"
    tags = ["execution lock"]

    @route("/{recommendation_id:uuid}/execute", http_method=EXECUTE_METHODS, opt=EXECUTION_LOCK_OPT, status_code=423)
    async def execute(
        self,
        request: Request[Any, Any, Any],
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        correlation_id: NamedDependency[str],
        recommendation_id: FromPath[uuid.UUID],
    ) -> None:
        """Always 423 Locked: Atlas never executes actions. The attempt is audited; nothing else changes.
        The body is never read, so any payload meets the same answer."""
        async with database.tenant_session(principal.tenant_id) as session:
            found = await _RecommendationRepo(session).get_or_none(recommendation_id)
            await record(
                session,
                EventType.ACTION_BLOCKED,
                actor=principal.actor,
                correlation_id=found.correlation_id if found is not None else correlation_id,
                payload={
                    "recommendation_id": str(recommendation_id),
                    "recommendation_found": found is not None,
                    "method": request.method,
                    "path": request.url.path,
                    "source": "api_execute",
                    "reason": LOCK_REASON,
                    "request_id": correlation_id,
                    "role": principal.role,
                    "platform_admin": principal.is_platform_admin,
                    # A browser session's write without its CSRF token may have been sent by another site.
                    "csrf_verified": None
                    if principal.kind != "session" or request.method in SAFE_METHODS
                    else not (request.scope.get("state") or {}).get(CSRF_UNVERIFIED, False),
                },
            )
        raise Locked(
            "errors.execution_locked", extra={"reason": LOCK_REASON, "recommendation_id": str(recommendation_id)}
        )


CONTROLLERS = [DraftController, ExecuteController]
