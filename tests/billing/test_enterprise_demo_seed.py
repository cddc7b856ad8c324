"""Every journey demoable (issue 19): the demo seeds an enterprise whose trial has ended (its admin reaches "Your trial
has ended → Book a meeting with our team"), marks the platform's own tenant internal so that the platform's MRR
counts customers only (contract and self-serve apart, internal use beside them), and the demo's sign-in page lists
each account with one line on what it shows, in both languages, and says what to type at the identity provider."""

from __future__ import annotations

import asyncio

import psycopg

from atlas.config import get_settings
from atlas.demo import DEMO_TENANT, DEMO_USERS, ENTERPRISE_TRIAL_TENANT, PLATFORM_TENANT, seed_demo
from atlas.web.pages import DEMO_ACCOUNTS
from tests.conftest import Atlas
from tests.services import atlas_server, fresh_database, html_page

ENTERPRISE_OWNER = "enterprise@demo.atlas.sa"
ENTERPRISE_PLAN_HALALAS = 199_900


def test_demo_seeds_the_enterprise_trial_end_and_reports_internal_revenue_apart(pg_server, oidc_url, monkeypatch):
    assert {a["email"] for a in DEMO_ACCOUNTS} == {u["email"] for u in DEMO_USERS}
    with fresh_database(pg_server) as url:
        monkeypatch.setenv("DATABASE_URL", url)
        monkeypatch.setenv("OIDC_ISSUER", oidc_url)
        get_settings.cache_clear()
        try:
            asyncio.run(seed_demo())
            asyncio.run(seed_demo())  # idempotent
        finally:
            get_settings.cache_clear()
        with psycopg.connect(url) as conn:
            rows = conn.execute(
                "SELECT t.name, t.org_type, s.status, s.billing_mode, s.internal, s.trial_ends_at < now(), "
                "s.current_period_start IS NULL, (SELECT price_halalas FROM subscription_plans p "
                "WHERE p.id = s.plan_id) FROM subscriptions s JOIN tenants t ON t.id = s.tenant_id"
            ).fetchall()
        state = {r[0]: r[1:] for r in rows}
        assert state[ENTERPRISE_TRIAL_TENANT][:6] == ("enterprise", "trial", "moyasar", False, True, True)
        assert state[PLATFORM_TENANT][1:4] == ("active", "contract", True)
        assert state[DEMO_TENANT][1:4] == ("active", "contract", False)
        assert state[DEMO_TENANT][6] == state[PLATFORM_TENANT][6] == ENTERPRISE_PLAN_HALALAS

        settings = {
            "DATABASE_URL": url,
            "OIDC_ISSUER": oidc_url,
            "ATLAS_DEMO": "1",
            "TEMPORAL_ADDRESS": "127.0.0.1:1",
            "ATLAS_LOGIN_RATE_LIMIT": 100000,
            "ATLAS_TOKEN_RATE_LIMIT": 100000,
            "ATLAS_LOG_LEVEL": "WARNING",
        }
        with atlas_server(settings) as base_url:
            demo = Atlas(base_url, oidc_url, url)

            # the sign-in page: every account, one line each on what it shows, and what to type into `sub`
            english = html_page(demo.client(), "/signin", cookies={"atlas_lang": "en"}).text
            arabic = html_page(demo.client(), "/signin", cookies={"atlas_lang": "ar"}).text
            for account in DEMO_ACCOUNTS:
                assert f'data-demo-email="{account["email"]}"' in english
                assert f'data-demo-email="{account["email"]}"' in arabic
            assert english.count('data-testid="demo-account-shows"') == len(DEMO_ACCOUNTS)
            assert "Admin of an enterprise whose trial has ended" in english
            assert "مسؤول مؤسسة كبيرة انتهت تجربتها" in arabic
            assert "“E-mail address” field" in english and "حقل «البريد الإلكتروني»" in arabic

            # the enterprise demo account lands on "Your trial has ended → Book a meeting with our team"
            owner = demo.login(ENTERPRISE_OWNER)
            assert html_page(owner, "/app").headers["location"] == "/app/subscription"
            page = html_page(owner, "/app/subscription", cookies={"atlas_lang": "en"}).text
            assert 'data-testid="trial-ended-title"' in page and "Your trial has ended" in page
            assert "Book a meeting with our team" in page and 'data-testid="meeting-form"' in page

            # the platform's MRR: the demo customer's contract only; the platform's own tenant is internal use
            platform = demo.login("platform@atlas.sa")
            overview = platform.get("/api/platform/billing").json()
            assert overview["mrr_halalas"] == ENTERPRISE_PLAN_HALALAS
            assert overview["mrr_contract_halalas"] == ENTERPRISE_PLAN_HALALAS
            assert overview["mrr_self_serve_halalas"] == 0
            assert overview["internal_halalas"] == ENTERPRISE_PLAN_HALALAS
            internal = {t["tenant_name"]: t["internal"] for t in overview["subscriptions"]}
            assert internal[PLATFORM_TENANT] is True and internal[DEMO_TENANT] is False
            shown = html_page(platform, "/platform/billing", cookies={"atlas_lang": "en"}).text
            assert f'data-mrr="{ENTERPRISE_PLAN_HALALAS}"' in shown
            assert "Internal use (not revenue)" in shown and 'data-testid="internal-tenant"' in shown
