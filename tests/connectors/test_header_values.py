"""A value that goes out in an HTTP header must be ASCII: refused with a 422 naming the field when saved, instead of
a 500 at the first Test connection or discovery (the HTTP client cannot encode it). Found by probing beside
schemathesis."""

from __future__ import annotations

from typing import Any

import pytest

from atlas.mapping.demo_setup import demo_connector_body

NOT_ASCII = "مفتاح-é"


@pytest.fixture(scope="module")
def tenant(atlas: Any) -> tuple[Any, str]:
    admin, _me = atlas.new_tenant()
    created = admin.post("/api/connectors", json=demo_connector_body("http://127.0.0.1:9", name="Header ERP"))
    assert created.status_code == 201, created.text
    return admin, created.json()["id"]


def assert_names(response: Any, field: str) -> None:
    assert response.status_code == 422, response.text
    body = response.json()
    assert (body["field"], body["code"]) == (field, "errors.header_value_not_ascii"), body
    assert "ASCII" in body["detail"]


@pytest.mark.parametrize(
    ("auth", "field"),
    [
        ({"kind": "api_key", "api_key": NOT_ASCII}, "auth.api_key"),
        ({"kind": "bearer", "token": NOT_ASCII}, "auth.token"),
        ({"kind": "header", "scheme": "Token", "credential": NOT_ASCII}, "auth.credential"),
    ],
)
def test_a_credential_sent_in_a_header_must_be_ascii(tenant, auth, field):
    admin, connector_id = tenant
    body = {**demo_connector_body("http://127.0.0.1:9", name=f"ERP {field}"), "auth": auth}
    assert_names(admin.post("/api/connectors", json=body, headers={"Accept-Language": "en"}), field)
    assert_names(
        admin.patch(f"/api/connectors/{connector_id}", json={"auth": auth}, headers={"Accept-Language": "en"}), field
    )


def test_a_static_header_value_must_be_ascii_and_test_connection_answers(tenant):
    admin, connector_id = tenant
    english = {"Accept-Language": "en"}
    update = admin.patch(f"/api/connectors/{connector_id}", json={"headers": {"X-Site": NOT_ASCII}}, headers=english)
    assert_names(update, "headers.X-Site")
    created = admin.post(
        "/api/connectors",
        json={**demo_connector_body("http://127.0.0.1:9", name="Static header ERP"), "headers": {"X-Site": "é"}},
        headers=english,
    )
    assert_names(created, "headers.X-Site")
    tested = admin.post(f"/api/connectors/{connector_id}/test")  # the stored connector is unchanged and testable
    assert tested.status_code == 200, tested.text


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("headers", '{"X-Site": "مفتاح"}'),
        ("base_url", '"http://[::1"'),
        ("base_url", '"http://xn--zz.invalid"'),
    ],
)
def test_settings_saved_before_the_checks_fail_test_connection_readably(atlas, column, value):
    """A connector stored before these checks existed (written here behind the API's back) still answers Test
    connection: each endpoint fails with a readable reason, never a 500."""
    admin, me = atlas.new_tenant()
    created = admin.post("/api/connectors", json=demo_connector_body("http://127.0.0.1:9", name=f"Old {column}"))
    assert created.status_code == 201, created.text
    connector_id = created.json()["id"]
    if column == "headers":
        atlas.sql("UPDATE connectors SET headers = %s::jsonb WHERE id = %s", (value, connector_id))
    else:
        atlas.sql("UPDATE connectors SET base_url = %s::jsonb #>> '{}' WHERE id = %s", (value, connector_id))
    tested = admin.post(f"/api/connectors/{connector_id}/test", headers={"Accept-Language": "en"})
    assert tested.status_code == 200, tested.text
    latest = tested.json()["latest"]
    assert latest and all(not r["ok"] and r["reason"] == "protocol_error" for r in latest), latest
    assert all("cannot be sent" in r["detail"] for r in latest), latest
