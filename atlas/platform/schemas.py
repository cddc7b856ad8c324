"""API shapes of the platform. Nothing here ever carries a secret except `ApiTokenCreated.token`, once."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

import msgspec

from atlas.bounds import Int32Field

Email = Annotated[str, msgspec.Meta(min_length=3, max_length=320)]
RoleName = Annotated[str, msgspec.Meta(min_length=1, max_length=20)]


class CurrentUser(msgspec.Struct):
    kind: str
    tenant_id: uuid.UUID
    tenant_name: str
    role: str
    platform_role: str | None
    user_id: uuid.UUID | None
    email: str | None
    display_name: str | None
    onboarding_completed: bool
    csrf_token: str | None


class LogoutRead(msgspec.Struct):
    """Signed out of Atlas; ``logout_url``, when set, is where the browser goes to sign out at the provider."""

    logout_url: str | None


class OnboardingStatusRead(msgspec.Struct):
    completed: bool
    company_name: str
    org_type: str | None
    use_case: str | None
    subscription_status: str | None
    plan_id: str | None
    trial_ends_at: datetime | None
    use_cases: list[str]
    coming_soon: list[str]


class OnboardingComplete(msgspec.Struct, forbid_unknown_fields=True):
    company_name: Annotated[str, msgspec.Meta(max_length=400)]
    org_type: Annotated[str, msgspec.Meta(max_length=40)]
    use_case: Annotated[str, msgspec.Meta(max_length=60)]
    plan: Annotated[str, msgspec.Meta(max_length=40)] | None = None


class MemberRead(msgspec.Struct):
    id: uuid.UUID
    email: str | None
    display_name: str | None
    role: str
    platform_role: str | None
    created_at: datetime


class RoleChange(msgspec.Struct, forbid_unknown_fields=True):
    role: RoleName


class InvitationCreate(msgspec.Struct, forbid_unknown_fields=True):
    email: Email
    role: RoleName


class InvitationRead(msgspec.Struct):
    id: uuid.UUID
    email: str
    role: str
    created_at: datetime
    expires_at: datetime


class ApiTokenCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(max_length=400)]
    role: RoleName
    expires_in_days: Int32Field = 90  # 1 to 366: the service names the range


class ApiTokenRead(msgspec.Struct):
    id: uuid.UUID
    name: str
    role: str
    prefix: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


class ApiTokenCreated(msgspec.Struct):
    id: uuid.UUID
    name: str
    role: str
    prefix: str
    expires_at: datetime
    token: str


class AuditEventRead(msgspec.Struct):
    seq: int
    occurred_at: datetime
    event_type: str
    actor: str
    correlation_id: str
    payload: dict[str, Any]
    prev_hash: str
    hash: str


class AuditPageRead(msgspec.Struct):
    items: list[AuditEventRead]
    next_cursor: str | None


class TenantSummary(msgspec.Struct):
    id: uuid.UUID
    name: str
    org_type: str | None
    created_at: datetime
    subscription_status: str | None
    plan_id: str | None
    member_count: int


class TenantDetail(msgspec.Struct):
    tenant: TenantSummary
    use_case: str | None
    onboarding_completed: bool
    trial_ends_at: datetime | None
    members: list[MemberRead]
    recent_events: list[AuditEventRead]


def audit_event_read(event: Any) -> AuditEventRead:
    return AuditEventRead(
        seq=event.seq,
        occurred_at=event.occurred_at,
        event_type=event.event_type,
        actor=event.actor,
        correlation_id=event.correlation_id,
        payload=event.payload,
        prev_hash=event.prev_hash,
        hash=event.hash,
    )


def member_read(user: Any) -> MemberRead:
    return MemberRead(
        id=user.id,
        email=user.email,
        display_name=user.display_name,
        role=user.role,
        platform_role=user.platform_role,
        created_at=user.created_at,
    )
