"""The read-RPC simulations behave as the real systems do, including the writes Atlas must never send: the tests
here send them on purpose, from the test itself (inside ``CANARY.deliberate()``), to show that they would land."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.sims import graphql_api, odoo, suiteql
from tests.sims.canary import CANARY


@pytest.fixture
def odoo_sim() -> Iterator[odoo.OdooSim]:
    with odoo.odoo_server() as sim:
        yield sim


def odoo_call(sim: odoo.OdooSim, model: str, method: str, body: dict[str, object], **headers: str) -> httpx.Response:
    return httpx.post(
        f"{sim.base}/json/2/{model}/{method}",
        json=body,
        headers={"Authorization": f"bearer {odoo.API_KEY}", "X-Odoo-Database": odoo.DATABASE, **headers},
    )


def test_odoo_search_read_answers_a_bare_array_with_many2one_pairs(odoo_sim):
    response = odoo_call(
        odoo_sim,
        "stock.quant",
        "search_read",
        {"domain": [["location_id", "=", 9]], "fields": ["product_id", "quantity"]},
    )
    assert response.status_code == 200
    rows = response.json()
    assert isinstance(rows, list) and rows
    products = {p["id"]: p for p in odoo_sim.models["product.product"]}
    for row in rows:  # [id, display name]: "[internal reference] name", or the name alone when it has none
        product = products[row["product_id"][0]]
        code = product["default_code"]
        assert row["product_id"][1] == (f"[{code}] {product['name']}" if code else product["name"])
    assert set(rows[0]) == {"id", "product_id", "quantity"}
    # several quants per product and location (lots): the truth sums them
    pairs = [(q["product_id"], q["location_id"]) for q in odoo_sim.models["stock.quant"]]
    assert len(pairs) > len(set(pairs))
    assert sum(q for q, _ in odoo_sim.truth().values()) == sum(q["quantity"] for q in odoo_sim.models["stock.quant"])


def test_odoo_domains_offsets_and_counts(odoo_sim):
    domain = ["|", ["location_id", "=", 9], "!", ["quantity", "<", 20]]
    everything = odoo_call(odoo_sim, "stock.quant", "search_read", {"domain": domain, "fields": ["id"]}).json()
    page = odoo_call(
        odoo_sim, "stock.quant", "search_read", {"domain": domain, "fields": ["id"], "offset": 3, "limit": 4}
    )
    assert page.json() == everything[3:7]
    count = odoo_call(odoo_sim, "stock.quant", "search_count", {"domain": domain}).json()
    assert count == len(everything)
    expected = [q for q in odoo_sim.models["stock.quant"] if q["location_id"] == 9 or q["quantity"] >= 20]
    assert [r["id"] for r in everything] == [q["id"] for q in expected]


@pytest.mark.parametrize(
    ("model", "method", "body", "headers", "status", "name"),
    [
        ("stock.nothing", "search_read", {}, {}, 404, "werkzeug.exceptions.NotFound"),
        ("stock.quant", "frobnicate", {}, {}, 404, "werkzeug.exceptions.NotFound"),
        ("stock.quant", "_private", {}, {}, 404, "werkzeug.exceptions.NotFound"),
        ("stock.quant", "search_read", {"colour": "red"}, {}, 422, "werkzeug.exceptions.UnprocessableEntity"),
        ("stock.quant", "search_read", {}, {"Authorization": "bearer wrong"}, 401, "werkzeug.exceptions.Unauthorized"),
        ("stock.quant", "search_read", {}, {"X-Odoo-Database": "nope"}, 404, "werkzeug.exceptions.NotFound"),
    ],
)
def test_odoo_errors_are_odoo_s_error_objects(odoo_sim, model, method, body, headers, status, name):
    with CANARY.deliberate():  # an unknown method could be anything: the test's own request, not Atlas's
        response = odoo_call(odoo_sim, model, method, body, **headers)
    assert response.status_code == status
    error = response.json()
    assert error["name"] == name and error["arguments"][0] == error["message"] and "debug" in error


def test_odoo_answers_anything_but_post_with_405(odoo_sim):
    response = httpx.get(f"{odoo_sim.base}/json/2/stock.quant/search_read")
    assert response.status_code == 405 and response.json()["name"] == "werkzeug.exceptions.MethodNotAllowed"


def test_odoo_write_methods_really_change_the_data_and_the_canary_sees_them(odoo_sim):
    before = len(CANARY.seen(system="odoo", kind="write"))
    first = odoo_sim.models["stock.quant"][0]["id"]
    with CANARY.deliberate():
        assert odoo_call(odoo_sim, "stock.quant", "write", {"ids": [first], "vals": {"quantity": 0.0}}).json() is True
        created = odoo_call(odoo_sim, "stock.quant", "create", {"vals_list": [{"product_id": 1, "location_id": 8,
                                                                                "quantity": 5.0}]}).json()  # fmt: skip
        assert odoo_call(odoo_sim, "stock.quant", "unlink", {"ids": created}).json() is True
    assert odoo_sim.models["stock.quant"][0]["quantity"] == 0.0
    assert created[0] not in [q["id"] for q in odoo_sim.models["stock.quant"]]
    writes = CANARY.seen(system="odoo", kind="write")[before:]
    assert [(w.path.rsplit("/", 1)[1], w.deliberate) for w in writes] == [
        ("write", True),
        ("create", True),
        ("unlink", True),
    ]


def test_graphql_pages_through_the_connection_and_a_mutation_changes_the_data():
    with graphql_api.graphql_server() as sim:
        auth = {"Authorization": f"Bearer {graphql_api.TOKEN}"}
        query = (
            "query P($after: String) { stockRows(first: 10, after: $after) "
            "{ edges { node { id } } pageInfo { hasNextPage endCursor } } }"
        )
        seen, after = [], None
        while True:
            page = httpx.post(sim.url, json={"query": query, "variables": {"after": after}}, headers=auth).json()
            connection = page["data"]["stockRows"]
            seen += [e["node"]["id"] for e in connection["edges"]]
            if not connection["pageInfo"]["hasNextPage"]:
                break
            after = connection["pageInfo"]["endCursor"]
        assert seen == [r["id"] for r in sim.rows]
        bad = httpx.post(sim.url, json={"query": "{ stockRows { nope } }"}, headers=auth).json()
        assert bad["errors"][0]["message"].startswith("Cannot query field 'nope'")
        with CANARY.deliberate():
            changed = httpx.post(
                sim.url,
                json={"query": 'mutation { adjustStock(id: "SR001", quantity: 0) { id quantity } }'},
                headers=auth,
            )
        assert changed.json()["data"]["adjustStock"] == {"id": "SR001", "quantity": 0.0}
        assert sim.rows[0]["quantity"] == 0.0 and CANARY.seen(system="graphql", kind="write")[-1].deliberate


def test_suiteql_reads_selects_and_refuses_anything_else():
    with suiteql.suiteql_server() as sim:
        headers = {"Authorization": f"Bearer {suiteql.TOKEN}", "Prefer": "transient"}
        first = httpx.post(
            f"{sim.url}?limit=5&offset=0", json={"q": "SELECT id, itemid FROM item ORDER BY id"}, headers=headers
        )
        body = first.json()
        assert (
            first.status_code == 200 and body["count"] == 5 and body["hasMore"] is True and body["totalResults"] == 20
        )
        assert body["items"][0] == {"links": [], "id": 1, "itemid": "NS-0001"}
        misaligned = httpx.post(f"{sim.url}?limit=5&offset=3", json={"q": "SELECT id FROM item"}, headers=headers)
        assert misaligned.status_code == 400
        no_prefer = httpx.post(
            sim.url, json={"q": "SELECT id FROM item"}, headers={"Authorization": headers["Authorization"]}
        )
        assert no_prefer.status_code == 400
        with CANARY.deliberate():
            refused = httpx.post(sim.url, json={"q": "DELETE FROM item"}, headers=headers)
        assert refused.status_code == 400 and refused.json()["o:errorDetails"][0]["o:errorCode"] == "INVALID_PARAMETER"
        assert sim.db.execute("SELECT COUNT(*) FROM item").fetchone() == (20,)


def test_odoo_receipts_keep_the_order_lines_and_the_account_of_what_is_on_its_way_in_step(odoo_sim):
    """Every confirmed order line's quantity is received, still on its way or cancelled with its receipt (no
    backorder), in the product's unit; the simulation's own account of what is on its way is exactly the receipt
    moves a JSON-2 search for open moves from a vendor or transit into internal locations finds."""
    data = odoo_sim.data
    moves_by_line: dict[int, list[dict[str, object]]] = {}
    for move in data.models["stock.move"]:
        if move["purchase_line_id"]:
            moves_by_line.setdefault(int(move["purchase_line_id"]), []).append(move)
    for line in data.models["purchase.order.line"]:
        if line["state"] != "purchase":
            assert all(m["state"] == "cancel" for m in moves_by_line.get(line["id"], []))
            continue
        factor = 12 if line["product_uom"] == 12 else 1
        moves = moves_by_line[line["id"]]
        done = sum(m["product_qty"] for m in moves if m["state"] == "done")
        assert done == line["qty_received"] * factor
        assert sum(m["product_qty"] for m in moves if m["state"] != "draft") == line["product_qty"] * factor
    dozen = data.record("stock.move", data.landmarks.dozen_receipt)
    assert (dozen["product_uom_qty"], dozen["product_qty"]) == (2.0, 24.0)
    domain = [
        ["location_dest_id.usage", "=", "internal"],
        "|",
        "&",
        ["location_id.usage", "=", "supplier"],
        ["state", "in", ["waiting", "confirmed", "partially_available", "assigned"]],
        "&",
        ["location_id.usage", "=", "transit"],
        ["state", "in", ["partially_available", "assigned"]],
    ]
    found = odoo_call(odoo_sim, "stock.move", "search_read", {"domain": domain, "fields": ["product_qty"]}).json()
    assert {r["id"]: r["product_qty"] for r in found} == {m: w.quantity for m, w in data.on_its_way.items()}
    assert not set(data.landmarks.not_on_order) & {r["id"] for r in found}
