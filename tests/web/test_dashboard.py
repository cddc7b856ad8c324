"""The dashboard's charts and getting-started checklist (issue 19), against the database: rows written straight into
the tables (as the engine, the syncs and the approvals store them), then each chart's table, its text alternative,
read back from the page with exact figures. The browser's view is ``test_dashboard_browser.py``."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from atlas.mapping.demo_setup import demo_connector_body
from atlas.web.charts import BarRow, bar_chart, day_columns, nice_ticks
from atlas.web.dashboard import freshness_tone
from tests.ai_engine.test_pages import seed
from tests.services import html_page as page


def riyadh_yesterday_1am(now: datetime) -> datetime:
    riyadh = ZoneInfo("Asia/Riyadh")
    yesterday = now.astimezone(riyadh).date() - timedelta(days=1)
    return datetime(yesterday.year, yesterday.month, yesterday.day, 1, tzinfo=riyadh).astimezone(UTC)


def table_rows(html: str, testid: str, key: str) -> dict[str, list[str]]:
    """A chart's table: each row's ``data-<key>`` to the ``data-value`` of its cells, in order."""
    start = html.index(f'data-testid="{testid}"')
    table = html[start : html.index("</table>", start)]
    rows = re.findall(rf'<tr data-{key}="([^"]+)"[^>]*>(.*?)</tr>', table, re.S)
    return {name: re.findall(r'data-value="([^"]*)"', cells) for name, cells in rows}


def insert_recommendation(atlas: Any, tenant_id: str, run: str, ids: dict[str, str], **row: Any) -> None:
    atlas.sql(
        """INSERT INTO recommendations (id, tenant_id, key, type, priority, status, item_id, location_id, quantity,
               value, confidence_score, signals_used, explanation_en, explanation_ar, evidence, correlation_id,
               analysis_run_id, created_at, updated_at, resolved_at, created_by, last_changed_by, update_count)
           VALUES (%s, %s, %s, %s, 'medium', %s, %s, %s, 5, %s, 0.5, '[]', 'x', 'x', '{}', %s, %s, %s, %s, %s,
                   'ai_engine', 'ai_engine', 0)""",
        (
            row["id"],
            tenant_id,
            f"extra:{row['id']}",
            row["type"],
            row["status"],
            ids["item"],
            ids["wh1"],
            row.get("value"),
            f"rec-{uuid.uuid4().hex}",
            run,
            row["created_at"],
            row["created_at"],
            row.get("resolved_at"),
        ),
    )


@pytest.fixture(scope="module")
def dashboard(atlas) -> dict[str, Any]:
    admin, me = atlas.new_tenant()
    tenant_id = me["tenant_id"]
    ids = seed(atlas, admin, tenant_id)  # three pending recommendations created now, one forecast (WH-1, 3 days)
    ((seeded_connector,),) = atlas.sql("SELECT id FROM connectors WHERE tenant_id = %s", (tenant_id,))
    never = admin.post("/api/connectors", json=demo_connector_body("http://127.0.0.1:9", name="Never synced ERP"))
    assert never.status_code == 201, never.text
    now = datetime.now(UTC)

    # Forecasts: WH-1 short (seeded) and watch; WH-2 healthy and no demand.
    for item, location, cover, rate in (
        ("other_item", "wh1", 12.0, 2.0),
        ("item", "wh2", 45.0, 1.0),
        ("other_item", "wh2", None, 0.0),
    ):
        atlas.sql(
            """INSERT INTO forecasts (id, tenant_id, item_id, location_id, analysis_run_id, start_date, method, mae,
                   mase, forecast, lo80, hi80, figures, computed_at)
               VALUES (%s, %s, %s, %s, %s, current_date, 'ses', 1, 1, '[]', '[]', '[]', %s, now())""",
            (
                uuid.uuid4(),
                tenant_id,
                ids[item],
                ids[location],
                ids["run"],
                json.dumps({"days_of_cover": cover, "daily_rate": rate}),
            ),
        )

    # Recommendations beyond the seeded three: decided ones (with their turnaround), an expired one, old ones.
    extra = [
        {
            "type": "reorder",
            "status": "approved",
            "created_at": now - timedelta(hours=50),
            "resolved": 48.0,
            "value": 100,
        },
        {"type": "reorder", "status": "rejected", "created_at": now - timedelta(hours=10), "resolved": 4.0},
        {"type": "transfer", "status": "blocked_by_lock", "created_at": now - timedelta(hours=3), "resolved": 2.0},
        {"type": "write_off", "status": "expired", "created_at": now - timedelta(days=5), "resolved": 96.0},
        {"type": "write_off", "status": "pending", "created_at": now - timedelta(days=40), "value": 300},
        {"type": "reorder", "status": "approved", "created_at": now - timedelta(days=41), "resolved": 24.0},
        # 01:00 yesterday in Riyadh is 22:00 UTC the day before: the chart counts it on Riyadh's day, not UTC's
        {"type": "investigate", "status": "expired", "created_at": riyadh_yesterday_1am(now)},
    ]
    for row in extra:
        row["id"] = str(uuid.uuid4())
        if "resolved" in row:
            row["resolved_at"] = row["created_at"] + timedelta(hours=row["resolved"])
        insert_recommendation(atlas, tenant_id, ids["run"], ids, **row)
    # A first approval, counted.
    atlas.sql(
        """INSERT INTO approval_decisions (id, tenant_id, recommendation_id, revision, subject, role, verdict,
                                          created_at)
           VALUES (%s, %s, %s, 0, 'user:x', 'admin', 'approve', now())""",
        (uuid.uuid4(), tenant_id, extra[0]["id"]),
    )
    # Syncs: the seeded connector succeeded 30 hours ago and failed an hour ago (a failure does not freshen it).
    for status, hours in (("succeeded", 30.0), ("failed", 1.0)):
        atlas.sql(
            """INSERT INTO sync_runs (id, tenant_id, connector_id, status, trigger, requested_by, started_at,
                   finished_at, mapping_versions, stats, progress)
               VALUES (%s, %s, %s, %s, 'manual', 'user:x', %s, %s, '{}', '{}', '{}')""",
            (
                uuid.uuid4(),
                tenant_id,
                seeded_connector,
                status,
                now - timedelta(hours=hours, minutes=5),
                now - timedelta(hours=hours),
            ),
        )
    return {
        "admin": admin,
        "tenant_id": tenant_id,
        "ids": ids,
        "now": now,
        "extra": extra,
        "seeded_connector": str(seeded_connector),
        "never": never.json()["id"],
    }


def test_each_chart_shows_the_figures_in_the_database(atlas, dashboard):
    html = page(dashboard["admin"], "/app").text
    tenant_id = dashboard["tenant_id"]
    for testid in ("chart-cover", "chart-activity", "chart-value", "chart-freshness", "chart-turnaround"):
        assert f'data-testid="{testid}"' in html and f'data-testid="{testid}" data-empty="true"' not in html

    # Stock cover by location: the most short-covered first; counts per band (short, watch, healthy, no demand).
    cover = table_rows(html, "cover-table", "location")
    assert list(cover) == ["WH-1", "WH-2"]
    assert cover == {"WH-1": ["1", "1", "0", "0", "2"], "WH-2": ["0", "0", "1", "1", "2"]}
    ((forecasts,),) = atlas.sql("SELECT count(*) FROM forecasts WHERE tenant_id = %s", (tenant_id,))
    assert sum(int(v[-1]) for v in cover.values()) == forecasts == 4

    # Recommendations over the last 30 days: by day and type (reorder, transfer, investigate, write-off), by status.
    # days as the tenant's clock reads them (Asia/Riyadh, the default time zone), not UTC's
    riyadh = ZoneInfo("Asia/Riyadh")
    today = datetime.now(riyadh).date()
    expected: dict[str, list[int]] = {}
    created = [(dashboard["now"], t) for t in ("reorder", "transfer", "investigate")]
    created += [(row["created_at"], row["type"]) for row in dashboard["extra"]]
    order = ("reorder", "transfer", "investigate", "write_off")
    for at, rec_type in created:
        local_day = at.astimezone(riyadh).date()
        if (today - local_day).days < 30:
            counts = expected.setdefault(local_day.isoformat(), [0, 0, 0, 0])
            counts[order.index(rec_type)] += 1
    days = table_rows(html, "activity-table", "date")
    assert days == {d: [str(c) for c in counts] + [str(sum(counts))] for d, counts in sorted(expected.items())}
    statuses = table_rows(html, "status-table", "status")
    assert statuses == {
        "pending": ["3"],
        "approved": ["1"],
        "blocked_by_lock": ["1"],
        "rejected": ["1"],
        "expired": ["2"],
    }
    ((in_window,),) = atlas.sql(
        "SELECT count(*) FROM recommendations WHERE tenant_id = %s AND created_at >= %s",
        (tenant_id, datetime(today.year, today.month, today.day, tzinfo=riyadh) - timedelta(days=29)),
    )
    assert 'data-testid="chart-activity" data-total="8"' in html and in_window == 8

    # Value at risk: the pending recommendations' value by type (the 40-day-old write-off is still pending).
    value = table_rows(html, "value-table", "type")
    assert value == {"reorder": ["207.00"], "transfer": ["45.00"], "investigate": ["0"], "write_off": ["300.00"]}
    ((pending_value,),) = atlas.sql(
        "SELECT sum(value) FROM recommendations WHERE tenant_id = %s AND status = 'pending'", (tenant_id,)
    )
    assert pending_value == 552 and "552.00" in html[html.index('data-testid="value-total"') :][:400]

    # Sync freshness: hours since the last succeeded run (the later failure does not count); never synced: none.
    freshness = table_rows(html, "freshness-table", "connector")
    assert freshness == {dashboard["seeded_connector"]: ["30.0"], dashboard["never"]: ["—"]}
    assert f'data-connector="{dashboard["seeded_connector"]}" data-tone="late"' in html
    assert f'data-connector="{dashboard["never"]}" data-tone="stale"' in html

    # Approval turnaround: median hours from creation to people's decision in the last 30 days (no expiry).
    turnaround = table_rows(html, "turnaround-table", "type")
    assert turnaround == {
        "reorder": ["26.0", "2"],
        "transfer": ["2.0", "1"],
        "investigate": ["—", "0"],
        "write_off": ["—", "0"],
    }
    assert 'data-testid="chart-turnaround" data-decided="3"' in html
    assert "4.0" in html[html.index('data-testid="turnaround-overall"') :][:400]


def test_the_checklist_ticks_from_the_data_and_the_list_reads_reorders_first(atlas, dashboard):
    html = page(dashboard["admin"], "/app").text
    steps = dict(re.findall(r'data-testid="checklist-step" data-step="(\w+)" data-done="(\w+)"', html))
    assert steps == {"connect": "true", "sync": "true", "analyse": "true", "approve": "true", "invite": "false"}
    assert 'data-testid="getting-started" data-done="4"' in html
    assert html.index('data-testid="getting-started"') < html.index('data-testid="card-company"')  # at the top
    # Reorders, then transfers, then investigations, then write-offs: on the counts and on the "next" list.
    counts = re.findall(r'href="/app/recommendations\?type=(\w+)" data-type', html)
    assert counts == ["reorder", "transfer", "investigate", "write_off"]
    assert re.findall(r'data-testid="next-up-row" data-type="(\w+)"', html) == [
        "reorder",
        "transfer",
        "investigate",
        "write_off",
    ]
    # The investigation in plain words; its statistics behind "details".
    row = html[html.index('data-testid="next-up-row" data-type="investigate"') :]
    row = row[: row.index("</li>")]
    assert "لا مبيعات منذ أيام متتالية، مع أنه يُباع في العادة." in row and "p =" not in row.split("<details")[0]
    assert 'data-testid="anomaly-statistics"' in row
    statistics = row[row.index('data-testid="anomaly-statistics"') :]
    for figure in ("observed", "expected", "zscore", "p_value", "run_days"):
        assert f'data-figure="{figure}"' in statistics
    english = page(dashboard["admin"], "/app", cookies={"atlas_lang": "en"}).text
    assert "No sales for days in a row, although it usually sells." in english

    # Invited: the last step ticks and the checklist folds.
    invited = dashboard["admin"].post(
        "/api/invitations", json={"email": f"p-{uuid.uuid4().hex[:6]}@example.sa", "role": "viewer"}
    )
    assert invited.status_code == 201, invited.text
    html = page(dashboard["admin"], "/app").text
    assert 'data-testid="getting-started" data-done="5"\n           data-complete="true">' in html


# --- geometry -------------------------------------------------------------------------------------


def test_bar_and_column_geometry():
    assert nice_ticks(7) == [0, 2, 4, 6, 8] and nice_ticks(0) == [0, 0.25, 0.5, 0.75, 1.0]
    chart = bar_chart(
        [BarRow("a", "A", {"x": 3, "y": 1}, "4"), BarRow("b", "B", {"x": 0}, "0", empty=True)], ["x", "y"]
    )
    first, second = chart.rows
    assert [p["series"] for p in first["parts"]] == ["x", "y"] and second["parts"] == [] and second["empty"]
    # Parts follow each other from the start edge, proportional to their values.
    x, y = first["parts"]
    assert x["x"] == chart.plot["left"] and y["x"] == pytest.approx(x["x"] + x["width"], abs=0.1)
    assert x["width"] == pytest.approx(3 * y["width"], abs=0.2)
    columns = day_columns([{"r": 2}, {}, {"r": 1, "t": 1}], datetime(2026, 1, 1).date(), ["r", "t"])
    assert [c["total"] for c in columns.columns] == [2, 0, 2] and columns.columns[1]["parts"] == []
    assert freshness_tone(None) == "stale" and freshness_tone(3) == "fresh" and freshness_tone(30) == "late"
    assert freshness_tone(80) == "stale"
