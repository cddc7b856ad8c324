"""What a customer does with a preset, through Atlas's public API only: connect (base URL, credentials, preset),
start a sync and wait for it, and look at what was set aside. Plus the read-only SQL the tests use to compare what
Atlas holds with a simulation's truth (the stack's superuser connection, filtered by tenant and connector)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

FINISHED = ("succeeded", "needs_attention", "failed")


@dataclass
class Connected:
    admin: Any
    tenant_id: str
    connector_id: str
    answer: dict[str, Any]  # the 201 of POST /api/presets/{id}/connect


def connect(stack: Any, preset: str, base_url: str, inputs: dict[str, str]) -> Connected:
    """A new tenant connects with ``preset``: exactly the form a person fills in."""
    admin, me = stack.atlas.new_tenant()
    answer = admin.post(f"/api/presets/{preset}/connect", json={"base_url": base_url, "inputs": inputs})
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return Connected(admin, me["tenant_id"], body["connector"]["id"], body)


def sync(connected: Connected, timeout: float = 120) -> dict[str, Any]:
    started = connected.admin.post(f"/api/connectors/{connected.connector_id}/sync")
    assert started.status_code == 202, started.text
    run_id = started.json()["id"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run: dict[str, Any] = connected.admin.get(f"/api/syncs/{run_id}").json()
        if run["status"] in FINISHED:
            return run
        time.sleep(0.3)
    raise AssertionError(f"sync {run_id} did not finish: {connected.admin.get(f'/api/syncs/{run_id}').json()}")


def set_aside(connected: Connected) -> list[dict[str, Any]]:
    """Every open record the syncs set aside, with its raw record and reasons."""
    answer = connected.admin.get("/api/quarantine", params={"connector_id": connected.connector_id, "limit": 500})
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


def balances(stack: Any, connected: Connected) -> dict[tuple[str, str], tuple[Decimal, Decimal, Decimal]]:
    """Every balance Atlas holds for the connector, by the source's item and location ids: (quantity, reserved,
    available). The "no location" bucket's id is ``atlas:unassigned``."""
    rows = stack.atlas.sql(
        """SELECT i.external_id, l.external_id, b.quantity, b.reserved_qty, b.available_qty
           FROM stock_balances b JOIN items i ON i.id = b.item_id JOIN locations l ON l.id = b.location_id
           WHERE b.tenant_id = %s AND b.connector_id = %s""",
        (connected.tenant_id, connected.connector_id),
    )
    return {(item, location): (q, r, a) for item, location, q, r, a in rows}


def items(stack: Any, connected: Connected) -> dict[str, tuple[str, str, str | None, str | None]]:
    """external id -> (sku, name, unit of measure, category)."""
    rows = stack.atlas.sql(
        """SELECT external_id, sku, name, unit_of_measure, category FROM items
           WHERE tenant_id = %s AND connector_id = %s""",
        (connected.tenant_id, connected.connector_id),
    )
    return {e: (s, n, u, c) for e, s, n, u, c in rows}


def locations(stack: Any, connected: Connected) -> dict[str, tuple[str, str]]:
    """external id -> (code, name), the "no location" bucket left out."""
    rows = stack.atlas.sql(
        """SELECT external_id, code, name FROM locations
           WHERE tenant_id = %s AND connector_id = %s AND external_id <> 'atlas:unassigned'""",
        (connected.tenant_id, connected.connector_id),
    )
    return {e: (c, n) for e, c, n in rows}


def nothing_stored(stack: Any, tenant_id: str) -> bool:
    """No connector or mapping of the tenant exists, and none was ever created (the audit trail says so)."""
    counts = stack.atlas.sql(
        """SELECT (SELECT count(*) FROM connectors WHERE tenant_id = %s)
                + (SELECT count(*) FROM mappings WHERE tenant_id = %s)
                + (SELECT count(*) FROM audit_events WHERE tenant_id = %s
                   AND event_type IN ('connector_created', 'mapping_created', 'preset_applied'))""",
        (tenant_id, tenant_id, tenant_id),
    )
    return bool(counts[0][0] == 0)
