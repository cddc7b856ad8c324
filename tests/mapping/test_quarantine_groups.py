"""Honest sync outcomes and the quarantine grouped by cause, with the fix in place, through the public API.

A tenant syncs the demo ERP with a movement-kind lookup that lacks two of the ERP's kinds (ADJUSTMENT and
TRANSFER_IN), so the sync really sets those movements aside. The demo ERP's own data says how many there are;
the database (as the superuser, behind Atlas's back) says what the groups must count.
"""

from __future__ import annotations

import copy
import html
import re
import uuid
from collections import Counter
from typing import Any

import pytest

from atlas.mapping.demo_setup import DEMO_MAPPINGS
from atlas.mapping.engine import compile_mapping
from atlas.mapping.quarantine_fix import _still_misses, _with_entry
from atlas.mapping.quarantine_groups import Group
from tests.mapping.test_sync import expected_dataset, setup_connector, sync
from tests.services import HTML

MISSING = ("ADJUSTMENT", "TRANSFER_IN")
KINDS = ["sale", "issue", "receipt", "transfer_in", "transfer_out", "adjustment"]


def without_kinds(*kinds: str) -> dict[str, Any]:
    """The demo mappings with a kind lookup that lacks ``kinds``."""
    broken = copy.deepcopy(DEMO_MAPPINGS)
    lookup = broken["movements"]["fields"]["kind"]["transforms"][0]
    lookup["table"] = {k: v for k, v in lookup["table"].items() if k not in kinds}
    return broken


def sql_groups(db: Any, tenant_id: str, connector_id: str, status: str = "open") -> dict[tuple[str, str, str], int]:
    """(field, code, value) → distinct records, straight from the table."""
    rows = db.sql(
        """SELECT e->>'field', e->>'code', coalesce(e->>'detail', ''), count(DISTINCT q.id)
           FROM quarantined_records q, jsonb_array_elements(q.errors) e
           WHERE q.tenant_id = %s AND q.connector_id = %s AND q.status = %s GROUP BY 1, 2, 3""",
        (tenant_id, connector_id, status),
    )
    return {(f, c, v): n for f, c, v, n in rows}


@pytest.fixture(scope="module")
def truth() -> Counter[str]:
    return Counter(m.type for m in expected_dataset().movements)


def synced_tenant(stack: Any, demo_erp_url: str, *missing: str) -> tuple[Any, dict[str, Any], str, dict[str, Any]]:
    admin, me = stack.atlas.new_tenant()
    connector_id = setup_connector(admin, demo_erp_url, without_kinds(*missing))
    return admin, me, connector_id, sync(admin, connector_id)


@pytest.fixture(scope="module")
def synced(stack, demo_erp_url):
    """Read by the tests that change nothing; the fixes run on tenants of their own."""
    return synced_tenant(stack, demo_erp_url, *MISSING)


def groups(admin: Any, **params: Any) -> dict[str, Any]:
    response = admin.get("/api/quarantine/groups", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def movements_mapping(admin: Any, connector_id: str) -> dict[str, Any]:
    found = admin.get("/api/mappings", params={"connector_id": connector_id}).json()
    mapping = next(m for m in found if m["endpoint_key"] == "movements")
    return admin.get(f"/api/mappings/{mapping['id']}").json()


# --- the outcome says what was set aside ------------------------------------------------------------


def test_a_run_that_set_records_aside_never_says_succeeded_alone(synced, truth, stack):
    admin, _, connector_id, run = synced
    adjustments, transfers = truth["ADJUSTMENT"], truth["TRANSFER_IN"]
    assert adjustments > transfers > 0
    assert run["status"] == "succeeded"  # within the connector's default share of set-aside records
    summary = run["summary"]
    assert summary["set_aside"] == adjustments + transfers
    assert summary["top"] == [
        {
            "endpoint": "movements",
            "field": "kind",
            "code": "not_in_lookup",
            "value": "ADJUSTMENT",
            "count": adjustments,
        },
        {"endpoint": "movements", "field": "kind", "code": "not_in_lookup", "value": "TRANSFER_IN", "count": transfers},
    ]
    assert summary["groups"] == 2
    english = admin.get(f"/api/syncs/{run['id']}", headers={"Accept-Language": "en"}).json()["summary"]["headline"]
    assert english == (
        f"Succeeded, {adjustments + transfers:,} set aside: "
        f"Movement kind — unknown value “ADJUSTMENT” ({adjustments:,}), "
        f"Movement kind — unknown value “TRANSFER_IN” ({transfers:,})"
    )
    arabic = summary["headline"]  # the request's language: Arabic by default
    assert arabic.startswith("نجحت، مع عزل") and "نوع الحركة" in arabic and "ADJUSTMENT" in arabic
    listed = admin.get(f"/api/connectors/{connector_id}/syncs", headers={"Accept-Language": "en"}).json()
    assert listed[0]["id"] == run["id"] and listed[0]["summary"]["headline"] == english

    # The connector page and the dashboard say it too, with a link to the quarantine filtered to the run.
    page = admin.get(f"/app/connectors/{connector_id}", headers=HTML).text
    row = page[page.index(f'data-run-id="{run["id"]}"') :]
    assert f'data-set-aside="{adjustments + transfers}"' in row[:3000]
    assert "data-run-outcome" in row and f"sync_run_id={run['id']}" in html.unescape(row)
    dashboard = admin.get("/app", headers=HTML).text
    card = re.search(
        r'<article class="card sync-card-item"[^>]*data-connector-id="' + connector_id + '"[^>]*>', dashboard
    )
    assert card, "no sync card for the connector"
    assert 'data-status="succeeded"' in card.group(0) and f'data-set-aside="{adjustments + transfers}"' in card.group(0)
    assert 'data-freshness="fresh"' in card.group(0) and f'data-open="{adjustments + transfers}"' in card.group(0)
    assert "قيمة غير معروفة" in dashboard and "ADJUSTMENT" in dashboard
    last_sync = dashboard[dashboard.index('data-testid="last-sync"') :]
    assert f'data-set-aside="{adjustments + transfers}"' in last_sync[: last_sync.index("</dd>")]


def test_a_run_that_set_nothing_aside_just_succeeded(stack, demo_erp_url):
    admin, _ = stack.atlas.new_tenant()
    connector_id = setup_connector(admin, demo_erp_url, {k: DEMO_MAPPINGS[k] for k in ("items", "warehouses")})
    run = sync(admin, connector_id)
    assert run["status"] == "succeeded" and run["summary"]["set_aside"] == 0 and run["summary"]["top"] == []
    english = admin.get(f"/api/syncs/{run['id']}", headers={"Accept-Language": "en"}).json()["summary"]
    assert english["headline"] == "Succeeded"
    page = admin.get(f"/app/connectors/{connector_id}", headers=HTML).text
    assert "data-run-outcome" not in page and "data-set-aside-badge" not in page


# --- the groups -------------------------------------------------------------------------------------


def test_groups_count_exactly_what_the_table_holds(synced, truth, stack):
    admin, me, connector_id, run = synced
    found = groups(admin, connector_id=connector_id)
    expected = sql_groups(stack.atlas, me["tenant_id"], connector_id)
    assert {(g["field"], g["code"], g["value"]): g["count"] for g in found["groups"]} == expected
    assert expected == {
        ("kind", "not_in_lookup", "ADJUSTMENT"): truth["ADJUSTMENT"],
        ("kind", "not_in_lookup", "TRANSFER_IN"): truth["TRANSFER_IN"],
    }
    open_records = stack.atlas.sql(
        "SELECT count(*) FROM quarantined_records WHERE tenant_id = %s AND status = 'open'", (me["tenant_id"],)
    )[0][0]
    assert found["records"] == open_records == truth["ADJUSTMENT"] + truth["TRANSFER_IN"]
    assert found["total"] == 2 and [g["value"] for g in found["groups"]] == ["ADJUSTMENT", "TRANSFER_IN"]
    first = found["groups"][0]
    assert first["endpoint_key"] == "movements" and first["resource"] == "stock_movements"
    assert first["sample"]["raw"]["type"] == "ADJUSTMENT" and first["sample"]["status"] == "open"
    assert {"field": "kind", "code": "not_in_lookup", "detail": "ADJUSTMENT"} in first["sample"]["errors"]
    assert first["fix"] == {
        "kind": "add_lookup",
        "choices": KINDS,
        "choice_prefix": "inventory.kind.",
        "editor_url": f"/app/connectors/{connector_id}/mappings/movements#mp-f-kind-name",
    }

    # The same through every filter: the run, every status, the endpoint; one page at a time.
    assert groups(admin, sync_run_id=run["id"])["groups"] == found["groups"]
    assert groups(admin, connector_id=connector_id, status="all")["records"] == found["records"]
    assert groups(admin, endpoint_key="items")["groups"] == []
    one = groups(admin, connector_id=connector_id, limit=1)
    assert one["total"] == 2 and len(one["groups"]) == 1 and one["groups"][0]["value"] == "ADJUSTMENT"
    past = groups(admin, connector_id=connector_id, limit=1, offset=5)
    assert past["total"] == 2 and past["groups"] == [] and past["records"] == found["records"]
    assert admin.get("/api/quarantine/groups", params={"status": "lost"}).status_code == 422

    # The page groups them the same way, in Arabic, with the fix in place.
    page = admin.get(f"/app/quarantine?connector_id={connector_id}", headers=HTML).text
    rows = re.findall(r'<tr data-testid="quarantine-group"[^>]*data-value="([^"]*)" data-count="(\d+)"', page)
    assert rows == [("ADJUSTMENT", str(truth["ADJUSTMENT"])), ("TRANSFER_IN", str(truth["TRANSFER_IN"]))]
    assert 'data-testid="fix-canonical"' in page and "أضف وأعد المعالجة" in page
    # "Edit the rule" opens the mapping editor at the field: the fragment names the field's heading there.
    editor_url, fragment = first["fix"]["editor_url"].split("#")
    assert f'id="{fragment}"' in admin.get(editor_url, headers=HTML).text


def test_another_tenant_sees_no_group_and_a_viewer_cannot_fix(synced, stack):
    admin, _, connector_id, _ = synced
    other, _ = stack.atlas.new_tenant()
    assert other.get("/api/quarantine/groups", params={"connector_id": connector_id}).status_code == 404
    assert groups(other)["groups"] == [] and groups(other)["records"] == 0
    body = {"connector_id": connector_id, "endpoint_key": "movements", "field": "kind", "value": "ADJUSTMENT"}
    assert other.post("/api/quarantine/groups/lookup", json={**body, "canonical": "adjustment"}).status_code == 404
    viewer, _ = stack.atlas.member_client(admin, "viewer")
    assert len(groups(viewer, connector_id=connector_id)["groups"]) == 2
    assert viewer.post("/api/quarantine/groups/lookup", json={**body, "canonical": "adjustment"}).status_code == 403
    refused = viewer.post("/api/quarantine/groups/reprocess", json={**body, "code": "not_in_lookup"})
    assert refused.status_code == 403
    page = viewer.get(f"/app/quarantine?connector_id={connector_id}", headers=HTML).text
    assert 'data-testid="quarantine-group"' in page and 'data-testid="fix-apply"' not in page


# --- the fix in place ---------------------------------------------------------------------------------


def test_the_lookup_fix_saves_a_version_loads_the_records_and_is_audited(truth, stack, demo_erp_url):
    admin, me, connector_id, _ = synced_tenant(stack, demo_erp_url, *MISSING)
    db, tenant = stack.atlas, me["tenant_id"]
    before = movements_mapping(admin, connector_id)
    body = {"connector_id": connector_id, "endpoint_key": "movements", "field": "kind", "value": "ADJUSTMENT"}

    wrong = admin.post("/api/quarantine/groups/lookup", json={**body, "canonical": "teleport"})
    assert wrong.status_code == 422 and wrong.json()["code"] == "errors.quarantine_fix_canonical_invalid"
    assert wrong.json()["field"] == "canonical"
    nothing = admin.post("/api/quarantine/groups/lookup", json={**body, "value": "NO_SUCH_KIND", "canonical": "sale"})
    assert nothing.status_code == 409 and nothing.json()["code"] == "errors.quarantine_group_empty"
    assert movements_mapping(admin, connector_id)["active_version"] == before["active_version"]  # nothing saved

    fixed = admin.post("/api/quarantine/groups/lookup", json={**body, "canonical": "adjustment"})
    assert fixed.status_code == 200, fixed.text
    result = fixed.json()
    assert result["version"] == before["active_version"] + 1
    assert result["reprocessed"] == truth["ADJUSTMENT"] and result["still_failing"] == 0 and result["remaining"] == 0

    # A new active version: the one entry added, nothing else changed.
    after = movements_mapping(admin, connector_id)
    assert after["active_version"] == result["version"]
    old = next(v["spec"] for v in after["versions"] if v["version"] == before["active_version"])
    new = next(v["spec"] for v in after["versions"] if v["version"] == result["version"])
    expected = copy.deepcopy(old)
    expected["fields"]["kind"]["transforms"][0]["table"]["ADJUSTMENT"] = "adjustment"
    assert new == expected

    # Loaded, closed, and audited like every version.
    assert db.sql("SELECT count(*) FROM stock_movements WHERE tenant_id = %s AND kind = 'adjustment'", (tenant,)) == [
        (truth["ADJUSTMENT"],)
    ]
    assert sql_groups(db, tenant, connector_id) == {("kind", "not_in_lookup", "TRANSFER_IN"): truth["TRANSFER_IN"]}
    assert sql_groups(db, tenant, connector_id, "reprocessed") == {
        ("kind", "not_in_lookup", "ADJUSTMENT"): truth["ADJUSTMENT"]
    }
    saved = db.sql(
        "SELECT payload FROM audit_events WHERE tenant_id = %s AND event_type = 'mapping_version_saved'", (tenant,)
    )
    assert next(p for (p,) in saved if p["version"] == result["version"])["changes"] == ["kind"]
    reprocessed = db.sql(
        "SELECT payload FROM audit_events WHERE tenant_id = %s AND event_type = 'quarantine_reprocessed'", (tenant,)
    )
    assert {"field": "kind", "code": "not_in_lookup", "value": "ADJUSTMENT"} in [p.get("group") for (p,) in reprocessed]
    assert [g["value"] for g in groups(admin, connector_id=connector_id)["groups"]] == ["TRANSFER_IN"]

    again = admin.post("/api/quarantine/groups/lookup", json={**body, "canonical": "adjustment"})
    assert again.status_code == 409  # the group is empty now


def test_reprocessing_a_group_after_a_bad_edit_loses_no_record(truth, stack, demo_erp_url):
    admin, me, connector_id, _ = synced_tenant(stack, demo_erp_url, "TRANSFER_IN")
    db, tenant = stack.atlas, me["tenant_id"]
    transfers = truth["TRANSFER_IN"]
    mapping = movements_mapping(admin, connector_id)
    spec = next(v["spec"] for v in mapping["versions"] if v["version"] == mapping["active_version"])

    # A wrong edit of the rule: TRANSFER_IN now maps to a kind Atlas does not have.
    wrong = copy.deepcopy(spec)
    wrong["fields"]["kind"]["transforms"][0]["table"]["TRANSFER_IN"] = "teleport"
    assert (
        admin.post(f"/api/mappings/{mapping['id']}/versions", json={"spec": wrong, "note": "oops"}).status_code == 201
    )
    group = {"connector_id": connector_id, "endpoint_key": "movements", "field": "kind", "code": "not_in_lookup"}
    result = admin.post("/api/quarantine/groups/reprocess", json={**group, "value": "TRANSFER_IN"}).json()
    assert result["reprocessed"] == 0 and result["still_failing"] == transfers and result["remaining"] == 0
    # Every record is still open, with its new reason, in a new group whose fix is to edit the rule.
    assert sql_groups(db, tenant, connector_id) == {("kind", "unknown_movement_kind", "teleport"): transfers}
    now = groups(admin, connector_id=connector_id)["groups"]
    assert [(g["code"], g["value"], g["count"], g["fix"]["kind"]) for g in now] == [
        ("unknown_movement_kind", "teleport", transfers, "edit_rule")
    ]

    # The right edit, then the group re-processed: every record loaded.
    right = copy.deepcopy(spec)
    right["fields"]["kind"]["transforms"][0]["table"]["TRANSFER_IN"] = "transfer_in"
    assert admin.post(f"/api/mappings/{mapping['id']}/versions", json={"spec": right, "note": "fix"}).status_code == 201
    done = admin.post(
        "/api/quarantine/groups/reprocess", json={**group, "code": "unknown_movement_kind", "value": "teleport"}
    ).json()
    assert done["reprocessed"] == transfers and done["still_failing"] == 0 and done["remaining"] == 0
    assert groups(admin, connector_id=connector_id) == {"records": 0, "total": 0, "groups": []}
    assert db.sql("SELECT count(*) FROM stock_movements WHERE tenant_id = %s", (tenant,)) == [
        (len(expected_dataset().movements),)
    ]


def test_a_group_needs_its_endpoint_and_a_known_connector(synced):
    admin, _, connector_id, _ = synced
    body = {"connector_id": str(uuid.uuid4()), "endpoint_key": "movements", "field": "kind", "code": "x", "value": ""}
    assert admin.post("/api/quarantine/groups/reprocess", json=body).status_code == 404
    missing = admin.post(
        "/api/quarantine/groups/lookup",
        json={"connector_id": connector_id, "endpoint_key": "nope", "field": "kind", "value": "A", "canonical": "sale"},
    )
    assert missing.status_code == 422 and missing.json()["code"] == "errors.quarantine_fix_no_mapping"


def test_an_entry_for_a_value_cut_short_would_fix_nothing_so_it_is_refused():
    """An error keeps 60 characters of the value: adding those 60 to the table does not resolve a longer value,
    and the fix checks that on the group's sample before saving anything."""
    spec = copy.deepcopy(DEMO_MAPPINGS["movements"])
    long_kind = "A_VERY_LONG_KIND_NAME_" * 4
    raw = {
        "movement_id": "M1",
        "sku": "SKU-1",
        "warehouse_id": "W1",
        "occurred_at": "2026-01-01T00:00:00Z",
        "quantity": 1,
        "direction": "in",
        "type": long_kind,
    }
    errors = compile_mapping("stock_movements", spec).map_record(raw)
    assert isinstance(errors, list) and errors[0].code == "not_in_lookup" and len(errors[0].detail) == 60
    group = Group(field="kind", code="not_in_lookup", value=errors[0].detail)
    cut = compile_mapping("stock_movements", _with_entry(spec, "kind", 0, errors[0].detail, "adjustment"))
    assert _still_misses(cut, raw, group)
    whole = compile_mapping("stock_movements", _with_entry(spec, "kind", 0, long_kind, "adjustment"))
    assert not _still_misses(whole, raw, group)
