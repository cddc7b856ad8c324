"""The approval workflow's tests run against their own stack: the session's PostgreSQL, OIDC provider and
Temporal dev server, with a worker process and an Atlas of their own, where a policy hour lasts one second
(`ATLAS_APPROVAL_HOUR_SECONDS=1`), so expiry and reminders happen within a test, and where the worker can
be killed and restarted without disturbing the other packages' workflows (its own task queue)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from atlas.mapping.demo_setup import demo_connector_body
from tests.conftest import Atlas, Stack
from tests.services import WorkerProcess, atlas_server


class ApprovalStack(Stack):
    def __init__(self, atlas: Atlas, worker: WorkerProcess, temporal_address: str, queue: str) -> None:
        super().__init__(atlas, worker)
        self.temporal_address = temporal_address
        self.queue = queue

    # --- tenants and recommendations written as the AI engine stores them ------------------------------

    def tenant(self, *, environment: str = "sandbox") -> Tenant:
        admin, me = self.atlas.new_tenant()
        body = demo_connector_body("http://127.0.0.1:9", name=f"ERP {uuid.uuid4().hex[:6]}")
        body["environment"] = environment
        response = admin.post("/api/connectors", json=body)
        assert response.status_code == 201, response.text
        tenant = Tenant(self, admin, me, response.json()["id"])
        tenant.policy(expiry_hours=600, reminder_before_hours=1)  # ten minutes here: nothing expires by accident
        return tenant

    def temporal(self, work: Any) -> Any:
        async def run() -> Any:
            from temporalio.client import Client

            client = await Client.connect(self.temporal_address)
            return await work(client)

        # A thread of its own: a test with Playwright's sync API already has an event loop running in this one.
        with ThreadPoolExecutor(1) as pool:
            return pool.submit(asyncio.run, run()).result()

    def start(self, tenant_id: str, recommendation_id: str) -> None:
        """Start the recommendation's workflow as the AI engine does once its transaction commits."""
        from atlas.approvals.requests import ApprovalRequest

        async def work(client: Any) -> None:
            await client.start_workflow(
                "RecommendationApproval",
                ApprovalRequest(tenant_id, recommendation_id),
                id=f"approval-{recommendation_id}",
                task_queue=self.queue,
            )

        self.temporal(work)

    def signal(self, recommendation_id: str, name: str) -> None:
        async def work(client: Any) -> None:
            await client.get_workflow_handle(f"approval-{recommendation_id}").signal(name)

        self.temporal(work)

    def run_reconcile(self) -> int:
        """The scheduled reconcile, run now (as its schedule would) on this stack's worker."""

        async def work(client: Any) -> int:
            return int(
                await client.execute_workflow(
                    "ApprovalReconcile", id=f"reconcile-{uuid.uuid4().hex[:8]}", task_queue=self.queue
                )
            )

        result: int = self.temporal(work)
        return result

    def workflow_result(self, recommendation_id: str, timeout: float = 30) -> str:
        async def work(client: Any) -> str:
            handle = client.get_workflow_handle(f"approval-{recommendation_id}")
            return str(await asyncio.wait_for(handle.result(), timeout))

        result: str = self.temporal(work)
        return result

    # --- reading the database behind the app's back -----------------------------------------------------

    def row(self, recommendation_id: str) -> dict[str, Any]:
        columns = (
            "status",
            "update_count",
            "required_approvals",
            "policy_version",
            "policy_decision",
            "expires_at",
            "reminded_at",
            "resolved_at",
            "resolved_by",
            "resolution_reason",
            "workflow_started_at",
            "last_changed_by",
        )
        found = self.atlas.sql(f"SELECT {', '.join(columns)} FROM recommendations WHERE id = %s", (recommendation_id,))
        assert found, recommendation_id
        return dict(zip(columns, found[0], strict=True))

    def wait(self, recommendation_id: str, check: Any, timeout: float = 30, what: str = "") -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        row = self.row(recommendation_id)
        while time.monotonic() < deadline:
            row = self.row(recommendation_id)
            if check(row):
                return row
            time.sleep(0.05)
        raise AssertionError(f"{what or 'condition'} not reached for {recommendation_id}: {row}")

    def wait_status(self, recommendation_id: str, *statuses: str, timeout: float = 30) -> dict[str, Any]:
        return self.wait(recommendation_id, lambda r: r["status"] in statuses, timeout, f"status in {statuses}")

    def wait_evaluated(self, recommendation_id: str, timeout: float = 30) -> dict[str, Any]:
        return self.wait(
            recommendation_id,
            lambda r: r["policy_decision"] is not None and r["policy_decision"].get("revision") == r["update_count"],
            timeout,
            "policy evaluated",
        )

    def events(self, recommendation_id: str) -> list[tuple[str, dict[str, Any], str]]:
        """(event type, payload, actor) of the recommendation's correlation id, oldest first."""
        rows = self.atlas.sql(
            """SELECT e.event_type, e.payload, e.actor FROM audit_events e JOIN recommendations r
                 ON r.correlation_id = e.correlation_id AND r.tenant_id = e.tenant_id
               WHERE r.id = %s ORDER BY e.seq""",
            (recommendation_id,),
        )
        return [(t, p, a) for t, p, a in rows]

    def event_types(self, recommendation_id: str) -> list[str]:
        return [t for t, _, _ in self.events(recommendation_id)]

    def count(self, recommendation_id: str, event_type: str) -> int:
        return self.event_types(recommendation_id).count(event_type)

    def drafts(self, recommendation_id: str, kind: str = "blocked") -> list[tuple[Any, ...]]:
        return self.atlas.sql(
            "SELECT id, revision FROM execution_drafts WHERE recommendation_id = %s AND kind = %s",
            (recommendation_id, kind),
        )


class Tenant:
    """One tenant with a connector (its environment decides the approvals policy asks for)."""

    def __init__(self, stack: ApprovalStack, admin: httpx.Client, me: dict[str, Any], connector_id: str) -> None:
        self.stack, self.admin, self.me, self.connector_id = stack, admin, me, connector_id
        self.id = me["tenant_id"]
        self.subject = f"user:{me['user_id']}"
        self._location: str | None = None

    def member(self, role: str) -> tuple[httpx.Client, str]:
        client, me = self.stack.atlas.member_client(self.admin, role)
        return client, f"user:{me['user_id']}"

    def policy(self, **rules: Any) -> int:
        response = self.admin.post("/api/policies", json={"rules": rules, "note": "test"})
        assert response.status_code == 201, response.text
        version: int = response.json()["version"]
        return version

    def location(self) -> str:
        if self._location is None:
            self._location = str(uuid.uuid4())
            self.stack.atlas.sql(
                """INSERT INTO locations (id, tenant_id, connector_id, external_id, code, name, type, created_at,
                                          updated_at)
                   VALUES (%s, %s, %s, 'WH-1', 'WH-1', 'Riyadh main warehouse', 'warehouse', now(), now())""",
                (self._location, self.id, self.connector_id),
            )
        return self._location

    def recommendation(
        self,
        *,
        kind: str = "reorder",
        priority: str = "medium",
        quantity: str = "40",
        unit_cost: str = "12.50",
        value: str | None = None,
        start: bool = True,
        age_seconds: float = 0,
    ) -> str:
        """A pending recommendation as the AI engine stores it (with its item), its workflow started."""
        db = self.stack.atlas
        item_id, rec_id = str(uuid.uuid4()), str(uuid.uuid4())
        sku = f"SKU-T{uuid.uuid4().hex[:10].upper()}"
        db.sql(
            """INSERT INTO items (id, tenant_id, connector_id, external_id, sku, name, category, unit_cost,
                                  lead_time_days, created_at, updated_at)
               VALUES (%s, %s, %s, %s, %s, 'Fresh milk 1 L', 'Dairy', %s, 5, now(), now())""",
            (item_id, self.id, self.connector_id, sku, sku, unit_cost),
        )
        location_id = self.location()
        now = datetime.now(UTC) - timedelta(seconds=age_seconds)
        db.sql(
            """INSERT INTO recommendations (id, tenant_id, key, type, priority, status, item_id, location_id,
                   quantity, value, confidence_score, signals_used, explanation_en, explanation_ar, evidence,
                   correlation_id, analysis_run_id, created_at, updated_at, created_by, last_changed_by, update_count)
               VALUES (%s, %s, %s, %s, %s, 'pending', %s, %s, %s, %s, 0.87, %s, %s, %s, %s, %s, %s, %s, %s,
                       'ai_engine', 'ai_engine', 0)""",
            (
                rec_id,
                self.id,
                f"{kind}:{item_id}:{location_id}",
                kind,
                priority,
                item_id,
                location_id,
                Decimal(quantity),
                None if value is None else Decimal(value),
                json.dumps(["stock_level", "lead_time"]),
                f"{sku} at WH-1: stock covers only 3 days.",
                f"{sku} في WH-1: المخزون يغطي 3 أيام فقط.",
                json.dumps({"figures": {"available": 12}}),
                f"rec-{uuid.uuid4().hex}",
                str(uuid.uuid4()),
                now,
                now,
            ),
        )
        if start:
            self.stack.start(self.id, rec_id)
        return rec_id


@pytest.fixture(scope="package")
def approvals(database_url: str, oidc_url: str, temporal_address: str) -> Iterator[ApprovalStack]:
    queue = f"atlas-approvals-{uuid.uuid4().hex[:8]}"
    settings = {
        "DATABASE_URL": database_url,
        "OIDC_ISSUER": oidc_url,
        "TEMPORAL_ADDRESS": temporal_address,
        "TEMPORAL_TASK_QUEUE": queue,
        "ATLAS_SYNC_HEARTBEAT_SECONDS": "3",
        "ATLAS_ALLOW_PRIVATE_NETWORKS": "true",
        "ATLAS_LOGIN_RATE_LIMIT": "100000",
        "ATLAS_TOKEN_RATE_LIMIT": "100000",
        "ATLAS_HOUSEKEEPING_SECONDS": "86400",
        "ATLAS_CONNECTOR_HEALTH_SECONDS": "86400",
        "ATLAS_APPROVAL_HOUR_SECONDS": "1",
        "ATLAS_APPROVAL_RECONCILE_SECONDS": "86400",
        "ATLAS_LOG_LEVEL": "WARNING",
    }
    worker = WorkerProcess(settings)
    worker.start()
    try:
        with atlas_server(dict(settings)) as base_url:
            yield ApprovalStack(Atlas(base_url, oidc_url, database_url), worker, temporal_address, queue)
    finally:
        worker.stop()
