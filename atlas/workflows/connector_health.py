"""Scheduled connector health checks: every connector of every tenant, a few at a time."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from atlas.connectors.activities import ConnectorTarget, check_connector_health, list_all_connectors

# Checks wait on the network, not the CPU: sixteen at a time keep a sweep of a thousand connectors to minutes (four
# at a time, one slow or dead system held three others for its whole timeout).
PARALLEL = 16
# A check heartbeats through its waits (`atlas.durable.heartbeat`): a worker that died mid-check is noticed
# after this long rather than after the whole start-to-close timeout.
HEARTBEAT_TIMEOUT = timedelta(seconds=30)


@workflow.defn(name="ConnectorHealthSweep")
class ConnectorHealthSweepWorkflow:
    @workflow.run
    async def run(self) -> dict[str, int]:
        targets: list[ConnectorTarget] = await workflow.execute_activity(
            list_all_connectors, start_to_close_timeout=timedelta(minutes=1)
        )
        counts: dict[str, int] = {}
        for start in range(0, len(targets), PARALLEL):
            batch = targets[start : start + PARALLEL]
            statuses = await asyncio.gather(
                *(
                    workflow.execute_activity(
                        check_connector_health,
                        target,
                        start_to_close_timeout=timedelta(minutes=5),
                        heartbeat_timeout=HEARTBEAT_TIMEOUT,
                        retry_policy=RetryPolicy(maximum_attempts=2),
                    )
                    for target in batch
                ),
                return_exceptions=True,
            )
            for status in statuses:
                key = status if isinstance(status, str) else "error"
                counts[key] = counts.get(key, 0) + 1
        return counts
