"""Discovery from the base URL alone, through the running Atlas, as a customer uses it ("Other REST API"):
the demo ERP (it publishes OpenAPI) is discovered, applied in one request and synced through Temporal with nothing set
aside and every balance equal to the demo ERP's own truth; Test connection fails a record path that yields the
envelope and names the right one, on the connector page in both languages."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from atlas.mapping.demo_setup import DEMO_API_KEY, demo_connector_body
from tests.mapping.test_sync import expected_dataset, sync
from tests.services import html_page

# What a person types on the "Other REST API" page for the demo ERP: the base URL, the authentication kind and the
# API key. Nothing else (no endpoint, path, pagination or mapping) is typed or copied.
DEMO_ENTRIES = 3


def demo_auth(key: str = DEMO_API_KEY) -> dict[str, Any]:
    return {"kind": "api_key", "api_key": key}


def discover(admin: Any, base_url: str, auth: dict[str, Any], **extra: Any) -> dict[str, Any]:
    response = admin.post("/api/discovery", json={"base_url": base_url, "auth": auth, **extra}, timeout=120)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_demo_erp_from_its_base_url_is_applied_in_one_step_and_syncs_with_nothing_set_aside(stack, demo_erp_url):
    admin, me = stack.atlas.new_tenant()
    typed = {"base_url": demo_erp_url, "auth": demo_auth()}
    assert len(["base_url", "auth.kind", "auth.api_key"]) == DEMO_ENTRIES
    report = discover(admin, **typed)
    assert DEMO_API_KEY not in str(report)  # the credential is used, never echoed
    assert report["description"]["kind"] == "openapi"
    chosen = {r["resource"]: r for r in report["resources"] if r["chosen"]}
    assert set(chosen) == {"items", "locations", "stock_balances", "stock_movements"}
    # Each pagination read a second page, or (everything fitting on one page) two smaller pages.
    assert {r["resource"]: r["pagination"]["verified"] for r in chosen.values()} == dict.fromkeys(chosen, "second_page")
    assert chosen["items"]["pagination"]["style"] == "page_number"
    assert chosen["locations"]["pagination"]["settings"]["total_path"] == "$.total"
    assert chosen["stock_balances"]["pagination"]["style"] == "cursor_body"
    assert chosen["stock_movements"]["pagination"]["style"] == "link_header"
    assert chosen["stock_movements"]["incremental"]["start_param"] == "from"
    # The movement kinds: every value the description lists, ADJUSTMENT included, not only those on page one.
    kinds = report["proposal"]["mappings"]["movements"]["fields"]["kind"]["transforms"][0]["table"]
    assert kinds == {
        "ADJUSTMENT": "adjustment",
        "GOODS_RECEIPT": "receipt",
        "SALE": "sale",
        "TRANSFER_IN": "transfer_in",
        "TRANSFER_OUT": "transfer_out",
    }
    # Items are identified by the field the balances and movements reference (the item code, not the numeric id).
    items = report["proposal"]["mappings"]["items"]["fields"]
    assert items["external_id"] == {"path": "$.item_code"}
    assert items["name"] == {"path": "$.description.ar"}  # an Arabic-first tenant gets the Arabic names
    assert chosen["items"]["confidence"]["external_id"]["level"] == "high"

    applied = admin.post("/api/discovery/adopt", json={**typed, **report["proposal"]})
    assert applied.status_code == 201, applied.text
    connector = applied.json()["connector"]
    assert len(applied.json()["mappings"]) == 4 and DEMO_API_KEY not in applied.text
    events = stack.atlas.sql(
        "SELECT event_type, count(*) FROM audit_events WHERE tenant_id = %s GROUP BY event_type", (me["tenant_id"],)
    )
    counted = dict(events)
    assert counted["connector_created"] == 1 and counted["mapping_created"] == 4 and counted["discovery_applied"] == 1

    run = sync(admin, connector["id"])
    assert run["status"] == "succeeded", run
    assert all(s["quarantined"] == 0 for s in run["stats"].values()), run["stats"]
    assert run["stats"]["stock_movements"]["inserted"] > 0
    truth = {(b.sku, b.warehouse_id): Decimal(b.on_hand) for b in expected_dataset().balances}
    rows = stack.atlas.sql(
        """SELECT i.external_id, l.external_id, b.quantity FROM stock_balances b
           JOIN items i ON i.id = b.item_id JOIN locations l ON l.id = b.location_id
           WHERE b.tenant_id = %s AND b.connector_id = %s""",
        (me["tenant_id"], connector["id"]),
    )
    assert {(sku, location): quantity for sku, location, quantity in rows} == truth


def test_discovery_reports_a_refusal_with_the_servers_hint_and_proposes_nothing(stack, demo_erp_url):
    admin, _ = stack.atlas.new_tenant()
    report = discover(admin, demo_erp_url, {"kind": "bearer", "token": "NOT-THE-KEY"})
    assert report["refused"] == 401
    assert report["proposal"]["endpoints"] == []
    assert "NOT-THE-KEY" not in str(report)


def test_discovery_validates_like_a_connector(stack):
    admin, _ = stack.atlas.new_tenant()
    bad = admin.post("/api/discovery", json={"base_url": "ftp://example.com", "auth": {"kind": "none"}})
    assert bad.status_code == 422 and bad.json()["field"] == "base_url"
    missing = admin.post("/api/discovery", json={"base_url": "http://127.0.0.1:9", "auth": {"kind": "api_key"}})
    assert missing.status_code == 422 and missing.json()["field"] == "auth.api_key"


def test_an_operator_cannot_discover_and_another_tenant_cannot_apply_to_a_connector(stack, demo_erp_url):
    admin, _ = stack.atlas.new_tenant()
    operator = stack.atlas.token_client(admin, "operator")
    assert operator.post("/api/discovery", json={"base_url": demo_erp_url}).status_code == 403
    connector = admin.post("/api/connectors", json=demo_connector_body(demo_erp_url)).json()
    other, _ = stack.atlas.new_tenant()
    answer = other.post(f"/api/connectors/{connector['id']}/discover/adopt", json={"endpoints": [], "mappings": {}})
    assert answer.status_code == 404


def test_test_connection_fails_on_the_envelope_and_names_the_record_path_in_both_languages(stack, demo_erp_url):
    admin, _ = stack.atlas.new_tenant()
    body = demo_connector_body(demo_erp_url, name="Envelope")
    body["endpoints"] = [{**body["endpoints"][0], "record_path": "$"}, body["endpoints"][1]]
    connector = admin.post("/api/connectors", json=body).json()
    health = admin.post(f"/api/connectors/{connector['id']}/test").json()
    checks = {c["endpoint"]: c for c in health["latest"]}
    assert checks["items"]["ok"] is False
    assert checks["items"]["reason"] == "record_path_not_a_list"
    assert checks["items"]["detail"] == "$.data"
    assert checks["warehouses"]["ok"] is True  # its record path ($.results) yields the records
    for lang, words in (("en", "make it the record path"), ("ar", "فاجعله مسار السجلات")):
        admin.cookies.set("atlas_lang", lang)
        page = html_page(admin, f"/app/connectors/{connector['id']}")
        assert page.status_code == 200
        assert words in page.text and "$.data" in page.text


def test_discover_and_apply_to_a_connector_fixes_its_record_path_as_a_new_mapping_version(stack, demo_erp_url):
    admin, me = stack.atlas.new_tenant()
    body = demo_connector_body(demo_erp_url, name="To fix")
    body["endpoints"] = [{**body["endpoints"][0], "record_path": "$"}]
    connector = admin.post("/api/connectors", json=body).json()
    first = admin.post(
        "/api/mappings",
        json={
            "connector_id": connector["id"],
            "endpoint_key": "items",
            "spec": {"record_path": "$", "fields": {"sku": {"path": "$.item_code"}, "name": {"path": "$.id"}}},
            "note": "by hand",
        },
    )
    assert first.status_code == 201, first.text
    report = admin.post(f"/api/connectors/{connector['id']}/discover", timeout=120).json()
    proposal = report["proposal"]
    items = next(e for e in proposal["endpoints"] if e["key"] == "items")
    assert items["record_path"] == "$.data"
    assert {e["resource"] for e in proposal["endpoints"]} == {"items", "locations", "stock_balances", "stock_movements"}
    applied = admin.post(f"/api/connectors/{connector['id']}/discover/adopt", json=proposal)
    assert applied.status_code == 200, applied.text
    versions = {m["endpoint_key"]: m["active_version"] for m in applied.json()["mappings"]}
    assert versions["items"] == 2 and len(versions) == 4
    read = admin.get(f"/api/connectors/{connector['id']}").json()
    assert next(e for e in read["endpoints"] if e["key"] == "items")["record_path"] == "$.data"
    counted = dict(
        stack.atlas.sql(
            "SELECT event_type, count(*) FROM audit_events WHERE tenant_id = %s GROUP BY event_type",
            (me["tenant_id"],),
        )
    )
    assert counted["connector_updated"] == 1 and counted["mapping_version_saved"] == 1
    assert counted["discovery_applied"] == 1
