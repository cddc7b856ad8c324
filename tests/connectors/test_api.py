"""The connector API end to end: validation, masked secrets, health checks, audit, tenants and roles."""

from __future__ import annotations

import asyncio
import io
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from atlas.config import Settings
from atlas.db.engine import Database
from atlas.execution_lock import ExecutionBlocked, GuardedTransport, NetworkPolicy
from atlas.execution_lock.audit import blocked_auditor
from atlas.platform.audit import Actor
from tests.connectors.oddapi import OddApi, odd_api
from tests.services import atlas_server

SECRET = "SUPER-SECRET-key-0042"


@pytest.fixture(scope="module")
def api() -> Iterator[OddApi]:
    with odd_api() as server:
        yield server


def connector_body(api: OddApi, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": f"ERP {uuid.uuid4().hex[:6]}",
        "base_url": api.base,
        "environment": "production",
        "auth": {"kind": "api_key", "key_name": "X-API-Key", "api_key": "k-123"},
        "endpoints": [
            {"key": "items", "resource": "items", "path": "/auth/header", "record_path": "$.items"},
            {"key": "locations", "resource": "locations", "path": "/parents", "record_path": "$.locations"},
            {
                "key": "balances",
                "resource": "stock_balances",
                "path": "/parents/{parent.id}/stock",
                "record_path": "$.stock",
                "parent": "locations",
            },
        ],
        "rate_limit_per_second": 50,
        "rate_limit_burst": 10,
    }
    body.update(overrides)
    return body


def test_create_read_and_secrets_stay_masked_and_encrypted(atlas, api):
    admin, me = atlas.new_tenant()
    body = connector_body(api, auth={"kind": "api_key", "key_name": "X-API-Key", "api_key": SECRET})
    created = admin.post("/api/connectors", json=body)
    assert created.status_code == 201, created.text
    connector = created.json()
    assert connector["auth"]["api_key"] == "••••42" and connector["auth"]["key_name"] == "X-API-Key"
    assert [e["key"] for e in connector["endpoints"]] == ["items", "locations", "balances"]
    assert connector["health_status"] == "unknown"
    for response in (admin.get("/api/connectors"), admin.get(f"/api/connectors/{connector['id']}")):
        assert SECRET not in response.text
    stored = atlas.sql(
        "SELECT secrets_encrypted, auth_settings::text FROM connectors WHERE id = %s", (connector["id"],)
    )[0]
    assert SECRET not in stored[0] and SECRET not in stored[1]
    audit = atlas.sql("SELECT payload::text FROM audit_events WHERE tenant_id = %s", (me["tenant_id"],))
    assert all(SECRET not in row[0] for row in audit)
    assert "connector_created" in {
        r[0] for r in atlas.sql("SELECT event_type FROM audit_events WHERE tenant_id = %s", (me["tenant_id"],))
    }


def test_update_keeps_omitted_secrets_and_records_what_changed(atlas, api):
    admin, me = atlas.new_tenant()
    connector = admin.post("/api/connectors", json=connector_body(api)).json()
    response = admin.patch(
        f"/api/connectors/{connector['id']}",
        json={"name": "Renamed ERP", "auth": {"kind": "api_key", "key_name": "X-API-Key"}},
    )
    assert response.status_code == 200, response.text
    assert response.json()["name"] == "Renamed ERP" and response.json()["auth"]["api_key"] == "••••"
    tested = admin.post(f"/api/connectors/{connector['id']}/test")
    assert tested.json()["health_status"] == "healthy"  # the stored key still works
    cleared = admin.patch(f"/api/connectors/{connector['id']}", json={"auth": {"kind": "api_key", "api_key": ""}})
    assert cleared.status_code == 422 and cleared.json()["code"] == "errors.auth_api_key_required"
    payload = atlas.sql(
        "SELECT payload FROM audit_events WHERE tenant_id = %s AND event_type = 'connector_updated'", (me["tenant_id"],)
    )[0][0]
    assert payload["changed"] == ["auth_kind", "auth_settings", "name"] and payload["credentials_changed"] is False


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"base_url": "ftp://erp.example"}, "errors.connector_url", "base_url"),
        ({"base_url": "https://user:pw@erp.example"}, "errors.connector_url_credentials", "base_url"),
        ({"base_url": "https://erp.example/api?key=1"}, "errors.connector_url_query", "base_url"),
        ({"auth": {"kind": "api_key"}}, "errors.auth_api_key_required", "auth.api_key"),
        ({"auth": {"kind": "bearer"}}, "errors.auth_token_required", "auth.token"),
        (
            {"auth": {"kind": "oauth2_client_credentials", "client_id": "x", "client_secret": "y"}},
            "errors.auth_token_url_required",
            "auth.token_url",
        ),
        ({"endpoints": []}, "errors.connector_needs_endpoint", "endpoints"),
        (
            {"endpoints": [{"key": "a", "resource": "items", "path": "/x", "record_path": "$[?(@.x"}]},
            "errors.jsonpath_invalid",
            "endpoints[0].record_path",
        ),
        (
            {"endpoints": [{"key": "a", "resource": "items", "path": "/x/{parent.id}"}]},
            "errors.endpoint_placeholder_without_parent",
            "endpoints[0].path",
        ),
        (
            {"endpoints": [{"key": "a", "resource": "items", "path": "/x/{parent.id}", "parent": "zzz"}]},
            "errors.endpoint_parent_unknown",
            "endpoints[0].parent",
        ),
        (
            {"endpoints": [{"key": "a", "resource": "items", "path": "/x", "pagination": {"kind": "cursor"}}]},
            "errors.cursor_path_required",
            "endpoints[0].pagination.cursor_path",
        ),
        (
            {
                "endpoints": [
                    {"key": "a", "resource": "items", "path": "/x", "pagination": {"kind": "page", "page_size": 0}}
                ]
            },
            "errors.out_of_range",
            "endpoints[0].pagination.page_size",
        ),
        ({"rate_limit_per_second": 0}, "errors.out_of_range", "rate_limit_per_second"),
    ],
)
def test_bad_configuration_is_refused_with_the_field_named(atlas, api, change, code, field):
    admin, _ = atlas.new_tenant()
    response = admin.post("/api/connectors", json=connector_body(api, **change))
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == code and body["field"] == field
    assert admin.get("/api/connectors").json() == []


def test_unknown_kinds_and_fields_are_validation_errors(atlas, api):
    admin, _ = atlas.new_tenant()
    for body in (
        connector_body(api, auth={"kind": "magic"}),
        {**connector_body(api), "surprise": 1},
        connector_body(api, endpoints=[{"key": "a", "resource": "orders", "path": "/x"}]),
    ):
        response = admin.post("/api/connectors", json=body)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith("application/problem+json")


def test_test_endpoint_checks_every_endpoint_and_keeps_history(atlas, api):
    admin, me = atlas.new_tenant()
    body = connector_body(api)
    body["endpoints"].append({"key": "broken", "resource": "stock_movements", "path": "/forbidden"})
    connector = admin.post("/api/connectors", json=body).json()
    result = admin.post(f"/api/connectors/{connector['id']}/test")
    assert result.status_code == 200, result.text
    health = result.json()
    assert health["health_status"] == "degraded"
    latest = {h["endpoint"]: h for h in health["latest"]}
    assert latest["items"]["ok"] and latest["items"]["sample_count"] == 3
    assert latest["balances"]["ok"] and latest["balances"]["sample_count"] == 4
    assert not latest["broken"]["ok"] and latest["broken"]["status_code"] == 403
    assert latest["broken"]["detail"] == "key lacks scope inventory:read"
    admin.post(f"/api/connectors/{connector['id']}/test")
    history = admin.get(f"/api/connectors/{connector['id']}/health").json()
    assert len(history["history"]) == 8
    assert admin.get(f"/api/connectors/{connector['id']}").json()["health_status"] == "degraded"


def test_delete_removes_the_connector_and_its_history(atlas, api):
    admin, _ = atlas.new_tenant()
    connector = admin.post("/api/connectors", json=connector_body(api)).json()
    admin.post(f"/api/connectors/{connector['id']}/test")
    assert admin.delete(f"/api/connectors/{connector['id']}").status_code == 204
    assert admin.get(f"/api/connectors/{connector['id']}").status_code == 404
    assert atlas.sql("SELECT count(*) FROM connector_health_checks WHERE connector_id = %s", (connector["id"],)) == [
        (0,)
    ]


def test_other_tenant_and_roles(atlas, api):
    admin_a, _ = atlas.new_tenant()
    admin_b, _ = atlas.new_tenant()
    connector = admin_b.post("/api/connectors", json=connector_body(api)).json()
    cid = connector["id"]
    for method, path, body in [
        ("GET", f"/api/connectors/{cid}", None),
        ("PATCH", f"/api/connectors/{cid}", {"name": "stolen"}),
        ("DELETE", f"/api/connectors/{cid}", None),
        ("POST", f"/api/connectors/{cid}/test", None),
        ("GET", f"/api/connectors/{cid}/health", None),
    ]:
        assert admin_a.request(method, path, json=body).status_code == 404
    assert admin_a.get("/api/connectors").json() == []
    assert admin_b.get(f"/api/connectors/{cid}").json()["name"] == connector["name"]
    for role in ("viewer", "operator"):
        client = atlas.token_client(admin_b, role)
        assert client.get("/api/connectors").status_code == 200
        assert client.get(f"/api/connectors/{cid}/health").status_code == 200
        assert client.post("/api/connectors", json=connector_body(api)).status_code == 403
        assert client.patch(f"/api/connectors/{cid}", json={"name": "x"}).status_code == 403
        assert client.post(f"/api/connectors/{cid}/test").status_code == 403
        assert client.delete(f"/api/connectors/{cid}").status_code == 403


def test_private_targets_are_refused_where_the_deployment_forbids_them(database_url, oidc_url):
    from tests.conftest import Atlas

    with atlas_server(
        {
            "DATABASE_URL": database_url,
            "OIDC_ISSUER": oidc_url,
            "TEMPORAL_ADDRESS": "127.0.0.1:1",
            "ATLAS_ALLOW_PRIVATE_NETWORKS": False,
        }
    ) as base_url:
        strict = Atlas(base_url, oidc_url, database_url)
        admin, _ = strict.new_tenant()
        for url in ("http://127.0.0.1:3001", "http://169.254.169.254", "http://10.1.2.3", "http://localhost:3001"):
            body = {
                "name": "internal",
                "base_url": url,
                "endpoints": [{"key": "items", "resource": "items", "path": "/items"}],
            }
            response = admin.post("/api/connectors", json=body)
            assert response.status_code == 422, (url, response.text)
            assert response.json()["type"] == "urn:atlas:problem:network-refused"


def test_a_blocked_write_is_audited_as_action_blocked(atlas, api):
    admin, me = atlas.new_tenant()
    settings = Settings(DATABASE_URL=atlas.database_url)

    async def go() -> None:
        database = Database(settings.database_url, app_role=settings.db_app_role, pool_size=1)
        try:
            handler = blocked_auditor(
                database,
                tenant_id=uuid.UUID(me["tenant_id"]),
                actor=Actor("system"),
                correlation_id="lock-test",
                source="test",
            )
            # No method of ReadOnlyHttp sends a DELETE: its guarded transport is driven directly.
            transport = GuardedTransport(network=NetworkPolicy(allow_private=True), on_blocked=handler)
            async with httpx.AsyncClient(transport=transport) as client:
                with pytest.raises(ExecutionBlocked):
                    await client.delete(f"{api.base}/auth/header?api_key=abc")
        finally:
            await database.dispose()

    before = api.total("DELETE")
    asyncio.run(go())
    assert api.total("DELETE") == before
    rows = atlas.sql(
        "SELECT payload FROM audit_events WHERE tenant_id = %s AND event_type = 'action_blocked'", (me["tenant_id"],)
    )
    assert rows[0][0]["method"] == "DELETE" and rows[0][0]["url"] == f"{api.base}/auth/header"


def test_secrets_never_reach_the_logs(atlas, api):
    root = logging.getLogger()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(root.handlers[0].formatter)
    root.addHandler(handler)
    previous = root.level
    root.setLevel(logging.DEBUG)
    try:
        admin, _ = atlas.new_tenant()
        body = connector_body(
            api, auth={"kind": "api_key", "key_name": "api_key", "key_location": "query", "api_key": SECRET}
        )
        body["endpoints"] = [{"key": "items", "resource": "items", "path": "/wrong-path", "record_path": "$.items"}]
        connector = admin.post("/api/connectors", json=body).json()
        admin.post(f"/api/connectors/{connector['id']}/test")
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)
    text = stream.getvalue()
    assert "/api/connectors" in text
    assert SECRET not in text
