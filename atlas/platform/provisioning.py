"""Operator-side provisioning: platform admins, and the members and lookups the demo seeds with.

A whole tenant for an enterprise customer (tenant, trial, invited admin, token) is billing's
``atlas.billing.provisioning.create_tenant``: it starts a trial, and the platform never imports billing."""

from __future__ import annotations

import uuid

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from atlas.errors import NotFound
from atlas.platform.audit import Actor, EventType, record
from atlas.platform.emails import normalise_email
from atlas.platform.models import AuthIdentity, Tenant, User
from atlas.platform.rbac import PLATFORM_ADMIN


async def grant_platform_admin(session: AsyncSession, *, email: str, correlation_id: str) -> int:
    """Give every membership of this e-mail the platform_admin role. System transaction."""
    address = normalise_email(email)
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
