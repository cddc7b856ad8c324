"""Operator-side provisioning: tenants for enterprise customers, platform admins, the demo tenant."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from atlas.billing import services as billing
from atlas.db.base import utcnow
from atlas.errors import NotFound, ValidationFailed
from atlas.i18n.text import clean_name
from atlas.platform import services
from atlas.platform.audit import Actor, EventType, record
from atlas.platform.models import AuthIdentity, Tenant, User
from atlas.policy.rbac import PLATFORM_ADMIN, Role


@dataclass(frozen=True, slots=True)
class ProvisionedTenant:
    tenant_id: uuid.UUID
    name: str
    org_type: str
    admin_email: str
    invitation_id: uuid.UUID
    admin_token: str
    token_id: uuid.UUID


async def create_tenant(
    session: AsyncSession,
    *,
    name: str,
    org_type: str,
    admin_email: str,
    correlation_id: str,
    trial_days: int,
) -> ProvisionedTenant:
    """A tenant set up by a platform operator: onboarded, trial started, its admin invited, an admin token.

    System transaction. The admin joins by signing in with the invited e-mail.
    """
    if org_type not in services.ORG_TYPES:
        raise ValidationFailed("errors.invalid_org_type", field="org_type")
    email = services.normalise_email(admin_email)
    if not 2 <= len(clean_name(name)) <= 200:
        raise ValidationFailed("errors.company_name_length", field="name")
    actor = Actor("system", "atlas tenants create")
    tenant = await services.provision_tenant(
        session, name=name, actor=actor, correlation_id=correlation_id, org_type=org_type
    )
    tenant.use_case = "inventory_management"
    tenant.onboarding_completed_at = utcnow()
    await record(
        session,
        EventType.ONBOARDING_COMPLETED,
        actor=actor,
        correlation_id=correlation_id,
        tenant_id=tenant.id,
        payload={"company_name": tenant.name, "org_type": org_type, "use_case": "inventory_management"},
    )
    await billing.start_trial(
        session,
        plan_id=billing.default_plan_for(org_type),
        trial_days=trial_days,
        actor=actor,
        correlation_id=correlation_id,
        tenant_id=tenant.id,
    )
    invitation = await services.invite(
        session, email=email, role=Role.ADMIN, actor=actor, correlation_id=correlation_id, tenant_id=tenant.id
    )
    token, raw = await services.create_token(
        session,
        name="Provisioning admin token",
        role=Role.ADMIN,
        expires_in_days=30,
        actor=actor,
        correlation_id=correlation_id,
        tenant_id=tenant.id,
    )
    return ProvisionedTenant(
        tenant_id=tenant.id,
        name=tenant.name,
        org_type=org_type,
        admin_email=email,
        invitation_id=invitation.id,
        admin_token=raw,
        token_id=token.id,
    )


async def grant_platform_admin(session: AsyncSession, *, email: str, correlation_id: str) -> int:
    """Give every membership of this e-mail the platform_admin role. System transaction."""
    address = services.normalise_email(email)
    users = list((await session.execute(select(User).where(User.email == address))).scalars())
    if not users:
        raise NotFound("errors.member_not_found")
    await session.execute(update(User).where(User.email == address).values(platform_role=PLATFORM_ADMIN))
    for user in users:
        await record(
            session,
            EventType.PLATFORM_ROLE_GRANTED,
            actor=Actor("system", "atlas platform-admins grant"),
            correlation_id=correlation_id,
            tenant_id=user.tenant_id,
            payload={"email": address},
        )
    return len(users)


async def ensure_member(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    issuer: str,
    sub: str,
    email: str,
    name: str,
    role: str,
    platform_role: str | None = None,
) -> User:
    """Create (or find) a person and their membership, as if they had signed in. Demo seeding only."""
    identity = (
        await session.execute(select(AuthIdentity).where(AuthIdentity.issuer == issuer, AuthIdentity.sub == sub))
    ).scalar_one_or_none()
    if identity is None:
        identity = AuthIdentity(id=uuid.uuid4(), issuer=issuer, sub=sub, email=email, first_name=name)
        session.add(identity)
        await session.flush()
    user = (
        await session.execute(select(User).where(User.tenant_id == tenant_id, User.auth_identity_id == identity.id))
    ).scalar_one_or_none()
    if user is None:
        user = User(
            id=uuid.uuid4(),
            tenant_id=tenant_id,
            auth_identity_id=identity.id,
            email=email,
            display_name=name,
            role=role,
            platform_role=platform_role,
        )
        session.add(user)
        await session.flush()
    return user


async def find_tenant_by_name(session: AsyncSession, name: str) -> Tenant | None:
    return (await session.execute(select(Tenant).where(Tenant.name == name).limit(1))).scalar_one_or_none()
