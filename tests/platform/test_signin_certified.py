"""Sign-in against npm's certified `oidc-provider` (a real Node server): the flow bound to the browser, claims
from userinfo in both claim modes, e-mail rules, RFC 9207 and RP-initiated logout (issue 16, "Sign-in").

Each test drives one `Browser`: a single cookie jar for Atlas and the provider, as a browser has (cookies
ignore ports, and both live on 127.0.0.1).
"""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlparse

import httpx
import psycopg
import pytest

from tests.services import atlas_server, certified_oidc_provider, free_port

CLIENT_ID = "atlas-certified"
CLIENT_SECRET = "atlas-certified-test-secret"
MODES = ("userinfo", "id_token")


@dataclass
class Deployment:
    """Atlas signing in with one certified provider, in one claim mode."""

    mode: str
    base_url: str
    issuer: str
    database_url: str

    def add_account(self, account_id: str, **claims: Any) -> None:
        response = httpx.put(f"{self.issuer}/test/accounts/{account_id}", json=claims)
        assert response.status_code == 204, response.text

    def sql(self, query: str, params: Any = None) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            cursor = conn.execute(query, params)
            return cursor.fetchall() if cursor.description else []

    def identity_count(self, account_id: str) -> int:
        rows = self.sql(
            "SELECT count(*) FROM auth_identities WHERE issuer = %s AND sub = %s", (self.issuer, account_id)
        )
        return int(rows[0][0])


@pytest.fixture(scope="module")
def deployments(database_url: str) -> Iterator[dict[str, Deployment]]:
    """One Atlas per claim mode, each with its own certified provider registered for its redirect URI."""
    found: dict[str, Deployment] = {}
    stack: list[Any] = []
    try:
        for mode in MODES:
            port = free_port()
            base_url = f"http://127.0.0.1:{port}"
            provider = certified_oidc_provider(
                mode,
                redirect_uri=f"{base_url}/api/auth/callback",
                post_logout_redirect_uri=f"{base_url}/signin?signed_out=1",
                client_id=CLIENT_ID,
                client_secret=CLIENT_SECRET,
            )
            issuer = provider.__enter__()
            stack.append(provider)
            server = atlas_server(
                {
                    "port": port,
                    "DATABASE_URL": database_url,
                    "OIDC_ISSUER": issuer,
                    "OIDC_CLIENT_ID": CLIENT_ID,
                    "OIDC_CLIENT_SECRET": CLIENT_SECRET,
                    "TEMPORAL_ADDRESS": "127.0.0.1:1",
                    "ATLAS_LOGIN_RATE_LIMIT": 100000,
                }
            )
            assert server.__enter__() == base_url
            stack.append(server)
            found[mode] = Deployment(mode, base_url, issuer, database_url)
        yield found
    finally:
        for context in reversed(stack):
            context.__exit__(None, None, None)


@pytest.fixture
def certified(deployments: dict[str, Deployment]) -> Deployment:
    """The default, standards-conformant set-up: the id_token carries only `sub`."""
    return deployments["userinfo"]


class Browser:
    """A scripted browser: follows the provider's redirects, fills in its sign-in and consent forms."""

    def __init__(self, deployment: Deployment) -> None:
        self.deployment = deployment
        self.http = httpx.Client(base_url=deployment.base_url, follow_redirects=False, timeout=30)

    def begin(self, return_to: str = "/app") -> str:
        """`GET /api/login`: the provider's authorization URL (the binding cookie is now in this browser)."""
        response = self.http.get("/api/login", params={"return_to": return_to})
        assert response.status_code in (302, 303), response.text
        return response.headers["location"]

    def follow(self, url: str) -> httpx.Response | str:
        """Follow redirects at the provider: Atlas's callback URL (not opened), or the page that stops there."""
        for _ in range(10):
            if url.startswith(self.deployment.base_url):
                return url
            response = self.http.get(url)
            if response.status_code not in (302, 303):
                return response
            url = urljoin(url, response.headers["location"])
        raise AssertionError("too many redirects")

    def submit(self, page: httpx.Response, fields: dict[str, str]) -> httpx.Response | str:
        """POST the page's first form with its hidden fields plus ``fields``; then follow the redirects."""
        form = re.search(r'<form[^>]*action="([^"]+)"[^>]*>(.*?)</form>', page.text, re.S)
        assert form is not None, page.text[:500]
        hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form.group(2)))
        action = urljoin(str(page.url), html.unescape(form.group(1)))
        response = self.http.post(action, data={**hidden, **fields})
        assert response.status_code in (302, 303), response.text[:500]
        return self.follow(urljoin(action, response.headers["location"]))

    def authorize(self, authorization_url: str, account_id: str) -> str:
        """Sign in at the provider with password (and consent when asked); returns Atlas's callback URL."""
        outcome = self.follow(authorization_url)
        for _ in range(3):
            if isinstance(outcome, str):
                return outcome
            if 'name="login"' in outcome.text:
                outcome = self.submit(outcome, {"login": account_id, "password": "correct horse"})
            else:
                outcome = self.submit(outcome, {})
        raise AssertionError("the provider never sent the browser back to Atlas")

    def callback(self, callback_url: str) -> httpx.Response:
        parsed = urlparse(callback_url)
        return self.http.get(parsed.path, params={k: v[0] for k, v in parse_qs(parsed.query).items()})

    def sign_in(self, account_id: str, return_to: str = "/app") -> httpx.Response:
        return self.callback(self.authorize(self.begin(return_to), account_id))

    def me(self) -> httpx.Response:
        return self.http.get("/api/auth/user", headers={"Accept": "application/json"})


def english_page(deployment: Deployment, path: str) -> str:
    """A page as a browser that chose English sees it."""
    response = httpx.get(f"{deployment.base_url}{path}", cookies={"atlas_lang": "en"})
    assert response.status_code == 200
    return response.text


def new_account(deployment: Deployment, **claims: Any) -> str:
    account_id = f"acct-{uuid.uuid4().hex[:10]}"
    deployment.add_account(account_id, **claims)
    return account_id


def with_query(url: str, **changes: str | None) -> str:
    parsed = urlparse(url)
    query = {k: v[0] for k, v in parse_qs(parsed.query).items()}
    for key, value in changes.items():
        if value is None:
            query.pop(key, None)
        else:
            query[key] = value
    return parsed._replace(query=urlencode(query)).geturl()


def signed_in_admin(deployment: Deployment) -> tuple[Browser, dict[str, Any]]:
    """A new tenant's admin, signed in through the certified provider and past onboarding."""
    email = f"admin-{uuid.uuid4().hex[:8]}@example.sa"
    account = new_account(deployment, email=email, email_verified=True, name="Tenant Admin")
    browser = Browser(deployment)
    assert browser.sign_in(account).headers["location"] == "/onboarding"
    me = browser.me().json()
    response = browser.http.post(
        "/api/onboarding/complete",
        json={
            "company_name": f"Certified Co {uuid.uuid4().hex[:6]}",
            "org_type": "smb",
            "use_case": "inventory_management",
        },
        headers={"X-CSRF-Token": me["csrf_token"], "Accept": "application/json"},
    )
    assert response.status_code == 200, response.text
    return browser, browser.me().json()


def invite(admin: Browser, me: dict[str, Any], email: str) -> None:
    response = admin.http.post(
        "/api/invitations",
        json={"email": email, "role": "operator"},
        headers={"X-CSRF-Token": me["csrf_token"], "Accept": "application/json"},
    )
    assert response.status_code == 201, response.text


def test_provider_is_the_certified_one_with_rfc9207_and_logout(certified: Deployment) -> None:
    metadata = httpx.get(f"{certified.issuer}/.well-known/openid-configuration").json()
    assert metadata["authorization_response_iss_parameter_supported"] is True
    assert metadata["end_session_endpoint"] and metadata["userinfo_endpoint"]


def test_login_csrf_a_callback_opened_in_another_browser_is_refused(certified: Deployment) -> None:
    attacker_account = new_account(certified, email=f"attacker-{uuid.uuid4().hex[:6]}@evil.example", name="Mallory")
    attacker = Browser(certified)
    callback_url = attacker.authorize(attacker.begin(), attacker_account)  # the attacker stops here

    victim = Browser(certified)
    response = victim.callback(callback_url)
    assert response.headers["location"] == "/signin?error=wrong_browser"
    assert "atlas_session" not in victim.http.cookies
    assert victim.me().status_code == 401
    assert certified.identity_count(attacker_account) == 0  # no identity, so no user and no tenant
    page = english_page(certified, "/signin?error=wrong_browser")
    assert "started in another browser" in page
    # The flow was consumed: not even the attacker's own browser can use it now.
    assert attacker.callback(callback_url).headers["location"] == "/signin?error=bad_state"
    assert certified.identity_count(attacker_account) == 0


def test_the_same_flow_in_the_browser_that_started_it_signs_in(certified: Deployment) -> None:
    account = new_account(certified, email=f"right-{uuid.uuid4().hex[:6]}@example.sa", email_verified=True)
    browser = Browser(certified)
    authorization_url = browser.begin()
    set_cookie = browser.http.cookies.jar
    binding = [c for c in set_cookie if c.name.startswith("atlas_login_")]
    assert len(binding) == 1 and binding[0].path == "/api/auth/callback"
    response = browser.callback(browser.authorize(authorization_url, account))
    assert response.headers["location"] == "/onboarding"
    cleared = [h for h in response.headers.get_list("set-cookie") if h.startswith(binding[0].name + "=")]
    assert cleared and "max-age=0" in cleared[0].lower()
    assert "httponly" in cleared[0].lower() and "samesite=lax" in cleared[0].lower()
    assert browser.me().json()["email"].startswith("right-")


def test_two_tabs_signing_in_at_once_both_succeed(certified: Deployment) -> None:
    account = new_account(certified, email=f"tabs-{uuid.uuid4().hex[:6]}@example.sa", email_verified=True)
    browser = Browser(certified)
    first = browser.begin("/app/first")
    second = browser.begin("/app/second")
    callback_second = browser.authorize(second, account)
    callback_first = browser.authorize(first, account)  # the provider's session now answers at once
    assert browser.callback(callback_second).status_code in (302, 303)
    assert "atlas_session" in browser.http.cookies
    assert browser.callback(callback_first).headers["location"] in ("/onboarding", "/app/first")


@pytest.mark.parametrize("mode", MODES)
def test_invited_person_joins_the_inviting_tenant_with_email_and_name(
    deployments: dict[str, Deployment], mode: str
) -> None:
    deployment = deployments[mode]
    admin, me = signed_in_admin(deployment)
    email = f"invitee-{uuid.uuid4().hex[:8]}@example.sa"
    invite(admin, me, email)
    account = new_account(deployment, email=email, email_verified=True, name="Noura Invitee")
    invitee = Browser(deployment)
    response = invitee.sign_in(account, "/app/team")
    assert response.headers["location"] == "/app/team"
    joined = invitee.me().json()
    assert joined["tenant_id"] == me["tenant_id"]
    assert joined["tenant_name"] != "Atlas"
    assert joined["email"] == email
    assert joined["display_name"] == "Noura Invitee"
    assert joined["role"] == "operator"
    # The conformant provider really keeps the claims out of the id_token; the other mode puts them in.
    id_token = stored_id_token_claims(deployment, account)
    assert id_token["sub"] == account
    assert ("email" in id_token) is (mode == "id_token")


def stored_id_token_claims(deployment: Deployment, account: str) -> dict[str, Any]:
    """The claims of the id_token Atlas keeps (encrypted) with the account's newest session."""
    import base64
    import json

    from atlas.config import Settings
    from atlas.platform.crypto import SecretBox

    rows = deployment.sql(
        "SELECT s.id_token_encrypted FROM web_sessions s JOIN users u ON u.id = s.user_id "
        "JOIN auth_identities i ON i.id = u.auth_identity_id WHERE i.sub = %s ORDER BY s.created_at DESC LIMIT 1",
        (account,),
    )
    token = SecretBox(Settings(ATLAS_ENV="test").fernet_key()).decrypt(rows[0][0])
    payload = token.split(".")[1]
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return claims


def test_identity_without_email_is_refused_and_nothing_is_created(certified: Deployment) -> None:
    account = new_account(certified, name="Nobody Mail")
    tenants_before = certified.sql("SELECT count(*) FROM tenants")[0][0]
    browser = Browser(certified)
    response = browser.sign_in(account)
    assert response.headers["location"] == "/signin?error=no_email"
    assert "atlas_session" not in browser.http.cookies
    assert certified.identity_count(account) == 0
    assert certified.sql("SELECT count(*) FROM tenants")[0][0] == tenants_before
    page = english_page(certified, "/signin?error=no_email")
    assert "did not send your e-mail address" in page


@pytest.mark.parametrize("mode", MODES)
def test_unverified_email_cannot_join_by_invitation(deployments: dict[str, Deployment], mode: str) -> None:
    deployment = deployments[mode]
    admin, me = signed_in_admin(deployment)
    email = f"unverified-{uuid.uuid4().hex[:8]}@example.sa"
    invite(admin, me, email)
    account = new_account(deployment, email=email, email_verified=False, name="Not Verified")
    browser = Browser(deployment)
    response = browser.sign_in(account)
    assert response.headers["location"] == "/signin?error=email_unverified"
    assert browser.me().status_code == 401
    assert deployment.identity_count(account) == 0
    assert deployment.sql("SELECT count(*) FROM users WHERE email = %s", (email,))[0][0] == 0
    pending = admin.http.get("/api/invitations", headers={"Accept": "application/json"}).json()
    assert [i["email"] for i in pending] == [email]
    page = english_page(deployment, "/signin?error=email_unverified")
    assert "not verified" in page


def test_tampered_iss_on_the_callback_is_refused(certified: Deployment) -> None:
    account = new_account(certified, email=f"iss-{uuid.uuid4().hex[:6]}@example.sa", email_verified=True)
    browser = Browser(certified)
    callback_url = browser.authorize(browser.begin(), account)
    assert parse_qs(urlparse(callback_url).query)["iss"] == [certified.issuer]
    response = browser.callback(with_query(callback_url, iss="http://127.0.0.1:1/evil"))
    assert response.headers["location"] == "/signin?error=wrong_issuer_parameter"
    assert browser.me().status_code == 401
    assert certified.identity_count(account) == 0


def test_missing_iss_when_the_provider_advertises_it_is_refused(certified: Deployment) -> None:
    account = new_account(certified, email=f"noiss-{uuid.uuid4().hex[:6]}@example.sa", email_verified=True)
    browser = Browser(certified)
    callback_url = browser.authorize(browser.begin(), account)
    response = browser.callback(with_query(callback_url, iss=None))
    assert response.headers["location"] == "/signin?error=missing_issuer_parameter"
    assert browser.me().status_code == 401
    assert certified.identity_count(account) == 0


def test_logout_ends_the_atlas_session_and_the_providers(certified: Deployment) -> None:
    account = new_account(certified, email=f"bye-{uuid.uuid4().hex[:6]}@example.sa", email_verified=True)
    browser = Browser(certified)
    browser.sign_in(account)
    # While the provider's session lives, a new sign-in goes straight back to Atlas without a form.
    assert isinstance(browser.follow(browser.begin()), str)
    csrf = browser.me().json()["csrf_token"]

    response = browser.http.post("/api/logout", headers={"X-CSRF-Token": csrf, "Accept": "application/json"})
    assert response.status_code == 200
    logout_url = response.json()["logout_url"]
    assert logout_url.startswith(f"{certified.issuer}/session/end?")
    assert parse_qs(urlparse(logout_url).query)["id_token_hint"]
    assert browser.me().status_code == 401

    confirm = browser.follow(logout_url)
    assert isinstance(confirm, httpx.Response) and confirm.status_code == 200
    back = browser.submit(confirm, {"logout": "yes"})
    assert back == f"{certified.base_url}/signin?signed_out=1"
    page = english_page(certified, "/signin?signed_out=1")
    assert 'data-testid="signed-out"' in page

    # The provider's session is gone too: the next sign-in asks for the password again.
    outcome = browser.follow(browser.begin())
    assert isinstance(outcome, httpx.Response)
    assert 'name="password"' in outcome.text


def test_sign_out_button_in_a_real_browser_ends_the_providers_session(certified: Deployment, browser: Any) -> None:
    """Chromium: sign in with the password, press *Sign out*, confirm at the provider, land on the sign-in page;
    the next *Sign in* shows the provider's password form again."""
    email = f"chromium-{uuid.uuid4().hex[:6]}@example.sa"
    account = new_account(certified, email=email, email_verified=True, name="Chromium Person")
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    page.goto(f"{certified.base_url}/signin")
    page.locator("a[href^='/api/login']").first.click()
    page.wait_for_url(f"{certified.issuer}/interaction/**")
    page.fill("input[name=login]", account)
    page.fill("input[name=password]", "correct horse")
    page.locator("button[type=submit]").first.click()
    page.locator("input[name=prompt][value=consent]").wait_for(state="attached")
    page.locator("button[type=submit]").first.click()
    page.wait_for_url(f"{certified.base_url}/onboarding")

    page.get_by_test_id("sign-out").first.click()
    page.wait_for_url(f"{certified.issuer}/session/end**")
    page.locator("button[value=yes]").click()
    page.wait_for_url(f"{certified.base_url}/signin?signed_out=1")
    assert page.get_by_test_id("signed-out").is_visible()

    page.locator("a[href^='/api/login']").first.click()
    page.wait_for_url(f"{certified.issuer}/interaction/**")
    assert page.locator("input[name=password]").is_visible()
    context.close()
