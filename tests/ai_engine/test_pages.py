"""The AI engine's pages: recommendations, one recommendation, anomalies, the item page and the dashboard's cards.

Two kinds of data: rows written straight into the tables (exact values, every case: a transfer, an
investigation linked to its anomaly, another tenant), and the real thing (the demo ERP synced and
analysed), so the pages are also checked against what the engine actually stores.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from atlas.mapping.demo_setup import demo_connector_body
from tests.browser_pages import signed_in_page
from tests.services import HTML
from tests.services import html_page as page

EXPLANATION_EN = "SKU-A1 at WH-1: current stock of 12 covers only 3 days at the current demand rate of 4 units/day."
EXPLANATION_AR = "SKU-A1 في WH-1: المخزون الحالي (12) يغطي 3 أيام فقط بمعدل الطلب الحالي البالغ 4 وحدات يومياً."


def found_testids(html: str) -> set[str]:
    return set(re.findall(r'data-testid="([a-z0-9-]+)"', html))


# --- formatting and chart geometry ----------------------------------------------------------------


def test_numbers_read_as_people_expect():
    from atlas.ai_engine.pages import format_number, format_p_value, format_percent, format_zscore

    assert format_number(1234.5) == "1,234" and format_number(12.345) == "12.35" and format_number(-3) == "\u22123"
    assert (
        format_number(None) == "—"
        and format_number(float("nan")) == "—"
        and format_number(0.25, signed=True) == "+0.25"
    )
    assert format_percent(0.87) == "87%" and format_percent(0.004) == "<1%" and format_percent(0.996) == ">99%"
    assert (
        format_p_value(0.012) == "0.012"
        and format_p_value(4e-05) == "4×10⁻⁵"
        and format_p_value(3.2e-12) == "3.2×10⁻¹²"
    )
    assert format_zscore(-4.21) == "\u22124.2" and format_zscore(18.58) == "+18.6"


def test_the_item_chart_projects_stock_down_to_the_day_it_runs_out():
    from atlas.ai_engine.pages import item_chart

    start = date(2026, 1, 10)
    series = {
        "history": [{"date": (start - timedelta(days=90 - i)).isoformat(), "demand": 5.0} for i in range(90)],
        "forecast": {
            "start_date": start,
            "forecast": [5.0] * 30,
            "lo80": [3.0] * 30,
            "hi80": [7.0] * 30,
            "figures": {"available": 12.0, "reorder_point": 40.0},
        },
        "balance": {"available_qty": 12},
    }
    chart = item_chart(series)
    assert chart is not None and chart["stock"] is not None
    stock = chart["stock"]
    assert stock["runs_out"]["day"] == 3 and stock["runs_out"]["date"] == "2026-01-12"  # 12 → 7 → 2 → gone
    assert stock["reaches_rop"]["day"] == 0 and stock["reorder_y"] < stock["bottom"]
    assert len(chart["demand"]["bars"]) == 90 and chart["demand"]["band"].endswith("Z")
    assert chart["demand"]["x_ticks"][0]["label"] < chart["demand"]["x_ticks"][-1]["label"]
    assert item_chart({"history": [], "forecast": None}) is None
    # A forecast stored before migration 0019 has no median: no median line, "—" in its column.
    assert chart["demand"]["median"] == "" and {row.get("q50") for row in chart["table"][90:]} == {"—"}


def test_the_item_chart_draws_the_median_apart_from_the_mean():
    from atlas.ai_engine.pages import item_chart

    start = date(2026, 1, 10)
    mean, median = [1.4] * 30, [1.0] * 30  # an intermittent item: the median is below the mean
    chart = item_chart(
        {
            "history": [
                {"date": (start - timedelta(days=30 - i)).isoformat(), "demand": float(i % 3)} for i in range(30)
            ],
            "forecast": {
                "start_date": start,
                "forecast": mean,
                "lo80": [0.0] * 30,
                "hi80": [3.0] * 30,
                "q50": median,
                "figures": {"available": 40.0},
            },
        }
    )
    assert chart is not None
    demand = chart["demand"]
    assert demand["median"].startswith("M") and demand["median"] != demand["line"]
    # Drawn at the median's height (y grows downwards: the lower median sits below the mean's line).
    median_y = {float(p.split(",")[1]) for p in demand["median"][1:].split(" L")}
    mean_y = {float(p.split(",")[1]) for p in demand["line"][1:].split(" L")}
    assert len(median_y) == len(mean_y) == 1 and median_y.pop() > mean_y.pop()
    ahead = chart["table"][30:]
    assert len(ahead) == 30
    assert ahead[0] == {"date": "2026-01-10", "forecast": "1.4", "q10": "0", "q50": "1", "q90": "3"}


# --- data written straight into the tables ---------------------------------------------------------


def seed(db: Any, admin: httpx.Client, tenant_id: str) -> dict[str, Any]:
    """Two items at two locations, a forecast, three recommendations and two anomalies, as the engine stores them."""
    body = demo_connector_body("http://127.0.0.1:9", name=f"Seed ERP {uuid.uuid4().hex[:6]}")
    connector = admin.post("/api/connectors", json=body)
    assert connector.status_code == 201, connector.text
    connector_id = connector.json()["id"]
    ids = {
        name: uuid.uuid4()
        for name in (
            "item",
            "other_item",
            "wh1",
            "wh2",
            "run",
            "forecast",
            "reorder",
            "transfer",
            "investigate",
            "anomaly",
            "large",
        )
    }
    now = datetime.now(UTC)
    today = date.today()
    for key, sku, name in (("item", "SKU-A1", "حليب طازج ١ لتر"), ("other_item", "SKU-B2", "Olive oil 500 ml")):
        db.sql(
            """INSERT INTO items (id, tenant_id, connector_id, external_id, sku, name, category, unit_cost,
                                  lead_time_days, created_at, updated_at)
               VALUES (%s, %s, %s, %s, %s, %s, 'Dairy', 4.5, 5, now(), now())""",
            (ids[key], tenant_id, connector_id, sku, sku, name),
        )
    for key, code, name in (("wh1", "WH-1", "Riyadh main warehouse"), ("wh2", "WH-2", "Jeddah store")):
        db.sql(
            """INSERT INTO locations (id, tenant_id, connector_id, external_id, code, name, type, created_at,
                                      updated_at)
               VALUES (%s, %s, %s, %s, %s, %s, 'warehouse', now(), now())""",
            (ids[key], tenant_id, connector_id, code, code, name),
        )
    db.sql(
        """INSERT INTO stock_balance_parts (tenant_id, connector_id, endpoint_key, source_id, item_id, location_id,
                                            quantity, reserved_qty, available_qty, as_of, updated_at)
           VALUES (%s, %s, 'stock', 'b1', %s, %s, 14, 2, 12, now(), now())""",
        (tenant_id, connector_id, ids["item"], ids["wh1"]),
    )
    db.sql(
        """INSERT INTO analysis_runs (id, tenant_id, trigger, status, started_at, finished_at, stats)
           VALUES (%s, %s, 'manual', 'succeeded', now(), now(), %s)""",
        (ids["run"], tenant_id, json.dumps({"series": 4})),
    )
    figures = {
        "available": 12.0,
        "on_hand": 14.0,
        "daily_rate": 4.0,
        "days_of_cover": 3.0,
        "lead_time_days": 5.0,
        "demand_over_lead_time": 20.0,
        "reorder_point": 26.5,
        "order_up_to": 58.0,
        "stockout_probability": 0.87,
        "ma7": 4.1,
        "ma14": 3.9,
        "ma30": 3.5,
        "trend7": 0.05,
        "trend30": 0.02,
        "trend": "stable",
        "method": "ses_weekly",
        "mase": 0.812,
        "mae": 1.2,
        "service_level": 0.95,
    }
    forecast = [4.0 + (i % 7) * 0.2 for i in range(30)]
    db.sql(
        """INSERT INTO forecasts (id, tenant_id, item_id, location_id, analysis_run_id, start_date, method, mae, mase,
                                  forecast, lo80, hi80, figures, computed_at)
           VALUES (%s, %s, %s, %s, %s, %s, 'ses_weekly', 1.2, 0.812, %s, %s, %s, %s, now())""",
        (
            ids["forecast"],
            tenant_id,
            ids["item"],
            ids["wh1"],
            ids["run"],
            today,
            json.dumps(forecast),
            json.dumps([max(0, v - 2) for v in forecast]),
            json.dumps([v + 2 for v in forecast]),
            json.dumps(figures),
        ),
    )
    db.sql(
        """INSERT INTO anomalies (id, tenant_id, key, type, severity, status, item_id, location_id, occurred_on,
                                  p_value, zscore, observed, expected, details, analysis_run_id, detected_at,
                                  updated_at)
           VALUES (%s, %s, 'zero_run:a1', 'zero_run', 'high', 'open', %s, %s, %s, 0.00004, -4.2, 0, 3.5, %s, %s,
                   now(), now()),
                  (%s, %s, 'large:b2', 'large_transaction', 'medium', 'open', %s, %s, %s, 0.003, 3.1, 240, 20, %s, %s,
                   now(), now())""",
        (
            ids["anomaly"],
            tenant_id,
            ids["item"],
            ids["wh1"],
            today - timedelta(days=1),
            json.dumps({"run_days": 9, "usual_zero_share": 0.1}),
            ids["run"],
            ids["large"],
            tenant_id,
            ids["other_item"],
            ids["wh2"],
            today - timedelta(days=2),
            json.dumps(
                {
                    "reference": "MV-77812",
                    "kind": "sale",
                    "ratio_to_median": 12.0,
                    "median_size": 20.0,
                    "movement_id": 77812,
                }
            ),
            ids["run"],
        ),
    )
    history = [{"date": (today - timedelta(days=30 - i)).isoformat(), "demand": float(3 + i % 4)} for i in range(30)]
    ahead = [
        {"date": (today + timedelta(days=i)).isoformat(), "forecast": 4.0, "lo80": 2.5, "hi80": 5.5} for i in range(14)
    ]
    evidence = {"figures": {**figures, "quantity": 46}, "history": history, "forecast": ahead}
    recs = (
        (
            "reorder",
            "high",
            ids["item"],
            ids["wh1"],
            None,
            None,
            46,
            207.0,
            0.87,
            ["stock_level", "demand_forecast", "lead_time", "forecast_uncertainty", "seasonality"],
            EXPLANATION_EN,
            EXPLANATION_AR,
        ),
        (
            "transfer",
            "medium",
            ids["item"],
            ids["wh1"],
            ids["wh2"],
            None,
            10,
            45.0,
            0.64,
            ["stock_level", "demand_forecast", "lead_time", "location_surplus"],
            "Move 10 units of SKU-A1 from WH-2 to WH-1.",
            "انقل 10 وحدات من SKU-A1 من WH-2 إلى WH-1.",
        ),
        (
            "investigate",
            "high",
            ids["item"],
            ids["wh1"],
            None,
            ids["anomaly"],
            0,
            None,
            0.9999,
            ["anomaly_score", "demand_history"],
            "SKU-A1 at WH-1: no demand for 9 days in a row.",
            "SKU-A1 في WH-1: لا طلب منذ 9 أيام متتالية.",
        ),
    )
    for type_, priority, item, location, origin, anomaly, quantity, value, confidence, signals, en, ar in recs:
        db.sql(
            """INSERT INTO recommendations (id, tenant_id, key, type, priority, status, item_id, location_id,
                   from_location_id, anomaly_id, quantity, value, confidence_score, signals_used, explanation_en,
                   explanation_ar, evidence, correlation_id, analysis_run_id, created_at, updated_at, created_by,
                   last_changed_by, update_count)
               VALUES (%s, %s, %s, %s, %s, 'pending', %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,
                       'ai_engine', 'ai_engine', 0)""",
            (
                ids[type_],
                tenant_id,
                f"{type_}:{item}:{location}",
                type_,
                priority,
                item,
                location,
                origin,
                anomaly,
                quantity,
                value,
                confidence,
                json.dumps(signals),
                en,
                ar,
                json.dumps(evidence if type_ != "transfer" else {"figures": {"quantity": 10}}),
                f"rec-{uuid.uuid4().hex}",
                ids["run"],
                now,
                now,
            ),
        )
    return {k: str(v) for k, v in ids.items()}


@pytest.fixture(scope="module")
def seeded(atlas) -> tuple[httpx.Client, dict[str, Any], dict[str, Any]]:
    admin, me = atlas.new_tenant()
    return admin, me, seed(atlas, admin, me["tenant_id"])


def test_the_recommendations_list_in_arabic_with_both_explanations(seeded):
    admin, _, ids = seeded
    response = page(admin, "/app/recommendations")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    html = response.text
    assert '<html lang="ar" dir="rtl" data-time-zone="Asia/Riyadh">' in html
    assert {"recommendations-table", "recommendation-row", "run-analysis", "explanation"} <= found_testids(html)
    assert html.count('data-testid="recommendation-row"') == 3
    for type_ in ("reorder", "transfer", "investigate"):
        assert f'data-testid="recommendation-row" data-type="{type_}"' in html
    # Both languages are in the page, each marked with its language; CSS shows the current one.
    assert f'lang="ar" dir="rtl" data-only-lang="ar">{EXPLANATION_AR}</p>' in html
    assert f'lang="en" dir="ltr" data-only-lang="en">{EXPLANATION_EN}</p>' in html
    assert "إعادة طلب" in html and "87%" in html and "207.00" in html  # type, confidence, value in SAR
    # A reorder's confidence is its stockout probability, named as a risk; an investigation's is in words.
    assert 'data-testid="stockout-risk"' in html and "احتمال النفاد" in html
    assert 'data-testid="evidence-strength"' in html
    assert f'href="/app/items/{ids["item"]}"' in html
    assert 'data-testid="transfer-route"' in html and "WH-2" in html  # from → to
    assert 'href="/app/recommendations"' in html and 'href="/app/anomalies"' in html  # the navigation

    english = page(admin, "/app/recommendations", cookies={"atlas_lang": "en"}).text
    assert (
        '<html lang="en" dir="ltr" data-time-zone="Asia/Riyadh">' in english
        and "Run analysis now" in english
        and "Reorder" in english
    )


def test_filters_narrow_the_list(seeded):
    admin, _, ids = seeded
    only = page(admin, "/app/recommendations", params={"type": "transfer"}).text
    assert only.count('data-testid="recommendation-row"') == 1 and 'data-type="transfer"' in only
    medium = page(admin, "/app/recommendations", params={"priority": "medium", "location_id": ids["wh1"]}).text
    assert medium.count('data-testid="recommendation-row"') == 1
    approved = page(admin, "/app/recommendations", params={"status": "approved"}).text
    assert 'data-testid="recommendations-empty"' in approved and 'data-testid="recommendations-clear"' in approved
    everything = page(admin, "/app/recommendations", params={"status": "all", "type": "bogus", "page": "x"}).text
    assert everything.count('data-testid="recommendation-row"') == 3  # bad values are ignored, not a 400
    for_item = page(admin, "/app/recommendations", params={"item_id": ids["other_item"]}).text
    assert 'data-testid="recommendations-item-filter"' in for_item and "SKU-B2" in for_item
    assert 'data-testid="recommendation-row"' not in for_item


def test_a_recommendation_explains_itself_with_evidence_and_a_chart(seeded):
    admin, _, ids = seeded
    html = page(admin, f"/app/recommendations/{ids['reorder']}").text
    assert {
        "recommendation-detail",
        "explanation",
        "evidence",
        "demand-chart",
        "signals",
        "item-page-link",
    } <= found_testids(html)
    assert EXPLANATION_AR in html and EXPLANATION_EN in html
    assert "مستوى المخزون" in html and "النمط الأسبوعي (الموسمية)" in html  # signals, by name
    assert 'data-figure="reorder_point"' in html and "نقطة إعادة الطلب" in html and "26.5" in html
    assert 'data-figure="method"' in html and "تمهيد أسّي مع نمط أسبوعي" in html
    # The statistics sit behind "details", after the figures the explanation speaks of.
    statistics = html[
        html.index('data-testid="statistics"') : html.index("</details>", html.index('data-testid="statistics"'))
    ]
    assert 'data-figure="mase"' in statistics and 'data-figure="method"' in statistics
    assert 'data-figure="reorder_point"' not in statistics
    plain = html[html.index('data-testid="evidence"') : html.index('data-testid="statistics"')]
    assert 'data-figure="mase"' not in plain and 'data-figure="reorder_point"' in plain
    svg = html[
        html.index('data-testid="demand-chart"') : html.index("</svg>", html.index('data-testid="demand-chart"'))
    ]
    assert svg.count("<rect x=") == 30  # a bar per day of the last 30 (all non-zero here)
    assert 'class="chart-band"' in svg and 'class="chart-line"' in svg and 'class="chart-divider"' in svg
    assert svg.count('class="chart-point"') == 14  # the next 14 days
    assert 'data-i18n="aipage.chart.forecast"' in svg
    assert (
        'data-testid="approval-region"' in html
        and "data-api-url" not in html.split('data-testid="approval-region"')[1][:200]
    )
    assert 'data-testid="anomaly-link"' not in html

    investigate = page(admin, f"/app/recommendations/{ids['investigate']}").text
    assert f'href="/app/anomalies?item_id={ids["item"]}&amp;status=all#anomaly-{ids["anomaly"]}"' in investigate
    transfer = page(admin, f"/app/recommendations/{ids['transfer']}").text  # no history: no chart, still a page
    assert 'data-testid="recommendation-detail"' in transfer and 'data-testid="demand-chart"' not in transfer


def test_anomalies_list_with_their_figures(seeded):
    admin, _, ids = seeded
    html = page(admin, "/app/anomalies").text
    assert {"anomalies-table", "anomaly-row"} <= found_testids(html)
    assert 'data-testid="anomaly-row" data-type="zero_run" data-severity="high"' in html
    assert 'data-testid="anomaly-row" data-type="large_transaction"' in html
    assert f'id="anomaly-{ids["anomaly"]}"' in html
    assert "انقطاع الطلب لأيام" in html and "4×10⁻⁵" in html and "−4.2" in html  # type, p-value, z-score
    assert "MV-77812" in html and "أضعاف الحجم المعتاد" in html and 'data-detail="run_days"' in html
    assert f'href="/app/items/{ids["other_item"]}"' in html
    spikes = page(admin, "/app/anomalies", params={"type": "demand_spike"}).text
    assert 'data-testid="anomaly-row"' not in spikes and 'data-testid="anomalies-empty"' in spikes
    medium = page(admin, "/app/anomalies", params={"severity": "medium"}).text
    assert medium.count('data-testid="anomaly-row"') == 1
    resolved = page(admin, "/app/anomalies", params={"status": "resolved"}).text
    assert 'data-testid="anomaly-row"' not in resolved


def test_the_item_page_charts_demand_forecast_and_projected_stock(seeded):
    admin, _, ids = seeded
    html = page(admin, f"/app/items/{ids['item']}").text
    assert {"item-page", "item-chart", "item-figures", "recommendation-row", "anomaly-row"} <= found_testids(html)
    assert "SKU-A1" in html and "حليب طازج" in html
    chart = html[html.index('data-testid="item-chart"') : html.index("</svg>", html.index('data-testid="item-chart"'))]
    assert 'class="chart-band"' in chart and 'class="chart-stock"' in chart and 'class="chart-reorder"' in chart
    assert 'data-i18n="aipage.chart.stock_title"' in chart and 'data-i18n="aipage.chart.reorder_point"' in chart
    # 12 available at ~4.6 a day: it runs out on the third day, below the reorder point from the start.
    assert 'class="chart-marker chart-marker-out"' in chart and 'data-testid="runs-out"' in html
    figures = html[
        html.index('data-testid="item-figures"') : html.index("</dl>", html.index('data-testid="item-figures"'))
    ]
    for key in ("available", "days_of_cover", "reorder_point", "method", "mase"):
        assert f'data-figure="{key}"' in figures, key
    assert "0.81" in figures and "تمهيد أسّي مع نمط أسبوعي" in figures
    assert html.count('data-testid="recommendation-row"') == 3 and html.count('data-testid="anomaly-row"') == 1
    # The seeded forecast is stored as before migration 0019: no median, said so; the API serves null for it.
    assert 'class="chart-median"' not in chart and 'data-i18n="aipage.chart.legend_median"' not in html
    assert 'data-testid="no-median"' in html and "لم يُحفظ الوسيط مع هذا التوقع" in html
    numbers_at = html.index('data-testid="item-chart-numbers"')
    numbers = html[numbers_at : html.index("</details>", numbers_at)]
    # q0.1's header, its figures isolated in mark-up
    assert 'الطلب عنده أو فوقه في <bdi dir="ltr">9</bdi> أيام على الأقل من كل <bdi dir="ltr">10</bdi>' in numbers
    (stored,) = admin.get("/api/forecasts", params={"item_id": ids["item"]}).json()
    assert stored["q50"] is None and stored["q10"] == stored["lo80"] and stored["q90"] == stored["hi80"]
    # An item with no forecast still has a page.
    other = page(admin, f"/app/items/{ids['other_item']}")
    assert other.status_code == 200 and 'data-testid="item-page"' in other.text


def test_the_dashboard_cards(seeded):
    admin, _, ids = seeded
    dashboard = page(admin, "/app").text
    assert 'data-testid="card-company"' in dashboard and 'data-testid="recent-activity"' in dashboard  # kept
    html = dashboard
    assert {"risk-table", "pending-by-type", "open-anomalies", "last-sync", "last-analysis"} <= found_testids(html)
    assert 'data-testid="risk-row" data-sku="SKU-A1"' in html and "87%" in html
    assert 'href="/app/recommendations?type=reorder" data-type="reorder" data-count="1"' in html
    assert 'href="/app/recommendations?type=write_off" data-type="write_off" data-count="0"' in html
    assert 'data-testid="open-anomalies" data-total="2"' in html
    assert 'href="/app/anomalies?severity=high" data-severity="high" data-count="1"' in html
    # The series count agrees with its noun by CLDR (4 is "few" in Arabic); the English text rides along for the
    # language switch.
    assert 'data-i18n-plural="plural.item_series"' in html
    assert '<bdi dir="ltr">4</bdi> سلاسل صنف وموقع' in html and 'data-text-en="4 item-location series"' in html


def test_a_viewer_reads_every_page_but_cannot_run_an_analysis(atlas, seeded):
    admin, _, ids = seeded
    viewer, _ = atlas.member_client(admin, "viewer")
    for path in (
        "/app/recommendations",
        f"/app/recommendations/{ids['reorder']}",
        "/app/anomalies",
        f"/app/items/{ids['item']}",
        "/app",
    ):
        response = page(viewer, path)
        assert response.status_code == 200, (path, response.status_code)
    assert 'data-testid="run-analysis"' not in page(viewer, "/app/recommendations").text
    operator, _ = atlas.member_client(admin, "operator")
    assert 'data-testid="run-analysis"' in page(operator, "/app/recommendations").text


def test_another_tenant_sees_nothing(atlas, seeded):
    _, _, ids = seeded
    stranger, _ = atlas.new_tenant()
    assert page(stranger, f"/app/recommendations/{ids['reorder']}").status_code == 404
    assert page(stranger, f"/app/items/{ids['item']}").status_code == 404
    assert page(stranger, "/app/recommendations", params={"item_id": ids["item"]}).status_code == 404
    listing = page(stranger, "/app/recommendations", params={"status": "all"}).text
    assert 'data-testid="recommendation-row"' not in listing and 'data-testid="recommendations-empty"' in listing
    assert 'data-testid="anomaly-row"' not in page(stranger, "/app/anomalies", params={"status": "all"}).text
    summary = page(stranger, "/app").text
    assert 'data-testid="risk-empty"' in summary and "SKU-A1" not in summary
    assert atlas.client().get(f"/app/recommendations/{ids['reorder']}", headers=HTML).status_code in (302, 303, 307)


# --- the real thing: the demo ERP synced and analysed ---------------------------------------------


@pytest.fixture(scope="module")
def analysed(stack, demo_erp_url):
    from tests.mapping.test_sync import setup_connector, sync

    admin, me = stack.atlas.new_tenant()
    assert sync(admin, setup_connector(admin, demo_erp_url))["status"] == "succeeded"
    response = admin.post("/api/recommendations")
    assert response.status_code == 200, response.text
    return admin, me


def test_every_page_renders_what_the_engine_stored(analysed):
    admin, _ = analysed
    recs = admin.get("/api/recommendations", params={"limit": 500}).json()["items"]
    assert {r["type"] for r in recs} >= {"reorder", "write_off", "investigate"}
    listing = page(admin, "/app/recommendations").text
    assert listing.count('data-testid="recommendation-row"') == min(len(recs), 50)
    for type_ in sorted({r["type"] for r in recs}):
        first = next(r for r in recs if r["type"] == type_)
        html = page(admin, f"/app/recommendations/{first['id']}").text
        assert 'data-testid="recommendation-detail"' in html, type_
        assert first["explanation_ar"] in html and first["explanation_en"] in html, type_
        assert 'data-testid="demand-chart"' in html and 'data-testid="evidence"' in html, type_
        assert "aipage." not in re.sub(r'data-i18n(-attr)?="[^"]*"', "", html), type_  # every name translated
        item = page(admin, f"/app/items/{first['item_id']}").text
        assert 'data-testid="item-chart"' in item and 'data-testid="item-figures"' in item, type_
    anomalies = admin.get("/api/anomalies", params={"limit": 500}).json()
    html = page(admin, "/app/anomalies").text
    assert html.count('data-testid="anomaly-row"') == min(anomalies["total"], 50)
    assert "aipage." not in re.sub(r'data-i18n(-attr)?="[^"]*"', "", html)
    summary = page(admin, "/app").text
    assert 'data-testid="risk-table"' in summary and 'data-testid="risk-row" data-sku="SKU-' in summary


def test_the_item_page_draws_the_stored_median_in_both_languages(analysed):
    from atlas.ai_engine.pages import format_number
    from atlas.i18n import translate
    from atlas.web.ui.bidi_markup import isolate_controls

    admin, _ = analysed
    item_id = admin.get("/api/inventory/items", params={"q": "SKU-0002"}).json()["items"][0]["id"]
    stored = admin.get("/api/forecasts", params={"item_id": item_id}).json()
    assert stored and all(f["q50"] and len(f["q50"]) == len(f["forecast"]) for f in stored)
    first = stored[0]
    for lang in ("ar", "en"):
        html = page(admin, f"/app/items/{item_id}", cookies={"atlas_lang": lang}).text
        assert f'<html lang="{lang}"' in html
        legend = translate("aipage.chart.legend_median", lang)
        assert f'<span data-i18n="aipage.chart.legend_median">{legend}</span>' in html, lang
        assert html.count('class="chart-median"') == len(stored) and 'data-testid="no-median"' not in html
        for key in ("col_q10", "col_q50", "col_q90"):
            assert isolate_controls(translate(f"aipage.chart.{key}", lang)) in html, (lang, key)  # <bdi>, not U+2066
        # The numbers table: the first forecast day's row carries the stored median.
        section = html[html.index(f'data-location="{first["location_code"]}"') :]
        numbers = section[section.index('data-testid="item-chart-numbers"') : section.index("</details>")]
        row = numbers[numbers.index(f">{first['start_date']}</span>") :]
        cells = re.findall(r'<td class="col-num">(.*?)</td>', row[: row.index("</tr>")])
        assert len(cells) == 5 and f">{format_number(first['q50'][0])}</span>" in cells[3], cells
    # A reorder's chart draws the median its evidence carries (the analysis's 14-day excerpt), with its legend.
    reorder = admin.get("/api/recommendations", params={"type": "reorder", "limit": 1}).json()["items"][0]
    assert all("q50" in day for day in reorder["evidence"]["forecast"])
    html = page(admin, f"/app/recommendations/{reorder['id']}").text
    assert html.count('class="chart-median"') == 1 and 'data-i18n="aipage.chart.legend_median"' in html
    assert 'data-testid="chart-numbers"' in html and isolate_controls(translate("aipage.chart.col_q50", "ar")) in html


# --- Chromium ------------------------------------------------------------------------------------


@pytest.mark.browser
def test_the_explanation_switches_language_without_a_reload(atlas, browser, seeded):
    admin, _, ids = seeded
    context, tab = signed_in_page(browser, atlas.base_url, admin, locale="ar-SA")
    try:
        # The dashboard loads its AI cards.
        tab.goto(f"{atlas.base_url}/app")
        tab.get_by_test_id("risk-table").wait_for()
        assert tab.get_by_test_id("pending-by-type").is_visible() and tab.get_by_test_id("open-anomalies").is_visible()

        tab.goto(f"{atlas.base_url}/app/recommendations/{ids['reorder']}")
        assert tab.get_attribute("html", "dir") == "rtl"
        chart = tab.get_by_test_id("demand-chart")
        assert chart.evaluate("el => el.tagName.toLowerCase()") == "svg" and chart.is_visible()
        assert chart.locator("rect").count() >= 30 and chart.bounding_box()["width"] > 300
        explanation = tab.get_by_test_id("explanation")
        assert explanation.locator('[lang="ar"]').is_visible() and explanation.locator('[lang="en"]').is_hidden()
        assert explanation.inner_text().strip() == EXPLANATION_AR

        tab.evaluate("window.__noReload = 'still-here'")
        tab.get_by_test_id("lang-switch").click()
        tab.wait_for_function("() => document.documentElement.lang === 'en'")
        assert tab.evaluate("window.__noReload") == "still-here"  # the same page: no reload
        assert tab.get_attribute("html", "dir") == "ltr"
        explanation.locator('[lang="en"]').wait_for(state="visible")
        assert explanation.locator('[lang="ar"]').is_hidden()
        assert explanation.inner_text().strip() == EXPLANATION_EN
        assert "Forecast" in chart.inner_html() and "Signals used" in tab.inner_text("main")  # the chart's words too
    finally:
        context.close()
