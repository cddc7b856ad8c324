"""The sign-in round trip: begin (state, nonce, PKCE) and complete (checks, then `auth.sign_in`)."""

from __future__ import annotations

from datetime import timedelta

import structlog
from sqlalchemy import delete, select

from atlas.db.base import utcnow
from atlas.db.engine import Database
from atlas.platform.auth import SignInResult, sign_in
from atlas.platform.crypto import SecretBox, random_token
from atlas.platform.models import LoginFlow
from atlas.platform.oidc import OIDCClient, OIDCError

FLOW_TTL = timedelta(minutes=10)
log = structlog.get_logger("atlas.auth")


def safe_return_path(value: str | None) -> str:
    """Only a local path: never an absolute URL or a scheme-relative one (open-redirect)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value or len(value) > 400:
        return "/app"
    return value


async def begin_login(database: Database, oidc: OIDCClient, box: SecretBox, *, return_to: str | None) -> str:
    """Store a new flow and return the provider's authorization URL."""
    state = random_token(24)
    nonce = random_token(24)
    verifier = random_token(48)
    async with database.system_session() as session:
        # Expired flows are swept here and by the housekeeping workflow.
        await session.execute(delete(LoginFlow).where(LoginFlow.expires_at < utcnow()))
        session.add(
            LoginFlow(
                state=state,
                nonce=nonce,
                code_verifier_encrypted=box.encrypt(verifier),
                return_to=safe_return_path(return_to),
                expires_at=utcnow() + FLOW_TTL,
            )
        )
    return await oidc.authorization_url(state=state, nonce=nonce, code_verifier=verifier)


async def complete_login(
    database: Database,
    oidc: OIDCClient,
    box: SecretBox,
    *,
    code: str,
    state: str,
    correlation_id: str,
    session_ttl: timedelta,
) -> tuple[SignInResult, str]:
    """Check state (single use), exchange the code with the PKCE verifier, verify the id_token, sign in."""
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
    tokens = await oidc.exchange_code(code=code, code_verifier=box.decrypt(flow.code_verifier_encrypted))
    id_token = tokens.get("id_token")
    if not isinstance(id_token, str):
        raise OIDCError("no_id_token")
    claims = await oidc.verify_id_token(id_token, nonce=flow.nonce)
    async with database.system_session() as session:
        result = await sign_in(session, claims, correlation_id=correlation_id, session_ttl=session_ttl)
    log.info("signed_in", tenant_id=str(result.principal.tenant_id), provisioned=result.provisioned)
    return result, flow.return_to
