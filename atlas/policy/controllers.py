"""Policies over HTTP: everyone in the tenant reads them; admins save new versions.

A saved version reaches the pending recommendations' approval workflows through the listener the process connected
(``atlas.policy.listeners``, wired by ``atlas.wiring.wire`` to the approvals' dispatch): the policy sits below the
approvals and does not import them.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.background_tasks import BackgroundTask
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from atlas.bounds import NonNegativeInt32
from atlas.db.engine import Database
from atlas.errors import ValidationFailed
from atlas.platform.principal import Principal
from atlas.platform.rbac import Permission
from atlas.policy import services
from atlas.policy.listeners import policy_saved_listener
from atlas.policy.rules import PolicyRules


class PolicyController(Controller):
    path = "/api/policies"
    tags = ["policies"]

    @get("/", opt={"permission": Permission.READ})
    async def read_active(self, db: NamedDependency[AsyncSession]) -> dict[str, Any]:
        """The active policy (version 0 is the defaults of a tenant that never saved one) and its history."""
        version, rules = await services.active_policy(db)
        return {
            "version": version,
            "rules": rules.to_json(),
            "defaults": PolicyRules().to_json(),
            "history": await services.policy_history(db),
        }

    @post("/", opt={"permission": Permission.MANAGE_POLICIES}, status_code=201)
    async def save(
        self,
        request: Request[Any, Any, Any],
        database: NamedDependency[Database],
        data: dict[str, Any],
        principal: NamedDependency[Principal],
    ) -> Response[dict[str, Any]]:
        """Save a new version: ``{"rules": {...}, "note": "..."}``. Fields left out keep the active
        version's values; every field is checked (422 names the field). Once it is committed, every pending
        recommendation's approval workflow is told to judge it again under the new version (``pending``:
        how many)."""
        unknown = set(data) - {"rules", "note"}
        if unknown or not isinstance(data.get("rules"), dict):
            raise ValidationFailed("errors.policy_body", extra={"field": sorted(unknown)[0] if unknown else "rules"})
        note = data.get("note") or ""
        if not isinstance(note, str) or len(note) > services.NOTE_MAX:
            raise ValidationFailed(
                "policy.invalid.note", field="note", limit=services.NOTE_MAX, extra={"field": "note"}
            )
        tell = policy_saved_listener()  # before anything is saved: a process that forgot the wiring fails here
        async with database.tenant_session(principal.tenant_id) as session:
            _, active = await services.active_policy(session)
            rules = PolicyRules.from_json(services.merge_rules(active, data["rules"]))
            version = await services.save_policy(session, actor=principal.actor, rules=rules, note=note)
            pending = await services.pending_recommendations(session)
        # Committed: the pending recommendations' workflows hear of it after the answer is sent.
        return Response(
            {"version": version, "rules": rules.to_json(), "pending": len(pending)},
            status_code=201,
            background=BackgroundTask(tell, request.app.state.temporal, pending),
        )

    @get("/versions/{version:int}", opt={"permission": Permission.READ})
    async def read_version(self, db: NamedDependency[AsyncSession], version: NonNegativeInt32) -> dict[str, Any]:
        """One saved version with its rules, author and note."""
        return await services.policy_version(db, version)


CONTROLLERS = [PolicyController]
