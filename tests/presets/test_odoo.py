"""Odoo end to end, for both presets, as a customer connects: the running Atlas (web app, Temporal, a worker,
PostgreSQL) is given the simulated Odoo's base URL, database and API key with ``POST /api/presets/<id>/connect``,
syncs, and must hold exactly what the simulation knows it holds — items, locations, balances and movements — then
again after the people using Odoo delivered, received, created a product and used up a lot.

``odoo`` is Odoo 19 over JSON-2; ``odoo_legacy`` is Odoo 17–18 over JSON-RPC (the simulation answers /jsonrpc as
Odoo 18 does, from the same data). The truth comes from the simulation's own state (``OdooData.truth_*``), never from
what Atlas read.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from atlas.i18n import translate
from tests.sims.canary import CANARY
from tests.sims.odoo import API_KEY, DATABASE, OdooSim, odoo_server
from tests.sims.odoo_data import DC_BULK, SHELF_1, STOCK

FINISHED = ("succeeded", "needs_attention", "failed")
PRESETS = ("odoo", "odoo_legacy")


@dataclass
class Tenant:
    admin: Any
    tenant_id: str
    connector_id: str


def storable_only(preset: str) -> bool:
    """Odoo 19's preset reads stocked products (is_storable); the 17–18 preset every good (see its file)."""
    return preset == "odoo"


def connect(stack: Any, sim: OdooSim, preset: str, key: str = API_KEY) -> tuple[Any, str, Any]:
    admin, me = stack.atlas.new_tenant()
    answer = admin.post(
        f"/api/presets/{preset}/connect",
        json={"base_url": sim.base, "inputs": {"database": DATABASE, "api_key": key}},
    )
    return admin, me["tenant_id"], answer


def connected(stack: Any, sim: OdooSim, preset: str) -> Tenant:
    admin, tenant_id, answer = connect(stack, sim, preset)
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert all(check["ok"] for check in body["checks"]), body["checks"]
    assert body["connector"]["preset"] == {"id": preset, "version": 1}
    assert API_KEY not in answer.text  # the key is never returned
    return Tenant(admin, tenant_id, body["connector"]["id"])


def sync(tenant: Tenant, timeout: float = 240) -> dict[str, Any]:
    started = tenant.admin.post(f"/api/connectors/{tenant.connector_id}/sync")
    assert started.status_code == 202, started.text
    run_id = started.json()["id"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = tenant.admin.get(f"/api/syncs/{run_id}").json()
        if run["status"] in FINISHED:
            return run  # type: ignore[no-any-return]
        time.sleep(0.3)
    raise AssertionError(f"sync {run_id} did not finish")


def rows(stack: Any, tenant: Tenant, query: str) -> list[tuple[Any, ...]]:
    return stack.atlas.sql(query, (tenant.tenant_id, tenant.connector_id))


def atlas_items(stack: Any, tenant: Tenant) -> dict[int, tuple[str, str, str | None]]:
    found = rows(
        stack,
        tenant,
        "SELECT external_id, sku, name, category FROM items WHERE tenant_id = %s AND connector_id = %s",
    )
    return {int(e): (sku, name, category) for e, sku, name, category in found}


def atlas_locations(stack: Any, tenant: Tenant) -> set[int]:
    found = rows(stack, tenant, "SELECT external_id FROM locations WHERE tenant_id = %s AND connector_id = %s")
    return {int(e) for (e,) in found if e.isdigit()}


def atlas_balances(stack: Any, tenant: Tenant) -> dict[tuple[int, int], tuple[float, float]]:
    """The balances that hold something (a vanished one is kept at zero), by Odoo's product and location ids."""
    found = rows(
        stack,
        tenant,
        """SELECT i.external_id, l.external_id, b.quantity, b.reserved_qty
           FROM stock_balances b JOIN items i ON i.id = b.item_id JOIN locations l ON l.id = b.location_id
           WHERE b.tenant_id = %s AND b.connector_id = %s""",
    )
    return {(int(i), int(loc)): (float(q), float(r)) for i, loc, q, r in found if q != 0 or r != 0}


def atlas_movements(stack: Any, tenant: Tenant) -> dict[str, tuple[int, int, float]]:
    found = rows(
        stack,
        tenant,
        """SELECT m.external_id, i.external_id, l.external_id, m.quantity
           FROM stock_movements m JOIN items i ON i.id = m.item_id JOIN locations l ON l.id = m.location_id
           WHERE m.tenant_id = %s AND m.connector_id = %s""",
    )
    return {e: (int(i), int(loc), float(q)) for e, i, loc, q in found}


def window_start(body: Any) -> str:
    """The value of the ``["write_date", ">=", value]`` term, wherever the protocol puts the domain."""
    if isinstance(body, list):
        if len(body) == 3 and body[:2] == ["write_date", ">="]:
            return str(body[2])
        found = [window_start(part) for part in body]
    elif isinstance(body, dict):
        found = [window_start(part) for part in body.values()]
    else:
        return ""
    return next((f for f in found if f), "")


def held(truth: dict[tuple[int, int], tuple[float, float]]) -> dict[tuple[int, int], tuple[float, float]]:
    return {pair: value for pair, value in truth.items() if value != (0.0, 0.0)}


def expected_items(sim: OdooSim, preset: str) -> dict[int, tuple[str, str, str | None]]:
    categories = {c["id"]: c["complete_name"] for c in sim.models["product.category"]}
    return {
        p["id"]: (p["default_code"] or str(p["id"]), p["name"], categories[p["categ_id"]])
        for p in sim.data.live_products(storable_only=storable_only(preset))
    }


def check_everything(stack: Any, sim: OdooSim, tenant: Tenant, preset: str) -> None:
    """Items, locations, balances and movements equal the source's truth exactly."""
    with sim.lock:
        items = expected_items(sim, preset)
        places = {loc["id"] for loc in sim.data.internal_locations()}
        balances = held(sim.data.truth_balances())
        movements = sim.data.truth_movements(storable_only=storable_only(preset))
    assert atlas_items(stack, tenant) == items
    assert atlas_locations(stack, tenant) == places
    assert atlas_balances(stack, tenant) == balances
    assert atlas_movements(stack, tenant) == movements


@pytest.fixture(params=PRESETS)
def messy(request: pytest.FixtureRequest) -> Iterator[tuple[str, OdooSim]]:
    with odoo_server(messy=True) as sim:
        yield request.param, sim


@pytest.fixture(params=PRESETS)
def clean(request: pytest.FixtureRequest) -> Iterator[tuple[str, OdooSim]]:
    with odoo_server(messy=False) as sim:
        yield request.param, sim


def test_a_customer_connects_syncs_and_holds_exactly_what_odoo_holds_before_and_after_changes(
    stack: Any, messy: tuple[str, OdooSim]
) -> None:
    preset, sim = messy
    tenant = connected(stack, sim, preset)
    run = sync(tenant)
    assert run["status"] == "succeeded", (run["error"], run["attention"])
    check_everything(stack, sim, tenant, preset)
    marks = sim.data.landmarks
    items = atlas_items(stack, tenant)
    # false is no reference: the SKU is the id, never "False"; a many2one gives the category's name, not its id
    assert all(items[p][0] == str(p) for p in marks.no_code_products)
    assert not any(sku == "False" for sku, _, _ in items.values())
    assert marks.archived_with_stock not in items
    assert all(s not in items for s in marks.services)
    assert all((c in items) == (preset == "odoo_legacy") for c in marks.consumables)
    # the negative quant and the pairs of several lots are summed exactly; quants elsewhere are not stock
    balances = atlas_balances(stack, tenant)
    negative = sim.data.record("stock.quant", marks.negative_quant) if marks.negative_quant else None
    assert negative is not None and balances[(negative["product_id"], negative["location_id"])][0] < 0
    # a line in dozens counts twelve per dozen
    dozen = marks.dozen_moves[0]
    line = sim.data.record("stock.move.line", dozen)
    assert atlas_movements(stack, tenant)[f"in:{dozen}"][2] == line["quantity"] * 12
    # what was set aside is exactly the archived product's quants and lines and the archived shelf's lines
    expected = sim.data.expected_set_aside(storable_only=storable_only(preset))
    stats = run["stats"]
    assert stats["stock_balances"]["quarantined"] == expected["quants"] > 0
    assert stats["stock_balances"]["reasons"] == {"unknown_item": expected["quants"]}
    moved = stats["stock_movements"]
    assert moved["quarantined"] == expected["moves_in"] + expected["moves_out"] > 0
    assert set(moved["reasons"]) == {"unknown_item", "unknown_location"}
    assert run["summary"]["set_aside"] == sum(expected.values())  # quants, moves in and out, open receipts

    # Life goes on in Odoo: a delivery, a receipt, a new product received, a lot used up (its quant unlinked).
    storable = [p["id"] for p in sim.data.live_products(storable_only=True)]
    delivered = next(p for p in storable if sim.data.quants_of(p, STOCK) or sim.data.quants_of(p, SHELF_1))
    source = STOCK if sim.data.quants_of(delivered, STOCK) else SHELF_1
    assert sim.deliver(delivered, source, 1.0)
    sim.receive(storable[2], DC_BULK, 17.0)
    new = sim.new_product("Label printer", False, 6.0)
    product, location, quant = sim.deplete_a_lot()
    first_reads = len(sim.model_bodies)
    second = sync(tenant)
    assert second["status"] == "succeeded", (second["error"], second["attention"])
    check_everything(stack, sim, tenant, preset)
    assert atlas_items(stack, tenant)[new][0] == str(new)
    assert second["stats"]["stock_balances"]["vanished"] + second["stats"]["stock_balances"]["reduced"] >= 1
    assert quant not in {q["id"] for q in sim.models["stock.quant"]}  # unlinked at the source ...
    assert atlas_balances(stack, tenant).get((product, location)) == held(sim.data.truth_balances()).get(
        (product, location)
    )  # ... and the pair holds what its other lots hold
    # Moves were read by write_date: the first sync from a year back, the second from the day before the first one
    # ended (the checkpoint less a day of overlap), never the whole history again.
    moves = [(i, window_start(body)) for i, (model, body) in enumerate(sim.model_bodies) if model == "stock.move.line"]
    first = [start for i, start in moves if i < first_reads]
    again = [start for i, start in moves if i >= first_reads]
    today = datetime.now(UTC).date()
    assert min(first) <= (today - timedelta(days=364)).isoformat()
    assert again and min(again) >= (today - timedelta(days=2)).isoformat()
    # Atlas only read: every request Odoo received was a read method
    assert not [s for s in CANARY.writes() if s.system == "odoo"]
    assert all(s.kind == "rpc_read" for s in CANARY.seen(system="odoo") if not s.deliberate and s.method == "POST")


def test_clean_data_sets_nothing_aside(stack: Any, clean: tuple[str, OdooSim]) -> None:
    preset, sim = clean
    tenant = connected(stack, sim, preset)
    run = sync(tenant)
    assert run["status"] == "succeeded", (run["error"], run["attention"])
    assert run["summary"]["set_aside"] == 0
    assert all(resource.get("quarantined", 0) == 0 for resource in run["stats"].values())
    check_everything(stack, sim, tenant, preset)
    # the connector's page names how it reads (and, for 17-18, that the key goes in the body), never the key
    page = tenant.admin.get(f"/app/connectors/{tenant.connector_id}")
    assert page.status_code == 200 and API_KEY not in page.text

    def shown(key: str) -> bool:
        return any(translate(key, lang) in page.text for lang in ("ar", "en"))

    assert shown("connectors.rpc_protocol.odoo_jsonrpc") == (preset == "odoo_legacy")
    assert shown("connectors.key_location.body") == (preset == "odoo_legacy")
    assert shown("connectors.rpc_protocol.odoo_json2") == (preset == "odoo")


@pytest.mark.parametrize("preset", PRESETS)
def test_a_wrong_key_is_a_clear_422_and_nothing_is_stored(stack: Any, preset: str) -> None:
    with odoo_server() as sim:
        admin, _, answer = connect(stack, sim, preset, key="not-the-key")
        assert answer.status_code == 422, answer.text
        problem = answer.json()
        assert problem["field"] == "inputs"  # the key: the form points at the credentials, not the address
        assert (
            "refused the credentials"
            in admin.post(
                f"/api/presets/{preset}/connect",
                json={"base_url": sim.base, "inputs": {"database": DATABASE, "api_key": "not-the-key"}},
                headers={"Accept-Language": "en"},
            ).json()["detail"]
        )
        assert "not-the-key" not in answer.text
        assert admin.get("/api/connectors").json() == []  # nothing stored
        # one request per attempt: the first endpoint was refused, so the others were not tried with the same key
        assert len(sim.headers_seen) == 2
        assert sim.models["stock.quant"]  # nothing written, nothing deleted
