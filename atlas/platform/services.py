"""Use cases of the platform: provisioning, onboarding, members, invitations, API tokens, audit reads.

Each function owns one use case and writes its audit event in the caller's
transaction; none commits (the edge does).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession

from atlas.db import paging
from atlas.db.base import utcnow
from atlas.errors import Conflict, NotFound, ValidationFailed
from atlas.i18n.text import clean_name
from atlas.platform.audit import Actor, EventType, ensure_chain, record
from atlas.platform.crypto import new_api_token
from atlas.platform.emails import normalise_email
from atlas.platform.models import ApiToken, AuditEvent, Invitation, Tenant, User, WebSession
from atlas.platform.rbac import Role
from atlas.platform.tenancy import TenantRepository

ORG_TYPES = ("smb", "enterprise")
USE_CASES = ("inventory_management",)
COMING_SOON_USE_CASES = ("procurement", "demand_planning", "warehouse_operations")
INVITATION_DAYS = 14
MAX_TOKEN_DAYS = 366


class TenantRepo(TenantRepository[Tenant]):
    model = Tenant
    tenant_column = "id"


class UserRepo(TenantRepository[User]):
    model = User
    not_found_key = "errors.member_not_found"


class InvitationRepo(TenantRepository[Invitation]):
    model = Invitation
    not_found_key = "errors.invitation_not_found"


class ApiTokenRepo(TenantRepository[ApiToken]):
    model = ApiToken
    not_found_key = "errors.token_not_found"


class AuditRepo(TenantRepository[AuditEvent]):
    model = AuditEvent


class SessionRepo(TenantRepository[WebSession]):
    model = WebSession


def parse_role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise ValidationFailed("errors.invalid_role", field="role", role=value) from None


# --- provisioning -----------------------------------------------------------------------------


async def provision_tenant(
    session: AsyncSession,
    *,
    name: str,
    actor: Actor,
    correlation_id: str,
    org_type: str | None = None,
) -> Tenant:
    """Create a tenant with its audit chain. Runs in a system transaction."""
    name = clean_name(name)[:200] or "Atlas"  # shown to every member: no bidi or invisible characters
    tenant = Tenant(id=uuid.uuid4(), name=name, org_type=org_type)
    session.add(tenant)
    await session.flush()
    await ensure_chain(session, tenant.id)
    await record(
        session,
        EventType.TENANT_PROVISIONED,
        actor=actor,
        correlation_id=correlation_id,
        payload={"name": name, "org_type": org_type},
        tenant_id=tenant.id,
    )
    return tenant


# --- onboarding -------------------------------------------------------------------------------
# The wizard's tenant half; its status and the trial it starts are billing's (atlas.billing.onboarding).


async def record_onboarding(
    session: AsyncSession,
    *,
    company_name: str,
    org_type: str,
    use_case: str,
    actor: Actor,
    correlation_id: str,
    tenant_id: uuid.UUID | None = None,
) -> Tenant:
    """Record the wizard's choices on the tenant (SPEC 3 steps 2-3), audited; the caller starts the trial."""
    company_name = clean_name(company_name)
    if not 2 <= len(company_name) <= 200:
        raise ValidationFailed("errors.company_name_length", field="company_name")
    if org_type not in ORG_TYPES:
        raise ValidationFailed("errors.invalid_org_type", field="org_type")
    if use_case in COMING_SOON_USE_CASES:
        raise ValidationFailed("errors.use_case_coming_soon", field="use_case")
    if use_case not in USE_CASES:
        raise ValidationFailed("errors.invalid_use_case", field="use_case")
    repo = TenantRepo(session, tenant_id=tenant_id)
    tenant = await repo.one_or_none()
    if tenant is None:
        raise NotFound("errors.not_found")
    if tenant.onboarding_completed_at is not None:
        raise Conflict("errors.onboarding_already_completed")
    await repo.update_values(
        tenant, name=company_name, org_type=org_type, use_case=use_case, onboarding_completed_at=utcnow()
    )
    await record(
        session,
        EventType.ONBOARDING_COMPLETED,
        actor=actor,
        correlation_id=correlation_id,
        payload={"company_name": company_name, "org_type": org_type, "use_case": use_case},
        tenant_id=tenant.id,
    )
    return tenant


# --- members ----------------------------------------------------------------------------------


async def list_members(session: AsyncSession) -> list[User]:
    return await UserRepo(session).list(order_by=[User.created_at, User.id])


async def _admins_left(repo: UserRepo, excluding: uuid.UUID) -> int:
    return await repo.count(User.role == Role.ADMIN, User.id != excluding)


async def change_role(
    session: AsyncSession, *, member_id: uuid.UUID, role: str, actor: Actor, correlation_id: str
) -> User:
    new_role = parse_role(role)
    repo = UserRepo(session)
    member = await repo.get(member_id)
    if member.role == new_role:
        return member
    if member.role == Role.ADMIN and await _admins_left(repo, member.id) == 0:
        raise Conflict("errors.last_admin")
    old_role = member.role
    await repo.update_values(member, role=str(new_role))
    await record(
        session,
        EventType.MEMBER_ROLE_CHANGED,
        actor=actor,
        correlation_id=correlation_id,
        payload={"member_id": str(member.id), "email": member.email, "from": old_role, "to": str(new_role)},
    )
    return member


async def remove_member(session: AsyncSession, *, member_id: uuid.UUID, actor: Actor, correlation_id: str) -> None:
    repo = UserRepo(session)
    member = await repo.get(member_id)
    if member.role == Role.ADMIN and await _admins_left(repo, member.id) == 0:
        raise Conflict("errors.last_admin")
    await SessionRepo(session).bulk_delete(WebSession.user_id == member.id)
    await repo.delete(member)
    await record(
        session,
        EventType.MEMBER_REMOVED,
        actor=actor,
        correlation_id=correlation_id,
        payload={"member_id": str(member.id), "email": member.email, "role": member.role},
    )


# --- invitations ------------------------------------------------------------------------------


async def list_invitations(session: AsyncSession) -> list[Invitation]:
    now = utcnow()
    return await InvitationRepo(session).list(
        Invitation.accepted_at.is_(None),
        Invitation.revoked_at.is_(None),
        Invitation.expires_at > now,
        order_by=[Invitation.created_at.desc(), Invitation.id.desc()],
    )


async def invite(
    session: AsyncSession,
    *,
    email: str,
    role: str,
    actor: Actor,
    correlation_id: str,
    tenant_id: uuid.UUID | None = None,
) -> Invitation:
    address = normalise_email(email)
    invited_role = parse_role(role)
    repo = InvitationRepo(session, tenant_id=tenant_id)
    users = UserRepo(session, tenant_id=tenant_id)
    if await users.count(func.lower(User.email) == address) > 0:
        raise Conflict("errors.already_member", email=address)
    now = utcnow()
    pending = await repo.list(
        Invitation.email == address,
        Invitation.accepted_at.is_(None),
        Invitation.revoked_at.is_(None),
        Invitation.expires_at > now,
    )
    for old in pending:  # a new invitation replaces an open one for the same address
        await repo.update_values(old, revoked_at=now)
    invitation = await repo.add(
        Invitation(
            email=address,
            role=str(invited_role),
            invited_by=actor.ref,
            expires_at=now + timedelta(days=INVITATION_DAYS),
        )
    )
    await record(
        session,
        EventType.INVITATION_CREATED,
        actor=actor,
        correlation_id=correlation_id,
        payload={"invitation_id": str(invitation.id), "email": address, "role": str(invited_role)},
        tenant_id=repo.tenant_id,
    )
    return invitation


async def revoke_invitation(
    session: AsyncSession, *, invitation_id: uuid.UUID, actor: Actor, correlation_id: str
) -> None:
    repo = InvitationRepo(session)
    invitation = await repo.get(invitation_id)
    if invitation.accepted_at is not None or invitation.revoked_at is not None:
        raise Conflict("errors.invitation_closed")
    await repo.update_values(invitation, revoked_at=utcnow())
    await record(
        session,
        EventType.INVITATION_REVOKED,
        actor=actor,
        correlation_id=correlation_id,
        payload={"invitation_id": str(invitation.id), "email": invitation.email},
    )


# --- API tokens -------------------------------------------------------------------------------


async def list_tokens(session: AsyncSession) -> list[ApiToken]:
    return await ApiTokenRepo(session).list(order_by=[ApiToken.created_at.desc(), ApiToken.id.desc()])


async def create_token(
    session: AsyncSession,
    *,
    name: str,
    role: str,
    expires_in_days: int,
    actor: Actor,
    correlation_id: str,
    tenant_id: uuid.UUID | None = None,
) -> tuple[ApiToken, str]:
    """Create a token bound to a role; returns the row and the token itself, which is never shown again."""
    label = clean_name(name)
    if not 1 <= len(label) <= 200:
        raise ValidationFailed("errors.token_name_length", field="name")
    token_role = parse_role(role)
    if not 1 <= expires_in_days <= MAX_TOKEN_DAYS:
        raise ValidationFailed("errors.token_expiry_range", field="expires_in_days", max=MAX_TOKEN_DAYS)
    raw, digest, prefix = new_api_token()
    repo = ApiTokenRepo(session, tenant_id=tenant_id)
    token = await repo.add(
        ApiToken(
            name=label,
            role=str(token_role),
            token_hash=digest,
            prefix=prefix,
            created_by=actor.ref,
            expires_at=utcnow() + timedelta(days=expires_in_days),
        )
    )
    await record(
        session,
        EventType.API_TOKEN_CREATED,
        actor=actor,
        correlation_id=correlation_id,
        payload={
            "token_id": str(token.id),
            "name": label,
            "role": str(token_role),
            "prefix": prefix,
            "expires_at": token.expires_at,
        },
        tenant_id=repo.tenant_id,
    )
    return token, raw


async def revoke_token(session: AsyncSession, *, token_id: uuid.UUID, actor: Actor, correlation_id: str) -> None:
    repo = ApiTokenRepo(session)
    token = await repo.get(token_id)
    if token.revoked_at is not None:
        return
    await repo.update_values(token, revoked_at=utcnow())
    await record(
        session,
        EventType.API_TOKEN_REVOKED,
        actor=actor,
        correlation_id=correlation_id,
        payload={"token_id": str(token.id), "name": token.name, "prefix": token.prefix},
    )


# --- audit reads ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AuditPage:
    events: list[AuditEvent]
    next_cursor: str | None


async def audit_page(
    session: AsyncSession,
    *,
    event_type: str | None = None,
    correlation_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    cursor: str | None = None,
    limit: int = 50,
    tenant_id: uuid.UUID | None = None,
    cursor_key: paging.CursorKey | None = None,
) -> AuditPage:
    """Newest first; the cursor carries the last seq seen, signed (stable under concurrent appends: a tenant's
    seq is unique and only grows)."""
    repo = AuditRepo(session, tenant_id=tenant_id)
    where: list[Any] = []
    if event_type:
        where.append(AuditEvent.event_type == event_type)
    if correlation_id:
        where.append(AuditEvent.correlation_id == correlation_id)
    if since:
        where.append(AuditEvent.occurred_at >= since)
    if until:
        where.append(AuditEvent.occurred_at < until)
    page = paging.Page(limit=limit, cursor=cursor or None, key=cursor_key)
    found = await paging.fetch(session, repo.select(*where), AUDIT_ORDER, page)
    return AuditPage(events=found.first(), next_cursor=found.next_cursor)


AUDIT_ORDER = paging.Ordering("audit", (paging.desc(AuditEvent.seq, "int"), paging.desc(AuditEvent.id, "int")))
