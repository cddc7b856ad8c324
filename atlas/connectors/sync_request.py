"""The request that starts a connector's sync: the argument of the `ConnectorSync` workflow and of its first
activity.

Moved here from `atlas.mapping.activities` so that the connector's sync schedule (`atlas.connectors.schedules`),
which starts that workflow by name, needs nothing above connectors: the connectors own the question "sync this
connector now", mapping (a layer above) runs the sync. The fields and their names are unchanged, so the JSON a
schedule created earlier holds in Temporal still decodes into this class.
"""

from __future__ import annotations

from dataclasses import dataclass

# The sync workflow's registered name (`atlas.workflows.sync.ConnectorSyncWorkflow`): schedules, the sync-now route
# and the demo start it by this name, without importing the workflow a layer above them.
SYNC_WORKFLOW = "ConnectorSync"


@dataclass
class SyncRequest:
    """Which connector of which tenant to sync; ``run_id`` is None for a scheduled sync (the workflow's first
    activity queues the run), else the run the caller queued. ``heartbeat_seconds``: how often the activities
    report progress (``ATLAS_SYNC_HEARTBEAT_SECONDS``)."""

    tenant_id: str
    connector_id: str
    run_id: str | None = None
    trigger: str = "manual"
    heartbeat_seconds: int = 30
