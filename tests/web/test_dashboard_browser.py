"""The dashboard in Chromium (issue 19): a new tenant's getting-started checklist ticks after each real step (a
connector, a sync of the demo ERP, an analysis, an approval, an invitation), in Arabic and English, on a desktop
(1366×900) and a phone (390×844); then the charts are there with their text alternatives, drawn in the reading
direction. The figures themselves are checked against the database in ``test_dashboard.py``."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from atlas.i18n import translate
from atlas.mapping.demo_setup import DEMO_MAPPINGS, demo_connector_body
from tests.browser_pages import signed_in_page
from tests.mapping.test_sync import wait_for_run

pytestmark = pytest.mark.browser

DESKTOP, PHONE = {"width": 1366, "height": 900}, {"width": 390, "height": 844}
VIEWS = (("ar", DESKTOP), ("en", PHONE), ("en", DESKTOP), ("ar", PHONE))
STEPS = ("connect", "sync", "analyse", "approve", "invite")
CHARTS = ("cover", "activity", "value", "freshness", "turnaround")
# Where to keep the pages' screenshots for a person to look at (optional).
SCREENSHOTS = os.environ.get("ATLAS_DASHBOARD_SCREENSHOTS")


def wait_until(check: Any, what: str, timeout: float = 180) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


class Dashboard:
    """One Chromium tab per language and size, signed in as the tenant's admin."""

    def __init__(self, browser: Any, atlas: Any, admin: Any) -> None:
        self.atlas = atlas
        self.tabs = []
        for lang, viewport in VIEWS:
            context, page = signed_in_page(browser, atlas.base_url, admin, lang=lang, locale="ar-SA", viewport=viewport)
            self.tabs.append((lang, viewport, context, page))

    def steps(self, stage: str, racing: str | None = None) -> dict[str, bool]:
        """Each tab's checklist (they must agree, but for a ``racing`` step that may tick while the tabs load); the
        checklist sits above the first card on both sizes."""
        seen = []
        for lang, viewport, _, tab in self.tabs:
            tab.goto(f"{self.atlas.base_url}/app")
            assert tab.get_attribute("html", "lang") == lang
            assert tab.get_attribute("html", "dir") == ("rtl" if lang == "ar" else "ltr")
            checklist = tab.get_by_test_id("getting-started")
            steps = {
                item.get_attribute("data-step"): item.get_attribute("data-done") == "true"
                for item in tab.get_by_test_id("checklist-step").all()
            }
            assert list(steps) == list(STEPS)
            top = checklist.bounding_box()
            assert top is not None and top["y"] < tab.get_by_test_id("card-company").bounding_box()["y"]
            if not all(steps.values()):  # open, each step's state in words
                state = tab.locator(f"[data-step={STEPS[0]}] .checklist-state").inner_text()
                key = "done" if steps[STEPS[0]] else "todo"
                assert state == translate(f"dashboard.getting_started.{key}", lang)
                assert top["width"] <= viewport["width"]
            if SCREENSHOTS:
                Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
                tab.screenshot(path=f"{SCREENSHOTS}/dashboard-{stage}-{lang}-{viewport['width']}.png", full_page=True)
            seen.append(steps)
        settled = [{k: v for k, v in steps.items() if k != racing} for steps in seen]
        assert all(steps == settled[0] for steps in settled), seen
        return seen[0]

    def close(self) -> None:
        for *_, context, _ in self.tabs:
            context.close()


def ticked(steps: dict[str, bool]) -> list[str]:
    return [name for name, done in steps.items() if done]


def test_a_new_tenant_checklist_ticks_after_each_step_and_the_charts_read_both_ways(stack, browser, demo_erp_url):
    atlas = stack.atlas
    admin, me = atlas.new_tenant()
    board = Dashboard(browser, atlas, admin)
    try:
        assert ticked(board.steps("new")) == []
        for tab in (t for *_, t in board.tabs):
            assert tab.get_by_test_id("getting-started").get_attribute("open") is not None  # unfolded

        # 1. A connector.
        connector = admin.post("/api/connectors", json=demo_connector_body(demo_erp_url))
        assert connector.status_code == 201, connector.text
        connector_id = connector.json()["id"]
        assert ticked(board.steps("connector")) == ["connect"]

        # 2. Its mappings and a sync (which starts the analysis after it: the next step may tick with it).
        for key, spec in DEMO_MAPPINGS.items():
            response = admin.post(
                "/api/mappings", json={"connector_id": connector_id, "endpoint_key": key, "spec": spec, "note": "first"}
            )
            assert response.status_code == 201, response.text
        started = admin.post(f"/api/connectors/{connector_id}/sync")
        assert started.status_code == 202, started.text
        assert wait_for_run(admin, connector_id, started.json()["id"])["status"] == "succeeded"
        steps = board.steps("synced", racing="analyse")
        assert steps["connect"] and steps["sync"] and not steps["approve"] and not steps["invite"]

        # 3. The analysis: recommendations.
        tenant = me["tenant_id"]
        wait_until(
            lambda: atlas.sql(
                "SELECT count(*) FROM analysis_runs WHERE tenant_id = %s AND status = 'succeeded'", (tenant,)
            )[0][0],
            "the post-sync analysis",
        )
        assert ticked(board.steps("analysed")) == ["connect", "sync", "analyse"]

        # 4. A first approval, once the recommendation's workflow has evaluated it.
        rec = wait_until(
            lambda: atlas.sql(
                """SELECT id FROM recommendations WHERE tenant_id = %s AND type = 'reorder' AND status = 'pending'
                     AND workflow_started_at IS NOT NULL AND policy_revision = update_count LIMIT 1""",
                (tenant,),
            ),
            "an evaluated reorder",
        )[0][0]
        assert admin.post(f"/api/recommendations/{rec}/dry-run").status_code == 200
        approved = admin.post(f"/api/recommendations/{rec}/approve", json={"comment": "From the dashboard test"})
        assert approved.status_code == 200, approved.text
        assert ticked(board.steps("approved")) == ["connect", "sync", "analyse", "approve"]

        # 5. A colleague invited: every step done, the checklist folds away.
        invited = admin.post(
            "/api/invitations", json={"email": f"ops-{uuid.uuid4().hex[:8]}@example.sa", "role": "operator"}
        )
        assert invited.status_code == 201, invited.text
        assert ticked(board.steps("invited")) == list(STEPS)

        # The charts, in both languages and sizes: each with its title, an SVG named for it, and its numbers' table.
        for lang, viewport, _, tab in board.tabs:
            tab.goto(f"{atlas.base_url}/app")
            checklist = tab.get_by_test_id("getting-started")
            assert checklist.get_attribute("data-complete") == "true" and checklist.get_attribute("open") is None
            assert not tab.get_by_test_id("checklist-step").first.is_visible()  # folded
            for name in CHARTS:
                figure = tab.get_by_test_id(f"chart-{name}")
                figure.scroll_into_view_if_needed()
                assert figure.get_attribute("data-empty") == "false", name
                title = translate(f"dashboard.charts.{name}.title", lang)
                assert figure.locator("h3").inner_text() == title
                svg = figure.locator("svg.chart-svg").first
                assert svg.get_attribute("role") == "img" and svg.get_attribute("aria-label") == title
                assert svg.is_visible() and svg.locator("rect").count() >= 1
                box = figure.bounding_box()
                assert box is not None and box["x"] >= -1 and box["x"] + box["width"] <= viewport["width"] + 1
                numbers = tab.get_by_test_id(f"{name}-data")
                numbers.locator("summary").click()
                assert numbers.locator("table").first.is_visible()
                assert numbers.locator("tbody tr").count() >= 1
            # Bars grow from the start edge of the reading direction: right to left in Arabic.
            svg = tab.get_by_test_id("value-svg")
            svg.scroll_into_view_if_needed()
            bar = svg.locator("rect").first.bounding_box()
            frame = svg.bounding_box()
            middle = frame["x"] + frame["width"] / 2
            if lang == "ar":
                assert bar["x"] + bar["width"] > middle, (bar, frame)
            else:
                assert bar["x"] < middle, (bar, frame)
            # A label reads normally (not mirrored): its text runs in the page's direction.
            label = svg.locator("text.hchart-label").first
            assert label.text_content() == translate("aipage.type.reorder", lang)
            matrix = label.evaluate("el => getComputedStyle(el).transform")
            assert matrix == ("matrix(-1, 0, 0, 1, 0, 0)" if lang == "ar" else "none")
            if SCREENSHOTS:
                tab.screenshot(path=f"{SCREENSHOTS}/dashboard-charts-{lang}-{viewport['width']}.png", full_page=True)

        # The language switch without a reload: the charts' words follow.
        _, _, _, tab = board.tabs[0]
        tab.get_by_test_id("lang-switch").click()
        tab.wait_for_function("() => document.documentElement.lang === 'en'")
        title = translate("dashboard.charts.cover.title", "en")
        assert tab.get_by_test_id("chart-cover").locator("h3").inner_text() == title
        assert tab.get_by_test_id("cover-svg").get_attribute("aria-label") == title
    finally:
        board.close()
