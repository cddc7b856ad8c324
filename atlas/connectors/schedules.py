"""Per-connector sync schedules in Temporal, kept in step with `connectors.sync_interval_minutes`.

Moved here from ``atlas/workflows/schedules.py``: the connector's controller sets its schedule, and a module of the
workflows layer (11) was an arrow up from connectors (3). A schedule only names what it starts: the ``ConnectorSync``
workflow by its registered name (`atlas.workflows.sync.ConnectorSyncWorkflow`) with a connectors-owned
`SyncRequest`, so nothing here imports the workflow or mapping. Schedule ids, workflow ids, the workflow name and the
argument's JSON are what they were, so schedules created before the move keep working.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.service import RPCError, RPCStatusCode

from atlas.config import Settings
from atlas.connectors.sync_request import SYNC_WORKFLOW, SyncRequest


def schedule_id(connector_id: uuid.UUID) -> str:
    return f"sync-schedule-{connector_id}"


def sync_schedule(settings: Settings, tenant_id: uuid.UUID, connector_id: uuid.UUID, minutes: int) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            SYNC_WORKFLOW,
            SyncRequest(
                tenant_id=str(tenant_id),
                connector_id=str(connector_id),
                run_id=None,
                trigger="scheduled",
                heartbeat_seconds=settings.sync_heartbeat_seconds,
            ),
            id=f"sync-{connector_id}-scheduled",
            task_queue=settings.temporal_task_queue,
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(minutes=minutes))]),
        # A run still going when the next is due is not doubled; the run itself also refuses a second one.
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )


async def set_sync_schedule(
    client: Client, settings: Settings, *, tenant_id: uuid.UUID, connector_id: uuid.UUID, minutes: int | None
) -> None:
    """Create, change or remove a connector's sync schedule."""
    handle = client.get_schedule_handle(schedule_id(connector_id))
    if minutes is None:
        try:
            await handle.delete()
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise
        return
    schedule = sync_schedule(settings, tenant_id, connector_id, minutes)
    try:
        await client.create_schedule(schedule_id(connector_id), schedule)
    except ScheduleAlreadyRunningError:

        def replace(_current: ScheduleUpdateInput) -> ScheduleUpdate:
            return ScheduleUpdate(schedule=schedule)

        await handle.update(replace)
