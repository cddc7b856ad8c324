"""The demo's billing seed: the demo tenants stay usable (active by contract), and the SMB demo tenant's trial
has ended so the payment journey can be tried at once. Run twice: the seed is idempotent."""

from __future__ import annotations

import asyncio

import psycopg

from atlas.config import get_settings
from atlas.demo import DEMO_TENANT, PLATFORM_TENANT, SMB_TENANT, seed_demo
from tests.services import fresh_database


def test_demo_seed_sets_up_billing(pg_server, oidc_url, monkeypatch):
    with fresh_database(pg_server) as url:
        monkeypatch.setenv("DATABASE_URL", url)
        monkeypatch.setenv("OIDC_ISSUER", oidc_url)
        get_settings.cache_clear()
        try:
            asyncio.run(seed_demo())
            asyncio.run(seed_demo())
        finally:
            get_settings.cache_clear()
        with psycopg.connect(url) as conn:
            rows = conn.execute(
                "SELECT t.name, s.status, s.billing_mode, s.plan_id, s.trial_ends_at < now(), "
                "s.current_period_end > now() + interval '300 days' "
                "FROM subscriptions s JOIN tenants t ON t.id = s.tenant_id"
            ).fetchall()
            users = {r[0] for r in conn.execute("SELECT email FROM users").fetchall()}
    state = {r[0]: r[1:] for r in rows}
    assert state[DEMO_TENANT][:3] == ("active", "contract", "enterprise") and state[DEMO_TENANT][4]
    assert state[PLATFORM_TENANT][:2] == ("active", "contract")
    smb = state[SMB_TENANT]
    assert smb[0] == "trial" and smb[1] == "moyasar" and smb[3] is True  # stored trial, ended: expired in effect
    assert "owner@smb.demo.atlas.sa" in users
