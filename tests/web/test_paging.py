"""Paging that never skips or repeats (issue 16): every list of the API, read page by page by offset and, where
offered, by cursor, returns each row exactly once, even when every row ties on the list's sort keys.

The tenant's rows are written as the application role (under row-level security) with the same sort keys: 224
recommendations of equal priority, confidence and time, anomalies of equal severity and time, audit events of one
transaction, movements at one instant, items and locations sharing a few SKUs and codes, quarantined records and
drafts of one moment. The lists are found in the OpenAPI document (every GET taking ``offset`` or ``cursor``), so
a new list cannot be left out: it must be seeded and named here."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from atlas.mapping.demo_setup import demo_connector_body
from tests.conftest import Atlas
from tests.execution_lock.seed import run

RECOMMENDATIONS = 224
ANOMALIES = 97
ITEMS = 61
LOCATIONS = 23
BALANCE_ITEMS = 20  # balances: the first 20 items at every location
MOVEMENTS = 150
OPEN_ORDERS = 57  # open order lines: a few SKUs and codes, so the keys tie
QUARANTINED = 45  # 30 groups: 15 of two records, 15 of one
DRAFTS = 41
AUDIT_EVENTS = 60
MOMENT = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


class Lists:
    """How to read each list and what it must contain: (query, the rows' key, the rows' identity)."""

    def __init__(self, atlas: Atlas, tenant_id: str) -> None:
        self.atlas = atlas
        self.tenant_id = tenant_id

    def ids(self, query: str) -> set[Any]:
        return {row[0] for row in self.atlas.sql(query, (self.tenant_id,))}

    def expected(self, path: str) -> tuple[dict[str, Any], set[Any]]:
        """The query parameters that list everything seeded, and every row's identity (from the database)."""
        t = "tenant_id = %s"
        recommendations = self.ids(f"SELECT id::text FROM recommendations WHERE {t} AND status = 'pending'")
        cases: dict[str, tuple[dict[str, Any], set[Any]]] = {
            "/api/recommendations": ({}, recommendations),
            "/api/approvals": ({"scope": "team"}, recommendations),
            "/api/anomalies": ({}, self.ids(f"SELECT id::text FROM anomalies WHERE {t} AND status = 'open'")),
            "/api/audit-logs": ({}, self.ids(f"SELECT seq FROM audit_events WHERE {t}")),
            "/api/drafts": ({}, self.ids(f"SELECT id::text FROM execution_drafts WHERE {t}")),
            "/api/inventory/items": ({}, self.ids(f"SELECT id::text FROM items WHERE {t}")),
            "/api/inventory/locations": ({}, self.ids(f"SELECT id::text FROM locations WHERE {t}")),
            "/api/inventory/balances": ({}, self.ids(f"SELECT id::text FROM stock_balances WHERE {t}")),
            "/api/inventory/movements": ({}, self.ids(f"SELECT id FROM stock_movements WHERE {t}")),
            "/api/inventory/open-orders": ({}, self.ids(f"SELECT id::text FROM open_orders WHERE {t}")),
            "/api/quarantine": (
                {},
                self.ids(f"SELECT id::text FROM quarantined_records WHERE {t} AND status = 'open'"),
            ),
            "/api/quarantine/groups": (
                {},
                {
                    tuple(row)
                    for row in self.atlas.sql(
                        f"""SELECT DISTINCT connector_id::text, endpoint_key, resource, e->>'field', e->>'code',
                                   e->>'detail'
                            FROM quarantined_records, jsonb_array_elements(errors) e
                            WHERE {t} AND status = 'open'""",
                        (self.tenant_id,),
                    )
                },
            ),
        }
        return cases[path.rstrip("/") or path]


def rows_of(path: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = body["groups" if path.startswith("/api/quarantine/groups") else "items"]
    return rows


def identity(path: str, row: dict[str, Any]) -> Any:
    if path.startswith("/api/audit-logs"):
        return row["seq"]
    if path.startswith("/api/quarantine/groups"):
        return (row["connector_id"], row["endpoint_key"], row["resource"], row["field"], row["code"], row["value"])
    return row["id"]


async def _seed(database: Any, tenant_id: uuid.UUID, connector_id: uuid.UUID) -> None:
    from atlas.ai_engine.models import AnalysisRun, Anomaly, Recommendation
    from atlas.execution_lock.models import ExecutionDraft
    from atlas.mapping.models import Item, Location, OpenOrder, QuarantinedRecord, StockBalancePart, StockMovement
    from atlas.platform.audit import Actor, EventType, record

    async with database.tenant_session(tenant_id) as session:
        run_row = AnalysisRun(tenant_id=tenant_id, trigger="manual", status="succeeded", started_at=MOMENT)
        session.add(run_row)
        # A few SKUs and codes shared by many rows: the keys tie and only the id orders them.
        items = [
            Item(
                tenant_id=tenant_id,
                connector_id=connector_id,
                external_id=f"item-{i}",
                sku=f"SKU-{i % 4}",
                name=f"Item {i}",
                created_at=MOMENT,
                updated_at=MOMENT,
            )
            for i in range(ITEMS)
        ]
        locations = [
            Location(
                tenant_id=tenant_id,
                connector_id=connector_id,
                external_id=f"loc-{i}",
                code=f"WH-{i % 3}",
                name=f"Warehouse {i}",
                created_at=MOMENT,
                updated_at=MOMENT,
            )
            for i in range(LOCATIONS)
        ]
        session.add_all([*items, *locations])
        await session.flush()
        session.add_all(
            StockBalancePart(
                tenant_id=tenant_id,
                connector_id=connector_id,
                endpoint_key="stock",
                source_id=f"{item.external_id}@{location.external_id}",
                item_id=item.id,
                location_id=location.id,
                quantity=Decimal(5),
                reserved_qty=Decimal(0),
                available_qty=Decimal(5),
                as_of=MOMENT,
                updated_at=MOMENT,
            )
            for item in items[:BALANCE_ITEMS]
            for location in locations
        )
        session.add_all(
            StockMovement(
                tenant_id=tenant_id,
                connector_id=connector_id,
                external_id=f"move-{i}",
                item_id=items[i % ITEMS].id,
                location_id=locations[i % LOCATIONS].id,
                occurred_at=MOMENT,
                quantity=Decimal(-1),
                kind="sale",
            )
            for i in range(MOVEMENTS)
        )
        session.add_all(
            OpenOrder(
                tenant_id=tenant_id,
                connector_id=connector_id,
                endpoint_key="open-orders",
                external_id=f"line-{i}",
                item_id=items[i % ITEMS].id,
                location_id=locations[i % LOCATIONS].id,
                open_qty=Decimal(3),
                expected_at=MOMENT,
                kind="purchase",
                created_at=MOMENT,
                updated_at=MOMENT,
            )
            for i in range(OPEN_ORDERS)
        )
        recommendations = [
            Recommendation(
                tenant_id=tenant_id,
                key=f"reorder:{i}",
                type="reorder",
                priority="high",
                status="pending",
                item_id=items[i % ITEMS].id,
                location_id=locations[i % LOCATIONS].id,
                quantity=Decimal(10),
                confidence_score=0.5,
                signals_used=["stockout"],
                explanation_en="Tied",
                explanation_ar="متعادل",
                evidence={},
                correlation_id=f"seed-{i}",
                analysis_run_id=run_row.id,
                created_at=MOMENT,
                updated_at=MOMENT,
            )
            for i in range(RECOMMENDATIONS)
        ]
        session.add_all(recommendations)
        session.add_all(
            Anomaly(
                tenant_id=tenant_id,
                key=f"spike:{i}",
                type="demand_spike",
                severity="high",
                item_id=items[i % ITEMS].id,
                location_id=locations[i % LOCATIONS].id,
                p_value=0.001,
                zscore=4.0,
                observed=10.0,
                expected=2.0,
                analysis_run_id=run_row.id,
                detected_at=MOMENT,
                updated_at=MOMENT,
            )
            for i in range(ANOMALIES)
        )
        session.add_all(
            QuarantinedRecord(
                tenant_id=tenant_id,
                connector_id=connector_id,
                endpoint_key="items",
                resource="item",
                content_hash=f"{i:064d}",
                raw={"n": i},
                errors=[{"field": "sku", "code": "required", "detail": f"value {i % 30}"}],
                created_at=MOMENT,
            )
            for i in range(QUARANTINED)
        )
        await session.flush()
        session.add_all(
            ExecutionDraft(
                tenant_id=tenant_id,
                recommendation_id=recommendations[i].id,
                revision=0,
                kind="blocked",
                action_type="reorder",
                action={},
                impact={},
                summary_en="Tied",
                summary_ar="متعادل",
                correlation_id=f"seed-{i}",
                created_by="system",
                created_at=MOMENT,
            )
            for i in range(DRAFTS)
        )
        # One transaction: every event has the same time; only the per-tenant seq tells them apart.
        for i in range(AUDIT_EVENTS):
            await record(
                session,
                EventType.INVITATION_CREATED,
                actor=Actor.system(),
                correlation_id=f"seed-{i}",
                payload={"n": i},
            )


@pytest.fixture(scope="module")
def tenant(atlas: Atlas) -> tuple[httpx.Client, Lists]:
    admin, me = atlas.new_tenant()
    response = admin.post("/api/connectors", json=demo_connector_body("http://127.0.0.1:9", name="Paging ERP"))
    assert response.status_code == 201, response.text
    tenant_id = uuid.UUID(me["tenant_id"])
    run(atlas.database_url, lambda database: _seed(database, tenant_id, uuid.UUID(response.json()["id"])))
    return admin, Lists(atlas, str(tenant_id))


def list_operations(client: httpx.Client) -> dict[str, set[str]]:
    """Every GET of the API taking ``offset`` or ``cursor``: path → its query parameters."""
    document = client.get("/schema/openapi.json").json()
    found: dict[str, set[str]] = {}
    for path, item in document["paths"].items():
        operation = item.get("get")
        if not operation:
            continue
        names = {p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"}
        if names & {"offset", "cursor"}:
            assert not any(p.get("in") == "path" for p in operation.get("parameters", [])), path
            found[path] = names
    return found


CURSOR_LISTS = {
    "/api/recommendations",
    "/api/anomalies",
    "/api/audit-logs",
    "/api/drafts",
    "/api/inventory/items",
    "/api/inventory/locations",
    "/api/inventory/balances",
    "/api/inventory/movements",
    "/api/inventory/open-orders",
    "/api/quarantine",
}
OFFSET_LISTS = CURSOR_LISTS - {"/api/audit-logs"} | {"/api/approvals", "/api/quarantine/groups"}


def read_by_offset(client: httpx.Client, path: str, params: dict[str, Any], size: int) -> list[Any]:
    seen: list[Any] = []
    offset = 0
    while True:
        response = client.get(path, params={**params, "limit": size, "offset": offset})
        assert response.status_code == 200, (path, response.text)
        rows = rows_of(path, response.json())
        seen.extend(identity(path, row) for row in rows)
        if len(rows) < size:
            return seen
        offset += size


def read_by_cursor(client: httpx.Client, path: str, params: dict[str, Any], size: int) -> list[Any]:
    seen: list[Any] = []
    cursor: str | None = None
    for _ in range(1000):
        query = {**params, "limit": size, **({"cursor": cursor} if cursor else {})}
        response = client.get(path, params=query)
        assert response.status_code == 200, (path, response.text)
        body = response.json()
        seen.extend(identity(path, row) for row in body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            assert len(body["items"]) <= size
            return seen
        assert len(body["items"]) == size  # a cursor is offered only after a full page
    raise AssertionError(f"{path}: the cursor never ended")


def test_the_lists_are_the_ones_this_test_seeds(tenant: tuple[httpx.Client, Lists]) -> None:
    admin, _ = tenant
    operations = list_operations(admin)
    paths = {p.rstrip("/") for p in operations}
    assert paths == CURSOR_LISTS | OFFSET_LISTS, "a new list: seed its rows here and page through it"
    for path, names in operations.items():
        assert ("cursor" in names) == (path.rstrip("/") in CURSOR_LISTS), path
        assert ("offset" in names) == (path.rstrip("/") in OFFSET_LISTS), path


@pytest.mark.parametrize("path", sorted(OFFSET_LISTS))
def test_offset_pages_show_every_row_once(tenant: tuple[httpx.Client, Lists], path: str) -> None:
    admin, lists = tenant
    params, expected = lists.expected(path)
    assert len(expected) >= 20
    seen = read_by_offset(admin, path, params, 7)
    assert len(seen) == len(set(seen)), f"{path}: {len(seen) - len(set(seen))} rows repeated"
    assert set(seen) == expected
    total = admin.get(path, params={**params, "limit": 1}).json().get("total")
    assert total in (None, len(expected))


@pytest.mark.parametrize("path", sorted(CURSOR_LISTS))
def test_cursor_pages_show_every_row_once(tenant: tuple[httpx.Client, Lists], path: str) -> None:
    admin, lists = tenant
    params, expected = lists.expected(path)
    seen = read_by_cursor(admin, path, params, 9)
    assert len(seen) == len(set(seen)), f"{path}: {len(seen) - len(set(seen))} rows repeated"
    assert set(seen) == expected
    # The same order as by offset: a client may switch from one to the other.
    if path in OFFSET_LISTS:
        assert seen == read_by_offset(admin, path, params, 50)


def test_a_cursor_survives_rows_added_before_it(atlas: Atlas, tenant: tuple[httpx.Client, Lists]) -> None:
    """Rows inserted ahead of the reader's position move offsets, not a cursor: nothing read twice."""
    admin, lists = tenant
    first = admin.get("/api/inventory/movements", params={"limit": 20}).json()
    later = datetime.now(UTC)
    atlas.sql(
        """INSERT INTO stock_movements (tenant_id, connector_id, external_id, item_id, location_id, occurred_at,
                                        quantity, kind)
           SELECT tenant_id, connector_id, 'late-' || id, item_id, location_id, %s, -1, 'sale'
           FROM stock_movements WHERE tenant_id = %s AND external_id LIKE 'move-%%' LIMIT 5""",
        (later, lists.tenant_id),
    )
    rest = read_by_cursor_from(admin, "/api/inventory/movements", first["next_cursor"])
    ids = [row["id"] for row in first["items"]] + rest
    assert len(ids) == len(set(ids)) == MOVEMENTS


def read_by_cursor_from(client: httpx.Client, path: str, cursor: str | None) -> list[Any]:
    seen: list[Any] = []
    while cursor:
        body = client.get(path, params={"limit": 33, "cursor": cursor}).json()
        seen.extend(row["id"] for row in body["items"])
        cursor = body["next_cursor"]
    return seen


def assert_problem(response: httpx.Response, field: str) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    named = {body.get("field")} | {e.get("field") for e in body.get("errors", [])}
    assert field in named, body


def _tampered(cursor: str) -> list[str]:
    payload, tag = cursor.split(".")
    raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    edited = base64.urlsafe_b64encode(raw.replace(b'"k":[', b'"k":[0,', 1)).rstrip(b"=").decode()
    other_tag = ("A" if tag[0] != "A" else "B") + tag[1:]
    return [f"{edited}.{tag}", f"{payload}.{other_tag}", payload, f"{payload}..{tag}", cursor + "x"]


@pytest.mark.parametrize("path", sorted(CURSOR_LISTS))
def test_a_forged_cursor_is_a_problem_naming_cursor(tenant: tuple[httpx.Client, Lists], path: str) -> None:
    admin, lists = tenant
    params, _ = lists.expected(path)
    genuine = admin.get(path, params={**params, "limit": 2}).json()["next_cursor"]
    assert genuine
    other_list = "/api/anomalies" if path != "/api/anomalies" else "/api/recommendations"
    foreign = admin.get(other_list, params={"limit": 2}).json()["next_cursor"]
    forged = [
        *_tampered(genuine),
        foreign,
        "abc",
        "9223372036854775808",
        "%00",
        "eyJ2IjoxfQ.AAAA",
        "x" * 5000,
        base64.urlsafe_b64encode(b'{"v":1,"l":"x","k":[]}').decode() + ".AAAAAAAAAAAAAAAAAAAAAA",
    ]
    for cursor in forged:
        assert_problem(admin.get(path, params={**params, "cursor": cursor}), "cursor")


@pytest.mark.parametrize("path", sorted(OFFSET_LISTS | CURSOR_LISTS))
def test_bounds_of_limit_and_offset(tenant: tuple[httpx.Client, Lists], path: str) -> None:
    admin, lists = tenant
    params, _ = lists.expected(path)
    if path in OFFSET_LISTS:
        for offset in ("9223372036854775808", "9223372036854775807", "1000001", "-1", "1.5", "abc"):
            assert_problem(admin.get(path, params={**params, "offset": offset}), "offset")
        far = admin.get(path, params={**params, "offset": 1_000_000})
        assert far.status_code == 200 and rows_of(path, far.json()) == []
    for limit in ("0", "501", "9223372036854775808", "-5"):
        assert_problem(admin.get(path, params={**params, "limit": limit}), "limit")


def test_another_tenants_cursor_shows_nothing_of_the_first(atlas: Atlas, tenant: tuple[httpx.Client, Lists]) -> None:
    admin, _ = tenant
    other, _ = atlas.new_tenant()
    cursor = admin.get("/api/recommendations", params={"limit": 3}).json()["next_cursor"]
    response = other.get("/api/recommendations", params={"limit": 50, "cursor": cursor})
    assert response.status_code == 200, response.text
    assert response.json()["items"] == [] and response.json()["total"] == 0
