"""A deployment that forbids private networks and allows one on-premises ERP by host and port, end to end: the ERP's
port is reachable, every other port of the same host (Atlas itself, PostgreSQL) is refused, and a refusal met
during a health check is shown as a message in the reader's language (its catalogue key as ``code``), in the API
and on the connector page, in Arabic and in English."""

from __future__ import annotations

import html
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from atlas.i18n import translate
from tests.browser_pages import signed_in_page
from tests.connectors.oddapi import OddApi, odd_api
from tests.services import atlas_server
from tests.services import html_page as page


@pytest.fixture(scope="module")
def erp() -> Iterator[OddApi]:
    with odd_api("127.0.0.1") as server:
        yield server


@pytest.fixture(scope="module")
def strict(database_url: str, oidc_url: str, erp: OddApi) -> Iterator[Any]:
    from tests.conftest import Atlas

    with atlas_server(
        {
            "DATABASE_URL": database_url,
            "OIDC_ISSUER": oidc_url,
            "TEMPORAL_ADDRESS": "127.0.0.1:1",
            "ATLAS_ALLOW_PRIVATE_NETWORKS": False,
            "ATLAS_ALLOWED_PRIVATE_HOSTS": f"127.0.0.1:{erp.port}",
        }
    ) as base_url:
        yield Atlas(base_url, oidc_url, database_url)


def body(base_url: str, path: str = "/auth/header") -> dict[str, Any]:
    return {
        "name": f"ERP {uuid.uuid4().hex[:6]}",
        "base_url": base_url,
        "auth": {"kind": "api_key", "key_name": "X-API-Key", "api_key": "k-123"},
        "endpoints": [{"key": "items", "resource": "items", "path": path, "record_path": "$.items"}],
    }


def test_the_allowed_port_is_reachable_and_no_other_port_of_that_host(strict: Any, erp: OddApi) -> None:
    admin, _ = strict.new_tenant()
    created = admin.post("/api/connectors", json=body(erp.base))
    assert created.status_code == 201, created.text
    tested = admin.post(f"/api/connectors/{created.json()['id']}/test")
    assert tested.status_code == 200, tested.text
    assert [check["ok"] for check in tested.json()["latest"]] == [True]
    atlas_port = urlsplit(strict.base_url).port
    postgres_port = urlsplit(strict.database_url).port or 5432
    for port in (atlas_port, postgres_port):
        refused = admin.post(
            "/api/connectors", json=body(f"http://127.0.0.1:{port}"), headers={"Accept-Language": "en"}
        )
        assert refused.status_code == 422, (port, refused.text)
        problem = refused.json()
        assert problem["type"] == "urn:atlas:problem:network-refused"
        assert problem["detail"] == translate(
            "errors.connector_private_network", "en", host="127.0.0.1", address="127.0.0.1"
        )


def test_a_refusal_in_a_health_check_is_a_translated_message_with_its_code(strict: Any, erp: OddApi) -> None:
    # The ERP (allowed) redirects to an internal address (not allowed): the check fails on the redirect's hop.
    erp.redirect_target = "http://10.1.2.3/items"
    admin, _ = strict.new_tenant()
    created = admin.post("/api/connectors", json=body(erp.base, "/redirect"))
    assert created.status_code == 201, created.text
    connector_id = created.json()["id"]
    params = {"host": "10.1.2.3", "address": "10.1.2.3"}
    english = translate("errors.connector_private_network", "en", **params)
    arabic = translate("errors.connector_private_network", "ar", **params)
    assert english != arabic and "{" not in english + arabic

    tested = admin.post(f"/api/connectors/{connector_id}/test", headers={"Accept-Language": "en"})
    assert tested.status_code == 200, tested.text
    [check] = tested.json()["latest"]
    assert not check["ok"] and check["reason"] == "network-refused"
    assert check["detail"] == english
    assert check["code"] == "errors.connector_private_network"
    assert check["params"] == params
    assert erp.count("GET", "/redirect") >= 1

    for lang, message in (("ar", arabic), ("en", english)):
        health = admin.get(f"/api/connectors/{connector_id}/health", headers={"Accept-Language": lang}).json()
        assert [c["detail"] for c in health["latest"]] == [message]
        assert {c["code"] for c in health["history"]} == {"errors.connector_private_network"}
        assert all(c["detail"] == message for c in health["history"])

    for lang, message in (("ar", arabic), ("en", english)):
        text = page(admin, f"/app/connectors/{connector_id}", cookies={"atlas_lang": lang}).text
        assert message in html.unescape(text)
        assert 'data-i18n="errors.connector_private_network"' in text  # the page switches language with its key
        assert ">errors.connector_private_network<" not in text  # the key itself is never shown


@pytest.mark.browser
def test_the_page_writes_the_refusal_in_its_language_and_switches_it(strict: Any, erp: OddApi, browser: Any) -> None:
    # "Test connection" in Chromium: the script writes the result row from the API's code and params, and the
    # message follows the language switch without a reload.
    erp.redirect_target = "http://10.1.2.3/items"
    admin, _ = strict.new_tenant()
    created = admin.post("/api/connectors", json=body(erp.base, "/redirect"))
    assert created.status_code == 201, created.text
    connector_id = created.json()["id"]
    params = {"host": "10.1.2.3", "address": "10.1.2.3"}
    context, tab = signed_in_page(browser, strict.base_url, admin, locale="ar-SA")
    tab.goto(f"{strict.base_url}/app/connectors/{connector_id}")
    tab.get_by_test_id("test-connection").click()
    message = tab.locator("[data-testid='test-result'] [data-testid='check-message']")
    message.first.wait_for(state="visible", timeout=60_000)
    assert message.first.get_attribute("data-code") == "errors.connector_private_network"
    assert message.first.inner_text().strip() == translate("errors.connector_private_network", "ar", **params)
    tab.get_by_test_id("lang-switch").click()
    tab.wait_for_function("() => document.documentElement.lang === 'en'")
    assert message.first.inner_text().strip() == translate("errors.connector_private_network", "en", **params)
    context.close()
