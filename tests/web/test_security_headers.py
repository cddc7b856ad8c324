"""The web's standard defences (issue 16): security headers on every answer, /metrics behind a token,
X-Forwarded-For believed only from configured proxies, and Retry-After on every 429."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import httpx
import pytest
from pydantic import ValidationError

from atlas.config import Settings
from atlas.web.security_headers import API_POLICY, origin
from tests.conftest import Atlas
from tests.services import atlas_serve_process, atlas_server

METRICS_TOKEN = secrets.token_urlsafe(24)
MOYASAR_URL = "http://127.0.0.1:9/v1"  # never called here: only its origin goes into the payment page's CSP


def directives(policy: str) -> dict[str, list[str]]:
    parsed: dict[str, list[str]] = {}
    for part in policy.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


@pytest.fixture(scope="module")
def defended(database_url: str, oidc_url: str) -> Iterator[Atlas]:
    """Atlas with a metrics token, a token-creation limit of three a minute and payments configured."""
    settings = {
        "DATABASE_URL": database_url,
        "OIDC_ISSUER": oidc_url,
        "TEMPORAL_ADDRESS": "127.0.0.1:1",
        "ATLAS_METRICS_TOKEN": METRICS_TOKEN,
        "ATLAS_TOKEN_RATE_LIMIT": 3,
        "MOYASAR_BASE_URL": MOYASAR_URL,
        "MOYASAR_SECRET_KEY": "sk_test_" + "a" * 24,
        "MOYASAR_PUBLISHABLE_KEY": "pk_test_" + "b" * 24,
    }
    with atlas_server(settings) as base_url:
        yield Atlas(base_url, oidc_url, database_url)


# --- headers ---------------------------------------------------------------------------------------------


def assert_common(response: httpx.Response) -> None:
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert "strict-transport-security" not in response.headers  # the base URL is http


def assert_page_policy(response: httpx.Response, *, oidc_url: str) -> dict[str, list[str]]:
    assert response.headers["content-type"].startswith("text/html")
    policy = directives(response.headers["content-security-policy"])
    assert policy["script-src"] == ["'self'"]  # no inline script, no inline handler, no eval
    assert policy["style-src"] == ["'self'"]  # no style= attribute, no <style>
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["form-action"] == ["'self'", origin(oidc_url)]
    assert all("*" not in value for values in policy.values() for value in values)
    assert_common(response)
    return policy


def test_pages_carry_a_strict_content_security_policy(defended):
    signed_in, _ = defended.new_tenant()
    for client, path in ((defended.client(), "/signin"), (defended.client(), "/"), (signed_in, "/app/subscription")):
        response = client.get(path)
        assert response.status_code == 200, path
        policy = assert_page_policy(response, oidc_url=defended.oidc_url)
        # The payment form sends the card from the browser to Moyasar; nothing else leaves the page.
        assert policy["connect-src"] == ["'self'", "http://127.0.0.1:9"]
        assert "unsafe-inline" not in response.headers["content-security-policy"]


def test_api_static_metrics_and_errors_get_the_restrictive_policy(defended):
    client = defended.client()
    answers = {
        "problem 401": client.get("/api/members"),
        "unknown api path": client.get("/api/nothing-here"),
        "health": client.get("/health"),
        "openapi": client.get("/schema/openapi.json"),
        "static script": client.get("/static/atlas.js"),
        "static style": client.get("/static/atlas.css"),
        "metrics": client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}),
        "method not allowed": client.delete("/health"),
    }
    assert answers["unknown api path"].status_code == 404
    assert answers["static script"].status_code == 200
    for name, response in answers.items():
        assert response.headers["content-security-policy"] == API_POLICY, name
        assert_common(response)


def test_an_unknown_page_answers_an_html_404_with_the_page_policy(defended):
    response = defended.client(headers={"Accept": "text/html"}).get("/no-such-page")
    assert response.status_code == 404
    assert_page_policy(response, oidc_url=defended.oidc_url)


def test_hsts_only_when_the_base_url_is_https(database_url, oidc_url):
    settings = {
        "DATABASE_URL": database_url,
        "OIDC_ISSUER": oidc_url,
        "TEMPORAL_ADDRESS": "127.0.0.1:1",
        "ATLAS_BASE_URL": "https://atlas.example.sa",
    }
    with atlas_server(settings) as base_url, httpx.Client(base_url=base_url) as client:
        for path in ("/signin", "/api/members", "/static/atlas.css", "/api/nothing-here"):
            assert client.get(path).headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
        # Without payments configured the page talks to Atlas alone.
        assert directives(client.get("/signin").headers["content-security-policy"])["connect-src"] == ["'self'"]


def test_origins_come_from_http_urls_only():
    assert origin("https://api.moyasar.com/v1") == "https://api.moyasar.com"
    assert origin("http://user:pw@127.0.0.1:9400/realms/x") == "http://127.0.0.1:9400"
    assert origin("HTTPS://Login.Example.SA") == "https://login.example.sa"
    for bad in (None, "", "javascript:alert(1)", "https://*.example.sa", "data:text/html,x", "/relative"):
        assert origin(bad) is None


# --- /metrics ----------------------------------------------------------------------------------------------


def test_metrics_need_the_token(defended):
    client = defended.client(headers={"Accept-Language": "en"})
    client.get("/health")
    missing = client.get("/metrics")
    wrong = client.get("/metrics", headers={"Authorization": "Bearer " + "x" * len(METRICS_TOKEN)})
    api_token = client.get("/metrics", headers={"Authorization": "Bearer atl_not_the_metrics_token"})
    for response in (missing, wrong, api_token):
        assert response.status_code == 401
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert "ATLAS_METRICS_TOKEN" in response.json()["detail"]
        assert "atlas_request" not in response.text
    scraped = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert scraped.status_code == 200
    assert "atlas_requests_total" in scraped.text


def test_metrics_are_404_when_no_token_is_configured(atlas):
    for headers in ({}, {"Authorization": f"Bearer {METRICS_TOKEN}"}):
        response = atlas.client(headers=headers).get("/metrics")
        assert response.status_code == 404
        assert response.json()["type"] == "urn:atlas:problem:not-found"


def test_settings_refuse_a_short_metrics_token_and_a_proxy_that_is_not_an_address():
    with pytest.raises(ValidationError, match="ATLAS_METRICS_TOKEN"):
        Settings(ATLAS_METRICS_TOKEN="short")
    with pytest.raises(ValidationError, match=r"proxy\.example"):
        Settings(ATLAS_TRUSTED_PROXIES="10.0.0.0/8, proxy.example")
    assert Settings(ATLAS_METRICS_TOKEN=" ").metrics_token is None
    assert Settings(ATLAS_TRUSTED_PROXIES="").trusted_proxy_networks == []
    assert Settings(ATLAS_TRUSTED_PROXIES="127.0.0.1, 10.0.0.0/8, ::1").trusted_proxy_networks == [
        "127.0.0.1/32",
        "10.0.0.0/8",
        "::1/128",
    ]


# --- rate limits: who the client is, and Retry-After ----------------------------------------------------------


def test_a_429_says_when_to_retry(defended):
    admin, _ = defended.new_tenant()
    answers = [
        admin.post("/api/tokens", json={"name": f"t{i}", "role": "viewer", "expires_in_days": 1}) for i in range(4)
    ]
    assert [r.status_code for r in answers] == [201, 201, 201, 429]
    refused = answers[-1]
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["type"] == "urn:atlas:problem:too-many-requests"
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert all("retry-after" not in r.headers for r in answers[:3])


def sign_in_starts(base_url: str, forwarded_for: list[str]) -> list[str]:
    """Where each GET /api/login sends the browser: the provider, or back with error=rate_limited."""
    with httpx.Client(base_url=base_url, follow_redirects=False) as client:
        return [client.get("/api/login", headers={"X-Forwarded-For": xff}).headers["location"] for xff in forwarded_for]


def test_a_new_forwarded_for_from_loopback_does_not_lift_the_limit(database_url, oidc_url):
    # `atlas serve` as production runs it: neither uvicorn nor Atlas believes X-Forwarded-For from anyone.
    settings = {
        "DATABASE_URL": database_url,
        "OIDC_ISSUER": oidc_url,
        "TEMPORAL_ADDRESS": "127.0.0.1:1",
        "ATLAS_LOGIN_RATE_LIMIT": "3",
        "ATLAS_LOG_LEVEL": "WARNING",
    }
    with atlas_serve_process(settings) as (base_url, _pid):
        locations = sign_in_starts(base_url, [f"203.0.113.{i}" for i in range(1, 7)])
    assert [loc.startswith(oidc_url) for loc in locations] == [True, True, True, False, False, False]
    assert locations[3:] == ["/signin?error=rate_limited"] * 3


def test_a_trusted_proxy_names_the_client(database_url, oidc_url):
    settings = {
        "DATABASE_URL": database_url,
        "OIDC_ISSUER": oidc_url,
        "TEMPORAL_ADDRESS": "127.0.0.1:1",
        "ATLAS_LOGIN_RATE_LIMIT": 2,
        "ATLAS_TRUSTED_PROXIES": "127.0.0.0/8",
    }
    limited = "/signin?error=rate_limited"
    with atlas_server(settings) as base_url:
        first = sign_in_starts(base_url, ["198.51.100.1"] * 3)
        # The client in front of the proxy is the right-most address the proxies did not add: a value the
        # client itself put first changes nothing.
        spoofed = sign_in_starts(base_url, ["192.0.2.77, 198.51.100.1", "192.0.2.78, 198.51.100.1"])
        other = sign_in_starts(base_url, ["198.51.100.2"])
    assert [loc == limited for loc in first] == [False, False, True]
    assert spoofed == [limited, limited]
    assert other[0].startswith(oidc_url)
