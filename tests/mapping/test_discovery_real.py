"""Discovery against simulations of real systems, through the running Atlas as "Other REST API".

InvenTree publishes no description here: discovery probes. Typed with its ``/api`` base or with the bare host, it must
never ask for ``/api/api/...``, must find the paths that end in ``/`` (InvenTree answers 404 without it), propose
category and location-type names rather than ids, and never take a tracking entry's ``item`` (a STOCK ROW pk) for the
part it moved. A connector's read-RPC endpoint (Odoo JSON-2) is read with its own read call, never a GET.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from atlas.mapping.discovery_paths import split_segments
from atlas.mapping.engine import compile_mapping
from tests.connectors.test_read_rpc import odoo_connector_body
from tests.sims import odoo
from tests.sims.canary import CANARY
from tests.sims.inventree import TOKEN, InvenTreeApi, inventree_server


@pytest.fixture(scope="module")
def inventree() -> Iterator[InvenTreeApi]:
    with inventree_server(parts=300) as sim:
        yield sim


def discover(admin: Any, base_url: str, auth: dict[str, Any]) -> dict[str, Any]:
    response = admin.post("/api/discovery", json={"base_url": base_url, "auth": auth}, timeout=180)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


@pytest.mark.parametrize("suffix", ["/api", ""])
def test_inventree_as_other_rest_api_from_its_api_base_or_its_host(stack, inventree, suffix):
    admin, _ = stack.atlas.new_tenant()
    before = len(inventree.requests())
    report = discover(admin, inventree.base + suffix, {"kind": "header", "scheme": "Token", "credential": TOKEN})
    seen = inventree.requests()[before:]
    # No doubled segment, whatever the person typed.
    assert [s.path for s in seen if split_segments(s.path)[:2] == ["api", "api"]] == []
    assert all(s.method == "GET" for s in seen)
    assert report["description"] is None and report["requests"] <= len(seen)
    chosen = {r["resource"]: r for r in report["resources"] if r["chosen"]}
    assert set(chosen) == {"items", "locations", "stock_balances", "stock_movements"}
    expected = {
        "items": "part/",
        "locations": "stock/location/",
        "stock_balances": "stock/",
        "stock_movements": "stock/track/",
    }
    for resource, tail in expected.items():
        path = chosen[resource]["path"]
        assert path == ("/api/" if suffix == "" else "/") + tail, (resource, path)  # found with its trailing slash
        assert chosen[resource]["pagination"]["verified"] == "second_page"
        assert chosen[resource]["pagination"]["style"] == "offset"
        assert chosen[resource]["pagination"]["settings"]["total_path"] == "$.count"
    mappings = report["proposal"]["mappings"]
    # Names, not ids: the category's name; the location type's name (mapped onto Atlas's types); the full path of a
    # location whose leaf name repeats.
    assert mappings["items"]["fields"]["category"] == {"path": "$.category_name"}
    location_type = mappings["locations"]["fields"]["type"]
    assert location_type["path"] == "$.location_type_detail.name"
    typed = compile_mapping("locations", mappings["locations"], strict=True).map_record(
        {"pk": 1, "pathstring": "DC", "location_type_detail": {"name": "Warehouse"}}
    )
    assert isinstance(typed, dict) and typed["type"] == "warehouse"
    assert mappings["locations"]["fields"]["name"] == {"path": "$.pathstring"}
    # Parts are identified by their pk, which the stock rows' ``part`` references; a part without an IPN keeps one.
    assert mappings["items"]["fields"]["external_id"] == {"path": "$.pk"}
    assert mappings["items"]["fields"]["sku"] == {"paths": ["$.IPN", "$.pk"]}
    assert mappings["stock"]["fields"]["item_ref"] == {"path": "$.part"}
    assert mappings["stock"]["fields"]["source_id"] == {"path": "$.pk"} and "combine" not in mappings["stock"]
    # The stock rows' modified-date filter was found by asking (a date in the future empties the answer), and it is
    # not applied: a full read is what zeroes stock that is gone.
    assert chosen["stock_balances"]["incremental"]["start_param"] == "updated_after"
    assert chosen["stock_balances"]["incremental"]["applied"] is False
    # Movements: ``item`` holds stock-row pks. It is never the item reference; the part comes from the stock row's
    # details, which InvenTree adds when asked (item_detail=true).
    movements = chosen["stock_movements"]
    assert movements["params"]["item_detail"] == "true"
    item_ref = movements["suggested_mapping"]["fields"]["item_ref"]
    assert item_ref == {"path": "$.item_detail.part"}
    reasons = [r["key"] for r in movements["confidence"]["item_ref"]["reasons"]]
    assert "discovery.why.other_entity" in reasons
    # Its kind (tracking codes) cannot be named from the data: the movements are left for a person, not guessed.
    assert movements["unmapped_required"] == ["kind"] and movements["proposed"] is False
    assert {e["key"] for e in report["proposal"]["endpoints"]} == {"items", "locations", "stock"}


def test_the_inventree_proposal_applies_and_previews_parts_by_name(stack, inventree):
    admin, _ = stack.atlas.new_tenant()
    auth = {"kind": "header", "scheme": "Token", "credential": TOKEN}
    report = discover(admin, inventree.base + "/api", auth)
    applied = admin.post(
        "/api/discovery/adopt", json={"base_url": inventree.base + "/api", "auth": auth, **report["proposal"]}
    )
    assert applied.status_code == 201, applied.text
    connector = applied.json()["connector"]
    assert TOKEN not in applied.text and connector["auth"]["credential"].startswith("••••")
    preview = admin.post(
        "/api/mappings/preview",
        json={
            "connector_id": connector["id"],
            "endpoint_key": "items",
            "spec": report["proposal"]["mappings"]["items"],
        },
    )
    assert preview.status_code == 200, preview.text
    first = preview.json()["records"][0]
    assert first["values"]["category"] == first["source"]["category_name"]


@pytest.fixture(scope="module")
def odoo_sim() -> Iterator[odoo.OdooSim]:
    with odoo.odoo_server() as sim:
        sim.reset()
        yield sim


def test_a_read_rpc_endpoint_is_read_with_its_own_call_never_a_get(stack, odoo_sim):
    admin, _ = stack.atlas.new_tenant()
    created = admin.post("/api/connectors", json=odoo_connector_body(odoo_sim))
    assert created.status_code == 201, created.text
    connector = created.json()
    path = "/json/2/stock.quant/search_read"
    before = len(CANARY.seen(system=odoo.SYSTEM))
    calls = odoo_sim.calls[("stock.quant", "search_read")]
    report = admin.post(f"/api/connectors/{connector['id']}/discover", timeout=120)
    assert report.status_code == 200, report.text
    seen = CANARY.seen(system=odoo.SYSTEM)[before:]
    assert [s for s in seen if s.path == path and s.method != "POST"] == []
    assert [s.kind for s in seen if s.path == path] and {s.kind for s in seen if s.path == path} == {"rpc_read"}
    assert odoo_sim.calls[("stock.quant", "search_read")] > calls
    quants = next(r for r in report.json()["resources"] if r["endpoint_key"] == "quants")
    assert quants["methods"] == ["POST"] and quants["reachable"] and quants["record_count"] > 0
    assert quants["suggested_mapping"]["fields"]["quantity"] == {"path": "$.quantity"}


def test_a_refused_credential_shows_the_servers_www_authenticate_hint(stack, inventree):
    """InvenTree refuses a Bearer with its key (401, ``WWW-Authenticate: Token``): the report says so, once, with the
    scheme the server expects, and discovery stops asking for paths."""
    admin, _ = stack.atlas.new_tenant()
    before = len(inventree.requests())
    report = discover(admin, inventree.base + "/api", {"kind": "bearer", "token": TOKEN})
    assert report["refused"] == 401 and report["auth_hint"] == "Token"
    assert report["proposal"]["endpoints"] == [] and TOKEN not in str(report)
    seen = inventree.requests()[before:]
    # The descriptions' places and the prefixes, then hardly any candidate path: once refused, the search stops.
    assert len([s for s in seen if "limit" in s.query]) <= 8
