"""Who did something, by name: the display names of the actors an audit trail records (issue 19).

Events record their actor as a reference (``user:<uuid>``, ``token:<id>``, ``system``, ``platform_admin:<id>``);
pages show people by name instead (the activity feed, the audit log, a recommendation's timeline), with the
reference on hover. The name is the member's display name, else their e-mail, read from the tenant's ``users``
table in the caller's tenant transaction (row-level security keeps it to the tenant). A reference that names no
member of the tenant (a token, the system, a platform admin, a member since removed) has no entry: the page shows
the reference itself.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from atlas.platform.models import User
from atlas.platform.services import UserRepo

USER_PREFIX = "user:"


def _user_id(ref: str) -> uuid.UUID | None:
    if not ref.startswith(USER_PREFIX):
        return None
    try:
        return uuid.UUID(ref.removeprefix(USER_PREFIX))
    except ValueError:
        return None


async def actor_names(session: AsyncSession, refs: Iterable[str | None]) -> dict[str, str]:
    """Reference → name for every ``user:<uuid>`` of ``refs`` that is a member of the tenant (one query)."""
    wanted = {ref: user_id for ref in set(refs) if ref and (user_id := _user_id(ref)) is not None}
    if not wanted:
        return {}
    found = await UserRepo(session).list(User.id.in_(set(wanted.values())))
    names = {user.id: user.display_name or user.email for user in found}
    return {ref: name for ref, user_id in wanted.items() if (name := names.get(user_id))}
