"""The worker against the real Temporal dev server: readiness, schedules, and the housekeeping workflow."""

from __future__ import annotations

import asyncio
import uuid

import httpx
from temporalio.client import Client

from atlas.config import Settings
from atlas.durable.runtime import init_runtime
from atlas.workflows.housekeeping import HousekeepingWorkflow
from atlas.workflows.worker import build_worker, ensure_schedules
from tests.services import atlas_server


def test_ready_when_postgres_and_temporal_answer(database_url, oidc_url, temporal_address):
    with atlas_server(
        {"DATABASE_URL": database_url, "OIDC_ISSUER": oidc_url, "TEMPORAL_ADDRESS": temporal_address}
    ) as base_url:
        response = httpx.get(f"{base_url}/ready", timeout=30)
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ready", "checks": {"database": "ok", "temporal": "ok"}}


def test_housekeeping_sweeps_expired_sessions_and_login_flows(atlas, temporal_address):
    client = atlas.login()
    me = client.get("/api/auth/user").json()
    atlas.sql("UPDATE web_sessions SET expires_at = now() - interval '1 minute' WHERE user_id = %s", (me["user_id"],))
    atlas.client().get("/api/login")  # leaves a login flow behind
    atlas.sql("UPDATE login_flows SET expires_at = now() - interval '1 minute'")
    settings = Settings(
        DATABASE_URL=atlas.database_url,
        TEMPORAL_ADDRESS=temporal_address,
        TEMPORAL_TASK_QUEUE=f"test-{uuid.uuid4().hex[:6]}",
    )

    async def run() -> object:
        runtime = init_runtime(settings)
        temporal = await Client.connect(temporal_address)
        await ensure_schedules(temporal, settings)
        await ensure_schedules(temporal, settings)  # idempotent
        try:
            async with build_worker(temporal, settings):
                return await temporal.execute_workflow(
                    HousekeepingWorkflow.run,
                    id=f"housekeeping-test-{uuid.uuid4().hex[:6]}",
                    task_queue=settings.temporal_task_queue,
                )
        finally:
            await runtime.db.dispose()

    result = asyncio.run(run())
    assert result.sessions >= 1 and result.login_flows >= 1
    assert atlas.sql("SELECT count(*) FROM web_sessions WHERE user_id = %s", (me["user_id"],)) == [(0,)]
    assert client.get("/api/auth/user").status_code == 401


def test_scheduled_health_sweep_checks_every_connector(atlas, temporal_address):
    from atlas.workflows.connector_health import ConnectorHealthSweepWorkflow
    from tests.connectors.oddapi import odd_api

    with odd_api() as api:
        admin, me = atlas.new_tenant()
        body = {
            "name": "Swept",
            "base_url": api.base,
            "auth": {"kind": "api_key", "api_key": "k-123"},
            "endpoints": [{"key": "items", "resource": "items", "path": "/auth/header", "record_path": "$.items"}],
        }
        connector = admin.post("/api/connectors", json=body).json()
        settings = Settings(
            DATABASE_URL=atlas.database_url,
            TEMPORAL_ADDRESS=temporal_address,
            TEMPORAL_TASK_QUEUE=f"test-{uuid.uuid4().hex[:6]}",
            ATLAS_ALLOW_PRIVATE_NETWORKS=True,
        )

        async def run() -> dict[str, int]:
            runtime = init_runtime(settings)
            temporal = await Client.connect(temporal_address)
            try:
                async with build_worker(temporal, settings):
                    return await temporal.execute_workflow(
                        ConnectorHealthSweepWorkflow.run,
                        id=f"sweep-{uuid.uuid4().hex[:6]}",
                        task_queue=settings.temporal_task_queue,
                    )
            finally:
                await runtime.db.dispose()

        counts = asyncio.run(run())
    assert counts.get("healthy", 0) >= 1
    health = admin.get(f"/api/connectors/{connector['id']}/health").json()
    assert health["health_status"] == "healthy"
    assert health["latest"][0]["trigger"] == "scheduled" and health["latest"][0]["sample_count"] == 3


def test_the_worker_creates_its_recurring_schedules(temporal_address):
    from atlas.workflows.worker import ensure_schedules, recurring

    settings = Settings(TEMPORAL_ADDRESS=temporal_address, TEMPORAL_TASK_QUEUE=f"test-{uuid.uuid4().hex[:6]}")

    async def run() -> list[str]:
        temporal = await Client.connect(temporal_address)
        await ensure_schedules(temporal, settings)
        ids = []
        async for schedule in await temporal.list_schedules():
            ids.append(schedule.id)
        return ids

    ids = asyncio.run(run())
    assert {schedule_id for schedule_id, _, _ in recurring(settings)} <= set(ids)
