"""A tenant's own settings, read by every member and changed by its admin: today its time zone (issue 19).

Pages show times in the tenant's time zone (``tenants.time_zone``, Asia/Riyadh unless changed; the layout reads it,
`atlas.web.ui.layout.tenant_context_for`, and the date filters use it, `atlas.i18n.filters`). A name this machine's
zoneinfo does not know is refused with a 422 naming the field, so no page ever falls back silently; each change is
in the audit trail. The team page offers the names as a list (`atlas.i18n.filters.time_zone_names`).
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, get, patch
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from atlas.errors import ValidationFailed
from atlas.i18n.formats import DEFAULT_TIME_ZONE, valid_time_zone
from atlas.platform.audit import EventType, record
from atlas.platform.principal import Principal
from atlas.platform.rbac import Permission
from atlas.platform.services import TenantRepo

TimeZoneName = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class TenantSettingsRead(msgspec.Struct):
    time_zone: str


class TenantSettingsChange(msgspec.Struct, forbid_unknown_fields=True):
    time_zone: TimeZoneName


async def tenant_time_zone(session: AsyncSession) -> str:
    """The current tenant's time zone (Asia/Riyadh when there is no tenant in the transaction)."""
    tenant = await TenantRepo(session).one_or_none()
    return tenant.time_zone if tenant is not None else DEFAULT_TIME_ZONE


async def change_time_zone(session: AsyncSession, *, time_zone: str, principal: Principal, correlation_id: str) -> str:
    """Set the tenant's time zone; 422 (``errors.time_zone_unknown``, field ``time_zone``) for an unknown name."""
    name = time_zone.strip()
    if not valid_time_zone(name):
        raise ValidationFailed(
            "errors.time_zone_unknown", field="time_zone", extra={"field": "time_zone"}, time_zone=name[:64]
        )
    repo = TenantRepo(session)
    tenant = await repo.one_or_none()
    if tenant is None:  # a tenant transaction always has its tenant; without one there is nothing to change
        raise ValidationFailed(
            "errors.time_zone_unknown", field="time_zone", extra={"field": "time_zone"}, time_zone=name
        )
    if tenant.time_zone != name:
        old = tenant.time_zone
        await repo.update_values(tenant, time_zone=name)
        await record(
            session,
            EventType.TENANT_SETTINGS_CHANGED,
            actor=principal.actor,
            correlation_id=correlation_id,
            payload={"field": "time_zone", "from": old, "to": name},
        )
    return name


class TenantSettingsController(Controller):
    path = "/api/tenant/settings"
    tags = ["tenant"]

    @get("/", opt={"permission": Permission.READ})
    async def read(self, db: NamedDependency[AsyncSession]) -> TenantSettingsRead:
        return TenantSettingsRead(time_zone=await tenant_time_zone(db))

    @patch("/", opt={"permission": Permission.MANAGE_TENANT})
    async def change(
        self,
        db: NamedDependency[AsyncSession],
        data: TenantSettingsChange,
        principal: NamedDependency[Principal],
        correlation_id: NamedDependency[str],
    ) -> TenantSettingsRead:
        name = await change_time_zone(db, time_zone=data.time_zone, principal=principal, correlation_id=correlation_id)
        return TenantSettingsRead(time_zone=name)
