"""Zoho Inventory through its preset: a customer picks the data centre, types the organization id, a self client's id
and secret and its refresh token, presses Connect, and Atlas holds the organization's items, warehouses
(locations), each item's stock per warehouse and its inventory adjustments exactly as the simulation
(tests/sims/zoho.py) knows them, through Temporal, first and after the organization changed.

The truth comes from the simulated organization's own state (`ZohoData.truth_*`), snapshotted when each sync ended.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC
from decimal import Decimal
from typing import Any

import pytest

from atlas.connectors.engine import ConnectorSession
from atlas.mapping.services import with_record_path
from tests.presets import journey
from tests.presets.engine_reads import OPEN, compiled, engine_config, filled, read_and_map
from tests.sims import zoho
from tests.sims.zoho_model import ZohoData

Pair = tuple[str, str]


def inputs(sim: zoho.ZohoServers, **changes: str) -> dict[str, str]:
    """The form as a person fills it in; the token URL (under More settings) points at the simulated accounts
    server, which a real customer never types (the data centre fills it in)."""
    return {
        "region": "sa",
        "organization_id": sim.data.organization_id,
        "client_id": zoho.CLIENT_ID,
        "client_secret": zoho.CLIENT_SECRET,
        "refresh_token": zoho.REFRESH_TOKEN,
        "token_url": sim.token_url,
        **changes,
    }


@dataclass(frozen=True)
class Truth:
    skus: dict[str, str]  # item_id -> the SKU Atlas must hold (the sku, else the item_id)
    locations: dict[str, str]  # location_id -> name
    balances: dict[Pair, Decimal]  # (item_id, location_id) -> on hand, not zero
    blank: set[Pair]  # entries Zoho sends with an empty stock figure
    movements: dict[str, tuple[str, str, Decimal, str]]  # line_item_id -> (item, location, quantity, day)


def truth(data: ZohoData) -> Truth:
    with data.lock:
        return Truth(
            {item_id: sku or item_id for item_id, sku in data.item_skus().items()},
            {loc.location_id: loc.name for loc in data.locations.values()},
            data.truth_balances(),
            data.truth_blank(),
            {
                key: (m.item_id, m.location_id, m.quantity, m.day.isoformat())
                for key, m in data.truth_movements().items()
            },
        )


# --- the preset over every record the simulation serves, without the stack --------------------------------------


def inputs_for_region(region: str) -> dict[str, str]:
    return {"region": region, "organization_id": "1", "client_id": "c", "client_secret": "s", "refresh_token": "r"}


def test_the_data_centre_fills_in_the_api_and_the_accounts_server() -> None:
    rendered = filled("zoho_inventory", None, inputs_for_region("sa"))
    assert rendered.connector["base_url"] == "https://www.zohoapis.sa/inventory/v1"
    auth = rendered.connector["auth"]
    assert auth["token_url"] == "https://accounts.zoho.sa/oauth/v2/token"
    assert (auth["kind"], auth["scheme"]) == ("oauth2_refresh_token", "Zoho-oauthtoken")
    typed = filled("zoho_inventory", "https://www.zohoapis.eu", inputs_for_region("eu"))
    assert typed.connector["base_url"] == "https://www.zohoapis.eu/inventory/v1"
    assert typed.connector["auth"]["token_url"] == "https://accounts.zoho.eu/oauth/v2/token"


def test_the_preset_reads_and_maps_every_record_exactly() -> None:
    with zoho.zoho_servers(ZohoData(seed=3, blanks=3, transfers=3)) as sim:
        rendered = filled("zoho_inventory", sim.base, inputs(sim))
        source = truth(sim.data)
        items = read_and_map(rendered, "items")
        assert items.errors == [] and items.skipped == []
        assert {r["external_id"]: r["sku"] for r in items.rows} == source.skus
        assert any(r["sku"] == r["external_id"] for r in items.rows)  # no SKU entered: the item id
        locations = read_and_map(rendered, "locations")
        assert {r["code"]: r["name"] for r in locations.rows} == source.locations
        stock = read_and_map(rendered, "stock")
        held = {(r["item_ref"], r["location_ref"]): r["quantity"] for r in stock.rows if r["quantity"] != 0}
        assert held == source.balances
        assert any(q < 0 for q in held.values()) and any(q % 1 for q in held.values())  # negative, by weight
        # The entries Zoho sends with an empty stock figure are set aside, each saying which field and why.
        blank = {(s["item"]["item_id"], s["location_id"]) for s, _ in stock.errors}
        assert blank == source.blank and len(stock.errors) == 3
        assert all(e.field == "quantity" for _, errors in stock.errors for e in errors)
        read: dict[str, tuple[str, str, Decimal, str]] = {}
        for key, kind in (
            ("adjustment_lines", "adjustment"),
            ("transfers_out", "transfer_out"),
            ("transfers_in", "transfer_in"),
        ):
            lines = read_and_map(rendered, key)
            assert lines.errors == [] and lines.rows and all(r["kind"] == kind for r in lines.rows)
            read |= {
                r["external_id"]: (r["item_ref"], r["location_ref"], r["quantity"], r["occurred_at"].date().isoformat())
                for r in lines.rows
            }
        assert read == source.movements  # each transfer line twice: out of one location, into the other
        # Read as Zoho must be read: its token scheme, the organization on every request, all items (inactive ones
        # keep stock), 200 a page, one access token for every read.
        reads = sim.api_requests()
        assert reads and all(r.headers["authorization"].startswith("Zoho-oauthtoken 1000.") for r in reads)
        assert all(r.query.get("organization_id") == sim.data.organization_id for r in reads)
        item_reads = sim.api_requests(f"{zoho.ROOT}/items")
        assert item_reads and all(
            r.query["filter_by"] == "Status.All" and r.query["per_page"] == "200" for r in item_reads
        )
        assert sim.token_requests == 1
        token = sim.log.of(kind="token")[0]
        assert token.body.decode().startswith("grant_type=refresh_token&refresh_token=")


def test_a_per_minute_quota_answered_429_is_waited_out_and_the_read_is_exact() -> None:
    # Zoho allows 100 requests a minute; here 4 a second, so the test does not wait a minute.
    with zoho.zoho_servers(ZohoData(seed=4, items=450, adjustments=12), quota=4, quota_window=1.0) as sim:
        rendered = filled("zoho_inventory", sim.base, inputs(sim))
        source = truth(sim.data)
        lines = read_and_map(rendered, "adjustment_lines")  # 1 list page + 12 adjustments: over the quota
        stock = read_and_map(rendered, "stock")
        assert sim.refused_for_quota > 0
        assert len(lines.rows) == len(source.movements) == 12
        assert {(r["item_ref"], r["location_ref"]): r["quantity"] for r in stock.rows if r["quantity"]} == (
            source.balances
        )


def test_an_access_token_that_expires_or_is_revoked_mid_read_is_renewed_and_nothing_is_lost() -> None:
    with zoho.zoho_servers(ZohoData(seed=5, items=450), token_lifetime=2) as sim:
        rendered = filled("zoho_inventory", sim.base, inputs(sim))
        mapping = compiled(rendered, "stock", "stock_balances")
        config = engine_config(rendered)
        endpoint = with_record_path(config.endpoint("stock"), mapping)

        async def go() -> list[Any]:
            records: list[Any] = []
            async with ConnectorSession(config, network=OPEN) as session:
                async for page in session.reader.read(endpoint):
                    pages = len(records) == 0
                    records.extend(page.records)
                    if pages:
                        sim.revoke_all()  # revoked at the server after the first page: the next request is a 401
                    else:
                        await asyncio.sleep(2.0)  # the token expires while a page is handled: renewed before use
            return records

        records = asyncio.run(go())
        rows = [r for r in mapping.map_many(records) if isinstance(r, dict)]
        assert {(r["item_ref"], r["location_ref"]): r["quantity"] for r in rows if r["quantity"]} == (
            truth(sim.data).balances
        )
        assert sim.rejected_tokens >= 1  # the revoked token was refused once ...
        assert sim.token_requests >= 3  # ... renewed, and renewed again before each expiry


# --- end to end, through the running Atlas ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def sim() -> Iterator[zoho.ZohoServers]:
    with zoho.zoho_servers(ZohoData(seed=15, adjustments=8, transfers=2)) as server:
        yield server


@pytest.fixture(scope="module")
def first(stack: Any, sim: zoho.ZohoServers) -> tuple[journey.Connected, dict[str, Any], Truth]:
    connected = journey.connect(stack, "zoho_inventory", sim.base, inputs(sim))
    run = journey.sync(connected)
    return connected, run, truth(sim.data)


def movements(stack: Any, connected: journey.Connected) -> dict[str, tuple[str, str, Decimal, str]]:
    rows = stack.atlas.sql(
        """SELECT m.external_id, i.external_id, l.external_id, m.quantity, m.occurred_at, m.kind
           FROM stock_movements m JOIN items i ON i.id = m.item_id JOIN locations l ON l.id = m.location_id
           WHERE m.tenant_id = %s AND m.connector_id = %s""",
        (connected.tenant_id, connected.connector_id),
    )
    for external_id, _, _, quantity, _, kind in rows:
        expected = ("transfer_out" if quantity < 0 else "transfer_in") if "@" in external_id else "adjustment"
        assert kind == expected, (external_id, kind)
    return {e: (i, loc, q, at.astimezone(UTC).date().isoformat()) for e, i, loc, q, at, _ in rows}


def held(stack: Any, connected: journey.Connected) -> dict[Pair, Decimal]:
    return {pair: q for pair, (q, _, _) in journey.balances(stack, connected).items() if q != 0}


def test_connecting_tests_every_endpoint_and_never_returns_a_secret(
    first: tuple[journey.Connected, dict[str, Any], Truth],
) -> None:
    connected, _, _ = first
    answer = connected.answer
    assert {c["endpoint"]: c["ok"] for c in answer["checks"]} == {
        "items": True,
        "locations": True,
        "stock": True,
        "adjustments": True,
        "adjustment_lines": True,
        "transfer_orders": True,
        "transfers_out": True,
        "transfers_in": True,
        "purchase_orders_issued": True,
        "po_lines_issued": True,
        "purchase_orders_partial": True,
        "po_lines_partial": True,
    }
    assert sorted(m["endpoint_key"] for m in answer["mappings"]) == [
        "adjustment_lines",
        "items",
        "locations",
        "po_lines_issued",
        "po_lines_partial",
        "stock",
        "transfers_in",
        "transfers_out",
    ]
    auth = answer["connector"]["auth"]
    assert auth["kind"] == "oauth2_refresh_token" and auth["scheme"] == "Zoho-oauthtoken"
    assert zoho.REFRESH_TOKEN not in str(answer) and zoho.CLIENT_SECRET not in str(answer)
    assert auth["refresh_token"] and auth["client_secret"]  # masked, never the value
    previews = {p["endpoint"]: p for p in answer["previews"]}
    assert previews["stock"]["failed"] == 0 and previews["stock"]["mapped"] > 0
    assert "item" in previews["stock"]["records"][0]["source"]  # each location entry carries its item


def test_after_the_first_sync_items_warehouses_balances_and_movements_equal_the_source(
    stack: Any, first: tuple[journey.Connected, dict[str, Any], Truth]
) -> None:
    connected, run, source = first
    assert run["status"] == "succeeded", (run["error"], run.get("attention"))
    assert {e: sku for e, (sku, _, _, _) in journey.items(stack, connected).items()} == source.skus
    assert {e: name for e, (_, name) in journey.locations(stack, connected).items()} == source.locations
    atlas = held(stack, connected)
    exact = sum(1 for pair, quantity in source.balances.items() if atlas.get(pair) == quantity)
    assert exact == len(source.balances) == len(atlas), f"{exact} of {len(source.balances)} balances exact"
    assert movements(stack, connected) == source.movements
    stats = run["stats"]
    assert stats["stock_balances"]["quarantined"] == 0 and run["summary"]["set_aside"] == 0
    assert journey.set_aside(connected) == []


def test_the_organization_changes_a_token_expires_mid_read_and_the_second_sync_is_exact_again(
    stack: Any, sim: zoho.ZohoServers, first: tuple[journey.Connected, dict[str, Any], Truth]
) -> None:
    connected = first[0]
    data = sim.data
    stocked = [i for i in data.items.values() if i.track_inventory]
    main, jeddah = list(data.locations)[:2]
    moved = stocked[3]
    data.adjust(moved.item_id, main, -moved.stock[main])  # everything at the main warehouse written off: zero
    data.adjust(stocked[4].item_id, jeddah, Decimal("7.5"))
    data.rename(stocked[5].item_id, "Cardamom 250 g - هيل")
    new = data.add_item("Saffron 1 g - زعفران", "SAF-1", {jeddah: Decimal(40)})
    sent = data.transfer(new.item_id, jeddah, main, Decimal(15))
    tokens, rejected = sim.token_requests, sim.rejected_tokens
    sim.revoke_all()  # the access token Atlas holds is refused at the first request ...
    sim.token_lifetime = 3  # ... and the next ones expire during the read
    try:
        run = journey.sync(connected)
    finally:
        sim.token_lifetime = 3600
    assert run["status"] == "succeeded", (run["error"], run.get("attention"))
    source = truth(data)
    assert sim.rejected_tokens > rejected and sim.token_requests >= tokens + 2
    atlas = held(stack, connected)
    assert atlas == source.balances
    assert (moved.item_id, main) not in atlas and journey.balances(stack, connected)[(moved.item_id, main)][0] == 0
    assert atlas[(new.item_id, jeddah)] == 25 and atlas[(new.item_id, main)] == 15
    line = sent.lines[0].line_item_id
    assert movements(stack, connected)[f"{line}@{jeddah}"][2] == -15
    assert movements(stack, connected) == source.movements
    assert journey.items(stack, connected)[new.item_id][0] == "SAF-1"
    assert run["summary"]["set_aside"] == 0


def test_messy_data_is_set_aside_and_explained(stack: Any) -> None:
    with zoho.zoho_servers(ZohoData(seed=21, items=120, adjustments=4, blanks=3)) as messy:
        connected = journey.connect(stack, "zoho_inventory", messy.base, inputs(messy))
        # An organization without transfer orders yet connects: their lines are checked with nothing to read.
        checks = {c["endpoint"]: (c["ok"], c["records"]) for c in connected.answer["checks"]}
        assert checks["transfer_orders"] == checks["transfers_out"] == checks["transfers_in"] == (True, 0)
        assert checks["purchase_orders_issued"] == checks["po_lines_issued"] == (True, 0)  # no purchase orders
        run = journey.sync(connected)
        source = truth(messy.data)
        assert run["status"] == "succeeded", (run["error"], run.get("attention"))
        assert run["summary"]["set_aside"] == 3 and run["stats"]["stock_balances"]["quarantined"] == 3
        aside = journey.set_aside(connected)
        assert {(r["raw"]["item"]["item_id"], r["raw"]["location_id"]) for r in aside} == source.blank
        assert all(r["endpoint_key"] == "stock" and r["errors"][0]["field"] == "quantity" for r in aside)
        assert held(stack, connected) == source.balances  # everything else exact
        english = connected.admin.get(f"/api/syncs/{run['id']}", headers={"Accept-Language": "en"}).json()
        assert "3" in str(english["summary"]) and english["summary"]["reasons"]


@pytest.mark.parametrize(
    ("change", "answer"),
    [({"refresh_token": "1000.expired"}, "invalid_code"), ({"client_secret": "not-the-secret"}, "invalid_client")],
)
def test_wrong_credentials_are_a_clear_422_and_nothing_is_stored(
    stack: Any, sim: zoho.ZohoServers, change: dict[str, str], answer: str
) -> None:
    admin, me = stack.atlas.new_tenant()
    reply = admin.post(
        "/api/presets/zoho_inventory/connect",
        json={"base_url": sim.base, "inputs": inputs(sim, **change)},
        headers={"Accept-Language": "en"},
    )
    assert reply.status_code == 422, reply.text
    problem = reply.json()
    assert problem["field"] == "inputs"
    assert "Zoho Inventory refused the credentials when asked for an access token" in problem["detail"]
    assert answer in problem["detail"] and "HTTP 200" in problem["detail"]
    assert next(iter(change.values())) not in reply.text
    assert journey.nothing_stored(stack, me["tenant_id"])


def test_the_syncs_read_the_organization_within_zohos_quotas(
    sim: zoho.ZohoServers, first: tuple[journey.Connected, dict[str, Any], Truth]
) -> None:
    # 1.5 requests a second never meets the 100 a minute, and one access token serves every read of a sync
    # (a session per endpoint would otherwise ask for five, and Zoho gives ten per refresh token in ten minutes).
    assert sim.refused_for_quota == 0 and sim.rationed == 0
    assert all(r.method == "GET" for r in sim.api_requests())
