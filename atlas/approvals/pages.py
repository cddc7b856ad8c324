"""The approval pages: the approval queue (`/app/approvals`), and the approval parts of a recommendation's page
(policy result, votes, dry run and its draft, approve / reject, the timeline; the page is
`atlas.approvals.recommendation_pages`), built from the same services as the API. Words come from the catalogue,
so both languages switch without a reload."""

from __future__ import annotations

import json
import math
from typing import Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from atlas.ai_engine.models import Recommendation
from atlas.ai_engine.pages import PRIORITIES, REC_TYPES, recommendation_row
from atlas.approvals import services
from atlas.approvals.draft_pages import summaries
from atlas.config import Settings
from atlas.i18n import catalogue
from atlas.mapping import inventory
from atlas.platform.people import actor_names
from atlas.platform.principal import Principal
from atlas.platform.rbac import Permission
from atlas.web.params import page_param, text_param, uuid_param
from atlas.web.ui.formatting import pager
from atlas.web.ui.layout import page, tenant_context_for

PAGE_SIZE = 50
TABS = ("mine", "team")
# Payload fields worth a line in the timeline, in reading order.
TIMELINE_FIELDS = (
    "stage",
    "outcome",
    "status",
    "revision",
    "policy_version",
    "required_approvals",
    "reason",
    "draft_id",
)


def reason_entries(reasons: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """Policy reasons for the template: the catalogue key and its figures (translated in the page)."""
    names = catalogue()
    entries = []
    for reason in reasons or []:
        code = str(reason.get("code") or "")
        key = f"policy.reason.{code}"
        entries.append({"code": code, "key": key if key in names else None, "params": reason.get("params") or {}})
    return entries


def timeline_entries(events: list[dict[str, Any]], people: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """The timeline's events for the template; ``who`` is the person by name (``people``: reference → name, from
    `atlas.platform.people.actor_names`), else the name the event recorded, else its reference."""
    names = catalogue()
    people = people or {}
    entries = []
    for event in events:
        payload = event.get("payload") or {}
        key = f"audit.event.{event['event_type']}"
        details = []
        for name in TIMELINE_FIELDS:
            value = payload.get(name)
            if value in (None, ""):
                continue
            word = f"approvals.timeline.value.{value}" if isinstance(value, str) else None
            details.append({"name": name, "value": value, "word": word if word in names else None})
        entries.append(
            {
                **event,
                "label": key if key in names else None,
                "who": people.get(event["actor"]) or payload.get("actor_display") or event["actor"],
                "details": details,
                "reasons": reason_entries(payload.get("reasons")) if event["event_type"] == "policy_evaluated" else [],
            }
        )
    return entries


def draft_view(draft: dict[str, Any] | None) -> dict[str, Any] | None:
    if not draft:
        return None
    return {
        **draft,
        "action_json": json.dumps(draft.get("action"), ensure_ascii=False, indent=2, default=str),
        "impact_json": json.dumps(draft.get("impact"), ensure_ascii=False, indent=2, default=str),
        "request_json": json.dumps(draft.get("request"), ensure_ascii=False, indent=2, default=str)
        if draft.get("request")
        else None,
        "summary": summaries(draft),
    }


async def approval_context(db: AsyncSession, rec: Recommendation, principal: Principal) -> dict[str, Any]:
    """What the recommendation page shows of its approval (`approval`, `timeline`, `can_vote`)."""
    state = await services.approval_state(db, rec, subject=principal.actor.ref, role=principal.role)
    decision = state.get("policy_decision") or {}
    state["reasons"] = reason_entries(decision.get("reasons"))
    state["policy_allowed"] = decision.get("allowed")
    state["dry_run"] = draft_view(state.get("dry_run"))
    state["blocked_draft"] = draft_view(state.get("blocked_draft"))
    events = await services.timeline(db, rec.id)
    return {
        "approval": state,
        "timeline": timeline_entries(events, await actor_names(db, (e["actor"] for e in events))),
        "can_vote": principal.can(Permission.DECIDE_RECOMMENDATIONS),
    }


def _choice(value: str, allowed: tuple[str, ...]) -> str:
    return value if value in allowed else ""


class ApprovalPages(Controller):
    include_in_schema = False

    @get("/app/approvals", opt={"permission": Permission.READ})
    async def queue(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
    ) -> Template:
        """The approval queue: what waits for my decision (and the team's), what expires soon, bulk decisions."""
        ctx = await tenant_context_for(db)
        settings: Settings = request.app.state.settings
        params = request.query_params
        can_vote = principal.can(Permission.DECIDE_RECOMMENDATIONS)
        tab = _choice(text_param(params, "tab", 10), TABS) or ("mine" if can_vote else "team")
        kind = _choice(text_param(params, "type", 20), REC_TYPES)
        priority = _choice(text_param(params, "priority", 10), PRIORITIES)
        location_id = uuid_param(text_param(params, "location_id", 40))
        current = page_param(text_param(params, "page", 12))
        common: dict[str, Any] = {
            "subject": principal.actor.ref,
            "role": principal.role,
            "kind": kind or None,
            "priority": priority or None,
            "location_id": location_id,
            "hour_seconds": settings.approval_hour_seconds,
        }
        result = await services.queue(db, scope=tab, limit=PAGE_SIZE, offset=(current - 1) * PAGE_SIZE, **common)
        if not result["items"] and result["total"] and current > 1:
            current = math.ceil(result["total"] / PAGE_SIZE)
            result = await services.queue(db, scope=tab, limit=PAGE_SIZE, offset=(current - 1) * PAGE_SIZE, **common)
        other = "team" if tab == "mine" else "mine"
        counts = {tab: result["total"], other: (await services.queue(db, scope=other, limit=1, **common))["total"]}
        filters = {"type": kind, "priority": priority, "location_id": str(location_id or "")}
        link_params = {"tab": tab, **{k: v for k, v in filters.items() if v}}
        locations = (await inventory.locations(db, q=None, limit=500, offset=0))["items"]
        return page(
            request,
            "approvals/queue.html",
            nav="approvals",
            tab=tab,
            tabs=TABS,
            counts=counts,
            rows=[recommendation_row(r) for r in result["items"]],
            reminders=await services.reminders(db),
            filters=filters,
            active_filters=[k for k, v in filters.items() if v],
            link_params=link_params,
            pager=pager(result["total"], current, PAGE_SIZE),
            types=REC_TYPES,
            priorities=PRIORITIES,
            locations=locations,
            can_vote=can_vote,
            **ctx,
        )


async def reminder_notices(db: AsyncSession) -> list[dict[str, Any]]:
    """The dashboard's approval notices (the same as the queue's)."""
    return await services.reminders(db)


PAGES = [ApprovalPages]
