"""Every main page in Chromium, Arabic and English, at 1366×900: saved as a full-page PNG for a person to look at
(issue 19: "screenshot every main page in both languages into a folder the suite writes"), and held to what a
look would catch first — the page answers 200, nothing sticks out sideways at that width, and no text is an
untranslated catalogue key (``dashboard.foo.bar``).

The screenshots go to ``test-artifacts/screenshots/`` (git-ignored; docs/testing.md), one ``<page>-<lang>.png``
each. The tenant is demo-like, built from the existing fixtures: a connector with items, two locations, stock, an
anomaly and one recommendation of each type (tests/execution_lock/seed.py), each judged by the tenant's policy as
its approval workflow's first step does, a blocked draft (the transfer's attempt), an issued invoice
(tests/billing/test_invoices.py); a second tenant's admin, granted platform admin by the CLI, shows the platform
pages.

The seed writes its recommendations as if their approval workflows had started (so no reconcile sweep picks them
up) but no workflow runs here: unjudged, every recommendation page and the approval queue said "Policy being
evaluated…" forever. The fixture stores each one's real verdict with ``atlas.approvals.services.evaluate``, the
step the workflow runs; the pages must show it.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from atlas.db.engine import Database
from atlas.i18n import catalogue, plurals, translate
from atlas.platform.audit import Actor
from tests.billing.test_invoices import add_attempts, issue_concurrently
from tests.browser_pages import signed_in_page
from tests.execution_lock.seed import load_recommendation, run, seed
from tests.platform.test_audit import run_cli

pytestmark = pytest.mark.browser

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
VIEWPORT = {"width": 1366, "height": 900}
ACTOR = Actor("system", "test")
# A catalogue key shown as text: one of the catalogue's top-level names, then at least one dotted part.
PREFIXES = sorted({key.split(".")[0] for key in (*catalogue(), *plurals())}, key=len, reverse=True)
KEY_LOOKING = re.compile(r"(?<![\w.@/$-])(?:" + "|".join(map(re.escape, PREFIXES)) + r")(?:\.[a-z0-9_]+)+(?![\w@/-])")
# What a person reads on the page: its text and the attributes shown on hover or in an empty field.
PAGE_TEXTS = """() => [document.title, document.body.innerText,
  ...[...document.querySelectorAll('[title],[placeholder],[aria-label]')].flatMap(e =>
    ['title', 'placeholder', 'aria-label'].map(a => e.getAttribute(a) || ''))].join('\\n')"""
OVERFLOW = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


@pytest.fixture(scope="module")
def demo(atlas, database_url) -> dict[str, Any]:
    """The demo-like tenant's admin and the ids its pages need; a platform admin beside it."""
    from atlas.approvals.lock_actions import attempt
    from atlas.approvals.services import evaluate
    from atlas.config import Settings

    admin, me = atlas.new_tenant(name="شركة الرياض للتجارة")
    tenant_id = uuid.UUID(me["tenant_id"])

    async def work(database: Database) -> Any:
        seeded = await seed(database, tenant_id)
        for rec_id in seeded.recs.values():  # the verdict each one's approval workflow would store first
            async with database.tenant_session(tenant_id) as session:
                await evaluate(session, rec_id, hour_seconds=Settings().approval_hour_seconds)
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
    return {
        "admin": admin,
        "platform": platform,
        "tenant_id": me["tenant_id"],
        "connector": seeded.connector_id,
        "rec": seeded.recs["reorder"],
        "recs": {kind: str(rec_id) for kind, rec_id in seeded.recs.items()},
        "item": seeded.item_id,
        "invoice": invoice["url"],
    }


def tenant_pages(demo: dict[str, Any]) -> dict[str, str]:
    connector = demo["connector"]
    return {
        "dashboard": "/app",
        "connectors": "/app/connectors",
        "connector": f"/app/connectors/{connector}",
        "mapping-editor": f"/app/connectors/{connector}/mappings/items",
        "inventory": "/app/inventory",
        "item": f"/app/items/{demo['item']}",
        "quarantine": "/app/quarantine",
        "anomalies": "/app/anomalies",
        "recommendations": "/app/recommendations",
        "recommendation": f"/app/recommendations/{demo['rec']}",
        "approvals": "/app/approvals",
        "drafts": "/app/drafts",
        "policies": "/app/policies",
        "team": "/app/team",
        "tokens": "/app/tokens",
        "audit": "/app/audit",
        "subscription": "/app/subscription",
        "invoice": demo["invoice"],
    }


def platform_pages(demo: dict[str, Any]) -> dict[str, str]:
    return {
        "platform-tenants": "/platform",
        "platform-billing": "/platform/billing",
        "platform-tenant": f"/platform/tenants/{demo['tenant_id']}",
    }


def visit(atlas: Any, browser: Any, client: Any, lang: str, pages: dict[str, str]) -> list[str]:
    """Each page in ``lang``, screenshot saved; what is wrong with any of them, as lines."""
    problems: list[str] = []
    context, page = signed_in_page(browser, atlas.base_url, client, lang=lang, viewport=VIEWPORT)
    try:
        for name, path in pages.items():
            response = page.goto(f"{atlas.base_url}{path}", wait_until="load")
            # the pages' scripts fill some parts from the API; a page that keeps polling is not waited for
            with contextlib.suppress(PlaywrightTimeout):
                page.wait_for_load_state("networkidle", timeout=2500)
            page.screenshot(path=str(SHOTS / f"{name}-{lang}.png"), full_page=True)
            status = response.status if response else None
            if status != 200:
                problems.append(f"{name} ({lang}): HTTP {status}")
            if page.get_attribute("html", "lang") != lang:
                problems.append(f"{name} ({lang}): html lang is {page.get_attribute('html', 'lang')}")
            overflow = page.evaluate(OVERFLOW)
            if overflow > 1:
                problems.append(f"{name} ({lang}): {overflow}px wider than the {VIEWPORT['width']}px window")
            keys = sorted(set(KEY_LOOKING.findall(page.evaluate(PAGE_TEXTS))))
            if keys:
                problems.append(f"{name} ({lang}): untranslated {keys[:5]}")
    finally:
        context.close()
    return problems


def test_every_main_page_in_both_languages_is_screenshot_whole_and_translated(atlas, demo, browser):
    # `demo` before `browser`: the invoice fixture runs its own event loop, which Playwright's would forbid
    SHOTS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    for lang in ("ar", "en"):
        problems += visit(atlas, browser, demo["admin"], lang, tenant_pages(demo))
        problems += visit(atlas, browser, demo["platform"], lang, platform_pages(demo))
    assert problems == []
    assert len(list(SHOTS.glob("*-ar.png"))) >= len(tenant_pages(demo)) + len(platform_pages(demo))


PENDING = {lang: translate("approvals.policy_pending", lang) for lang in ("ar", "en")}


def test_every_seeded_recommendation_shows_its_stored_policy_verdict(atlas, demo, browser):
    """Each recommendation of the demo-like tenant has its verdict stored, and its page and the approval queue show
    that verdict (allowed or refused, with the policy's reasons) in both languages, never "Policy being evaluated…"."""
    verdicts = dict(
        atlas.sql(
            "SELECT id::text, (policy_decision->>'allowed')::boolean FROM recommendations"
            " WHERE tenant_id = %s AND policy_decision IS NOT NULL AND policy_revision = update_count",
            (demo["tenant_id"],),
        )
    )
    assert sorted(verdicts) == sorted(demo["recs"].values())  # every one judged, on its current revision
    for lang in ("ar", "en"):
        context, page = signed_in_page(browser, atlas.base_url, demo["admin"], lang=lang, viewport=VIEWPORT)
        try:
            for kind, rec_id in demo["recs"].items():
                page.goto(f"{atlas.base_url}/app/recommendations/{rec_id}")
                outcome = page.get_by_test_id("policy-outcome")
                assert outcome.is_visible(), (kind, lang)
                assert outcome.get_attribute("data-allowed") == str(verdicts[rec_id]).lower(), (kind, lang)
                assert page.get_by_test_id("policy-pending").count() == 0, (kind, lang)
                assert PENDING[lang] not in page.inner_text("main"), (kind, lang)
            page.goto(f"{atlas.base_url}/app/approvals?tab=team")
            assert PENDING[lang] not in page.inner_text("main"), lang
        finally:
            context.close()
