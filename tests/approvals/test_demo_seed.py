"""The demo's approval part: the demo tenant's default policy saved once as version 1 (author "demo"), and on
the first start one demo reorder taken through the whole path to `blocked_by_lock` with its draft (once)."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from atlas.config import get_settings
from atlas.demo import DEMO_TENANT, demo_approval_path, seed_demo
from tests.approvals.conftest import ApprovalStack, Tenant
from tests.conftest import Atlas
from tests.services import WorkerProcess, fresh_database


@pytest.fixture
def demo_database(pg_server, oidc_url, temporal_address, monkeypatch):
    """A fresh database with the demo seeded, and a worker of its own on it."""
    with fresh_database(pg_server) as url:
        env = {
            "DATABASE_URL": url,
            "OIDC_ISSUER": oidc_url,
            "TEMPORAL_ADDRESS": temporal_address,
            "TEMPORAL_TASK_QUEUE": f"atlas-demo-{uuid.uuid4().hex[:8]}",
            "ATLAS_HOUSEKEEPING_SECONDS": "86400",
            "ATLAS_CONNECTOR_HEALTH_SECONDS": "86400",
            "ATLAS_APPROVAL_RECONCILE_SECONDS": "86400",
            "ATLAS_LOG_LEVEL": "WARNING",
        }
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        worker = WorkerProcess(env)
        worker.start()
        try:
            asyncio.run(seed_demo())
            asyncio.run(seed_demo())  # every start seeds again: nothing doubles
            yield ApprovalStack(Atlas("", oidc_url, url), worker, temporal_address, env["TEMPORAL_TASK_QUEUE"])
        finally:
            worker.stop()
            get_settings.cache_clear()


def test_the_demo_policy_and_one_reorder_through_the_lock(demo_database):
    stack = demo_database
    db = stack.atlas
    ((tenant_id,),) = db.sql("SELECT id::text FROM tenants WHERE name = %s", (DEMO_TENANT,))
    assert db.sql("SELECT version, author FROM policies WHERE tenant_id = %s", (tenant_id,)) == [(1, "demo")]

    # What the demo's first sync and analysis leave behind: pending reorders with their workflows.
    connector_id = str(uuid.uuid4())
    db.sql(
        """INSERT INTO connectors (id, tenant_id, name, base_url, environment, auth_kind, auth_settings,
               rate_limit_per_second, rate_limit_burst, timeout_seconds, max_concurrency, retry_attempts,
               health_status, created_by, created_at, updated_at)
           VALUES (%s, %s, 'Demo ERP', 'http://127.0.0.1:3001', 'sandbox', 'none', '{}', 10, 10, 30, 4, 5,
                   'healthy', 'system', now(), now())""",
        (connector_id, tenant_id),
    )
    tenant = Tenant(stack, None, {"tenant_id": tenant_id, "user_id": "none"}, connector_id)  # type: ignore[arg-type]
    big = tenant.recommendation(kind="reorder", priority="high", quantity="5000", unit_cost="20")  # needs a dry run
    plain = tenant.recommendation(kind="reorder", priority="high")
    for rec in (big, plain):
        stack.wait_evaluated(rec)

    message = asyncio.run(demo_approval_path(timeout=60))
    assert "blocked_by_lock" in message, message
    assert stack.row(plain)["status"] == "blocked_by_lock" and len(stack.drafts(plain)) == 1
    assert stack.row(big)["status"] == "pending"  # the one without a dry run was preferred
    assert stack.event_types(plain) == [
        "policy_evaluated",
        "approval_requested",
        "policy_evaluated",
        "approval_resolved",
        "action_blocked",
    ]
    ((operator,),) = db.sql(
        "SELECT 'user:' || id FROM users WHERE tenant_id = %s AND email = 'operator@demo.atlas.sa'", (tenant_id,)
    )
    assert stack.row(plain)["resolved_by"] == operator

    again = asyncio.run(demo_approval_path(timeout=5))
    assert "already" in again and stack.row(big)["status"] == "pending"
