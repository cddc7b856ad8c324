"""The policies page: the active policy as a form (admins edit it; others read it), its versions and a
comparison of two versions. It reads through `atlas.policy.services`, like the API."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from atlas.bounds import int4_or_none
from atlas.errors import NotFound
from atlas.i18n import request_lang
from atlas.i18n.formats import format_money, format_number
from atlas.platform.principal import Principal
from atlas.platform.rbac import Permission
from atlas.policy import services
from atlas.policy.rules import APPROVER_ROLES, ENVIRONMENTS, PRIORITIES, TYPES, PolicyRules
from atlas.web.ui.layout import page, tenant_context_for

FIELDS = tuple(PolicyRules().to_json())


def _int_param(value: str | None) -> int | None:
    return int4_or_none(value, low=0)  # a version (0: the defaults); past int4 is none, not a database error


def figures(rules: dict[str, Any], lang: str) -> dict[str, str]:
    """The form's figures as the page's language prints them (``250,000.00``, ``1,000``): the inputs are text, so
    they can show thousands separators; policies.js reads them back (either language's digits) before sending."""
    money = ("max_value_sar_per_action", "dry_run_required_over_value_sar")
    counts = ("max_items_per_action", "expiry_hours", "reminder_before_hours")
    shown = {name: "" if rules.get(name) is None else format_money(rules[name], lang) for name in money}
    shown.update({name: format_number(rules[name], lang, digits=0) for name in counts})
    return shown


def diff(left: dict[str, Any], right: dict[str, Any]) -> list[dict[str, Any]]:
    """The fields whose values differ between two versions' rules (approvals cell by cell)."""
    changes: list[dict[str, Any]] = []
    for name in FIELDS:
        if name == "approvals":
            for env in ENVIRONMENTS:
                for priority in PRIORITIES:
                    a = (left.get("approvals") or {}).get(env, {}).get(priority)
                    b = (right.get("approvals") or {}).get(env, {}).get(priority)
                    if a != b:
                        changes.append({"field": name, "env": env, "priority": priority, "left": a, "right": b})
        elif left.get(name) != right.get(name):
            changes.append({"field": name, "left": left.get(name), "right": right.get(name)})
    return changes


class PolicyPages(Controller):
    include_in_schema = False

    @get("/app/policies", opt={"permission": Permission.READ})
    async def policies(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
    ) -> Template:
        ctx = await tenant_context_for(db)
        version, rules = await services.active_policy(db)
        history = await services.policy_history(db)
        left = _int_param(request.query_params.get("left"))
        right = _int_param(request.query_params.get("right"))
        comparison = None
        if left is not None and right is not None:
            try:
                a = await services.policy_version(db, left)
                b = await services.policy_version(db, right)
                comparison = {"left": left, "right": right, "changes": diff(a["rules"], b["rules"])}
            except NotFound:
                comparison = {"left": left, "right": right, "missing": True, "changes": []}
        rules_json = rules.to_json()
        return page(
            request,
            "policies/policies.html",
            nav="policies",
            version=version,
            rules=rules_json,
            figures=figures(rules_json, request_lang(request)),
            history=history,
            can_edit=principal.can(Permission.MANAGE_POLICIES),
            pending=await services.pending_count(db),
            types=TYPES,
            priorities=PRIORITIES,
            environments=ENVIRONMENTS,
            approver_roles=APPROVER_ROLES,
            comparison=comparison,
            **ctx,
        )
