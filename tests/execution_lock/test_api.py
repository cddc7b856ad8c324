"""Execution drafts over HTTP (list, read, CSV and JSON export, the page), connector action templates through
the connector API, and tenant isolation of both."""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from typing import Any

import pytest

from atlas.db.engine import Database
from atlas.platform.audit import Actor
from tests.execution_lock.seed import API_KEY, TEMPLATES, Seeded, load_recommendation, run, seed
from tests.services import html_page

ACTOR = Actor("system", "test")


@pytest.fixture(scope="module")
def tenant(atlas, database_url) -> dict[str, Any]:
    """A tenant with a blocked draft of every type and one dry run (of the transfer)."""
    from atlas.approvals.lock_actions import attempt, dry_run

    admin, me = atlas.new_tenant()
    tenant_id = uuid.UUID(me["tenant_id"])

    async def work(database: Database) -> tuple[Seeded, dict[str, str]]:
        seeded = await seed(database, tenant_id)
        drafts: dict[str, str] = {}
        async with database.tenant_session(tenant_id) as session:
            for kind, rec_id in seeded.recs.items():
                rec = await session.merge(await load_recommendation(database, tenant_id, rec_id))
                drafts[kind] = str(
                    (await attempt(session, rec, actor=ACTOR, correlation_id=rec.correlation_id)).draft_id
                )
            rec = await session.merge(await load_recommendation(database, tenant_id, seeded.recs["transfer"]))
            drafts["dry_run"] = (await dry_run(session, rec, actor=ACTOR, correlation_id=rec.correlation_id))["draft"][
                "id"
            ]
        return seeded, drafts

    seeded, drafts = run(database_url, work)
    viewer, _ = atlas.member_client(admin, "viewer")
    return {"admin": admin, "viewer": viewer, "seeded": seeded, "drafts": drafts, "tenant_id": tenant_id}


def test_list_filter_and_read(tenant):
    viewer = tenant["viewer"]
    everything = viewer.get("/api/drafts").json()
    assert everything["total"] == 5
    blocked = viewer.get("/api/drafts", params={"kind": "blocked"}).json()
    assert blocked["total"] == 4 and {d["kind"] for d in blocked["items"]} == {"blocked"}
    transfers = viewer.get("/api/drafts", params={"type": "transfer"}).json()
    assert {d["kind"] for d in transfers["items"]} == {"blocked", "dry_run"}
    by_rec = viewer.get("/api/drafts", params={"recommendation_id": str(tenant["seeded"].recs["reorder"])}).json()
    assert [d["id"] for d in by_rec["items"]] == [tenant["drafts"]["reorder"]]
    one = viewer.get(f"/api/drafts/{tenant['drafts']['reorder']}").json()
    assert one["action"]["item_sku"] == "SKU-1" and one["sendable"] is False
    assert one["request"]["method"] == "POST" and one["request"]["sendable"] is False
    assert one["summary_en"].startswith("Purchase order line: 40 pcs") and "أمر شراء" in one["summary_ar"]
    assert API_KEY not in json.dumps(everything)
    bad = viewer.get("/api/drafts", params={"kind": "executed"}, headers={"Accept-Language": "en"})
    assert bad.status_code == 422 and "executed" in bad.json()["detail"] and bad.json()["field"] == "kind"
    assert viewer.get(f"/api/drafts/{uuid.uuid4()}").status_code == 404


def test_csv_export_opens_in_a_spreadsheet_with_arabic(tenant):
    response = tenant["viewer"].get("/api/drafts/export.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith('attachment; filename="atlas-drafts-blocked-')
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(response.content[3:].decode("utf-8"))))
    assert len(rows) == 4  # blocked drafts by default
    by_type = {r["action_type"]: r for r in rows}
    assert set(by_type) == {"reorder", "transfer", "write_off", "investigate"}
    reorder = by_type["reorder"]
    assert (reorder["item_sku"], reorder["location_code"], reorder["quantity"]) == ("SKU-1", "ST-1", "40")
    assert reorder["request_method"] == "POST" and reorder["request_url"].endswith("/api/v1/purchase-orders")
    assert json.loads(reorder["request_body"])["line"]["quantity"] == 40
    assert "أمر شراء" in reorder["summary_ar"] and "Widget ودجت" in reorder["item_name"]
    transfer = by_type["transfer"]
    assert (transfer["from_location_code"], transfer["to_location_code"]) == ("WH-1", "ST-1")
    assert by_type["write_off"]["value_sar"] == "381.25"
    dry = list(
        csv.DictReader(io.StringIO(tenant["viewer"].get("/api/drafts/export.csv?kind=dry_run").content[3:].decode()))
    )
    assert [r["kind"] for r in dry] == ["dry_run"]
    assert (
        len(
            list(
                csv.DictReader(
                    io.StringIO(tenant["viewer"].get("/api/drafts/export.csv?kind=all").text.lstrip("\ufeff"))
                )
            )
        )
        == 5
    )


def test_json_export_holds_every_draft_in_full(tenant):
    response = tenant["viewer"].get("/api/drafts/export.json", params={"type": "transfer"})
    assert response.status_code == 200 and response.headers["content-disposition"].endswith('.json"')
    body = response.json()
    assert body["kind"] == "blocked" and body["sendable"] is False
    [draft] = body["drafts"]
    assert draft["id"] == tenant["drafts"]["transfer"]
    assert draft["impact"]["locations"] == ["WH-1", "ST-1"]
    assert draft["request"]["body"] == {"from": "WH-1", "to": "ST-1", "qty": 20}


def test_another_tenant_sees_none_of_it(atlas, tenant):
    other, _ = atlas.new_tenant()
    assert other.get("/api/drafts").json() == {"total": 0, "items": [], "next_cursor": None}
    assert other.get(f"/api/drafts/{tenant['drafts']['reorder']}").status_code == 404
    assert other.get("/api/drafts/export.csv").content.count(b"\n") == 1  # the header only
    assert other.get("/api/drafts/export.json").json()["drafts"] == []


def test_the_drafts_page_lists_summaries_in_both_languages_with_export_links(atlas, tenant):
    response = html_page(tenant["viewer"], "/app/drafts")
    assert response.status_code == 200
    text = response.text
    assert text.count('data-testid="draft-row"') == 5
    words = re.sub(r"<[^>]+>", "", text)  # each embedded value sits in its own <bdi> (issue 19)
    assert "Purchase order line: 40 pcs" in words and "أمر شراء" in words
    assert 'href="/api/drafts/export.csv?kind=all"' in text and 'href="/api/drafts/export.json?kind=all"' in text
    assert f'href="/app/recommendations/{tenant["seeded"].recs["reorder"]}"' in text
    filtered = html_page(tenant["viewer"], "/app/drafts?kind=dry_run&type=nonsense")
    assert filtered.text.count('data-testid="draft-row"') == 1  # an unknown type is ignored, never a 400
    assert 'href="/api/drafts/export.csv?kind=dry_run"' in filtered.text


def test_connector_action_templates_through_the_connector_api(atlas):
    admin, _ = atlas.new_tenant()
    body = {
        "name": "Templated",
        "base_url": "http://127.0.0.1:9",
        "endpoints": [{"key": "items", "resource": "items", "path": "/items"}],
        "action_templates": TEMPLATES,
    }
    created = admin.post("/api/connectors", json=body)
    assert created.status_code == 201, created.text
    connector = created.json()
    assert connector["action_templates"]["transfer"]["method"] == "PUT"
    assert connector["action_templates"]["reorder"]["body"]["source"] == {"value": "atlas"}
    url = f"/api/connectors/{connector['id']}"
    page = html_page(admin, f"/app/connectors/{connector['id']}").text
    assert 'data-testid="action-templates"' in page and "PUT /api/v1/items/{item_external_id}/transfers" in page
    bad = admin.patch(
        url,
        json={"action_templates": {"reorder": {"method": "DELETE", "path": "/x"}}},
        headers={"Accept-Language": "en"},
    )
    assert bad.status_code == 422
    assert bad.json()["field"] == "action_templates.reorder.method" and "POST, PUT, PATCH" in bad.json()["detail"]
    assert admin.get(url).json()["action_templates"] == connector["action_templates"]  # nothing lost
    cleared = admin.patch(url, json={"action_templates": {}})
    assert cleared.status_code == 200 and cleared.json()["action_templates"] == {}
    operator = atlas.token_client(admin, "operator")
    assert operator.patch(url, json={"action_templates": {}}).status_code == 403
    assert operator.get(url).json()["action_templates"] == {}
