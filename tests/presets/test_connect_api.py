"""Connecting with a preset over the API: nothing is stored until the system answers; then the connector, its
mappings, its first health check and the audit trail, with the preset it came from."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.sims.inventree import InvenTreeApi, inventree_server


@pytest.fixture(scope="module")
def sim() -> Iterator[InvenTreeApi]:
    with inventree_server(seed=5, parts=60) as api:
        yield api


def connect(admin: Any, body: dict[str, Any], preset: str = "inventree", lang: str = "en") -> Any:
    return admin.post(f"/api/presets/{preset}/connect", json=body, headers={"Accept-Language": lang})


def stored(atlas: Any, tenant_id: str) -> tuple[int, int]:
    connectors = atlas.sql("SELECT count(*) FROM connectors WHERE tenant_id = %s", (tenant_id,))[0][0]
    mappings = atlas.sql("SELECT count(*) FROM mappings WHERE tenant_id = %s", (tenant_id,))[0][0]
    return connectors, mappings


def test_the_presets_are_listed_with_their_inputs_in_the_persons_language(atlas: Any) -> None:
    admin, _ = atlas.new_tenant()
    arabic = admin.get("/api/presets", headers={"Accept-Language": "ar"}).json()
    english = admin.get("/api/presets", headers={"Accept-Language": "en"}).json()
    inventree = next(p for p in english if p["id"] == "inventree")
    assert inventree["base_url_required"] is True
    assert [(i["name"], i["secret"], i["label"]) for i in inventree["inputs"]] == [("token", True, "API token")]
    assert inventree["resources"] == {
        "parts": "items",
        "locations": "locations",
        "stock": "stock_balances",
        "history": "stock_movements",
        "po_lines": "open_orders",
    }
    assert next(p for p in arabic if p["id"] == "inventree")["summary"] != inventree["summary"]
    assert admin.get("/api/presets/no-such-system").status_code == 422


def test_a_refused_token_stores_nothing_and_says_what_the_server_expects(atlas: Any, sim: InvenTreeApi) -> None:
    admin, me = atlas.new_tenant()
    answer = connect(admin, {"base_url": sim.base, "inputs": {"token": "wrong"}})
    assert answer.status_code == 422, answer.text
    problem = answer.json()
    assert "refused the credentials" in problem["detail"] and "Token" in problem["detail"]  # WWW-Authenticate
    assert "Nothing was saved" in problem["detail"]
    assert problem["checks"][0]["status"] == 401
    assert stored(atlas, me["tenant_id"]) == (0, 0)
    arabic = connect(admin, {"base_url": sim.base, "inputs": {"token": "wrong"}}, lang="ar").json()
    assert "لم يُحفظ شيء" in arabic["detail"]


def test_an_address_that_is_not_the_api_is_refused_on_the_base_url(atlas: Any, sim: InvenTreeApi) -> None:
    admin, me = atlas.new_tenant()
    answer = connect(admin, {"base_url": sim.base + "/inventree", "inputs": {"token": sim.token}})
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == "base_url"
    assert "something other than its API" in answer.json()["detail"]
    assert stored(atlas, me["tenant_id"]) == (0, 0)


def test_missing_inputs_are_named(atlas: Any, sim: InvenTreeApi) -> None:
    admin, _ = atlas.new_tenant()
    answer = connect(admin, {"base_url": sim.base, "inputs": {}})
    assert answer.status_code == 422 and answer.json()["field"] == "inputs.token"
    answer = connect(admin, {"inputs": {"token": sim.token}})
    assert answer.status_code == 422 and answer.json()["field"] == "base_url"
    answer = connect(admin, {"base_url": sim.base, "inputs": {"token": sim.token, "colour": "blue"}})
    assert answer.status_code == 422 and answer.json()["field"] == "inputs.colour"


def test_connecting_lays_down_the_connector_its_mappings_and_a_preview(atlas: Any, sim: InvenTreeApi) -> None:
    admin, me = atlas.new_tenant()
    answer = connect(admin, {"base_url": sim.base + "/", "inputs": {"token": sim.token}, "name": "Main stores"})
    assert answer.status_code == 201, answer.text
    connected = answer.json()
    connector = connected["connector"]
    assert connector["name"] == "Main stores" and connector["base_url"] == sim.base
    assert connector["preset"] == {"id": "inventree", "version": 1}
    assert connector["auth"]["kind"] == "header" and connector["auth"]["scheme"] == "Token"
    assert sim.token not in answer.text  # the credential is never returned
    assert [c["ok"] for c in connected["checks"]] == [True] * 5
    previews = {p["endpoint"]: p for p in connected["previews"]}
    assert set(previews) == {"parts", "locations", "stock", "history", "po_lines"}
    parts = previews["parts"]
    assert parts["mapped"] == parts["record_count"] > 0 and parts["failed"] == 0
    names = {p.name for p in sim.data.parts.values()}
    assert all(r["values"]["name"] in names for r in parts["records"])
    assert stored(atlas, me["tenant_id"]) == (1, 5)
    # The test was the connector's first health check, and everything is in the audit trail.
    health = admin.get(f"/api/connectors/{connector['id']}/health").json()
    assert health["health_status"] == "healthy" and {h["trigger"] for h in health["latest"]} == {"preset"}
    events = [
        row[0]
        for row in atlas.sql(
            "SELECT event_type FROM audit_events WHERE tenant_id = %s ORDER BY occurred_at, id", (me["tenant_id"],)
        )
    ]
    assert events.count("mapping_created") == 5
    assert {"connector_created", "preset_applied", "connector_tested"} <= set(events)
    # The same name again is refused as any connector's would be.
    again = connect(admin, {"base_url": sim.base, "inputs": {"token": sim.token}, "name": "Main stores"})
    assert again.status_code == 422 and again.json()["field"] == "name"


def test_only_admins_connect(atlas: Any, sim: InvenTreeApi) -> None:
    admin, _ = atlas.new_tenant()
    operator, _ = atlas.member_client(admin, "operator")
    answer = operator.post("/api/presets/inventree/connect", json={"base_url": sim.base, "inputs": {"token": "x"}})
    assert answer.status_code == 403
    assert operator.get("/app/connectors/connect").status_code == 403


def test_a_server_without_the_systems_endpoints_is_a_404_on_the_base_url(atlas: Any, sim: InvenTreeApi) -> None:
    admin, me = atlas.new_tenant()
    # Another InvenTree-like server answering 404 for the API's paths: under /api/v2 none of the preset's exist.
    answer = connect(admin, {"base_url": sim.base + "/api/v2", "inputs": {"token": sim.token}})
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == "base_url" and "(HTTP 404)" in answer.json()["detail"]
    assert stored(atlas, me["tenant_id"]) == (0, 0)


def current_step(html: str) -> str:
    import re

    found = re.search(r'data-step="([a-z]+)" data-done="(?:true|false)" aria-current="step"', html)
    assert found, "no current step"
    return found.group(1)


def test_the_connector_page_guides_the_set_up_in_order(atlas: Any, sim: InvenTreeApi) -> None:
    admin, _ = atlas.new_tenant()
    # By hand, with nothing tested or mapped: checking the data comes next, and "Sync now" steps back.
    by_hand = admin.post(
        "/api/connectors",
        json={
            "name": "by hand",
            "base_url": sim.base,
            "auth": {"kind": "header", "scheme": "Token", "credential": sim.token},
            "endpoints": [{"key": "parts", "resource": "items", "path": "/api/part/"}],
        },
    ).json()
    html = admin.get(f"/app/connectors/{by_hand['id']}").text
    assert current_step(html) == "check"
    assert 'data-testid="sync-map-first"' in html and 'data-mapped="false"' in html
    assert html.index('id="check"') < html.index('id="mappings"') < html.index('id="syncs"')  # the guide's order
    # With the preset: connected, checked and mapped; the first sync is next and offered first.
    connected = connect(admin, {"base_url": sim.base, "inputs": {"token": sim.token}}).json()
    html = admin.get(f"/app/connectors/{connected['connector']['id']}").text
    assert current_step(html) == "sync"
    assert 'data-mapped="true"' in html and 'data-testid="sync-map-first"' not in html
    assert "التالي: شغّل المزامنة الأولى." in html  # Arabic first
