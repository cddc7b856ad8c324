"""No page serves a bidirectional control character: isolates are ``<bdi>`` mark-up (issue 19).

The catalogue's Arabic sentences isolate embedded figures and codes with U+2066…U+2069, and a few put U+200E/U+200F
beside a Latin word; in a page those invisible characters ended up in copied text and in what screen readers read.
Every main page of a seeded tenant with Latin names (a connector with items and two locations, stock, an anomaly,
a recommendation of each type, a blocked draft, an issued invoice) and the platform admin's pages are fetched in
Arabic and English, and none of U+2066–U+2069, U+200E, U+200F, U+202A–U+202E, U+061C is in the HTML; the
Arabic pages isolate their figures with ``<bdi>`` instead. Unit checks hold the conversion itself.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from atlas.db.engine import Database
from atlas.platform.audit import Actor
from atlas.web.ui.bidi_markup import isolate_controls
from tests.billing.test_invoices import add_attempts, issue_concurrently
from tests.execution_lock.seed import load_recommendation, run, seed
from tests.platform.test_audit import run_cli

ACTOR = Actor("system", "test")
CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


@pytest.fixture(scope="module")
def demo(atlas, database_url) -> dict[str, Any]:
    """A seeded tenant with Latin names, its admin, and a platform admin beside it."""
    from atlas.approvals.lock_actions import attempt

    admin, me = atlas.new_tenant(name="Riyadh Trading Company")
    tenant_id = uuid.UUID(me["tenant_id"])

    async def work(database: Database) -> Any:
        seeded = await seed(database, tenant_id)
        async with database.tenant_session(tenant_id) as session:  # a draft, blocked by the connector's lock
            rec = await session.merge(await load_recommendation(database, tenant_id, seeded.recs["transfer"]))
            await attempt(session, rec, actor=ACTOR, correlation_id=rec.correlation_id)
        return seeded

    seeded = run(database_url, work)
    issue_concurrently(atlas, me["tenant_id"], add_attempts(atlas, me["tenant_id"], 1), set())
    invoice = admin.get("/api/invoices").json()[0]
    platform, platform_me = atlas.new_tenant(name="Atlas Operations")
    granted = run_cli(atlas.database_url, "platform-admins", "grant", "--email", platform_me["email"])
    assert granted.returncode == 0, granted.stderr
    connector = seeded.connector_id
    return {
        "admin": admin,
        "platform": platform,
        "tenant_pages": {
            "dashboard": "/app",
            "inventory": "/app/inventory",
            "item": f"/app/items/{seeded.item_id}",
            "recommendations": "/app/recommendations",
            "recommendation": f"/app/recommendations/{seeded.recs['reorder']}",
            "transfer": f"/app/recommendations/{seeded.recs['transfer']}",
            "anomalies": "/app/anomalies",
            "approvals": "/app/approvals",
            "drafts": "/app/drafts",
            "connectors": "/app/connectors",
            "connector": f"/app/connectors/{connector}",
            "mappings": f"/app/connectors/{connector}/mappings/items",
            "quarantine": "/app/quarantine",
            "policies": "/app/policies",
            "audit": "/app/audit",
            "team": "/app/team",
            "tokens": "/app/tokens",
            "subscription": "/app/subscription",
            "invoice": invoice["url"],
        },
        "platform_pages": {
            "platform-tenants": "/platform",
            "platform-billing": "/platform/billing",
            "platform-tenant": f"/platform/tenants/{me['tenant_id']}",
        },
    }


def _html(atlas: Any, client: Any, path: str, lang: str) -> str:
    """The page as the browser gets it, in ``lang``."""
    response = atlas.client().get(
        path,
        cookies={"atlas_session": client.cookies["atlas_session"], "atlas_lang": lang},
        headers={"Accept": "text/html"},
    )
    assert response.status_code == 200, (path, lang, response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith("text/html")
    assert f'<html lang="{lang}"' in response.text
    return response.text


def _controls(html: str) -> list[str]:
    """Each control found, with a little of the text around it."""
    return [
        f"U+{ord(m.group()):04X} in {html[max(m.start() - 60, 0) : m.end() + 60]!r}" for m in CONTROLS.finditer(html)
    ]


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_no_main_page_serves_a_bidi_control(atlas, demo, lang):
    problems: dict[str, list[str]] = {}
    isolated = 0
    pages = [(demo["admin"], path) for path in demo["tenant_pages"].values()]
    pages += [(demo["platform"], path) for path in demo["platform_pages"].values()]
    for client, path in pages:
        html = _html(atlas, client, path, lang)
        if found := _controls(html):
            problems[path] = found[:3]
        isolated += html.count('<bdi dir="ltr">')
    assert problems == {}
    assert isolated > 0  # figures and codes are still isolated, in mark-up


def test_the_arabic_catalogue_isolates_become_bdi_elements_in_a_page(atlas, demo):
    """The getting-started checklist's progress ("أُنجز ⁦{done}⁩ من ⁦{total}⁩" in the catalogue) is isolated by
    ``<bdi>`` elements on the dashboard."""
    from atlas.i18n import catalogue

    assert CONTROLS.search(catalogue()["dashboard.getting_started.progress"]["ar"])  # the source has them
    html = _html(atlas, demo["admin"], "/app", "ar")
    assert re.search(r'أُنجز <bdi dir="ltr">\d+</bdi> من <bdi dir="ltr">5</bdi>', html)


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<p>معزول: \u206612\u2069</p>", '<p>معزول: <bdi dir="ltr">12</bdi></p>'),
        ("<p>\u2067abc\u2069 \u2068name\u2069</p>", '<p><bdi dir="rtl">abc</bdi> <bdi dir="auto">name</bdi></p>'),
        ("<p>\u202aA\u202c \u202eB\u202c</p>", '<p><span dir="ltr">A</span> <bdo dir="rtl">B</bdo></p>'),
        # attributes, the title and a textarea hold no mark-up: the controls are dropped there
        ('<a title="x\u2066y\u2069" data-text-ar="\u200fz">t</a>', '<a title="xy" data-text-ar="z">t</a>'),
        ("<title>A \u2066b\u2069</title><textarea>\u2066c</textarea>", "<title>A b</title><textarea>c</textarea>"),
        # a pair of marks around a word isolates it; a lone mark and a lone closer go
        ("<p>\u200esa\u200e و\u200fBearer\u2069</p>", '<p><bdi dir="ltr">sa</bdi> وBearer</p>'),
        # mark-up inside an isolate stays inside it; an isolate never crosses the end of its element
        ('<p>«\u2066<bdi dir="auto">X</bdi>\u2069»</p>', '<p>«<bdi dir="ltr"><bdi dir="auto">X</bdi></bdi>»</p>'),
        ("<p>\u2066open <b>x</b></p><p>tail\u2069</p>", '<p><bdi dir="ltr">open <b>x</b></bdi></p><p>tail</p>'),
        ("<br>\u2066v<input value='\u2066'>\u2069", "<br><bdi dir=\"ltr\">v<input value=''></bdi>"),
        ("<p>plain</p>", "<p>plain</p>"),
    ],
)
def test_isolate_controls(html, expected):
    assert isolate_controls(html) == expected
    assert not CONTROLS.search(isolate_controls(html))
