"""Payloads that cross the Temporal boundary. No postponed annotations here: the converter resolves these
type hints at run time, inside the workflow sandbox."""

from dataclasses import dataclass


@dataclass
class PlannedEndpoint:
    key: str
    resource: str
    mapping_id: str
    version: int


@dataclass
class SyncPlan:
    run_id: str
    endpoints: list[PlannedEndpoint]
    unmapped: list[str]
    skipped_reason: str | None = None
