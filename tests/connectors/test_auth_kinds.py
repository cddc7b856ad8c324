"""Every authentication kind against a local server that enforces it exactly, through the real engine.

The servers are simulations of real systems (tests/sims): InvenTree's ``Token`` scheme, Frappe's ``token
key:secret``, a strict OAuth2 provider (one client authentication method, RFC 8414 metadata) and SAP Business
One's Service Layer (cookie sessions that expire). Every request they receive is in their logs and the canary.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterator
from typing import Any

import pytest

from atlas.connectors.engine import (
    AuthConfig,
    AuthKind,
    ConnectorConfig,
    ConnectorSession,
    EndpointConfig,
    FetchError,
    PaginationConfig,
    PaginationKind,
    ResourceKind,
)
from atlas.connectors.engine.auth import (
    Authenticator,
    challenge_hint,
    client_basic_authorization,
    metadata_urls,
)
from atlas.execution_lock import NetworkPolicy, ReadOnlyHttp
from tests.sims import oauth_server as oauth
from tests.sims import sap_b1 as sap
from tests.sims import token_servers as tokens
from tests.sims.canary import CANARY

OPEN = NetworkPolicy(allow_private=True)


def endpoint(path: str, record_path: str = "$", key: str = "items", **pagination: Any) -> EndpointConfig:
    params = pagination.pop("params", {})
    return EndpointConfig(
        key=key,
        resource=ResourceKind.ITEMS,
        path=path,
        record_path=record_path,
        params=params,
        pagination=PaginationConfig(**pagination),
    )


def connector(base_url: str, auth: AuthConfig, *endpoints: EndpointConfig, **options: Any) -> ConnectorConfig:
    options.setdefault("min_backoff_seconds", 0.01)
    options.setdefault("rate_limit_per_second", 1000)
    options.setdefault("rate_limit_burst", 1000)
    return ConnectorConfig(base_url=base_url, endpoints=endpoints, auth=auth, **options)


async def read(session: ConnectorSession, key: str | None = None) -> list[Any]:
    target = session.config.endpoint(key) if key else session.config.endpoints[0]
    records: list[Any] = []
    async for page in session.read(target):
        records.extend(page.records)
    return records


def read_all(config: ConnectorConfig, key: str | None = None) -> list[Any]:
    async def go() -> list[Any]:
        async with ConnectorSession(config, network=OPEN) as session:
            return await read(session, key)

    return asyncio.run(go())


def failure(config: ConnectorConfig) -> FetchError:
    with pytest.raises(FetchError) as caught:
        read_all(config)
    return caught.value


# --- the hint of a 401 and the pieces of a request ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "hint"),
    [
        ("Token", "Token"),
        ('Bearer realm="inventory", error="invalid_token", error_description="expired"', 'Bearer realm="inventory"'),
        ('Basic realm="a, b", charset="UTF-8"', 'Basic realm="a, b"'),
        (
            'Newauth realm="apps", type=1, title="Login to \\"apps\\"", Basic realm="simple"',
            'Newauth realm="apps", Basic realm="simple"',
        ),
        ("Negotiate YIIBhg==", "Negotiate"),
        ("", None),
        (None, None),
        ('Bearer realm="' + "x" * 300 + '"', 'Bearer realm="' + "x" * 60 + '"'),
    ],
)
def test_a_401_hint_keeps_only_schemes_and_realms(header, hint):
    assert challenge_hint(header) == hint


def test_a_hint_is_never_longer_than_a_hundred_characters():
    header = ", ".join(f'Scheme{n} realm="{"r" * 50}"' for n in range(10))
    hint = challenge_hint(header)
    assert hint is not None and len(hint) <= 100 and hint.startswith('Scheme0 realm="')


def test_metadata_locations_follow_rfc8414_and_openid_discovery():
    assert metadata_urls("https://as.example.com") == [
        "https://as.example.com/.well-known/oauth-authorization-server",
        "https://as.example.com/.well-known/openid-configuration",
    ]
    assert metadata_urls("https://as.example.com/tenant/v2/") == [
        "https://as.example.com/.well-known/oauth-authorization-server/tenant/v2",
        "https://as.example.com/tenant/v2/.well-known/openid-configuration",
    ]


def test_client_basic_form_urlencodes_id_and_secret_before_base64():
    header = client_basic_authorization("atlas reader@erp", "s3cr3t:/+&= value")
    decoded = base64.b64decode(header.removeprefix("Basic ")).decode()
    assert decoded == "atlas+reader%40erp:s3cr3t%3A%2F%2B%26%3D+value"


# --- static credentials: HTTP Basic and an Authorization header with any scheme ------------------------------------


@pytest.fixture(scope="module")
def inventree() -> Iterator[tokens.TokenServer]:
    with tokens.inventree_style() as server:
        yield server


@pytest.fixture(scope="module")
def frappe() -> Iterator[tokens.TokenServer]:
    with tokens.frappe_style() as server:
        yield server


def test_http_basic_against_a_server_that_checks_it(inventree):
    user, password = tokens.INVENTREE_USER
    config = connector(
        inventree.base, AuthConfig(kind=AuthKind.BASIC, username=user, password=password), endpoint("/api/part/")
    )
    inventree.log.clear()
    assert read_all(config) == tokens.PARTS
    expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    assert inventree.authorizations() == [expected]


def test_the_token_scheme_of_inventree_is_sent_exactly(inventree):
    auth = AuthConfig(kind=AuthKind.HEADER, scheme="Token", credential=tokens.INVENTREE_KEY)
    inventree.log.clear()
    assert read_all(connector(inventree.base, auth, endpoint("/api/part/"))) == tokens.PARTS
    assert inventree.authorizations() == [f"Token {tokens.INVENTREE_KEY}"]


def test_frappe_token_key_secret_is_sent_exactly_as_configured(frappe):
    auth = AuthConfig(kind=AuthKind.HEADER, scheme="token", credential=f"{tokens.FRAPPE_KEY}:{tokens.FRAPPE_SECRET}")
    frappe.log.clear()
    assert read_all(connector(frappe.base, auth, endpoint("/api/resource/Item", "$.data"))) == tokens.FRAPPE_ITEMS
    assert frappe.authorizations() == [f"token {tokens.FRAPPE_KEY}:{tokens.FRAPPE_SECRET}"]


def test_a_bearer_sent_to_inventree_fails_with_the_token_hint(inventree):
    config = connector(
        inventree.base, AuthConfig(kind=AuthKind.BEARER, token=tokens.INVENTREE_KEY), endpoint("/api/part/")
    )
    error = failure(config)
    assert (error.reason, error.status, error.hint) == ("unauthorized", 401, "Token")
    assert error.detail == "Authentication credentials were not provided."
    assert error.as_dict()["hint"] == "Token"
    assert tokens.INVENTREE_KEY not in str(error.as_dict())

    async def check() -> Any:
        async with ConnectorSession(config, network=OPEN) as session:
            return await session.check(config.endpoints[0])

    health = asyncio.run(check())
    assert (health.ok, health.status, health.reason, health.hint) == (False, 401, "unauthorized", "Token")


def test_a_wrong_frappe_secret_fails_without_a_hint(frappe):
    auth = AuthConfig(kind=AuthKind.HEADER, scheme="token", credential=f"{tokens.FRAPPE_KEY}:wrong")
    error = failure(connector(frappe.base, auth, endpoint("/api/resource/Item", "$.data")))
    assert (error.reason, error.status, error.hint) == ("unauthorized", 401, None)


# --- OAuth2 client credentials --------------------------------------------------------------------------------------


def oauth2(server: oauth.OAuthServer, **options: Any) -> AuthConfig:
    options.setdefault("token_url", server.token_url)
    return AuthConfig(
        kind=AuthKind.OAUTH2_CLIENT_CREDENTIALS,
        client_id=oauth.CLIENT_ID,
        client_secret=oauth.CLIENT_SECRET,
        scopes="inventory.read",
        **options,
    )


def oauth_items(server: oauth.OAuthServer, auth: AuthConfig) -> ConnectorConfig:
    return connector(server.base, auth, endpoint("/api/items", "$.items"))


@pytest.mark.parametrize("required", ["client_secret_basic", "client_secret_post"])
def test_the_client_authentication_the_provider_requires(required):
    chosen = "basic" if required == "client_secret_basic" else "body"
    other = "body" if chosen == "basic" else "basic"
    with oauth.oauth_server(method=required) as server:
        assert read_all(oauth_items(server, oauth2(server, client_auth=chosen))) == oauth.ITEMS
        sent = server.log.of(kind="token")[-1]
        if chosen == "basic":
            assert sent.headers["authorization"] == client_basic_authorization(oauth.CLIENT_ID, oauth.CLIENT_SECRET)
            assert b"client_secret" not in sent.body
        else:
            assert "authorization" not in sent.headers and b"client_secret=" in sent.body

        before = server.token_requests
        error = failure(oauth_items(server, oauth2(server, client_auth=other)))
        assert (error.reason, error.status, error.hint) == ("oauth2_token_refused", 401, 'Basic realm="oauth"')
        assert error.detail == "invalid_client"
        assert server.token_requests == before + 1


def test_issuer_metadata_gives_the_token_endpoint_and_the_client_authentication():
    with oauth.oauth_server(method="client_secret_basic", issuer_path="/tenant-a") as server:
        auth = oauth2(server, token_url=None, issuer=server.issuer)  # client_auth not chosen: the metadata decides
        assert read_all(oauth_items(server, auth)) == oauth.ITEMS
        reads = [r.path for r in server.log.of(kind="read")]
        assert reads[0] == "/.well-known/oauth-authorization-server/tenant-a"  # RFC 8414 3: before the path
        assert server.log.of(kind="token")[0].headers["authorization"].startswith("Basic ")


def test_openid_discovery_when_the_provider_publishes_no_rfc8414_document():
    with oauth.oauth_server(method="client_secret_post", metadata="openid", issuer_path="/realms/erp") as server:
        auth = oauth2(server, token_url=None, issuer=server.issuer)
        assert read_all(oauth_items(server, auth)) == oauth.ITEMS
        reads = [r.path for r in server.log.of(kind="read")]
        assert reads[:2] == [
            "/.well-known/oauth-authorization-server/realms/erp",
            "/realms/erp/.well-known/openid-configuration",
        ]
        assert b"client_secret=" in server.log.of(kind="token")[0].body  # the provider supports only post


def test_metadata_naming_another_issuer_is_refused_before_any_token_request():
    with oauth.oauth_server(metadata_issuer="https://evil.example.com") as server:
        error = failure(oauth_items(server, oauth2(server, token_url=None, issuer=server.issuer)))
        assert error.reason == "oauth2_issuer_mismatch" and "evil.example.com" in error.detail
        assert server.token_requests == 0


@pytest.mark.parametrize(
    ("answer", "detail"), [("html", "an HTML page, not a token"), ("no_token", "no access_token in the answer")]
)
def test_a_token_answer_that_is_not_a_token_is_asked_once_then_every_page_fails_at_once(answer, detail):
    with oauth.oauth_server(token_answer=answer) as server:
        config = connector(
            server.base,
            oauth2(server, client_auth="basic"),
            endpoint("/api/items", "$.items"),
            endpoint("/api/items", "$.items", key="again"),
            max_concurrency=4,
        )

        async def go() -> list[FetchError]:
            errors = []
            async with ConnectorSession(config, network=OPEN) as session:
                for key in ("items", "again", "items"):
                    with pytest.raises(FetchError) as caught:
                        await read(session, key)
                    errors.append(caught.value)
                results = await asyncio.gather(*(session.check(e) for e in config.endpoints), return_exceptions=True)
                assert all(getattr(r, "reason", None) == "oauth2_token_invalid" for r in results)
            return errors

        errors = asyncio.run(go())
        assert [(e.reason, e.detail) for e in errors] == [("oauth2_token_invalid", detail)] * 3
        assert server.token_requests == 1  # one request for the whole session, not one per page
        assert server.log.of(path="/api/items") == []


def test_a_revoked_token_is_renewed_once_for_requests_that_fail_together():
    with oauth.oauth_server() as server:
        config = connector(server.base, oauth2(server, client_auth="basic"), endpoint("/api/items", "$.items"))

        async def go() -> None:
            async with ConnectorSession(config, network=OPEN) as session:
                await read(session)
                server.revoke_all()
                pages = await asyncio.gather(*(session.reader.first_page(config.endpoints[0]) for _ in range(4)))
                assert all(p.records == oauth.ITEMS for p in pages)

        asyncio.run(go())
        assert server.token_requests == 2


# --- session login (SAP Business One Service Layer) -----------------------------------------------------------------


def sap_auth(server: sap.SapB1, password: str = sap.PASSWORD, **options: Any) -> AuthConfig:
    return AuthConfig(
        kind=AuthKind.SESSION_LOGIN,
        login_url=f"{server.base}{sap.ROOT}/Login",
        login_fields=(("CompanyDB", sap.COMPANY_DB),),
        username=sap.USER,
        password=password,
        **options,
    )


def sap_items(server: sap.SapB1, auth: AuthConfig, **options: Any) -> ConnectorConfig:
    return connector(
        server.base,
        auth,
        endpoint(
            f"{sap.ROOT}/Items",
            "$.value",
            params={"$select": "ItemCode,ItemName,ItemWarehouseInfoCollection"},
            kind=PaginationKind.CURSOR,
            cursor_source="next_url",
            cursor_path="$['@odata.nextLink']",
        ),
        endpoint(f"{sap.ROOT}/Warehouses", "$.value", key="warehouses"),
        **options,
    )


def codes(records: list[Any]) -> list[str]:
    return [r["ItemCode"] for r in records]


def test_session_login_keeps_the_cookies_and_reads_every_page():
    with sap.sap_b1() as server:
        records = read_all(sap_items(server, sap_auth(server)))
        assert codes(records) == codes(server.items) and len(records) == 45
        assert records[0]["ItemWarehouseInfoCollection"][0].keys() >= {
            "WarehouseCode",
            "InStock",
            "Committed",
            "Ordered",
        }
        assert server.logins == 1
        login = server.log.of(kind="login")[0]
        assert login.headers["content-type"] == "application/json"
        import json

        assert json.loads(login.body) == {"CompanyDB": sap.COMPANY_DB, "UserName": sap.USER, "Password": sap.PASSWORD}
        reads = server.log.of(kind="read")
        assert len(reads) == 3  # 20 + 20 + 5, following the relative @odata.nextLink
        assert all(
            "B1SESSION=" in r.headers.get("cookie", "") and "ROUTEID=.node1" in r.headers["cookie"] for r in reads
        )
        assert [s.kind for s in CANARY.seen(system="sap_b1")][-4:] == ["login", "read", "read", "read"]


def test_an_expired_session_is_renewed_once_and_the_read_completes_exactly():
    with sap.sap_b1(expire_after_reads=1) as server:
        records = read_all(sap_items(server, sap_auth(server)))
        assert codes(records) == codes(server.items)  # every item once, in order
        assert server.logins == 2
        statuses = [r.kind for r in server.log.received]
        assert statuses == ["login", "read", "read", "login", "read", "read"]  # page 2 met the expiry, then again


def test_requests_failing_together_on_an_expired_session_cause_one_login():
    with sap.sap_b1() as server:
        config = sap_items(server, sap_auth(server), max_concurrency=4)

        async def go() -> None:
            async with ConnectorSession(config, network=OPEN) as session:
                await read(session, "warehouses")
                server.expire_all()
                pages = await asyncio.gather(
                    *(session.reader.first_page(config.endpoint("warehouses")) for _ in range(4))
                )
                assert all(len(p.records) == 3 for p in pages)

        asyncio.run(go())
        assert server.logins == 2


def test_a_session_idle_longer_than_its_timeout_is_renewed_before_the_next_request():
    with sap.sap_b1() as server:
        now = [1000.0]

        async def go() -> None:
            async with ReadOnlyHttp(network=OPEN, login_urls=[f"{server.base}{sap.ROOT}/Login"]) as http:
                auth = Authenticator(sap_auth(server, session_idle_minutes=25), http, clock=lambda: now[0])
                await auth.apply({}, {})
                now[0] += 24 * 60
                await auth.apply({}, {})
                assert server.logins == 1  # used within its idle time
                now[0] += 25 * 60 + 1
                await auth.apply({}, {})
                assert server.logins == 2 and auth.logins == 2  # idle too long: logged in again, no 401 needed

        asyncio.run(go())


@pytest.mark.parametrize(
    ("options", "password", "reason", "status", "detail"),
    [
        ({}, "wrong", "session_login_failed", 401, "Login failed"),
        ({"login_answer": "html"}, sap.PASSWORD, "session_login_invalid", 200, "an HTML page"),
        (
            {"login_answer": "no_session"},
            sap.PASSWORD,
            "session_login_invalid",
            200,
            "no session cookie and no session id",
        ),
    ],
)
def test_a_failed_login_is_not_retried_in_a_loop(options, password, reason, status, detail):
    with sap.sap_b1(**options) as server:
        config = sap_items(server, sap_auth(server, password=password))

        async def go() -> list[FetchError]:
            errors = []
            async with ConnectorSession(config, network=OPEN) as session:
                for key in ("items", "warehouses", "items"):
                    with pytest.raises(FetchError) as caught:
                        await read(session, key)
                    errors.append(caught.value)
                health = [await session.check(e) for e in config.endpoints]
                assert [h.reason for h in health] == [reason, reason]
            return errors

        errors = asyncio.run(go())
        assert [(e.reason, e.status, e.detail) for e in errors] == [(reason, status, detail)] * 3
        assert server.logins == 1  # one login for the whole session
        assert server.log.of(kind="read") == []
        assert sap.PASSWORD not in str([e.as_dict() for e in errors])
