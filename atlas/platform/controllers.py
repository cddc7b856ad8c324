"""Platform API: sign-in, members, invitations, API tokens, audit log.

Onboarding and the platform admin's tenant views join tenants to subscriptions, so they are billing's
(``atlas.billing.tenant_controllers``), under the same paths."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import structlog
from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.params import FromPath, Parameter
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from atlas.config import Settings
from atlas.db.engine import Database
from atlas.errors import ValidationFailed
from atlas.platform import services
from atlas.platform.audit import EventType
from atlas.platform.auth import SESSION_COOKIE, sign_out
from atlas.platform.login import BINDING_COOKIE_PREFIX, FLOW_TTL, begin_login, binding_cookie_name, complete_login
from atlas.platform.oidc import OIDCError
from atlas.platform.principal import Principal
from atlas.platform.rate_limit import RetryAfterRateLimitMiddleware
from atlas.platform.rbac import Permission
from atlas.platform.schemas import (
    ApiTokenCreate,
    ApiTokenCreated,
    ApiTokenRead,
    AuditPageRead,
    CurrentUser,
    InvitationCreate,
    InvitationRead,
    LogoutRead,
    MemberRead,
    RoleChange,
    audit_event_read,
    member_read,
)
from atlas.web import params as paging

log = structlog.get_logger("atlas.auth")


SIGN_IN_PATHS = frozenset({"/api/login", "/api/auth/callback"})


def rate_limits(settings: Settings) -> list[Any]:
    """Per-client rate limits on sign-in and on creating API tokens (429 as problem details, with Retry-After).

    The client is the TCP peer, or the address a proxy in ATLAS_TRUSTED_PROXIES forwarded (`atlas.web.proxies`).
    """

    # Asynchronous on purpose: Litestar runs a synchronous predicate in its thread pool, two hand-offs to
    # another thread on every request for what is a string comparison.
    async def is_sign_in(request: Request[Any, Any, Any]) -> bool:
        return request.url.path in SIGN_IN_PATHS

    async def is_token_creation(request: Request[Any, Any, Any]) -> bool:
        return request.method == "POST" and request.url.path.rstrip("/") == "/api/tokens"

    return [
        RateLimitConfig(
            rate_limit=("minute", settings.login_rate_limit_per_minute),
            store="rate_limit_sign_in",
            check_throttle_handler=is_sign_in,
            middleware_class=RetryAfterRateLimitMiddleware,
        ).middleware,
        RateLimitConfig(
            rate_limit=("minute", settings.token_rate_limit_per_minute),
            store="rate_limit_tokens",
            check_throttle_handler=is_token_creation,
            middleware_class=RetryAfterRateLimitMiddleware,
        ).middleware,
    ]


def session_cookie(settings: NamedDependency[Settings], value: str, *, max_age: int) -> Cookie:
    return Cookie(
        key=SESSION_COOKIE,
        value=value,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        path="/",
        max_age=max_age,
    )


def login_binding_cookie(settings: Settings, name: str, value: str, *, max_age: int) -> Cookie:
    """The cookie binding one sign-in flow to its browser; sent only to the callback (docs/signin.md)."""
    assert name.startswith(BINDING_COOKIE_PREFIX)
    return Cookie(
        key=name,
        value=value,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        path="/api/auth/callback",
        max_age=max_age,
    )


class AuthController(Controller):
    path = "/api"
    tags = ["auth"]

    @get("/login", opt={"public": True})
    async def login(
        self, request: Request[Any, Any, Any], settings: NamedDependency[Settings], return_to: str | None = None
    ) -> Redirect:
        """Start an OpenID Connect sign-in (authorization code + PKCE), bind it to this browser with a cookie,
        and redirect to the provider."""
        state = request.app.state
        start = await begin_login(state.db, state.oidc, state.secret_box, return_to=return_to)
        cookie = login_binding_cookie(
            settings, start.cookie_name, start.browser_secret, max_age=int(FLOW_TTL.total_seconds())
        )
        return Redirect(start.authorization_url, cookies=[cookie])

    @get("/auth/callback", opt={"public": True})
    async def callback(
        self,
        request: Request[Any, Any, Any],
        settings: NamedDependency[Settings],
        correlation_id: NamedDependency[str],
        code: str | None = None,
        oauth_state: str | None = Parameter(query="state", default=None),
        iss: str | None = None,
        error: str | None = None,
    ) -> Redirect:
        """The provider's redirect back: verify everything, sign in, set the session cookie.

        The flow's binding cookie is cleared whatever the outcome.
        """
        app_state = request.app.state
        cookies: list[Cookie] = []
        if oauth_state:
            cookies.append(login_binding_cookie(settings, binding_cookie_name(oauth_state), "", max_age=0))
        if error or not code or not oauth_state:
            reason = "access_denied" if error == "access_denied" else "bad_request"
            log.warning("sign_in_refused", reason=reason)
            return Redirect(f"/signin?error={reason}", cookies=cookies)
        try:
            result, return_to = await complete_login(
                app_state.db,
                app_state.oidc,
                app_state.secret_box,
                code=code,
                state=oauth_state,
                iss=iss,
                browser_secret=request.cookies.get(binding_cookie_name(oauth_state)),
                correlation_id=correlation_id,
                session_ttl=timedelta(hours=settings.session_ttl_hours),
            )
        except OIDCError as exc:
            log.warning("sign_in_refused", reason=exc.reason)
            return Redirect(f"/signin?error={exc.reason}", cookies=cookies)
        target = return_to if result.onboarding_completed else "/onboarding"
        cookies.append(session_cookie(settings, result.session_token, max_age=settings.session_ttl_hours * 3600))
        return Redirect(target, cookies=cookies)

    @post("/logout", opt={"authenticated": True}, status_code=200)
    async def logout(
        self,
        request: Request[Any, Any, Any],
        database: NamedDependency[Database],
        principal: NamedDependency[Principal],
        settings: NamedDependency[Settings],
        correlation_id: NamedDependency[str],
    ) -> Response[LogoutRead]:
        """End the current session (server-side), clear the cookie, and give the provider's sign-out URL
        (RP-initiated logout with the session's id_token as ``id_token_hint``) when the provider has one:
        the browser goes there so the next sign-in asks for the password again."""
        async with database.tenant_session(principal.tenant_id) as session:
            id_token_encrypted = await sign_out(session, principal, correlation_id=correlation_id)
        app_state = request.app.state
        logout_url = await app_state.oidc.end_session_url(
            id_token_hint=app_state.secret_box.decrypt(id_token_encrypted) if id_token_encrypted else None,
            post_logout_redirect_uri=f"{settings.base_url.rstrip('/')}/signin?signed_out=1",
        )
        return Response(
            LogoutRead(logout_url=logout_url), status_code=200, cookies=[session_cookie(settings, "", max_age=0)]
        )

    @get("/auth/user", opt={"authenticated": True})
    async def current_user(
        self, db: NamedDependency[AsyncSession], principal: NamedDependency[Principal]
    ) -> CurrentUser:
        """Who is signed in, in which tenant, with which role."""
        tenant = await services.TenantRepo(db).one_or_none()
        assert tenant is not None
        return CurrentUser(
            kind=principal.kind,
            tenant_id=principal.tenant_id,
            tenant_name=tenant.name,
            role=principal.role,
            platform_role=principal.platform_role,
            user_id=principal.user_id,
            email=principal.email,
            display_name=principal.display_name,
            onboarding_completed=tenant.onboarding_completed_at is not None,
            csrf_token=principal.csrf_token,
        )


class MembersController(Controller):
    path = "/api/members"
    tags = ["members"]

    @get("/", opt={"permission": Permission.READ})
    async def list_members(self, db: NamedDependency[AsyncSession]) -> list[MemberRead]:
        return [member_read(user) for user in await services.list_members(db)]

    @patch("/{member_id:uuid}", opt={"permission": Permission.MANAGE_MEMBERS})
    async def change_role(
        self,
        db: NamedDependency[AsyncSession],
        member_id: FromPath[uuid.UUID],
        data: RoleChange,
        principal: NamedDependency[Principal],
        correlation_id: NamedDependency[str],
    ) -> MemberRead:
        user = await services.change_role(
            db, member_id=member_id, role=data.role, actor=principal.actor, correlation_id=correlation_id
        )
        return member_read(user)

    @delete("/{member_id:uuid}", opt={"permission": Permission.MANAGE_MEMBERS}, status_code=204)
    async def remove(
        self,
        db: NamedDependency[AsyncSession],
        member_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        correlation_id: NamedDependency[str],
    ) -> None:
        await services.remove_member(db, member_id=member_id, actor=principal.actor, correlation_id=correlation_id)


def _invitation_read(invitation: Any) -> InvitationRead:
    return InvitationRead(
        id=invitation.id,
        email=invitation.email,
        role=invitation.role,
        created_at=invitation.created_at,
        expires_at=invitation.expires_at,
    )


class InvitationsController(Controller):
    path = "/api/invitations"
    tags = ["members"]

    @get("/", opt={"permission": Permission.READ})
    async def list_invitations(self, db: NamedDependency[AsyncSession]) -> list[InvitationRead]:
        return [_invitation_read(i) for i in await services.list_invitations(db)]

    @post("/", opt={"permission": Permission.MANAGE_MEMBERS}, status_code=201)
    async def invite(
        self,
        db: NamedDependency[AsyncSession],
        data: InvitationCreate,
        principal: NamedDependency[Principal],
        correlation_id: NamedDependency[str],
    ) -> InvitationRead:
        """Invite a teammate by e-mail with a role; they join on their first sign-in."""
        invitation = await services.invite(
            db, email=data.email, role=data.role, actor=principal.actor, correlation_id=correlation_id
        )
        return _invitation_read(invitation)

    @delete("/{invitation_id:uuid}", opt={"permission": Permission.MANAGE_MEMBERS}, status_code=204)
    async def revoke(
        self,
        db: NamedDependency[AsyncSession],
        invitation_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        correlation_id: NamedDependency[str],
    ) -> None:
        await services.revoke_invitation(
            db, invitation_id=invitation_id, actor=principal.actor, correlation_id=correlation_id
        )


def _token_read(token: Any) -> ApiTokenRead:
    return ApiTokenRead(
        id=token.id,
        name=token.name,
        role=token.role,
        prefix=token.prefix,
        created_at=token.created_at,
        expires_at=token.expires_at,
        revoked_at=token.revoked_at,
        last_used_at=token.last_used_at,
    )


class TokensController(Controller):
    path = "/api/tokens"
    tags = ["tokens"]

    @get("/", opt={"permission": Permission.MANAGE_TOKENS})
    async def list_tokens(self, db: NamedDependency[AsyncSession]) -> list[ApiTokenRead]:
        return [_token_read(t) for t in await services.list_tokens(db)]

    @post(
        "/",
        opt={"permission": Permission.MANAGE_TOKENS},
        status_code=201,
    )
    async def create(
        self,
        db: NamedDependency[AsyncSession],
        data: ApiTokenCreate,
        principal: NamedDependency[Principal],
        correlation_id: NamedDependency[str],
    ) -> ApiTokenCreated:
        """Create an API token bound to a role, with an expiry. The token is in this response only."""
        token, raw = await services.create_token(
            db,
            name=data.name,
            role=data.role,
            expires_in_days=data.expires_in_days,
            actor=principal.actor,
            correlation_id=correlation_id,
        )
        return ApiTokenCreated(
            id=token.id,
            name=token.name,
            role=token.role,
            prefix=token.prefix,
            expires_at=token.expires_at,
            token=raw,
        )

    @delete("/{token_id:uuid}", opt={"permission": Permission.MANAGE_TOKENS}, status_code=204)
    async def revoke(
        self,
        db: NamedDependency[AsyncSession],
        token_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        correlation_id: NamedDependency[str],
    ) -> None:
        await services.revoke_token(db, token_id=token_id, actor=principal.actor, correlation_id=correlation_id)


def parse_time(value: str | None, field: str) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationFailed("errors.invalid_time", field=field) from None
    if moment.tzinfo is None:
        from datetime import UTC

        moment = moment.replace(tzinfo=UTC)
    return moment


EVENT_TYPES = [str(e) for e in EventType]


class AuditController(Controller):
    path = "/api/audit-logs"
    tags = ["audit"]

    @get("/", opt={"permission": Permission.READ})
    async def list_events(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[AsyncSession],
        event_type: str | None = None,
        correlation_id_filter: str | None = Parameter(query="correlation_id", default=None, max_length=100),
        since: str | None = None,
        until: str | None = None,
        cursor: str | None = paging.cursor_param(),
        limit: int = paging.limit_param(),
    ) -> AuditPageRead:
        """The tenant's audit events, newest first; filters by type, correlation id and time; cursor paging."""
        page = await services.audit_page(
            db,
            event_type=event_type or None,
            correlation_id=correlation_id_filter or None,
            since=parse_time(since, "since"),
            until=parse_time(until, "until"),
            cursor=cursor,
            limit=limit,
            cursor_key=paging.cursor_key(request),
        )
        return AuditPageRead(items=[audit_event_read(e) for e in page.events], next_cursor=page.next_cursor)


CONTROLLERS = [
    AuthController,
    MembersController,
    InvitationsController,
    TokensController,
    AuditController,
]
