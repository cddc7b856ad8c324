"""The sign-in round trip: begin (state, nonce, PKCE, browser binding) and complete (checks, then `auth.sign_in`).

Login CSRF: each flow is bound to the browser that started it. ``/api/login`` gives that browser a random
secret in a cookie named after the flow's state (``atlas_login_<16 hex of SHA-256(state)>``), and the flow row
keeps only the secret's SHA-256. The callback refuses a flow whose cookie is missing or different, so a
callback URL sent to someone else's browser signs nobody in. One cookie per flow lets several tabs sign in at
once; each lives as long as its flow (docs/signin.md).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import timedelta

import structlog
from sqlalchemy import delete, select

from atlas.db.base import utcnow
from atlas.db.engine import Database
from atlas.platform.auth import SignInResult, sign_in
from atlas.platform.crypto import SecretBox, random_token, sha256_hex
from atlas.platform.models import LoginFlow
from atlas.platform.oidc import OIDCClient, OIDCError

FLOW_TTL = timedelta(minutes=10)
BINDING_COOKIE_PREFIX = "atlas_login_"
log = structlog.get_logger("atlas.auth")


@dataclass(frozen=True, slots=True)
class LoginStart:
    """Where to send the browser, and the binding cookie to give it first."""

    authorization_url: str
    cookie_name: str
    browser_secret: str


def binding_cookie_name(state: str) -> str:
    """The cookie that binds the flow with this ``state`` to its browser (one per flow: several tabs work)."""
    return BINDING_COOKIE_PREFIX + sha256_hex(state)[:16]


def safe_return_path(value: str | None) -> str:
    """Only a local path: never an absolute URL or a scheme-relative one (open-redirect)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value or len(value) > 400:
        return "/app"
    return value


async def begin_login(database: Database, oidc: OIDCClient, box: SecretBox, *, return_to: str | None) -> LoginStart:
    """Store a new flow bound to a fresh browser secret; return the provider's URL and the binding cookie."""
    state = random_token(24)
    nonce = random_token(24)
    verifier = random_token(48)
    browser_secret = random_token(32)
    async with database.system_session() as session:
        # Expired flows are swept here and by the housekeeping workflow.
        await session.execute(delete(LoginFlow).where(LoginFlow.expires_at < utcnow()))
        session.add(
            LoginFlow(
                state=state,
                nonce=nonce,
                code_verifier_encrypted=box.encrypt(verifier),
                return_to=safe_return_path(return_to),
                browser_binding_hash=sha256_hex(browser_secret),
                expires_at=utcnow() + FLOW_TTL,
            )
        )
    url = await oidc.authorization_url(state=state, nonce=nonce, code_verifier=verifier)
    return LoginStart(authorization_url=url, cookie_name=binding_cookie_name(state), browser_secret=browser_secret)


async def complete_login(
    database: Database,
    oidc: OIDCClient,
    box: SecretBox,
    *,
    code: str,
    state: str,
    iss: str | None,
    browser_secret: str | None,
    correlation_id: str,
    session_ttl: timedelta,
) -> tuple[SignInResult, str]:
    """Check state (single use), the browser binding and the response's issuer; exchange the code with the PKCE
    verifier; verify the id_token and complete the claims from userinfo; sign in.

    The flow is consumed before any check, so a refused callback cannot be tried again.
    """
    async with database.system_session() as session:
        flow = (
            await session.execute(select(LoginFlow).where(LoginFlow.state == state).with_for_update())
        ).scalar_one_or_none()
        if flow is not None:
            await session.delete(flow)
    if flow is None:
        raise OIDCError("bad_state")
    if flow.expires_at < utcnow():
        raise OIDCError("flow_expired")
    if not browser_secret or not hmac.compare_digest(sha256_hex(browser_secret), flow.browser_binding_hash):
        raise OIDCError("wrong_browser")
    await oidc.check_response_issuer(iss)
    tokens = await oidc.exchange_code(code=code, code_verifier=box.decrypt(flow.code_verifier_encrypted))
    claims = await oidc.identity(tokens, nonce=flow.nonce)
    if claims.email is None:
        raise OIDCError("no_email")
    id_token = tokens["id_token"]
    async with database.system_session() as session:
        result = await sign_in(
            session,
            claims,
            correlation_id=correlation_id,
            session_ttl=session_ttl,
            id_token_encrypted=box.encrypt(id_token),
        )
    log.info("signed_in", tenant_id=str(result.principal.tenant_id), provisioned=result.provisioned)
    return result, flow.return_to
