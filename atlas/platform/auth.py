"""Sign-in, server-side sessions and API-token authentication.

Lookups by session or token hash happen before the tenant is known, so they run
in the explicit system transaction the edge opens for them; everything they
return is bound to exactly one tenant.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from atlas.db.base import utcnow
from atlas.i18n.text import clean_optional_name
from atlas.platform.audit import Actor, EventType, record
from atlas.platform.crypto import API_TOKEN_PREFIX, random_token, sha256_hex
from atlas.platform.models import ApiToken, AuthIdentity, Invitation, Tenant, User, WebSession
from atlas.platform.oidc import IdentityClaims, OIDCError
from atlas.platform.principal import Principal
from atlas.platform.rbac import Role
from atlas.platform.services import provision_tenant

TOUCH_EVERY = timedelta(minutes=5)
# The browser session's cookie: set at sign-in (atlas.platform.controllers), read per request (atlas.web.context).
SESSION_COOKIE = "atlas_session"


@dataclass(frozen=True, slots=True)
class SignInResult:
    session_token: str
    principal: Principal
    onboarding_completed: bool
    provisioned: bool
    joined_by_invitation: bool


def shown_names(claims: IdentityClaims) -> IdentityClaims:
    """The provider's names as Atlas keeps and shows them to other people: no bidi control, invisible or control
    character (atlas.i18n.text.clean_name); a name with nothing visible left is no name."""
    return dataclasses.replace(
        claims,
        name=clean_optional_name(claims.name),
        first_name=clean_optional_name(claims.first_name),
        last_name=clean_optional_name(claims.last_name),
    )


def display_name(claims: IdentityClaims) -> str | None:
    if claims.name:
        return claims.name
    parts = [p for p in (claims.first_name, claims.last_name) if p]
    return " ".join(parts) or claims.email


async def _identity(session: AsyncSession, claims: IdentityClaims) -> AuthIdentity:
    identity = (
        await session.execute(
            select(AuthIdentity).where(AuthIdentity.issuer == claims.issuer, AuthIdentity.sub == claims.sub)
        )
    ).scalar_one_or_none()
    if identity is None:
        identity = AuthIdentity(id=uuid.uuid4(), issuer=claims.issuer, sub=claims.sub)
        session.add(identity)
    identity.email = claims.email
    identity.first_name = claims.first_name
    identity.last_name = claims.last_name
    identity.profile_image_url = claims.picture
    identity.last_login_at = utcnow()
    await session.flush()
    return identity


async def _pending_invitation(session: AsyncSession, claims: IdentityClaims) -> Invitation | None:
    if not claims.email:
        return None
    result = await session.execute(
        select(Invitation)
        .where(
            Invitation.email == claims.email,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
            Invitation.expires_at > utcnow(),
        )
        .order_by(Invitation.created_at.desc(), Invitation.id.desc())
        .limit(1)
        .with_for_update()
    )
    return result.scalar_one_or_none()


async def sign_in(
    session: AsyncSession,
    claims: IdentityClaims,
    *,
    correlation_id: str,
    session_ttl: timedelta,
    id_token_encrypted: str | None = None,
) -> SignInResult:
    """Resolve a verified identity to a membership (SPEC 8.2) and open a session. System transaction.

    An invitation is claimed only by an address the provider does not call unverified: ``email_verified``
    false with an invitation pending is refused (``email_unverified``, nothing created) rather than quietly
    provisioning a tenant of its own; an absent ``email_verified`` is taken as the provider vouching for the
    address it sent (docs/signin.md).
    """
    claims = shown_names(claims)
    invitation = await _pending_invitation(session, claims)
    if invitation is not None and claims.email_verified is False:
        raise OIDCError("email_unverified")
    identity = await _identity(session, claims)
    name = display_name(claims)
    provisioned = False
    joined = False
    user: User | None = None
    if invitation is not None:
        user = (
            await session.execute(
                select(User).where(User.tenant_id == invitation.tenant_id, User.auth_identity_id == identity.id)
            )
        ).scalar_one_or_none()
        if user is None:
            user = User(
                id=uuid.uuid4(),
                tenant_id=invitation.tenant_id,
                auth_identity_id=identity.id,
                email=claims.email,
                display_name=name,
                role=invitation.role,
            )
            session.add(user)
            await session.flush()
            joined = True
        invitation.accepted_at = utcnow()
        invitation.accepted_user_id = user.id
        await record(
            session,
            EventType.INVITATION_ACCEPTED,
            actor=Actor(f"user:{user.id}", claims.email),
            correlation_id=correlation_id,
            tenant_id=user.tenant_id,
            payload={"invitation_id": str(invitation.id), "email": claims.email, "role": invitation.role},
        )
    else:
        user = (
            await session.execute(
                select(User)
                .where(User.auth_identity_id == identity.id)
                .order_by(User.created_at.desc(), User.id.desc())
                .limit(1)
            )
        ).scalar_one_or_none()
    if user is None:
        tenant_name = name or (claims.email or "Atlas").split("@")[0]
        tenant = await provision_tenant(session, name=tenant_name, actor=Actor.system(), correlation_id=correlation_id)
        user = User(
            id=uuid.uuid4(),
            tenant_id=tenant.id,
            auth_identity_id=identity.id,
            email=claims.email,
            display_name=name,
            role=Role.ADMIN,
        )
        session.add(user)
        await session.flush()
        provisioned = True
    else:
        user.email = claims.email or user.email
        user.display_name = name or user.display_name
    token, web_session = await _open_session(session, user, session_ttl, id_token_encrypted)
    await record(
        session,
        EventType.USER_SIGNED_IN,
        actor=Actor(f"user:{user.id}", claims.email),
        correlation_id=correlation_id,
        tenant_id=user.tenant_id,
        payload={"method": "oidc", "issuer": claims.issuer, "provisioned": provisioned, "joined": joined},
    )
    tenant_row = await session.get(Tenant, user.tenant_id)
    assert tenant_row is not None
    return SignInResult(
        session_token=token,
        principal=_session_principal(user, web_session),
        onboarding_completed=tenant_row.onboarding_completed_at is not None,
        provisioned=provisioned,
        joined_by_invitation=joined,
    )


async def _open_session(
    session: AsyncSession, user: User, ttl: timedelta, id_token_encrypted: str | None
) -> tuple[str, WebSession]:
    token = random_token(32)
    web_session = WebSession(
        id=uuid.uuid4(),
        tenant_id=user.tenant_id,
        token_hash=sha256_hex(token),
        user_id=user.id,
        csrf_token=random_token(24),
        expires_at=utcnow() + ttl,
        id_token_encrypted=id_token_encrypted,
    )
    session.add(web_session)
    await session.flush()
    return token, web_session


def _session_principal(user: User, web_session: WebSession) -> Principal:
    return Principal(
        kind="session",
        tenant_id=user.tenant_id,
        role=user.role,
        user_id=user.id,
        session_id=web_session.id,
        platform_role=user.platform_role,
        email=user.email,
        display_name=user.display_name,
        csrf_token=web_session.csrf_token,
    )


async def principal_for_session(session: AsyncSession, token: str) -> Principal | None:
    """The person behind a session cookie, or None when it is unknown, expired or revoked. System transaction."""
    now = utcnow()
    row = (
        await session.execute(
            select(WebSession, User)
            .join(User, User.id == WebSession.user_id)
            .where(
                WebSession.token_hash == sha256_hex(token),
                WebSession.revoked_at.is_(None),
                WebSession.expires_at > now,
            )
        )
    ).first()
    if row is None:
        return None
    web_session, user = row
    if now - web_session.last_seen_at > TOUCH_EVERY:
        web_session.last_seen_at = now
    return _session_principal(user, web_session)


async def principal_for_api_token(session: AsyncSession, token: str) -> Principal | None:
    """The tenant and role an API token stands for, or None. System transaction."""
    if not token.startswith(API_TOKEN_PREFIX):
        return None
    now = utcnow()
    api_token = (
        await session.execute(
            select(ApiToken).where(
                ApiToken.token_hash == sha256_hex(token),
                ApiToken.revoked_at.is_(None),
                ApiToken.expires_at > now,
            )
        )
    ).scalar_one_or_none()
    if api_token is None:
        return None
    if api_token.last_used_at is None or now - api_token.last_used_at > timedelta(minutes=1):
        api_token.last_used_at = now
    return Principal(
        kind="token",
        tenant_id=api_token.tenant_id,
        role=api_token.role,
        token_id=api_token.id,
        display_name=f"{api_token.name} ({api_token.prefix}…)",
    )


async def sign_out(session: AsyncSession, principal: Principal, *, correlation_id: str) -> str | None:
    """Revoke the current session; return its id_token (encrypted) for signing out at the provider too.

    Tenant transaction.
    """
    if principal.session_id is None:
        return None
    web_session = await session.get(WebSession, principal.session_id)
    if web_session is None or web_session.tenant_id != principal.tenant_id:
        return None
    web_session.revoked_at = utcnow()
    id_token_encrypted = web_session.id_token_encrypted
    web_session.id_token_encrypted = None
    await record(session, EventType.USER_SIGNED_OUT, actor=principal.actor, correlation_id=correlation_id)
    return id_token_encrypted
