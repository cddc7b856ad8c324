"""Sign-in with OpenID Connect: provisioning, invitations, and every refusal."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from tests.platform.fake_idp import FakeIdP, fake_idp
from tests.services import atlas_server


def follow_callback(client: httpx.Client, callback_url: str) -> httpx.Response:
    parsed = urlparse(callback_url)
    return client.get(parsed.path, params={k: v[0] for k, v in parse_qs(parsed.query).items()})


def test_first_sign_in_provisions_a_tenant_with_the_user_as_admin(atlas):
    client = atlas.login("founder@newco.sa", name="Founder Person")
    me = client.get("/api/auth/user").json()
    assert me["role"] == "admin"
    assert me["email"] == "founder@newco.sa"
    assert me["onboarding_completed"] is False
    rows = atlas.sql("SELECT event_type FROM audit_events WHERE tenant_id = %s ORDER BY seq", (me["tenant_id"],))
    assert [r[0] for r in rows] == ["tenant_provisioned", "user_signed_in"]


def test_first_sign_in_lands_on_onboarding_then_the_app(atlas):
    atlas.set_user("wizard@newco.sa")
    client = atlas.client()
    callback = atlas.authorize_at_provider(atlas.begin_login(client, "/app/audit"), "wizard@newco.sa")
    response = follow_callback(client, callback)
    assert response.headers["location"] == "/onboarding"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "atlas_session=" in cookie


def test_second_sign_in_returns_to_the_same_tenant(atlas):
    first = atlas.login("again@newco.sa").get("/api/auth/user").json()
    second = atlas.login("again@newco.sa").get("/api/auth/user").json()
    assert first["tenant_id"] == second["tenant_id"]
    assert first["user_id"] == second["user_id"]


def test_invited_person_joins_the_inviting_tenant_with_the_invited_role(atlas):
    admin, me = atlas.new_tenant()
    response = admin.post("/api/invitations", json={"email": "New.Colleague@Example.sa", "role": "operator"})
    assert response.status_code == 201
    colleague = atlas.login("new.colleague@example.sa").get("/api/auth/user").json()
    assert colleague["tenant_id"] == me["tenant_id"]
    assert colleague["role"] == "operator"
    assert colleague["onboarding_completed"] is True
    members = admin.get("/api/members").json()
    assert {m["email"] for m in members} == {me["email"], "new.colleague@example.sa"}
    assert admin.get("/api/invitations").json() == []
    events = [
        r[0]
        for r in atlas.sql("SELECT event_type FROM audit_events WHERE tenant_id = %s ORDER BY seq", (me["tenant_id"],))
    ]
    assert "invitation_accepted" in events


def test_state_is_single_use_and_must_match(atlas):
    atlas.set_user("state@newco.sa")
    client = atlas.client()
    callback = atlas.authorize_at_provider(atlas.begin_login(client), "state@newco.sa")
    forged = callback.replace("state=", "state=x")
    response = follow_callback(client, forged)
    assert response.headers["location"] == "/signin?error=bad_state"
    assert "atlas_session" not in client.cookies
    assert follow_callback(client, callback).headers["location"] == "/onboarding"
    replay = atlas.client()
    assert follow_callback(replay, callback).headers["location"] == "/signin?error=bad_state"


def test_nonce_of_another_flow_is_refused(atlas):
    """A code issued for flow A presented with flow B's state: the id_token's nonce is A's."""
    atlas.set_user("nonce@newco.sa")
    client = atlas.client()
    callback_a = atlas.authorize_at_provider(atlas.begin_login(client), "nonce@newco.sa")
    callback_b = atlas.authorize_at_provider(atlas.begin_login(client), "nonce@newco.sa")
    code_a = parse_qs(urlparse(callback_a).query)["code"][0]
    state_b = parse_qs(urlparse(callback_b).query)["state"][0]
    response = client.get("/api/auth/callback", params={"code": code_a, "state": state_b})
    assert response.headers["location"] == "/signin?error=bad_nonce"
    assert "atlas_session" not in client.cookies


def test_a_callback_opened_in_a_browser_without_the_binding_cookie_is_refused(atlas):
    """Login CSRF: the callback URL of a flow started elsewhere signs nobody in, and the flow is used up."""
    atlas.set_user("csrf-attacker@evil.example")
    attacker = atlas.client()
    callback = atlas.authorize_at_provider(atlas.begin_login(attacker), "csrf-attacker@evil.example")
    victim = atlas.client()
    assert follow_callback(victim, callback).headers["location"] == "/signin?error=wrong_browser"
    assert victim.get("/api/auth/user").status_code == 401
    assert atlas.sql("SELECT count(*) FROM auth_identities WHERE email = 'csrf-attacker@evil.example'") == [(0,)]
    assert follow_callback(attacker, callback).headers["location"] == "/signin?error=bad_state"


def test_an_iss_parameter_must_match_even_when_not_advertised(atlas):
    """RFC 9207: this provider does not advertise the parameter; one that is present must still be right."""
    atlas.set_user("iss-check@newco.sa")
    client = atlas.client()
    callback = atlas.authorize_at_provider(atlas.begin_login(client), "iss-check@newco.sa")
    response = follow_callback(client, callback + "&iss=http%3A%2F%2F127.0.0.1%3A1%2Fevil")
    assert response.headers["location"] == "/signin?error=wrong_issuer_parameter"
    assert "atlas_session" not in client.cookies
    client = atlas.client()
    callback = atlas.authorize_at_provider(atlas.begin_login(client), "iss-check@newco.sa")
    assert follow_callback(client, callback + "&iss=" + atlas.oidc_url).headers["location"] == "/onboarding"


def test_provider_denial_and_missing_parameters(atlas):
    client = atlas.client()
    assert client.get("/api/auth/callback", params={"error": "access_denied"}).headers["location"] == (
        "/signin?error=access_denied"
    )
    assert client.get("/api/auth/callback").headers["location"] == "/signin?error=bad_request"


def test_return_to_never_leaves_atlas(atlas):
    from atlas.platform.login import safe_return_path

    assert safe_return_path("https://evil.example/") == "/app"
    assert safe_return_path("//evil.example/") == "/app"
    assert safe_return_path("/\\evil.example") == "/app"
    assert safe_return_path("/app/team") == "/app/team"


@pytest.fixture(scope="module")
def strict(database_url: str) -> Iterator[tuple[FakeIdP, str]]:
    with (
        fake_idp() as idp,
        atlas_server(
            {
                "DATABASE_URL": database_url,
                "OIDC_ISSUER": idp.issuer,
                "TEMPORAL_ADDRESS": "127.0.0.1:1",
                "ATLAS_LOGIN_RATE_LIMIT": 30,  # the strict tests above sign in about ten times (twice each)
            }
        ) as base_url,
    ):
        yield idp, base_url


def strict_login(idp: FakeIdP, base_url: str, mode: str, sub: str) -> tuple[httpx.Client, httpx.Response]:
    idp.mode = mode
    client = httpx.Client(base_url=base_url, follow_redirects=False)
    authorize = client.get("/api/login").headers["location"]
    query = parse_qs(urlparse(authorize).query)
    assert query["code_challenge_method"] == ["S256"] and query["nonce"] and query["state"]
    assert "code_verifier" not in query
    callback = httpx.get(authorize + f"&login_hint={sub}", follow_redirects=False).headers["location"]
    return client, follow_callback(client, callback)


def test_strict_provider_accepts_a_valid_token_and_pkce(strict):
    idp, base_url = strict
    client, response = strict_login(idp, base_url, "valid", "strict-ok@example.sa")
    assert response.headers["location"] == "/onboarding"
    assert idp.pkce_failures == 0
    assert client.get("/api/auth/user").json()["email"] == "strict-ok@example.sa"


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("expired", "expired"),
        ("wrong_key", "bad_signature"),
        ("wrong_audience", "wrong_audience"),
        ("wrong_issuer", "wrong_issuer"),
        ("wrong_nonce", "bad_nonce"),
    ],
)
def test_strict_provider_bad_id_tokens_are_refused(strict, mode, reason):
    idp, base_url = strict
    client, response = strict_login(idp, base_url, mode, f"strict-{mode}@example.sa")
    assert response.headers["location"] == f"/signin?error={reason}"
    assert "atlas_session" not in client.cookies
    assert client.get("/api/auth/user").status_code == 401


def test_claims_missing_from_the_id_token_come_from_userinfo(strict):
    idp, base_url = strict
    client, response = strict_login(idp, base_url, "userinfo_ok", "from-userinfo@example.sa")
    assert response.headers["location"] == "/onboarding"
    me = client.get("/api/auth/user").json()
    assert (me["email"], me["display_name"]) == ("from-userinfo@example.sa", "Userinfo Person")


def test_userinfo_down_when_only_the_name_is_missing_still_signs_in(strict):
    idp, base_url = strict
    client, response = strict_login(idp, base_url, "no_name_userinfo_down", "no-name@example.sa")
    assert response.headers["location"] == "/onboarding"
    assert client.get("/api/auth/user").json()["display_name"] == "no-name@example.sa"


@pytest.mark.parametrize(
    ("mode", "reason"),
    [("userinfo_other_sub", "userinfo_wrong_subject"), ("userinfo_jwt", "userinfo_signed")],
)
def test_userinfo_about_someone_else_or_signed_is_refused(strict, mode, reason):
    idp, base_url = strict
    client, response = strict_login(idp, base_url, mode, f"strict-{mode}@example.sa")
    assert response.headers["location"] == f"/signin?error={reason}"
    assert client.get("/api/auth/user").status_code == 401


def test_logout_ends_the_session_server_side(atlas):
    client = atlas.login()
    cookie = client.cookies["atlas_session"]
    response = client.post("/api/logout")
    assert response.status_code == 200
    # This provider publishes end_session_endpoint: the browser is sent there to end its session too.
    assert response.json()["logout_url"].startswith(f"{atlas.oidc_url}/")
    stale = atlas.client(cookies={"atlas_session": cookie})
    assert stale.get("/api/auth/user").status_code == 401


def test_sign_in_is_rate_limited_per_client(strict):
    _idp, base_url = strict
    client = httpx.Client(base_url=base_url, follow_redirects=False)
    locations = [client.get("/api/login").headers["location"] for _ in range(40)]
    assert locations[-1] == "/signin?error=rate_limited"
    assert any(loc.startswith("http://127.0.0.1") for loc in locations)
