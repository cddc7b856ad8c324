"""A quantity a person set survives the next analysis: the engine keeps it, prices it anew, shows its own
figure in the evidence, and makes a new revision only when something else people approve changed."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import pytest

from tests.mapping.test_sync import setup_connector, sync

COLUMNS = ("quantity", "value", "update_count", "last_changed_by", "priority", "status", "evidence")


@pytest.fixture(scope="module")
def tenant(stack, demo_erp_url):
    admin, me = stack.atlas.new_tenant()
    connector_id = setup_connector(admin, demo_erp_url)
    run = sync(admin, connector_id)
    assert run["status"] == "succeeded"
    # The finished sync starts an analysis of its own: let it finish, so no analysis runs behind a test's back.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        runs = stack.atlas.sql("SELECT status FROM analysis_runs WHERE tenant_id = %s", (me["tenant_id"],))
        if runs and all(status == "succeeded" for (status,) in runs):
            break
        time.sleep(0.5)
    else:
        raise AssertionError("the sync's analysis did not finish")
    return admin, me, stack.atlas


def row(db: Any, rec_id: str) -> dict[str, Any]:
    (found,) = db.sql(f"SELECT {', '.join(COLUMNS)} FROM recommendations WHERE id = %s", (rec_id,))
    return dict(zip(COLUMNS, found, strict=True))


def untouched_reorder(db: Any, tenant_id: str) -> tuple[str, str, str, Decimal, Decimal]:
    """A pending reorder nobody changed: its id, item, location, quantity and the item's unit cost."""
    ((rec_id, item_id, location_id, quantity, unit_cost),) = db.sql(
        """SELECT r.id::text, r.item_id::text, r.location_id::text, r.quantity, i.unit_cost
             FROM recommendations r JOIN items i ON i.id = r.item_id
            WHERE r.tenant_id = %s AND r.status = 'pending' AND r.type = 'reorder'
              AND r.last_changed_by = 'ai_engine' AND i.unit_cost IS NOT NULL
            ORDER BY r.quantity DESC, r.id LIMIT 1""",
        (tenant_id,),
    )
    return rec_id, item_id, location_id, quantity, unit_cost


def revisions(db: Any, tenant_id: str) -> dict[str, int]:
    rows = db.sql(
        "SELECT id::text, update_count FROM recommendations WHERE tenant_id = %s AND status = 'pending'", (tenant_id,)
    )
    return dict(rows)


def analyse(admin: Any, db: Any, tenant_id: str) -> tuple[dict[str, Any], set[str]]:
    """One analysis: its counts and the ids of the pending recommendations it made a new revision of."""
    before = revisions(db, tenant_id)
    response = admin.post("/api/recommendations")
    assert response.status_code == 200, response.text
    after = revisions(db, tenant_id)
    revised = {rec for rec, count in after.items() if rec in before and count > before[rec]}
    return response.json(), revised


def change_quantity(admin: Any, rec_id: str, quantity: Decimal) -> None:
    response = admin.patch(f"/api/recommendations/{rec_id}", json={"quantity": str(quantity), "reason": "Pallet"})
    assert response.status_code == 200, response.text
    assert response.json()["update_count"] == 1


def lower_stock(db: Any, item_id: str, location_id: str, by: int = 5) -> None:
    db.sql(
        # One part of the balance (the balance is the sum of its parts).
        "UPDATE stock_balance_parts SET available_qty = available_qty - %s WHERE ctid = "
        "(SELECT ctid FROM stock_balance_parts WHERE item_id = %s AND location_id = %s LIMIT 1)",
        (by, item_id, location_id),
    )


def test_a_quantity_a_person_set_survives_a_new_analysis(tenant):
    admin, me, db = tenant
    person = f"user:{me['user_id']}"
    rec, item_id, location_id, computed, unit_cost = untouched_reorder(db, me["tenant_id"])
    mine = computed + 7
    change_quantity(admin, rec, mine)
    assert row(db, rec)["last_changed_by"] == person

    # New stock figures: the engine now computes more than it did (5 units, and more than a case pack and minimum
    # order, so the rounded quantity must rise), which is not what the person set.
    figures = row(db, rec)["evidence"]["figures"]
    lower_stock(
        db, item_id, location_id, by=5 + int(figures["order_multiple"] or 0) + int(figures["min_order_qty"] or 0)
    )
    counts, revised = analyse(admin, db, me["tenant_id"])
    after = row(db, rec)
    evidence = after["evidence"]
    now_computed = Decimal(evidence["computed_quantity"])
    assert now_computed == Decimal(str(evidence["figures"]["quantity"])) and now_computed > computed
    assert now_computed != mine
    assert after["status"] == "pending" and after["quantity"] == mine
    assert after["value"] == (unit_cost * mine).quantize(Decimal("0.01"))
    assert after["update_count"] == 1 and rec not in revised  # refreshed in place: votes on revision 1 still count
    assert counts["updated"] == len(revised), (counts, revised)
    assert after["last_changed_by"] == person and evidence["quantity_set_by"] == person
    assert Decimal(evidence["unit_value"]) == unit_cost
    assert Decimal(evidence["computed_value"]) == (unit_cost * now_computed).quantize(Decimal("0.01"))

    # The page shows the person's quantity with the engine's own latest figure beside it, in both languages.
    from atlas.web.ui.formatting import format_quantity

    pages = {}
    try:
        for lang in ("en", "ar"):
            admin.cookies.set("atlas_lang", lang)
            pages[lang] = admin.get(f"/app/recommendations/{rec}", headers={"Accept": "text/html"}).text
    finally:
        admin.cookies.delete("atlas_lang")
    shown = format_quantity(now_computed)
    assert f'data-testid="quantity-set-by-person" data-computed="{shown}"' in pages["en"]
    assert "Set by a person, and kept; Atlas&#39;s latest analysis computes" in pages["en"]
    assert "حدّد شخصٌ هذه الكمية" in pages["ar"]

    # The same data again: still the person's quantity, still revision 1.
    analyse(admin, db, me["tenant_id"])
    again = row(db, rec)
    assert (again["quantity"], again["value"], again["update_count"]) == (mine, after["value"], 1)
    assert again["evidence"]["computed_quantity"] == evidence["computed_quantity"]


def test_a_new_priority_is_a_new_revision_that_keeps_the_persons_quantity(tenant):
    admin, me, db = tenant
    person = f"user:{me['user_id']}"
    rec, _, _, computed, unit_cost = untouched_reorder(db, me["tenant_id"])
    mine = computed + 3
    change_quantity(admin, rec, mine)
    # The engine proposes every reorder at high priority; this one was stored at another.
    db.sql("UPDATE recommendations SET priority = 'medium' WHERE id = %s", (rec,))

    counts, revised = analyse(admin, db, me["tenant_id"])
    after = row(db, rec)
    assert after["priority"] == "high" and after["update_count"] == 2 and rec in revised
    assert counts["updated"] == len(revised)
    assert after["quantity"] == mine and after["value"] == (unit_cost * mine).quantize(Decimal("0.01"))
    assert after["last_changed_by"] == person and after["evidence"]["quantity_set_by"] == person
    assert Decimal(after["evidence"]["computed_quantity"]) == computed


def test_a_new_unit_cost_is_a_new_revision_that_keeps_the_persons_quantity(tenant):
    admin, me, db = tenant
    rec, item_id, _, computed, unit_cost = untouched_reorder(db, me["tenant_id"])
    mine = computed + 2
    change_quantity(admin, rec, mine)
    new_cost = unit_cost + Decimal("1.25")
    db.sql("UPDATE items SET unit_cost = %s WHERE id = %s", (new_cost, item_id))

    # The value policy judged is no longer the value: a new revision, at the person's quantity.
    _, revised = analyse(admin, db, me["tenant_id"])
    after = row(db, rec)
    assert after["update_count"] == 2 and rec in revised
    assert after["quantity"] == mine and after["value"] == (new_cost * mine).quantize(Decimal("0.01"))
    assert Decimal(after["evidence"]["unit_value"]) == new_cost

    # Priced the same again: refreshed in place.
    _, revised = analyse(admin, db, me["tenant_id"])
    assert row(db, rec)["update_count"] == 2 and rec not in revised


def test_a_recommendation_nobody_changed_follows_the_engine(tenant):
    admin, me, db = tenant
    rec, item_id, location_id, computed, _ = untouched_reorder(db, me["tenant_id"])
    # Less stock by more than the case pack and minimum order together, so the rounded quantity must rise.
    figures = row(db, rec)["evidence"]["figures"]
    lower_stock(
        db, item_id, location_id, by=5 + int(figures["order_multiple"] or 0) + int(figures["min_order_qty"] or 0)
    )

    counts, revised = analyse(admin, db, me["tenant_id"])
    after = row(db, rec)
    assert after["update_count"] == 1 and rec in revised and counts["updated"] == len(revised)
    assert after["quantity"] > computed and after["quantity"] == Decimal(str(after["evidence"]["figures"]["quantity"]))
    assert after["last_changed_by"] == "ai_engine"
    assert "computed_quantity" not in after["evidence"] and "quantity_set_by" not in after["evidence"]
    page = admin.get(f"/app/recommendations/{rec}", headers={"Accept": "text/html"}).text
    assert 'data-testid="quantity-set-by-person"' not in page
