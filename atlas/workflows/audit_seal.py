"""The audit seal: a scheduled workflow that signs a checkpoint of every tenant's audit chain head that moved.

Interval: ``ATLAS_AUDIT_CHECKPOINT_SECONDS``. The workflow is deterministic (ARCHITECTURE rule 7); the activity does
the I/O, with the worker's signing key (never the database's to read).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio import activity, workflow

with workflow.unsafe.imports_passed_through():
    from atlas.durable.runtime import runtime


@dataclass
class SealResult:
    sealed: int
    unchanged: int
    broken: int


@activity.defn(name="audit.seal_checkpoints")
async def seal_checkpoints() -> SealResult:
    from atlas.platform.checkpoints import seal_all
    from atlas.platform.signing import load_signing_key

    current = runtime()
    sweep = await seal_all(current.db, load_signing_key(current.settings))
    return SealResult(sealed=sweep.sealed, unchanged=sweep.unchanged, broken=sweep.broken)


@workflow.defn(name="AuditSeal")
class AuditSealWorkflow:
    @workflow.run
    async def run(self) -> SealResult:
        result: SealResult = await workflow.execute_activity(
            seal_checkpoints, start_to_close_timeout=timedelta(minutes=30)
        )
        return result
