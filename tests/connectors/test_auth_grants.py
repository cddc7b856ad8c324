"""The OAuth2 refresh-token grant (Zoho) and password grant (Daftra): through the real engine against the simulations
of those systems' token servers (tests/sims/zoho.py, tests/sims/daftra.py), and over the connector API (saved,
masked, validated with the field named, every token request audited, another tenant kept out)."""

from __future__ import annotations

import asyncio
import uuid
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
from atlas.connectors.engine.auth import SHARED_TOKENS, token_form
from atlas.execution_lock import NetworkPolicy
from tests.sims import daftra, zoho
from tests.sims.daftra_model import DaftraData
from tests.sims.zoho_model import ZohoData

OPEN = NetworkPolicy(allow_private=True)


def zoho_auth(sim: zoho.ZohoServers, **changes: Any) -> AuthConfig:
    settings: dict[str, Any] = {
        "kind": AuthKind.OAUTH2_REFRESH_TOKEN,
        "token_url": sim.token_url,
        "client_id": zoho.CLIENT_ID,
        "client_secret": zoho.CLIENT_SECRET,
        "refresh_token": zoho.REFRESH_TOKEN,
        "scheme": "Zoho-oauthtoken",
        **changes,
    }
    return AuthConfig(**settings)


def zoho_items(sim: zoho.ZohoServers, auth: AuthConfig) -> ConnectorConfig:
    return ConnectorConfig(
        base_url=sim.api + zoho.ROOT,
        auth=auth,
        endpoints=(
            EndpointConfig(
                key="items",
                resource=ResourceKind.ITEMS,
                path="/items",
                record_path="$.items",
                params={"organization_id": sim.data.organization_id},
                pagination=PaginationConfig(
                    kind=PaginationKind.PAGE,
                    page_size=50,
                    size_param="per_page",
                    has_more_path="$.page_context.has_more_page",
                ),
            ),
        ),
        rate_limit_per_second=1000,
        rate_limit_burst=1000,
        min_backoff_seconds=0.01,
    )


def daftra_auth(site: daftra.DaftraSite, **changes: Any) -> AuthConfig:
    settings: dict[str, Any] = {
        "kind": AuthKind.OAUTH2_PASSWORD,
        "token_url": site.token_url,
        "client_id": daftra.CLIENT_ID,
        "client_secret": daftra.CLIENT_SECRET,
        "username": daftra.USERNAME,
        "password": daftra.PASSWORD,
        **changes,
    }
    return AuthConfig(**settings)


def daftra_products(site: daftra.DaftraSite, auth: AuthConfig) -> ConnectorConfig:
    return ConnectorConfig(
        base_url=site.base,
        auth=auth,
        endpoints=(
            EndpointConfig(
                key="products",
                resource=ResourceKind.ITEMS,
                path="/api2/products",
                record_path="$.data",
                pagination=PaginationConfig(
                    kind=PaginationKind.PAGE, page_size=40, size_param="limit", next_path="$.pagination.next"
                ),
            ),
        ),
        rate_limit_per_second=1000,
        rate_limit_burst=1000,
    )


def read_all(config: ConnectorConfig) -> list[Any]:
    async def go() -> list[Any]:
        records: list[Any] = []
        async with ConnectorSession(config, network=OPEN) as session:
            async for page in session.read(config.endpoints[0]):
                records.extend(page.records)
        return records

    return asyncio.run(go())


def failure(config: ConnectorConfig) -> FetchError:
    with pytest.raises(FetchError) as caught:
        read_all(config)
    return caught.value


@pytest.fixture
def zoho_sim() -> Iterator[zoho.ZohoServers]:
    with zoho.zoho_servers(ZohoData(seed=8, items=130, adjustments=2)) as sim:
        yield sim


@pytest.fixture
def daftra_sim() -> Iterator[daftra.DaftraSite]:
    with daftra.daftra_site(DaftraData(seed=8, products=100, transactions=4)) as site:
        yield site


# --- the grants' forms -----------------------------------------------------------------------------------------


def test_each_grant_sends_its_own_form_and_the_client_in_the_body_unless_basic() -> None:
    refresh = AuthConfig(
        kind=AuthKind.OAUTH2_REFRESH_TOKEN, client_id="c", client_secret="s", refresh_token="r", scopes="read"
    )
    assert token_form(refresh, "body") == {
        "grant_type": "refresh_token",
        "refresh_token": "r",
        "client_id": "c",
        "client_secret": "s",
        "scope": "read",
    }
    assert token_form(refresh, "basic", refresh_token="rotated") == {
        "grant_type": "refresh_token",
        "refresh_token": "rotated",
        "scope": "read",
    }
    password = AuthConfig(kind=AuthKind.OAUTH2_PASSWORD, client_id="1", client_secret="s", username="u", password="p")
    assert token_form(password, "body") == {
        "grant_type": "password",
        "username": "u",
        "password": "p",
        "client_id": "1",
        "client_secret": "s",
    }
    assert "refresh_token=" not in repr(refresh) and "'p'" not in repr(password)  # secrets never in a repr


# --- Zoho: the refresh-token grant ------------------------------------------------------------------------------


def test_zoho_reads_every_page_with_one_token_sent_as_zoho_oauthtoken(zoho_sim: zoho.ZohoServers) -> None:
    records = read_all(zoho_items(zoho_sim, zoho_auth(zoho_sim)))
    assert [r["item_id"] for r in records] == sorted(zoho_sim.data.items, key=lambda i: zoho_sim.data.items[i].created)
    assert zoho_sim.token_requests == 1
    sent = zoho_sim.log.of(kind="token")[0]
    assert sent.body.decode() == (
        f"grant_type=refresh_token&refresh_token={zoho.REFRESH_TOKEN}&client_id={zoho.CLIENT_ID}"
        f"&client_secret={zoho.CLIENT_SECRET}"
    )
    assert "authorization" not in sent.headers
    assert {r.headers["authorization"].split(" ")[0] for r in zoho_sim.api_requests()} == {"Zoho-oauthtoken"}


@pytest.mark.parametrize(
    ("changes", "detail"),
    [({"refresh_token": "1000.revoked"}, "invalid_code"), ({"client_secret": "wrong"}, "invalid_client")],
)
def test_a_200_with_an_oauth2_error_is_a_refusal_that_says_so_asked_once(
    zoho_sim: zoho.ZohoServers, changes: dict[str, str], detail: str
) -> None:
    config = zoho_items(zoho_sim, zoho_auth(zoho_sim, **changes))

    async def go() -> list[FetchError]:
        errors = []
        async with ConnectorSession(config, network=OPEN) as session:
            for _ in range(3):
                with pytest.raises(FetchError) as caught:
                    await session.reader.first_page(config.endpoints[0])
                errors.append(caught.value)
        return errors

    errors = asyncio.run(go())
    assert [(e.reason, e.status, e.detail) for e in errors] == [("oauth2_token_refused", 200, detail)] * 3
    assert zoho_sim.token_requests == 1 and zoho_sim.api_requests() == []  # asked once, the API never reached
    assert all(next(iter(changes.values())) not in str(e.as_dict()) for e in errors)


def test_a_token_that_expires_is_renewed_before_use_and_a_revoked_one_after_its_401(
    zoho_sim: zoho.ZohoServers,
) -> None:
    zoho_sim.token_lifetime = 2
    config = zoho_items(zoho_sim, zoho_auth(zoho_sim))

    async def go() -> None:
        async with ConnectorSession(config, network=OPEN) as session:
            endpoint = config.endpoints[0]
            await session.reader.first_page(endpoint)
            assert session.auth.token_requests == 1
            await asyncio.sleep(2.0)  # past its renewal point (a tenth of its life before it ends)
            await session.reader.first_page(endpoint)
            assert session.auth.token_requests == 2 and zoho_sim.rejected_tokens == 0  # renewed, never refused
            zoho_sim.revoke_all()
            pages = await asyncio.gather(*(session.reader.first_page(endpoint) for _ in range(4)))
            assert all(len(p.records) == 50 for p in pages)
            assert session.auth.token_requests == 3  # four requests refused together: one new token

    asyncio.run(go())
    assert zoho_sim.rejected_tokens == 4


def test_sessions_share_a_token_zoho_rations_and_a_rotated_refresh_token_is_used(zoho_sim: zoho.ZohoServers) -> None:
    config = zoho_items(zoho_sim, zoho_auth(zoho_sim))
    for _ in range(12):  # more sessions than Zoho gives tokens in ten minutes
        assert len(read_all(config)) == len(zoho_sim.data.items)
    assert zoho_sim.token_requests == 1 and zoho_sim.rationed == 0
    zoho_sim.revoke_all()
    read_all(config)
    assert zoho_sim.token_requests == 2  # the shared token was dropped after its 401, not reused
    key = SHARED_TOKENS.key(config.auth, zoho_sim.token_url)
    assert zoho.REFRESH_TOKEN not in key and zoho.CLIENT_SECRET not in key  # a digest, not the secrets


# --- Daftra: the password grant ---------------------------------------------------------------------------------


def test_daftra_reads_with_a_bearer_token_from_the_password_grant(daftra_sim: daftra.DaftraSite) -> None:
    records = read_all(daftra_products(daftra_sim, daftra_auth(daftra_sim)))
    assert len(records) == len(daftra_sim.data.products) == 100
    assert daftra_sim.token_requests == 1
    form = daftra_sim.log.of(kind="token")[0].body.decode()
    assert form.startswith("grant_type=password&username=owner%40hayat-dates.sa&password=")
    assert all(r.headers["authorization"].startswith("Bearer ") for r in daftra_sim.api_requests())


@pytest.mark.parametrize(
    ("changes", "status", "detail"),
    [
        ({"password": "wrong"}, 400, "invalid_grant: The user credentials were incorrect."),
        ({"client_secret": "wrong"}, 401, "invalid_client: Client authentication failed"),
    ],
)
def test_daftra_refusals_name_passports_answer(
    daftra_sim: daftra.DaftraSite, changes: dict[str, str], status: int, detail: str
) -> None:
    error = failure(daftra_products(daftra_sim, daftra_auth(daftra_sim, **changes)))
    assert (error.reason, error.status, error.detail) == ("oauth2_token_refused", status, detail)
    assert daftra_sim.api_requests() == []


def test_the_lock_refuses_any_other_grant_before_it_leaves(zoho_sim: zoho.ZohoServers) -> None:
    # A token URL that is one of the connector's data paths is never posted to, whatever the grant.
    auth = zoho_auth(zoho_sim, token_url=zoho_sim.api + zoho.ROOT + "/items")
    error = failure(zoho_items(zoho_sim, auth))
    assert error.reason == "blocked_by_lock" and "token_url_is_a_data_path" in error.detail
    assert zoho_sim.log.of(kind="write") == [] and zoho_sim.token_requests == 0


# --- over the connector API --------------------------------------------------------------------------------------


def connector_body(sim: zoho.ZohoServers, **auth: Any) -> dict[str, Any]:
    return {
        "name": f"Zoho {uuid.uuid4().hex[:6]}",
        "base_url": sim.api + zoho.ROOT,
        "environment": "production",
        "auth": {
            "kind": "oauth2_refresh_token",
            "token_url": sim.token_url,
            "client_id": zoho.CLIENT_ID,
            "client_secret": zoho.CLIENT_SECRET,
            "refresh_token": zoho.REFRESH_TOKEN,
            "scheme": "Zoho-oauthtoken",
            **auth,
        },
        "endpoints": [
            {
                "key": "items",
                "resource": "items",
                "path": "/items",
                "record_path": "$.items",
                "params": {"organization_id": sim.data.organization_id},
            }
        ],
        "retry_attempts": 2,
    }


def audit(atlas: Any, tenant_id: str, event_type: str) -> list[dict[str, Any]]:
    rows = atlas.sql(
        "SELECT payload FROM audit_events WHERE tenant_id = %s AND event_type = %s ORDER BY seq",
        (tenant_id, event_type),
    )
    return [row[0] for row in rows]


def test_a_refresh_token_connector_is_saved_masked_tested_and_audited(atlas: Any, zoho_sim: zoho.ZohoServers) -> None:
    admin, me = atlas.new_tenant()
    created = admin.post("/api/connectors", json=connector_body(zoho_sim))
    assert created.status_code == 201, created.text
    read = created.json()["auth"]
    assert read["refresh_token"] == "••••" + zoho.REFRESH_TOKEN[-2:] and read["scheme"] == "Zoho-oauthtoken"
    assert read["client_secret"] == "••••" + zoho.CLIENT_SECRET[-2:]
    connector_id = created.json()["id"]
    tested = admin.post(f"/api/connectors/{connector_id}/test").json()
    assert tested["health_status"] == "healthy", tested
    sent = audit(atlas, me["tenant_id"], "declared_request_sent")
    assert [(e["kind"], e["url"]) for e in sent] == [("token_request", zoho_sim.token_url)]
    text = " ".join(
        str(r[0]) for r in atlas.sql("SELECT payload FROM audit_events WHERE tenant_id = %s", (me["tenant_id"],))
    )
    assert zoho.REFRESH_TOKEN not in text and zoho.CLIENT_SECRET not in text
    # An edit that leaves the secrets out keeps them; a change of kind drops them.
    kept = admin.patch(
        f"/api/connectors/{connector_id}",
        json={"auth": {**connector_body(zoho_sim)["auth"], "refresh_token": None, "client_secret": None}},
    )
    assert kept.status_code == 200, kept.text
    assert kept.json()["auth"]["refresh_token"] == read["refresh_token"]
    assert admin.post(f"/api/connectors/{connector_id}/test").json()["health_status"] == "healthy"
    # Another tenant sees nothing of it.
    other, _ = atlas.new_tenant()
    assert other.get(f"/api/connectors/{connector_id}").status_code == 404
    assert other.post(f"/api/connectors/{connector_id}/test").status_code == 404


def test_a_refused_refresh_token_is_audited_as_failed(atlas: Any, zoho_sim: zoho.ZohoServers) -> None:
    admin, me = atlas.new_tenant()
    created = admin.post("/api/connectors", json=connector_body(zoho_sim, refresh_token="1000.revoked")).json()
    tested = admin.post(f"/api/connectors/{created['id']}/test").json()
    assert [(h["reason"], h["detail"]) for h in tested["latest"]] == [("oauth2_token_refused", "invalid_code")]
    failed = audit(atlas, me["tenant_id"], "declared_request_failed")
    assert [(e["kind"], e["reason"], e["status"]) for e in failed] == [("oauth2_token", "oauth2_token_refused", 200)]


BASE = "https://erp.example.com/api"
GRANT = {"kind": "oauth2_refresh_token", "token_url": "https://accounts.zoho.sa/oauth/v2/token", "client_id": "c"}
PASSWORD = {"kind": "oauth2_password", "token_url": "https://x.daftra.com/v2/oauth/token", "client_id": "1"}


@pytest.mark.parametrize(
    ("auth", "code", "field"),
    [
        ({**GRANT, "client_secret": "s"}, "errors.auth_refresh_token_required", "auth.refresh_token"),
        ({**GRANT, "refresh_token": "r"}, "errors.auth_client_secret_required", "auth.client_secret"),
        (
            {**GRANT, "client_secret": "s", "refresh_token": "r\nx"},
            "errors.auth_value_line_break",
            "auth.refresh_token",
        ),
        (
            {**GRANT, "client_secret": "s", "refresh_token": "r", "scheme": "Zoho oauthtoken"},
            "errors.auth_scheme_invalid",
            "auth.scheme",
        ),
        (
            {**GRANT, "token_url": None, "client_secret": "s", "refresh_token": "r"},
            "errors.auth_token_url_required",
            "auth.token_url",
        ),
        ({**PASSWORD, "client_secret": "s", "password": "p"}, "errors.auth_username_required", "auth.username"),
        ({**PASSWORD, "client_secret": "s", "username": "u"}, "errors.auth_password_required", "auth.password"),
        (
            {**PASSWORD, "client_secret": "s", "username": "u", "password": "p", "token_url": f"{BASE}/items"},
            "errors.auth_token_url_is_endpoint_path",
            "auth.token_url",
        ),
    ],
)
def test_bad_grant_settings_are_refused_with_the_field_named(
    atlas: Any, auth: dict[str, Any], code: str, field: str
) -> None:
    admin, _ = atlas.new_tenant()
    body = {
        "name": "ERP",
        "base_url": BASE,
        "auth": {k: v for k, v in auth.items() if v is not None},
        "endpoints": [{"key": "items", "resource": "items", "path": "/items"}],
    }
    response = admin.post("/api/connectors", json=body, headers={"Accept-Language": "en"})
    assert response.status_code == 422, response.text
    problem = response.json()
    assert (problem["code"], problem["field"]) == (code, field)
    assert problem["detail"] and not problem["detail"].startswith("errors.")
    assert admin.get("/api/connectors").json() == []
