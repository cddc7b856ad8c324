"""The platform admin's onboarding of Atlas's invoicing unit with ZATCA (issue 20).

`POST /api/platform/einvoicing/units` (onboard), `POST /api/platform/einvoicing/units/{unit_id}/renewal` (renew the
active unit's production CSID with a new OTP, before its certificate expires).

Platform admins only. The steps run in one system transaction that commits whatever happens, so a failed attempt is
kept (`failed`, with its reason) and audited in the admin's own trail; a failure then answers with problem details
naming the unit and what to do. The answer never carries a key, a token, a secret or the OTP.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, post
from litestar.di import NamedDependency

from atlas.billing.einvoicing_units import onboard_unit, renew_unit, unit_summary
from atlas.billing.zatca_gateway import ZatcaGateway
from atlas.config import Settings
from atlas.db.engine import Database
from atlas.errors import AtlasError, NotFound
from atlas.platform.platform_admin import as_platform_admin
from atlas.platform.principal import Principal
from atlas.platform.rbac import Permission

# A failure's code → the HTTP status of its problem details
FAILURE_STATUS = {
    "otp_refused": 422,
    "csr_refused": 422,
    "refused": 422,
    "check_failed": 422,
    "documents": 422,
    "auth_refused": 502,
    "unavailable": 503,
    "not_renewable": 409,
}


class UnitOnboarding(msgspec.Struct, forbid_unknown_fields=True):
    # ZATCA's Fatoora portal gives a 6-digit OTP, valid one hour
    otp: Annotated[str, msgspec.Meta(pattern=r"^\s*[0-9]{6}\s*$")]
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)] = "Atlas"


class UnitRenewal(msgspec.Struct, forbid_unknown_fields=True):
    # a new OTP from the Fatoora portal (6 digits, valid one hour)
    otp: Annotated[str, msgspec.Meta(pattern=r"^\s*[0-9]{6}\s*$")]


class UnitRead(msgspec.Struct):
    id: uuid.UUID
    name: str
    environment: str
    status: str
    active: bool
    checks: dict[str, Any]
    certificate_expires_at: datetime | None
    days_left: int | None
    expiring_soon: bool
    last_icv: int
    failure: str | None
    failure_code: str | None


def unit_read(summary: Any) -> UnitRead:
    return UnitRead(**{f: getattr(summary, f) for f in UnitRead.__struct_fields__})


class EInvoicingUnitsController(Controller):
    path = "/api/platform/einvoicing"
    tags = ["platform"]

    @post("/units", opt={"permission": Permission.PLATFORM_TENANTS}, status_code=201)
    async def onboard(
        self,
        request: Request[Any, Any, Any],
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        correlation_id: NamedDependency[str],
        settings: NamedDependency[Settings],
        data: UnitOnboarding,
    ) -> UnitRead:
        """Onboard a new invoicing unit at the configured ZATCA gateway with the Fatoora portal's OTP: CSR, compliance
        CSID, the six compliance checks, production CSID. The new unit replaces the active one (its chain kept)."""
        actor = as_platform_admin(principal.actor)
        async with database.system_session() as session, ZatcaGateway.from_settings(settings) as gateway:
            unit = await onboard_unit(
                session,
                settings,
                request.app.state.secret_box,
                gateway,
                otp=data.otp.strip(),
                name=data.name,
                actor=actor,
                correlation_id=correlation_id,
                audit_tenant_id=principal.tenant_id,
            )
        read = unit_read(unit_summary(unit))
        if unit.status != "production":
            code = read.failure_code or "refused"
            status = FAILURE_STATUS.get(code, 422)
            extra: dict[str, Any] = {"unit": msgspec.to_builtins(read)}
            if code == "otp_refused":
                extra["field"] = "otp"
            raise AtlasError(
                f"einvoicing.failure.{code}",
                slug="einvoicing-gateway-unavailable" if status == 503 else "einvoicing-onboarding-failed",
                status=status,
                extra=extra,
            )
        return read

    @post("/units/{unit_id:uuid}/renewal", opt={"permission": Permission.PLATFORM_TENANTS}, status_code=200)
    async def renew(
        self,
        request: Request[Any, Any, Any],
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        correlation_id: NamedDependency[str],
        settings: NamedDependency[Settings],
        unit_id: uuid.UUID,
        data: UnitRenewal,
    ) -> UnitRead:
        """Renew the active unit's production CSID at ZATCA (PATCH production/csids) with a new OTP from the Fatoora
        portal: a new key and certificate for the same unit, its chain continuing. A refusal or an outage leaves the
        unit as it was (still signing with its certificate) and answers problem details saying what to do."""
        actor = as_platform_admin(principal.actor)
        try:
            outcome = await renew_unit(
                database,
                settings,
                request.app.state.secret_box,
                unit_id=unit_id,
                otp=data.otp.strip(),
                actor=actor,
                correlation_id=correlation_id,
                audit_tenant_id=principal.tenant_id,
            )
        except LookupError:
            raise NotFound("einvoicing.renewal.not_found") from None
        read = unit_read(unit_summary(outcome.unit))
        if not outcome.renewed:
            code = outcome.code or "refused"
            status = FAILURE_STATUS.get(code, 422)
            extra: dict[str, Any] = {"unit": msgspec.to_builtins(read), "reason": outcome.reason, "step": outcome.step}
            if code == "otp_refused":
                extra["field"] = "otp"
            raise AtlasError(
                f"einvoicing.failure.{code}",
                slug="einvoicing-gateway-unavailable" if status == 503 else "einvoicing-renewal-failed",
                status=status,
                extra=extra,
            )
        return read


CONTROLLERS = [EInvoicingUnitsController]
