"""The recommendation routes that write and must reach the approval workflows: analyse now, change a quantity.

``POST /api/recommendations`` runs an analysis under the policy's service levels and tells the approval workflows
what it created, revised and retired; ``PATCH /api/recommendations/{id}`` makes a new revision that the workflow
judges again. Both were methods of the AI engine's ``RecommendationController`` (``atlas/ai_engine/controllers.py``)
and made the AI engine import the policy and the approvals above it. They sit here, in the approvals (layer 8), with
the same paths, methods, permissions, handler names (the OpenAPI operation ids), ``ai`` tag, docstrings and
answers; the AI engine keeps the routes that only read its own data (the lists, one recommendation, anomalies,
analysis runs, forecasts).

They are route handlers, not a ``Controller``: Litestar gives every controller its own ``OPTIONS`` handler for each
of its paths, so a second controller on the AI engine's paths is refused at start-up. A plain handler joins the
route the AI engine's controller made, which is why ``atlas.web.app`` registers :data:`CONTROLLERS` after the AI
engine's (before them, Litestar refuses to start: never a silent difference).
"""

from __future__ import annotations

import uuid
from functools import partial
from typing import Any

from litestar import Request, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from atlas.approvals.analysis_runs import analyse_and_tell
from atlas.approvals.controllers import change_recommendation
from atlas.approvals.dispatch import notify_safely
from atlas.approvals.schemas import ChangeIn
from atlas.db.engine import Database
from atlas.platform.principal import Principal
from atlas.platform.rbac import Permission

PATH = "/api/recommendations"  # the AI engine's RecommendationController's path
TAGS = ["ai"]
# The analyse-now answer lists this many pending recommendations (what the AI page shows after it).
ANALYSE_NOW_LISTED = 500


@post(PATH, tags=TAGS, opt={"permission": Permission.DECIDE_RECOMMENDATIONS}, status_code=200)
async def analyse_now(
    request: Request[Any, Any, Any],
    database: NamedDependency[Database],
    principal: NamedDependency[Principal],
) -> dict[str, Any]:
    """Run an analysis of the tenant now; returns what it produced."""
    tell = partial(notify_safely, request.app.state.temporal, request.app.state.settings, principal.tenant_id)
    return await analyse_and_tell(database, principal.tenant_id, tell, trigger="manual", listed=ANALYSE_NOW_LISTED)


@patch(
    f"{PATH}/{{recommendation_id:uuid}}",
    tags=TAGS,
    opt={"permission": Permission.DECIDE_RECOMMENDATIONS},
    status_code=200,
)
async def change(
    request: Request[Any, Any, Any],
    database: NamedDependency[Database],
    principal: NamedDependency[Principal],
    recommendation_id: FromPath[uuid.UUID],
    data: ChangeIn,
) -> dict[str, Any]:
    """Change the quantity of a pending recommendation, with a reason: a new revision for the approval
    workflow (earlier approvals no longer count; whoever changed it cannot approve it)."""
    return await change_recommendation(request, database, principal, recommendation_id, data)


# Registered after the AI engine's controllers (see above).
CONTROLLERS = [analyse_now, change]
