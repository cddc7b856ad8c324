"""Daftra through its preset: an Arabic-first company types its Daftra subdomain, the API client's id and secret, a
user's e-mail and password, presses Connect, and Atlas holds the products, stores, each product's stock and the
stock transactions exactly as the simulated site (tests/sims/daftra.py) knows them, through Temporal, first and
after the site changed.

Daftra documents a product's stock across all its stores (``Product.stock_balance``) and no stock per store, so
each balance is in the connector's "no location" bucket. The truth is the site's own state (`DaftraData.truth_*`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from tests.presets import journey
from tests.presets.engine_reads import filled, read_and_map
from tests.sims import daftra
from tests.sims.daftra_model import MANUAL, SALE, DaftraData

UNASSIGNED = "atlas:unassigned"
KINDS = {"1": "receipt", "2": "sale", "4": "transfer_out", "5": "transfer_in"}


def inputs(sim: daftra.DaftraSite, **changes: str) -> dict[str, str]:
    """The form as a person fills it in; the token URL (under More settings) points at the simulated site, which a
    real customer never types (the subdomain fills it in)."""
    return {
        "subdomain": "hayat-dates",
        "client_id": daftra.CLIENT_ID,
        "client_secret": daftra.CLIENT_SECRET,
        "username": daftra.USERNAME,
        "password": daftra.PASSWORD,
        "token_url": sim.token_url,
        **changes,
    }


@dataclass(frozen=True)
class Truth:
    names: dict[str, str]  # product id -> name
    skus: dict[str, str]  # product id -> product_code, else barcode, else the id
    stores: dict[str, str]
    balances: dict[str, Decimal]  # product id -> stock across its stores (tracked products)
    untracked: int
    missing: set[str]  # tracked products the API sends without a balance
    movements: dict[str, tuple[str, str, Decimal, str]]  # transaction id -> (product, store, quantity, kind)


def truth(data: DaftraData) -> Truth:
    with data.lock:
        products = data.products.values()
        kinds = {t.transaction_id: t.transaction_type for t in data.transactions.values()}
        return Truth(
            {str(p.product_id): p.name for p in products},
            {str(p.product_id): p.product_code or p.barcode or str(p.product_id) for p in products},
            {str(s.store_id): s.name for s in data.stores.values()},
            {str(k): v for k, v in data.truth_balances().items()},
            sum(1 for p in products if not p.track_stock),
            {str(k) for k in data.truth_missing()},
            {
                str(key): (str(p), str(s), q, KINDS.get(kinds[key], "adjustment"))
                for key, (p, s, q) in data.truth_movements().items()
            },
        )


# --- the preset over every record the simulation serves, without the stack --------------------------------------


def test_the_subdomain_fills_in_the_address_and_the_token_url() -> None:
    given = {"subdomain": "hayat-dates", "client_id": "7", "client_secret": "s", "username": "u", "password": "p"}
    rendered = filled("daftra", None, given)
    assert rendered.connector["base_url"] == "https://hayat-dates.daftra.com"
    auth = rendered.connector["auth"]
    assert auth["token_url"] == "https://hayat-dates.daftra.com/v2/oauth/token"
    assert auth["kind"] == "oauth2_password" and "scheme" not in auth  # Bearer


def test_the_preset_reads_and_maps_every_record_exactly() -> None:
    with daftra.daftra_site(DaftraData(seed=2, products=1300, nulls=2)) as sim:
        rendered = filled("daftra", sim.base, inputs(sim))
        source = truth(sim.data)
        products = read_and_map(rendered, "products")
        assert products.errors == [] and len(products.rows) == 1300
        assert {r["external_id"]: r["name"] for r in products.rows} == source.names  # Arabic, exactly
        assert {r["external_id"]: r["sku"] for r in products.rows} == source.skus
        stores = read_and_map(rendered, "stores")
        assert {r["code"]: r["name"] for r in stores.rows} == source.stores
        stock = read_and_map(rendered, "stock")
        assert len(stock.skipped) == source.untracked  # products that track no stock
        assert {r["item_ref"]: r["quantity"] for r in stock.rows} == source.balances
        assert all(r["location_ref"] is None for r in stock.rows)  # no stock per store in Daftra's API
        assert {s["Product"]["id"] for s, _ in stock.errors} == source.missing
        assert all(e.field == "quantity" for _, errors in stock.errors for e in errors)
        transactions = read_and_map(rendered, "transactions")
        read = {
            r["external_id"]: (r["item_ref"], r["location_ref"], r["quantity"], r["kind"]) for r in transactions.rows
        }
        assert transactions.errors == [] and read == source.movements
        # Read as Daftra must be read: a Bearer token from one password grant, 1,000 records a page (1,300
        # products: two pages each time the products are read).
        reads = sim.api_requests()
        assert all(r.headers["authorization"].startswith("Bearer eyJ") for r in reads)
        assert all(r.query["limit"] == "1000" for r in reads)
        assert sorted(r.query["page"] for r in reads if r.path == "/api2/products") == ["1", "1", "2", "2"]
        assert sim.token_requests == 1
        form = sim.log.of(kind="token")[0].body.decode()
        assert form.startswith("grant_type=password&username=") and "client_secret=" in form


# --- end to end, through the running Atlas ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def sim() -> Iterator[daftra.DaftraSite]:
    with daftra.daftra_site(DaftraData(seed=9)) as site:
        yield site


@pytest.fixture(scope="module")
def first(stack: Any, sim: daftra.DaftraSite) -> tuple[journey.Connected, dict[str, Any], Truth]:
    connected = journey.connect(stack, "daftra", sim.base, inputs(sim))
    run = journey.sync(connected)
    return connected, run, truth(sim.data)


def balances(stack: Any, connected: journey.Connected) -> dict[str, Decimal]:
    """Every balance Atlas holds, by product; each must be in the "no location" bucket."""
    held = journey.balances(stack, connected)
    assert all(location == UNASSIGNED for _, location in held)
    return {item: quantity for (item, _), (quantity, _, _) in held.items()}


def movements(stack: Any, connected: journey.Connected) -> dict[str, tuple[str, str, Decimal, str]]:
    rows = stack.atlas.sql(
        """SELECT m.external_id, i.external_id, l.external_id, m.quantity, m.kind
           FROM stock_movements m JOIN items i ON i.id = m.item_id JOIN locations l ON l.id = m.location_id
           WHERE m.tenant_id = %s AND m.connector_id = %s""",
        (connected.tenant_id, connected.connector_id),
    )
    return {e: (i, loc, q, kind) for e, i, loc, q, kind in rows}


def test_connecting_tests_every_endpoint_and_never_returns_the_password(
    first: tuple[journey.Connected, dict[str, Any], Truth],
) -> None:
    connected, _, _ = first
    answer = connected.answer
    assert all(check["ok"] for check in answer["checks"]) and len(answer["checks"]) == 4
    auth = answer["connector"]["auth"]
    assert auth["kind"] == "oauth2_password" and auth["username"] == daftra.USERNAME
    assert daftra.PASSWORD not in str(answer) and daftra.CLIENT_SECRET not in str(answer)
    assert auth["password"] and auth["client_secret"]  # masked
    previews = {p["endpoint"]: p for p in answer["previews"]}
    assert previews["products"]["records"][0]["values"]["name"] == "تمر سكري فاخر 1"


def test_after_the_first_sync_products_stores_balances_and_movements_equal_the_source(
    stack: Any, first: tuple[journey.Connected, dict[str, Any], Truth]
) -> None:
    connected, run, source = first
    assert run["status"] == "succeeded", (run["error"], run.get("attention"))
    held = journey.items(stack, connected)
    assert {e: name for e, (_, name, _, _) in held.items()} == source.names
    assert {e: sku for e, (sku, _, _, _) in held.items()} == source.skus
    assert {e: name for e, (_, name) in journey.locations(stack, connected).items()} == source.stores
    assert balances(stack, connected) == source.balances
    assert movements(stack, connected) == source.movements
    stats = run["stats"]
    assert stats["stock_balances"]["skipped"] == source.untracked and stats["stock_balances"]["quarantined"] == 0
    assert run["summary"]["set_aside"] == 0 and journey.set_aside(connected) == []


def test_the_site_changes_the_token_is_revoked_and_the_second_sync_is_exact_again(
    stack: Any, sim: daftra.DaftraSite, first: tuple[journey.Connected, dict[str, Any], Truth]
) -> None:
    connected = first[0]
    data = sim.data
    tracked = [p for p in data.products.values() if p.track_stock]
    data.record(tracked[0].product_id, 1, Decimal(-5), SALE)
    data.record(tracked[1].product_id, 2, Decimal("2.5"), MANUAL)
    data.transfer(tracked[2].product_id, 1, 3, Decimal(4))  # the total stays; two movements
    new = data.add_product("قهوة مختصة 250 جرام", "P-NEW-1")
    data.record(new.product_id, 2, Decimal(24), "1")
    tokens, rejected = sim.token_requests, sim.rejected_tokens
    sim.revoke_all()  # the access token Atlas holds is refused: a new password grant, and the read goes on
    run = journey.sync(connected)
    assert run["status"] == "succeeded", (run["error"], run.get("attention"))
    source = truth(data)
    assert sim.rejected_tokens > rejected and sim.token_requests == tokens + 1
    assert balances(stack, connected) == source.balances
    assert balances(stack, connected)[str(new.product_id)] == 24
    assert movements(stack, connected) == source.movements
    assert run["summary"]["set_aside"] == 0


def test_messy_data_is_set_aside_and_explained(stack: Any) -> None:
    with daftra.daftra_site(DaftraData(seed=31, products=90, transactions=10, nulls=2)) as messy:
        connected = journey.connect(stack, "daftra", messy.base, inputs(messy))
        run = journey.sync(connected)
        source = truth(messy.data)
        assert run["status"] == "succeeded", (run["error"], run.get("attention"))
        assert run["summary"]["set_aside"] == 2 and run["stats"]["stock_balances"]["quarantined"] == 2
        aside = journey.set_aside(connected)
        assert {r["raw"]["Product"]["id"] for r in aside} == source.missing
        assert all(r["endpoint_key"] == "stock" and r["errors"][0]["field"] == "quantity" for r in aside)
        assert balances(stack, connected) == source.balances


@pytest.mark.parametrize(
    ("change", "said", "status"),
    [
        ({"password": "كلمة خاطئة"}, "The user credentials were incorrect.", 400),
        ({"client_secret": "not-the-secret"}, "Client authentication failed", 401),
    ],
)
def test_wrong_credentials_are_a_clear_422_and_nothing_is_stored(
    stack: Any, sim: daftra.DaftraSite, change: dict[str, str], said: str, status: int
) -> None:
    admin, me = stack.atlas.new_tenant()
    reply = admin.post(
        "/api/presets/daftra/connect",
        json={"base_url": sim.base, "inputs": inputs(sim, **change)},
        headers={"Accept-Language": "en"},
    )
    assert reply.status_code == 422, reply.text
    problem = reply.json()
    assert problem["field"] == "inputs"
    assert "Daftra refused the credentials when asked for an access token" in problem["detail"]
    assert said in problem["detail"] and f"HTTP {status}" in problem["detail"]
    assert next(iter(change.values())) not in reply.text
    arabic = admin.post(
        "/api/presets/daftra/connect",
        json={"base_url": sim.base, "inputs": inputs(sim, **change)},
        headers={"Accept-Language": "ar"},
    ).json()
    assert "رفض Daftra بيانات الدخول" in arabic["detail"]
    assert journey.nothing_stored(stack, me["tenant_id"])
