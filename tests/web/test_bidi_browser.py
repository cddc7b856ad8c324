"""In Chromium: a draft's summary keeps each embedded name, code and figure in one piece and in its place (issue 19).

An Arabic sentence that embeds Latin names and codes ("من Main Warehouse (WH-1) إلى Store One (ST-1)") used to
be scrambled by the bidirectional algorithm; the page now isolates each value in a ``<bdi>`` (the stored text and
the files stay plain: tests/execution_lock/test_export_plain.py). Checked on the drafts page and on the
recommendation page's dry run, in Arabic and English, at 1366×900 and on a phone (390×844), from the boxes the
browser laid out: each value is isolated (``unicode-bidi: isolate``), each code is one box, and the values follow
each other in reading order (right to left in Arabic, left to right in English), line after line.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import pytest

from atlas.db.engine import Database
from atlas.platform.audit import Actor
from tests.browser_pages import LOCALES, signed_in_page
from tests.execution_lock.seed import load_recommendation, run, seed

pytestmark = pytest.mark.browser

ACTOR = Actor("system", "test")
SHOTS = os.environ.get("ATLAS_SCREENSHOTS")  # a folder: save screenshots there while developing
VIEWPORTS = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}
TRANSFER_AR = "نقل: 20 pcs من Widget ودجت (SKU-1) من Main Warehouse (WH-1) إلى Store One (ST-1)."
TRANSFER_EN = "Transfer: 20 pcs of Widget ودجت (SKU-1) from Main Warehouse (WH-1) to Store One (ST-1)."
# The embedded values of the transfer's sentence, in the order both languages name them.
AR_VALUES = ["20", "pcs", "Widget ودجت", "SKU-1", "Main Warehouse", "WH-1", "Store One", "ST-1"]
CODES = {"20", "SKU-1", "WH-1", "ST-1"}

# Each <bdi> of the paragraph: its text, direction, computed unicode-bidi and its line boxes.
BDI_BOXES = """p => [...p.querySelectorAll('bdi')].map(b => ({
  text: b.textContent, dir: b.getAttribute('dir'), bidi: getComputedStyle(b).unicodeBidi,
  rects: [...b.getClientRects()].filter(r => r.width > 0).map(r => ({left: r.left, right: r.right, top: r.top}))
}))"""


@pytest.fixture(scope="module")
def tenant(atlas, database_url) -> dict[str, Any]:
    """A tenant with the blocked draft of a transfer and a dry run of it."""
    from atlas.approvals.lock_actions import attempt, dry_run

    admin, me = atlas.new_tenant()
    tenant_id = uuid.UUID(me["tenant_id"])

    async def work(database: Database) -> uuid.UUID:
        seeded = await seed(database, tenant_id)
        rec_id = seeded.recs["transfer"]
        async with database.tenant_session(tenant_id) as session:
            rec = await session.merge(await load_recommendation(database, tenant_id, rec_id))
            await attempt(session, rec, actor=ACTOR, correlation_id=rec.correlation_id)
        async with database.tenant_session(tenant_id) as session:
            rec = await session.merge(await load_recommendation(database, tenant_id, rec_id))
            await dry_run(session, rec, actor=ACTOR, correlation_id=rec.correlation_id)
        return rec_id

    return {"admin": admin, "rec": run(database_url, work)}


def _in_reading_order(boxes: list[dict[str, Any]], *, rtl: bool) -> None:
    """Each value starts after the previous one ends: further along the same line, or on a later line."""
    for before, after in zip(boxes, boxes[1:], strict=False):
        end, start = before["rects"][-1], after["rects"][0]
        if abs(end["top"] - start["top"]) < 4:  # the same line
            if rtl:
                assert start["right"] <= end["left"] + 1, (before["text"], after["text"], end, start)
            else:
                assert start["left"] >= end["right"] - 1, (before["text"], after["text"], end, start)
        else:
            assert start["top"] > end["top"], (before["text"], after["text"], end, start)


def _check_summary(paragraph: Any, lang: str) -> None:
    # Plain text: no control character in the page either, and the words the stored summary has.
    assert paragraph.text_content() == (TRANSFER_AR if lang == "ar" else TRANSFER_EN)
    boxes = paragraph.evaluate(BDI_BOXES)
    assert [b["text"] for b in boxes] == AR_VALUES  # both sentences embed the same values in the same order
    for box in boxes:
        assert box["bidi"] == "isolate", box
        assert box["dir"] == ("ltr" if box["text"] in CODES else "auto"), box
        if box["text"] in CODES:
            assert len(box["rects"]) == 1, box  # one piece, on a phone too ("WH-1", not "WH-" then "1")
    _in_reading_order(boxes, rtl=lang == "ar")


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
@pytest.mark.parametrize("lang", ["ar", "en"])
def test_a_draft_summary_keeps_names_and_codes_whole_and_in_place(atlas, browser, tenant, lang, viewport):
    context, tab = signed_in_page(
        browser, atlas.base_url, tenant["admin"], lang=lang, locale=LOCALES[lang], viewport=VIEWPORTS[viewport]
    )
    try:
        tab.goto(f"{atlas.base_url}/app/drafts")
        assert tab.get_attribute("html", "lang") == lang
        rows = tab.locator("[data-testid='draft-row'][data-type='transfer']")
        assert rows.count() == 2  # the blocked draft and the dry run
        for index in range(2):
            summary = rows.nth(index).get_by_test_id("draft-summary")
            paragraph = summary.locator(f"p[data-only-lang='{lang}']")
            paragraph.scroll_into_view_if_needed()
            assert paragraph.is_visible()
            _check_summary(paragraph, lang)
        if SHOTS:
            paragraph.screenshot(path=str(Path(SHOTS) / f"draft-summary-{lang}-{viewport}.png"))

        tab.goto(f"{atlas.base_url}/app/recommendations/{tenant['rec']}")
        paragraph = tab.get_by_test_id("dry-run-draft-summary").locator(f"p[data-only-lang='{lang}']")
        paragraph.scroll_into_view_if_needed()
        assert paragraph.is_visible()
        _check_summary(paragraph, lang)
    finally:
        context.close()
