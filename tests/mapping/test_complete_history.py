"""A count rule's ``complete_history``: when the source's ledger is complete from its beginning, the level before
its first movement is 0, so a stock count with no earlier level (ERPNext's opening stock entered as a stock
reconciliation) is resolved as counted − (0 + the changes before it) instead of being left unresolved.

The rule compiles strictly (a boolean, nothing else); the writer's resolution is checked in PostgreSQL against
changes worked out here by hand; and the sync's way of knowing (the count rules of the mapping versions a run uses)
is checked with a real mapping version and a real run.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import msgspec
import pytest

from atlas.mapping.engine import MappingInvalid, compile_mapping
from tests.mapping.test_balance_parts import Writer, movement, with_writer

RULE: dict[str, Any] = {
    "when": [{"path": "$.voucher_type", "equals": "Stock Reconciliation"}],
    "counted": {"path": "$.qty_after_transaction"},
}
FIELDS: dict[str, Any] = {
    "external_id": {"path": "$.name"},
    "item_ref": {"path": "$.item_code"},
    "location_ref": {"path": "$.warehouse"},
    "occurred_at": {"path": "$.posting_datetime"},
    "quantity": {"path": "$.actual_qty"},
    "kind": {"constant": "adjustment"},
}


def spec(**count: Any) -> dict[str, Any]:
    return {"timezone": "UTC", "count": {**RULE, **count}, "fields": FIELDS}


# --- the rule ------------------------------------------------------------------------------------------------


def test_complete_history_compiles_as_a_boolean_and_defaults_to_false() -> None:
    assert compile_mapping("stock_movements", spec(complete_history=True), strict=True).complete_history is True
    assert compile_mapping("stock_movements", spec(complete_history=False), strict=True).complete_history is False
    assert compile_mapping("stock_movements", spec(), strict=True).complete_history is False
    plain = {"timezone": "UTC", "fields": FIELDS}
    assert compile_mapping("stock_movements", plain, strict=True).complete_history is False


@pytest.mark.parametrize("value", ["true", 1, None, {"yes": True}])
def test_anything_but_true_or_false_is_refused_naming_the_field(value: Any) -> None:
    with pytest.raises(MappingInvalid) as refused:
        compile_mapping("stock_movements", spec(complete_history=value), strict=True)
    assert (refused.value.code, refused.value.field) == ("bad_complete_history", "count.complete_history")


def test_a_count_maps_the_same_whatever_the_option() -> None:
    record = {
        "name": "SLE-1",
        "item_code": "P-1",
        "warehouse": "Stores",
        "posting_datetime": "2026-11-01 09:00:00",
        "actual_qty": 0,
        "qty_after_transaction": 25,
        "voucher_type": "Stock Reconciliation",
    }
    with_option = compile_mapping("stock_movements", spec(complete_history=True), strict=True).map_record(record)
    without = compile_mapping("stock_movements", spec(), strict=True).map_record(record)
    assert with_option == without
    assert isinstance(with_option, dict) and with_option["is_count"] and with_option["level"] == 25


# --- the writer ----------------------------------------------------------------------------------------------

# One pair's ledger, written without levels but for the counts (what ERPNext's preset keeps: a count's counted
# quantity never goes stale, an ordinary entry's quantity after it does when a backdated entry is reposted).
HISTORY = [
    movement("300", 0, 0, level=25, count=True),  # opening stock as a count: nothing before it, +25
    movement("301", 4, -3),  # a sale
    movement("302", 9, 10),  # a receipt
    movement("303", 15, 0, level=30, count=True),  # 32 expected, 30 counted: -2
    movement("304", 20, -5),
    movement("305", 30, 0, level=25, count=True),  # 25 expected: 0
]


def resolved(url: str, history: list[dict[str, Any]], complete: bool | None) -> tuple[dict[str, Decimal], Any]:
    async def scenario(writer: Writer) -> tuple[dict[str, Decimal], Any]:
        from atlas.mapping.writer import resolve_counts

        run = uuid.uuid4()
        await writer.write("stock_movements", run, list(reversed(history)))  # order of arrival does not matter
        async with writer.database.tenant_session(writer.tenant_id) as session:
            outcome = await resolve_counts(
                session, connector_id=writer.connector_id, run_id=run, complete_history=complete
            )
            raw = (await (await session.connection()).get_raw_connection()).driver_connection
            rows = await raw.fetch("SELECT external_id, quantity FROM stock_movements WHERE is_count")
        return {r["external_id"]: r["quantity"] for r in rows}, outcome

    return with_writer(url, scenario)  # type: ignore[no-any-return]


def test_a_complete_ledger_resolves_its_opening_count_from_zero(database_url: str) -> None:
    changes, outcome = resolved(database_url, HISTORY, True)
    assert changes == {"300": Decimal(25), "303": Decimal(-2), "305": Decimal(0)}
    assert outcome == {"counts": 3, "unresolved": 0, "changed": 2}
    assert sum(changes.values()) + Decimal(-3 + 10 - 5) == 25  # the movements add up to the last count


def test_changes_before_a_first_count_are_summed_from_zero(database_url: str) -> None:
    history = [movement("400", 0, 12), movement("401", 3, -2), movement("402", 6, 0, level=7, count=True)]
    changes, outcome = resolved(database_url, history, True)
    assert changes == {"402": Decimal(-3)}  # 10 expected from zero, 7 counted
    assert outcome["unresolved"] == 0


def test_without_the_option_the_opening_count_stays_unresolved(database_url: str) -> None:
    changes, outcome = resolved(database_url, HISTORY, False)
    assert changes == {"300": Decimal(0), "303": Decimal(-2), "305": Decimal(0)}
    assert outcome["unresolved"] == 1


def test_the_option_comes_from_the_mapping_versions_the_run_uses(database_url: str) -> None:
    """With ``complete_history`` unset, the writer asks the run: a run whose movement mapping version says
    ``complete_history: true`` resolves the opening count; a run of a version without it does not."""

    async def scenario(writer: Writer) -> list[dict[str, int]]:
        from atlas.config import Settings
        from atlas.connectors import services as connectors
        from atlas.connectors.schemas import ConnectorUpdate, EndpointIn
        from atlas.execution_lock import NetworkPolicy
        from atlas.mapping import services as mappings
        from atlas.mapping.sync import request_run
        from atlas.mapping.writer import resolve_counts
        from atlas.platform.audit import Actor
        from atlas.platform.crypto import SecretBox

        actor = Actor("system", "test")
        ledger = {"key": "ledger", "resource": "stock_movements", "path": "/ledger", "record_path": "$.data"}
        stock = {"key": "stock", "resource": "stock_balances", "path": "/stock", "record_path": "$.items"}
        outcomes = []
        async with writer.database.tenant_session(writer.tenant_id) as session:
            await connectors.update_connector(
                session,
                writer.connector_id,
                ConnectorUpdate(endpoints=[msgspec.convert(e, EndpointIn) for e in (stock, ledger)]),
                actor=actor,
                correlation_id="t",
                box=SecretBox(Settings().fernet_key()),
                network=NetworkPolicy(allow_private=True),
            )
            mapping, _ = await mappings.create_mapping(
                session,
                connector_id=writer.connector_id,
                endpoint_key="ledger",
                spec=spec(),
                note="",
                actor=actor,
                correlation_id="t",
            )
            await mappings.add_version(
                session,
                mapping.id,
                spec=spec(complete_history=True),
                note="",
                activate=True,
                actor=actor,
                correlation_id="t",
            )
        for version in (1, 2):
            async with writer.database.tenant_session(writer.tenant_id) as session:
                run = await request_run(session, writer.connector_id, trigger="manual", actor=actor, correlation_id="t")
                run.mapping_versions = {"ledger": {"mapping_id": str(mapping.id), "version": version}}
                run.status = "succeeded"
                run_id = run.id
            await writer.write("stock_movements", run_id, HISTORY)
            async with writer.database.tenant_session(writer.tenant_id) as session:
                outcomes.append(await resolve_counts(session, connector_id=writer.connector_id, run_id=run_id))
        return outcomes

    without, with_option = with_writer(database_url, scenario)
    assert without["unresolved"] == 1
    assert with_option["counts"] == 3 and with_option["unresolved"] == 0
