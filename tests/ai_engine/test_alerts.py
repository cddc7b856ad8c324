"""Alerts worth reading (issue 17): one alert per episode across nights, dated by the movement; one
"this connector's data is stale" alert per connector, not one per item; an investigation's confidence is a
calibrated precision shown in words, never 100%.

The nightly analyses run in-process (`services.analyse_tenant`, as the application role under row-level
security) on data seeded through Atlas's models; the pages are read over HTTP in both languages."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import numpy as np
import pytest

from atlas.ai_engine.anomalies import (
    PRECISION_BY_SEVERITY,
    SEVERITIES,
    alert_confidence,
    demand_anomalies,
    evidence_strength,
    same_episode,
)
from atlas.mapping.demo_setup import demo_connector_body
from tests.conftest import Atlas
from tests.execution_lock.seed import run

ZONE = ZoneInfo("Asia/Riyadh")
HISTORY = 120
SPIKE = 80
STALE_ITEMS = 25


def steady(days: int) -> list[int]:
    """A steady demand of about five a day (a fixed pattern: the test's numbers never depend on chance)."""
    pattern = [4, 5, 6, 5, 4, 6, 5]
    return [pattern[i % 7] for i in range(days)]


# --- the detector alone -------------------------------------------------------------------------------------


def test_a_detection_is_dated_by_its_movement_and_spans_its_days() -> None:
    days = 100
    y = np.array([steady(days), steady(days)], dtype=np.float64)
    y[0, 95] = SPIKE  # a spike five days before the end of the history
    y[1, 93:] = 0  # demand stopped seven days ago
    found = {(a.series, a.type): a for a in demand_anomalies(y, window=14)}
    spike, stop = found[(0, "demand_spike")], found[(1, "zero_run")]
    assert spike.day == 95 and spike.span()[0] <= 95 <= spike.span()[1]
    assert stop.day == 93 and stop.span() == (93, 99)

    # The next night the same spike is seen again: the same episode (overlapping movement days).
    more = np.concatenate([y, np.array([[5.0], [0.0]])], axis=1)
    again = {(a.series, a.type): a for a in demand_anomalies(more, window=14)}
    assert again[(0, "demand_spike")].day == 95
    assert same_episode(spike.span(), again[(0, "demand_spike")].span())
    assert same_episode(stop.span(), again[(1, "zero_run")].span())
    assert not same_episode((10, 12), (14, 20))  # two days apart: two episodes


def test_investigate_confidence_is_a_calibrated_precision_never_one() -> None:
    for band in SEVERITIES:
        assert 0 < alert_confidence(band) < 1
    assert alert_confidence("unknown") == PRECISION_BY_SEVERITY["low"]
    assert evidence_strength(alert_confidence("critical")) == "strong"
    assert evidence_strength(alert_confidence("low")) == "some"
    # Ordered as the bands are: a more severe alert is at least as often real.
    shares = [PRECISION_BY_SEVERITY[band] for band in SEVERITIES]
    assert shares == sorted(shares)


# --- nightly analyses in the database --------------------------------------------------------------------------


async def _seed(database: Any, tenant_id: uuid.UUID, fresh: uuid.UUID, stale: uuid.UUID, today: date) -> None:
    from atlas.mapping.models import Item, Location, StockBalancePart, StockMovement

    start = today - timedelta(days=HISTORY)
    long_ago = datetime.now(UTC) - timedelta(days=730)
    async with database.tenant_session(tenant_id) as session:
        items = {
            connector: [
                Item(
                    tenant_id=tenant_id,
                    connector_id=connector,
                    external_id=f"{prefix}-{i}",
                    sku=f"{prefix}-{i:03d}",
                    name=f"{prefix} item {i}",
                    unit_cost=Decimal("10.00"),
                    lead_time_days=7,
                )
                for i in range(count)
            ]
            for connector, prefix, count in ((fresh, "FRESH", 2), (stale, "OLD", STALE_ITEMS))
        }
        locations = {
            connector: Location(tenant_id=tenant_id, connector_id=connector, external_id="wh", code=code, name=code)
            for connector, code in ((fresh, "WH-FRESH"), (stale, "WH-OLD"))
        }
        session.add_all([*items[fresh], *items[stale], *locations.values()])
        await session.flush()
        movements = []
        for index, item in enumerate(items[fresh]):
            demand = steady(HISTORY)
            if index == 0:
                demand[HISTORY - 3] = SPIKE  # the spike: three days before `today`
            for day, quantity in enumerate(demand):
                at = datetime.combine(start + timedelta(days=day), datetime.min.time(), ZONE) + timedelta(hours=12)
                movements.append(
                    StockMovement(
                        tenant_id=tenant_id,
                        connector_id=fresh,
                        external_id=f"{item.external_id}-{day}",
                        item_id=item.id,
                        location_id=locations[fresh].id,
                        occurred_at=at,
                        quantity=Decimal(-quantity),
                        kind="sale",
                    )
                )
        for item in items[stale]:
            movements.append(
                StockMovement(
                    tenant_id=tenant_id,
                    connector_id=stale,
                    external_id=f"{item.external_id}-last",
                    item_id=item.id,
                    location_id=locations[stale].id,
                    occurred_at=long_ago,
                    quantity=Decimal(-1),
                    kind="sale",
                )
            )
        session.add_all(movements)
        session.add_all(
            StockBalancePart(
                tenant_id=tenant_id,
                connector_id=connector,
                endpoint_key="stock",
                source_id=item.external_id,
                item_id=item.id,
                location_id=locations[connector].id,
                quantity=Decimal(500),
                reserved_qty=Decimal(0),
                available_qty=Decimal(500),
                as_of=datetime.now(UTC) - timedelta(hours=6) if connector == fresh else long_ago,
                updated_at=datetime.now(UTC),
            )
            for connector in (fresh, stale)
            for item in items[connector]
        )


async def _analyse(database: Any, tenant_id: uuid.UUID, today: date) -> dict[str, Any]:
    from atlas.ai_engine.services import analyse_tenant

    async with database.tenant_session(tenant_id) as session:
        return await analyse_tenant(session, trigger="manual", today=today)


@pytest.fixture(scope="module")
def tenant(atlas: Atlas) -> dict[str, Any]:
    admin, me = atlas.new_tenant()
    connectors = []
    for name in ("Fresh ERP", "Old ERP"):
        response = admin.post("/api/connectors", json=demo_connector_body("http://127.0.0.1:9", name=name))
        assert response.status_code == 201, response.text
        connectors.append(uuid.UUID(response.json()["id"]))
    tenant_id = uuid.UUID(me["tenant_id"])
    today = datetime.now(ZONE).date()
    run(atlas.database_url, lambda database: _seed(database, tenant_id, connectors[0], connectors[1], today))
    return {"admin": admin, "tenant_id": tenant_id, "fresh": connectors[0], "stale": connectors[1], "today": today}


def night(atlas: Atlas, tenant: dict[str, Any], today: date) -> dict[str, Any]:
    return run(atlas.database_url, lambda database: _analyse(database, tenant["tenant_id"], today))


def spike_rows(atlas: Atlas, tenant_id: uuid.UUID) -> list[tuple[Any, ...]]:
    return atlas.sql(
        """SELECT a.id, a.status, a.occurred_on, a.details->>'first_day', a.details->>'last_day'
             FROM anomalies a JOIN items i ON i.id = a.item_id
            WHERE a.tenant_id = %s AND a.type = 'demand_spike' AND i.sku = 'FRESH-000'""",
        (tenant_id,),
    )


def investigations(atlas: Atlas, tenant_id: uuid.UUID) -> list[tuple[Any, ...]]:
    return atlas.sql(
        """SELECT r.id, r.status, r.anomaly_id, r.confidence_score, r.evidence->'figures'->>'occurred_on'
             FROM recommendations r JOIN items i ON i.id = r.item_id JOIN anomalies a ON a.id = r.anomaly_id
            WHERE r.tenant_id = %s AND r.type = 'investigate' AND i.sku = 'FRESH-000' AND a.type = 'demand_spike'
            ORDER BY r.created_at""",
        (tenant_id,),
    )


def test_a_spike_seen_on_consecutive_nights_is_one_alert_dated_by_its_day(atlas: Atlas, tenant: dict[str, Any]) -> None:
    today, tenant_id = tenant["today"], tenant["tenant_id"]
    spike_day = today - timedelta(days=3)
    for offset in (2, 1, 0):  # the night after the spike, and the two nights after that
        counts = night(atlas, tenant, today - timedelta(days=offset))
        rows = spike_rows(atlas, tenant_id)
        assert len(rows) == 1, (offset, rows)  # one alert for the episode, updated each night
        (_, status, occurred_on, first_day, last_day) = rows[0]
        assert status == "open"
        assert occurred_on == spike_day  # dated by the movement, not by the analysis
        assert date.fromisoformat(first_day) <= spike_day <= date.fromisoformat(last_day)
        recs = investigations(atlas, tenant_id)
        assert len(recs) == 1, (offset, recs)  # one investigation, not a new one each night
        (_, rec_status, anomaly_id, confidence, dated) = recs[0]
        assert rec_status == "pending" and anomaly_id == rows[0][0]
        assert 0 < confidence < 1 and confidence in PRECISION_BY_SEVERITY.values()
        assert dated == spike_day.isoformat()
        # The spike's one movement is also unusually large: that alert too is dated by the movement, and one.
        large = atlas.sql(
            "SELECT occurred_on FROM anomalies WHERE tenant_id = %s AND type = 'large_transaction'", (tenant_id,)
        )
        assert large == [(spike_day,)]
        assert counts["anomalies"] >= 2
    first_id = spike_rows(atlas, tenant_id)[0][0]

    # People decided on it: the same episode seen again raises no new investigation.
    atlas.sql("UPDATE recommendations SET status = 'rejected' WHERE id = %s", (investigations(atlas, tenant_id)[0][0],))
    night(atlas, tenant, today)
    assert [row[0] for row in spike_rows(atlas, tenant_id)] == [first_id]
    assert [row[1] for row in investigations(atlas, tenant_id)] == ["rejected"]


def test_a_stale_connector_is_one_alert_not_one_per_item(atlas: Atlas, tenant: dict[str, Any]) -> None:
    tenant_id = tenant["tenant_id"]
    for _ in range(2):
        counts = night(atlas, tenant, tenant["today"])
        assert counts["stale_connectors"] == 1
        rows = atlas.sql(
            "SELECT type, item_id, details->>'connector_id', observed FROM anomalies "
            "WHERE tenant_id = %s AND status = 'open' AND type IN ('stale_connector', 'stale_data')",
            (tenant_id,),
        )
        assert len(rows) == 1, rows  # not STALE_ITEMS staleness anomalies
        kind, item_id, connector_id, age = rows[0]
        assert kind == "stale_connector" and item_id is None and connector_id == str(tenant["stale"])
        assert age > 700
    investigate_stale = atlas.sql(
        """SELECT count(*) FROM recommendations r JOIN items i ON i.id = r.item_id
            WHERE r.tenant_id = %s AND r.type = 'investigate' AND i.connector_id = %s""",
        (tenant_id, tenant["stale"]),
    )
    assert investigate_stale == [(0,)]


def _page(admin: httpx.Client, path: str, lang: str) -> str:
    admin.cookies.set("atlas_lang", lang)
    try:
        response = admin.get(path, headers={"Accept": "text/html"})
    finally:
        admin.cookies.delete("atlas_lang")
    assert response.status_code == 200, response.text
    return response.text


def test_pages_show_the_stale_connector_and_the_evidence_in_words(atlas: Atlas, tenant: dict[str, Any]) -> None:
    admin, tenant_id = tenant["admin"], tenant["tenant_id"]
    night(atlas, tenant, tenant["today"])
    expected = {
        "en": ("This connector&#39;s data is stale", "Strong evidence", "Some evidence"),
        "ar": ("بيانات هذا المصدر متوقفة", "دليل قوي", "بعض الأدلة"),
    }
    for lang, (stale_title, strong, some) in expected.items():
        dashboard = _page(admin, "/app", lang)
        assert dashboard.count('data-testid="stale-connector"') == 1
        assert f'data-connector-id="{tenant["stale"]}"' in dashboard and stale_title in dashboard
        anomalies = _page(admin, "/app/anomalies", lang)
        assert anomalies.count('data-testid="stale-connector-link"') == 1 and "Old ERP" in anomalies
        listing = _page(admin, "/app/recommendations?type=investigate&status=", lang)
        assert 'data-testid="evidence-strength"' in listing
        assert strong in listing or some in listing
    # An investigation never reads 100%.
    for (rec_id,) in atlas.sql(
        "SELECT id FROM recommendations WHERE tenant_id = %s AND type = 'investigate'", (tenant_id,)
    ):
        page = _page(admin, f"/app/recommendations/{rec_id}", "en")
        assert 'data-testid="evidence-strength"' in page and "100%" not in page
