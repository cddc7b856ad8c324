"""Files are plain text (issue 19): the drafts' CSV and JSON exports, and the drafts API, carry no bidirectional
control character — not in new drafts (summaries are stored plain) and not in drafts stored before, whose Arabic
summary held U+2066/U+2069 isolates around its figures and codes. Pages isolate in mark-up instead
(tests/web/test_bidi_browser.py)."""

from __future__ import annotations

import csv
import html
import io
import json
import re
import uuid
from typing import Any

import pytest

from atlas.db.engine import Database
from atlas.execution_lock.models import ExecutionDraft
from atlas.execution_lock.services import DraftRepo
from atlas.platform.audit import Actor
from tests.execution_lock.seed import load_recommendation, run, seed

ACTOR = Actor("system", "test")
OLD_SUMMARY = "أمر شراء: \u206640\u2069 pcs من Widget ودجت (\u2066SKU-1\u2069) إلى Store One (\u2066ST-1\u2069)"
OLD_PLAIN = "أمر شراء: 40 pcs من Widget ودجت (SKU-1) إلى Store One (ST-1)"
BIDI_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


@pytest.fixture(scope="module")
def tenant(atlas, database_url) -> dict[str, Any]:
    """A tenant with a blocked draft of every type, one of them stored as drafts were before (isolates)."""
    from atlas.approvals.lock_actions import attempt

    admin, me = atlas.new_tenant()
    tenant_id = uuid.UUID(me["tenant_id"])

    async def work(database: Database) -> dict[str, str]:
        seeded = await seed(database, tenant_id)
        drafts: dict[str, str] = {}
        async with database.tenant_session(tenant_id) as session:
            for kind, rec_id in seeded.recs.items():
                rec = await session.merge(await load_recommendation(database, tenant_id, rec_id))
                outcome = await attempt(session, rec, actor=ACTOR, correlation_id=rec.correlation_id)
                drafts[kind] = str(outcome.draft_id)
            # As drafts were stored before issue 19 (rows are immutable: a dry run of the reorder, stored so).
            reorder = await DraftRepo(session).get(uuid.UUID(drafts["reorder"]))
            stored = await DraftRepo(session).add(
                ExecutionDraft(
                    recommendation_id=reorder.recommendation_id,
                    revision=reorder.revision,
                    kind="dry_run",
                    action_type="reorder",
                    action=reorder.action,
                    request=reorder.request,
                    impact=reorder.impact,
                    summary_en=reorder.summary_en,
                    summary_ar=OLD_SUMMARY,
                    correlation_id=reorder.correlation_id,
                    created_by=reorder.created_by,
                )
            )
            drafts["old"] = str(stored.id)
        return drafts

    return {"admin": admin, "drafts": run(database_url, work)}


def test_new_summaries_are_stored_plain(tenant, atlas):
    ids = [draft_id for kind, draft_id in tenant["drafts"].items() if kind != "old"]
    stored = atlas.sql("SELECT id, summary_ar, summary_en FROM execution_drafts WHERE id = ANY(%s::uuid[])", (ids,))
    fresh = [row for row in stored if str(row[0]) in ids]
    assert len(fresh) == 4
    assert not any(BIDI_CONTROLS.search(ar + en) for _, ar, en in fresh)
    transfer = next(ar for draft_id, ar, _ in stored if str(draft_id) == tenant["drafts"]["transfer"])
    assert transfer.startswith("نقل: 20 pcs من Widget ودجت (SKU-1) من Main Warehouse (WH-1) إلى Store One (ST-1)")


def test_csv_export_has_no_bidi_controls(tenant):
    response = tenant["admin"].get("/api/drafts/export.csv", params={"kind": "all"})
    assert response.status_code == 200
    text = response.content.decode("utf-8-sig")
    assert BIDI_CONTROLS.search(text) is None
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 5
    old = next(r for r in rows if r["draft_id"] == tenant["drafts"]["old"])
    assert old["summary_ar"] == OLD_PLAIN  # the row stored with isolates: the same words, without them
    write_off = next(r for r in rows if r["action_type"] == "write_off")
    assert "30.5" in write_off["summary_ar"] and "381.25" in write_off["summary_ar"]


def test_json_export_and_api_have_no_bidi_controls(tenant):
    exported = tenant["admin"].get("/api/drafts/export.json", params={"kind": "all"})
    assert exported.status_code == 200
    assert BIDI_CONTROLS.search(exported.content.decode("utf-8")) is None
    assert len(json.loads(exported.content)["drafts"]) == 5
    listed = tenant["admin"].get("/api/drafts")
    assert listed.status_code == 200 and BIDI_CONTROLS.search(listed.text) is None
    assert tenant["admin"].get(f"/api/drafts/{tenant['drafts']['old']}").json()["summary_ar"] == OLD_PLAIN


def test_the_pages_isolated_summary_says_the_stored_words(tenant):
    """What a page shows (each value in a <bdi>) reads, without its mark-up, as the plain summary the files hold;
    a name is escaped, never mark-up."""
    from atlas.approvals.draft_pages import summaries
    from atlas.execution_lock.drafts import LTR_PARAMS
    from atlas.web.ui.isolation import isolated

    drafts = tenant["admin"].get("/api/drafts", params={"kind": "blocked"}).json()["items"]
    assert len(drafts) == 4
    for draft in drafts:
        shown = str(summaries(draft)["ar"])
        assert "<bdi" in shown
        assert html.unescape(re.sub(r"<[^>]+>", "", shown)) == draft["summary_ar"]
    marked = str(
        isolated("drafts.task", "ar", {"item": "<b>x</b>", "location": "RUH", "anomaly": "spike"}, ltr=LTR_PARAMS)
    )
    assert (
        '<bdi dir="auto">&lt;b&gt;x&lt;/b&gt;</bdi>' in marked and '<bdi dir="ltr" class="nowrap">spike</bdi>' in marked
    )
