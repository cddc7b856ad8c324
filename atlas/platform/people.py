"""Who did something, by name: the display names of the actors an audit trail records (issue 19).

Events record their actor as a reference (``user:<uuid>``, ``token:<id>``, ``system``, ``platform_admin:<id>``);
pages show people by name instead (the activity feed, the audit log, a recommendation's timeline), with the
reference on hover. The name is the member's display name, else their e-mail, read from the tenant's ``users``
table in the caller's tenant transaction (row-level security keeps it to the tenant). A reference that names no
member of the tenant (a token, the system, another tenant's platform admin, a member since removed) has no entry:
the page shows the reference itself. A platform admin's own actions (``platform_admin:<uuid>``, the admin's user id)
are named like a member's.

The platform admin's pages of a tenant read the names across tenants (`actor_names_across_tenants`): the tenant's
members and the platform admins who acted there, in the platform read transaction of the page's audited view
(`atlas.platform.platform_admin.audited_platform_read`), never in a transaction of its own.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from atlas.db.engine import tenant_context
from atlas.platform.models import User
from atlas.platform.services import UserRepo

USER_PREFIX = "user:"
PLATFORM_ADMIN_PREFIX = "platform_admin:"


def _user_id(ref: str) -> uuid.UUID | None:
    for prefix in (USER_PREFIX, PLATFORM_ADMIN_PREFIX):
        if ref.startswith(prefix):
            try:
                return uuid.UUID(ref.removeprefix(prefix))
            except ValueError:
                return None
    return None


def _wanted(refs: Iterable[str | None]) -> dict[str, uuid.UUID]:
    return {ref: user_id for ref in set(refs) if ref and (user_id := _user_id(ref)) is not None}


def _named(wanted: dict[str, uuid.UUID], found: Iterable[User]) -> dict[str, str]:
    names = {user.id: user.display_name or user.email for user in found}
    return {ref: name for ref, user_id in wanted.items() if (name := names.get(user_id))}


async def actor_names(session: AsyncSession, refs: Iterable[str | None]) -> dict[str, str]:
    """Reference → name for every ``user:<uuid>`` (or ``platform_admin:<uuid>``) of ``refs`` that is a member of
    the tenant (one query)."""
    wanted = _wanted(refs)
    if not wanted:
        return {}
    return _named(wanted, await UserRepo(session).list(User.id.in_(set(wanted.values()))))


async def actor_names_across_tenants(session: AsyncSession, refs: Iterable[str | None]) -> dict[str, str]:
    """Reference → name for every ``user:<uuid>`` and ``platform_admin:<uuid>`` of ``refs``, whichever tenant the
    person belongs to (one query). Only in a platform read transaction: the audited view's own."""
    scope = tenant_context(session).scope
    if scope != "platform_read":
        raise PermissionError(f"names across tenants are read in an audited platform read, not a {scope} transaction")
    wanted = _wanted(refs)
    if not wanted:
        return {}
    found = (await session.execute(select(User).where(User.id.in_(set(wanted.values()))))).scalars()
    return _named(wanted, found)
