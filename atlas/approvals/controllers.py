"""The approval workflow over HTTP: approve, reject, dry run, change, the queue, bulk decisions, the timeline.

Approve and reject go through the recommendation's workflow (a Temporal update) and answer as soon as the
workflow has counted the vote: 200 with the new state, or 409/422 problem details with the policy's
reasons in the request's language. The lock comes after, in the workflow, not in the request.
"""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal, InvalidOperation
from typing import Any

import structlog
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, Parameter
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import WorkflowUpdateFailedError

from atlas.ai_engine.changes import Changes
from atlas.ai_engine.services import get_recommendation
from atlas.approvals import dispatch, services
from atlas.approvals.schemas import ApproveIn, BulkIn, ChangeIn, RejectIn
from atlas.approvals.services import Vote, VoteOutcome, translated
from atlas.config import Settings
from atlas.db.engine import Database
from atlas.errors import AtlasError, Conflict, NotFound, Unavailable, ValidationFailed
from atlas.i18n import request_lang, translate
from atlas.platform.principal import Principal
from atlas.platform.rbac import Permission
from atlas.web import params as paging

log = structlog.get_logger("atlas.approvals")
DECIDE_TIMEOUT = 30.0
MAX_QUANTITY = Decimal("100000000000000")
DECIDE = {"permission": Permission.DECIDE_RECOMMENDATIONS}
READ = {"permission": Permission.READ}


def _status_label(status: str, lang: str) -> str:
    return translate(f"aipage.status.{status}", lang)


def _not_pending(status: str, lang: str) -> Conflict:
    return Conflict(
        "errors.approval_not_pending",
        slug="not-pending",
        status_name=_status_label(status, lang),
        extra={"recommendation_status": status},
    )


def outcome_body(recommendation_id: uuid.UUID, outcome: VoteOutcome, lang: str) -> dict[str, Any]:
    """A counted vote: the state it left the recommendation in."""
    return {
        "recommendation_id": str(recommendation_id),
        "result": outcome.result,
        "status": outcome.status,
        "revision": outcome.revision,
        "approvals": outcome.approvals,
        "required": outcome.required,
        "transitioned": outcome.transitioned,
        "reasons": translated(outcome.reasons, lang),
    }


def outcome_error(outcome: VoteOutcome, lang: str) -> AtlasError:
    """Why a vote did not count, as problem details."""
    figures = {
        "recommendation_status": outcome.status,
        "revision": outcome.revision,
        "approvals": outcome.approvals,
        "required": outcome.required,
    }
    if outcome.result == "missing":
        return NotFound("errors.recommendation_not_found")
    if outcome.result == "not_pending":
        return _not_pending(outcome.status, lang)
    if outcome.result == "revision_changed":
        return Conflict(
            "errors.approval_revision_changed", slug="revision-changed", revision=outcome.revision, extra=figures
        )
    reasons = translated(outcome.reasons, lang)
    return Conflict(
        "errors.approval_refused",
        slug="policy-refused",
        reasons=" ".join(r["message"] for r in reasons),
        extra={**figures, "reasons": reasons},
    )


async def submit_vote(
    request: Request[Any, Any, Any],
    database: Database,
    principal: Principal,
    recommendation_id: uuid.UUID,
    *,
    verdict: str,
    reason: str | None,
    revision: int | None,
) -> dict[str, Any]:
    """One vote through the workflow; the answer once the workflow has counted it (or said why not)."""
    lang = request_lang(request)
    settings: Settings = request.app.state.settings
    async with database.tenant_session(principal.tenant_id) as session:
        rec = await services.status_of(session, recommendation_id)  # another tenant's: 404
        status = rec.status
    if status != services.OPEN:
        raise _not_pending(status, lang)
    actor = principal.actor
    vote = Vote(
        subject=actor.ref,
        role=principal.role,
        verdict=verdict,
        reason=reason,
        display=actor.display,
        revision=revision,
        vote_id=str(uuid.uuid4()),
    )
    try:
        client = await request.app.state.temporal.client()
        outcome = await asyncio.wait_for(
            dispatch.decide(client, settings, principal.tenant_id, recommendation_id, vote), DECIDE_TIMEOUT
        )
    except WorkflowUpdateFailedError:
        raise ValidationFailed("errors.approval_vote_invalid") from None
    except Exception as exc:
        # The workflow closed meanwhile (expired, retired), or Temporal is unreachable: the row says which.
        async with database.tenant_session(principal.tenant_id) as session:
            status = (await services.status_of(session, recommendation_id)).status
        if status != services.OPEN:
            raise _not_pending(status, lang) from None
        log.warning("approval_vote_not_delivered", error=type(exc).__name__)
        raise Unavailable("errors.scheduler_unavailable") from None
    if outcome.result != "counted":
        raise outcome_error(outcome, lang)
    return outcome_body(recommendation_id, outcome, lang)


async def change_recommendation(
    request: Request[Any, Any, Any],
    database: Database,
    principal: Principal,
    recommendation_id: uuid.UUID,
    data: ChangeIn,
) -> dict[str, Any]:
    """Change the quantity of a pending recommendation (a reason is required). It becomes a new revision:
    earlier approvals no longer count, policy is evaluated again, and whoever changed it cannot approve it.
    (Served as ``PATCH /api/recommendations/{id}`` by ``atlas.approvals.recommendation_controllers``, on the path
    of the AI engine's recommendation readers.)"""
    quantity = _quantity(data.quantity)
    reason = (data.reason or "").strip()
    if not reason:
        raise ValidationFailed("errors.change_reason_required", extra={"field": "reason"})
    async with database.tenant_session(principal.tenant_id) as session:
        rec = await services.change_quantity(
            session, recommendation_id, quantity=quantity, reason=reason, actor=principal.actor
        )
        rec_id = rec.id
    await dispatch.notify_safely(
        request.app.state.temporal, request.app.state.settings, principal.tenant_id, Changes(revised=[rec_id])
    )
    async with database.tenant_session(principal.tenant_id) as session:
        return await get_recommendation(session, rec_id)


def _reason(text: str | None) -> str:
    value = (text or "").strip()
    if not value:
        raise ValidationFailed("errors.reject_reason_required", extra={"field": "reason"})
    return value


class ApprovalController(Controller):
    path = "/api"
    tags = ["approvals"]

    @post("/recommendations/{recommendation_id:uuid}/approve", opt=DECIDE, status_code=200)
    async def approve(
        self,
        request: Request[Any, Any, Any],
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        recommendation_id: FromPath[uuid.UUID],
        data: ApproveIn | None = None,
    ) -> dict[str, Any]:
        """Approve (optional comment). Counted if policy allows it (role, four-eyes, not twice, the dry run when
        required); the required distinct approvals move it to `approved`, and the workflow on to the lock."""
        body = data or ApproveIn()
        comment = (body.comment or "").strip() or None
        return await submit_vote(
            request, database, principal, recommendation_id, verdict="approve", reason=comment, revision=body.revision
        )

    @post("/recommendations/{recommendation_id:uuid}/reject", opt=DECIDE, status_code=200)
    async def reject(
        self,
        request: Request[Any, Any, Any],
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        recommendation_id: FromPath[uuid.UUID],
        data: RejectIn | None = None,
    ) -> dict[str, Any]:
        """Reject with a reason (required: 422 without). The recommendation ends `rejected` with the reason."""
        body = data or RejectIn()
        reason = _reason(body.reason)
        return await submit_vote(
            request, database, principal, recommendation_id, verdict="reject", reason=reason, revision=body.revision
        )

    @post("/recommendations/{recommendation_id:uuid}/dry-run", opt=DECIDE, status_code=200)
    async def dry_run(
        self,
        db: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        recommendation_id: FromPath[uuid.UUID],
    ) -> dict[str, Any]:
        """The execution lock's dry run of the current revision: the draft (the action, the request that would
        have been sent, a summary in Arabic and English) and its impact. Nothing is sent anywhere."""
        return await services.run_dry_run(db, recommendation_id, actor=principal.actor)

    @get("/recommendations/{recommendation_id:uuid}/timeline", opt=READ)
    async def timeline(
        self, db: NamedDependency[AsyncSession], recommendation_id: FromPath[uuid.UUID]
    ) -> dict[str, Any]:
        """Every audit event of the recommendation's correlation id, oldest first."""
        rec = await services.status_of(db, recommendation_id)
        return {
            "recommendation_id": str(rec.id),
            "correlation_id": rec.correlation_id,
            "events": await services.timeline(db, recommendation_id),
        }

    @get("/recommendations/{recommendation_id:uuid}/approval", opt=READ)
    async def approval(
        self,
        db: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        recommendation_id: FromPath[uuid.UUID],
    ) -> dict[str, Any]:
        """Where the approval stands: policy result, required approvals, votes, the dry run, the blocked draft."""
        rec = await services.status_of(db, recommendation_id)
        return await services.approval_state(db, rec, subject=principal.actor.ref, role=principal.role)

    @get("/approvals", opt=READ)
    async def queue(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        scope_name: str = Parameter(query="scope", default="mine"),
        rec_type: str | None = Parameter(query="type", default=None),
        priority: str | None = None,
        location_id: uuid.UUID | None = None,
        limit: int = paging.limit_param(),
        offset: int = paging.offset_param(),
    ) -> dict[str, Any]:
        """What waits for a decision: ``scope=mine`` (what I may decide now) or ``team`` (everything pending);
        filters type, priority, location; what needs a decision first (priority, then soonest to expire)."""
        _choice("type", rec_type, services.TYPES)
        _choice("priority", priority, services.PRIORITY_ORDER)
        settings: Settings = request.app.state.settings
        return await services.queue(
            db,
            scope=scope_name,
            subject=principal.actor.ref,
            role=principal.role,
            kind=rec_type or None,
            priority=priority or None,
            location_id=location_id,
            limit=limit,
            offset=offset,
            hour_seconds=settings.approval_hour_seconds,
        )

    @post("/approvals/bulk", opt=DECIDE, status_code=200)
    async def bulk(
        self,
        request: Request[Any, Any, Any],
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        data: BulkIn,
    ) -> dict[str, Any]:
        """Approve or reject several at once: each is counted against policy and the blast radius on its own,
        and each gets its own result (200 with one entry per id)."""
        reason = _reason(data.reason) if data.verdict == "reject" else ((data.reason or "").strip() or None)
        ids = list(dict.fromkeys(data.ids))
        lang = request_lang(request)
        results = []
        for recommendation_id in ids:
            try:
                body = await submit_vote(
                    request, database, principal, recommendation_id, verdict=data.verdict, reason=reason, revision=None
                )
                results.append({"id": str(recommendation_id), "ok": True, "http_status": 200, **body})
            except AtlasError as exc:
                results.append(
                    {
                        "id": str(recommendation_id),
                        "ok": False,
                        "http_status": exc.status,
                        "code": exc.message_key,
                        "detail": translate(exc.message_key, lang, **exc.params),
                        **exc.extra,
                    }
                )
        counted = sum(1 for r in results if r["ok"])
        return {"verdict": data.verdict, "counted": counted, "refused": len(results) - counted, "results": results}


def _choice(name: str, value: str | None, allowed: tuple[str, ...]) -> None:
    if value and value not in allowed:
        raise ValidationFailed("errors.approval_filter", value=value, allowed=", ".join(allowed), extra={"field": name})


def _quantity(value: Decimal) -> Decimal:
    try:
        quantity = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise ValidationFailed("errors.quantity_invalid", extra={"field": "quantity"}) from None
    if (
        not quantity.is_finite()
        or quantity <= 0
        or quantity > MAX_QUANTITY
        or quantity != quantity.quantize(Decimal("0.0001"))
    ):
        raise ValidationFailed("errors.quantity_invalid", extra={"field": "quantity"})
    return quantity.quantize(Decimal("0.0001"))


CONTROLLERS = [ApprovalController]
