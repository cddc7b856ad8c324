"""A URL that urllib or the HTTP client cannot read (an unclosed IPv6 bracket, a port past 65535, a host name IDNA
refuses) is a 422 naming its field, not a 500.

Found by probing beside schemathesis: the document types these fields as plain strings, so it never sends one.
"""

from __future__ import annotations

from typing import Any

import pytest

from atlas.mapping.demo_setup import demo_connector_body

UNREADABLE = [
    "http://[::1",
    "http://127.0.0.1:99999",
    "https://example.com:-1/api",
    "http://[zz]:80/",
    "http://xn--zz.invalid/api",  # not punycode
    "http://\u2665.example/api",  # a symbol IDNA does not allow in a host name
]


@pytest.fixture(scope="module")
def tenant(atlas: Any) -> tuple[Any, str]:
    admin, _me = atlas.new_tenant()
    created = admin.post("/api/connectors", json=demo_connector_body("http://127.0.0.1:9", name="URL ERP"))
    assert created.status_code == 201, created.text
    return admin, created.json()["id"]


def assert_names(response: Any, field: str) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["field"] == field and body["code"] in ("errors.connector_url", "errors.auth_url_invalid"), body


@pytest.mark.parametrize("url", UNREADABLE)
def test_a_connector_base_url_urllib_cannot_read_is_refused_naming_it(tenant, url):
    admin, connector_id = tenant
    assert_names(admin.post("/api/connectors", json=demo_connector_body(url, name="Bad URL")), "base_url")
    assert_names(admin.patch(f"/api/connectors/{connector_id}", json={"base_url": url}), "base_url")
    assert_names(admin.post("/api/discovery", json={"base_url": url}), "base_url")
    preset = {"base_url": url, "inputs": {"token": "x"}}
    assert_names(admin.post("/api/presets/inventree/connect", json=preset), "base_url")
    assert admin.get(f"/api/connectors/{connector_id}").json()["base_url"] == "http://127.0.0.1:9"


@pytest.mark.parametrize("url", UNREADABLE)
def test_an_oauth2_token_url_urllib_cannot_read_is_refused_naming_it(tenant, url):
    admin, _connector_id = tenant
    body = demo_connector_body("http://127.0.0.1:9", name="OAuth ERP")
    body["auth"] = {"kind": "oauth2_client_credentials", "client_id": "c", "client_secret": "s", "token_url": url}
    assert_names(admin.post("/api/connectors", json=body), "auth.token_url")
