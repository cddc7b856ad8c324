"""ZATCA submission: one workflow per invoicing unit (`einvoice-unit-<id>`), sending its documents in chain order.

Deterministic (ARCHITECTURE rule 7): each round is an activity (`einvoice.submit_pending`) with a retry policy that
backs off while ZATCA is unavailable; the workflow runs rounds until nothing is pending and no new document was
signalled meanwhile, then ends (the next issued document starts it again). Refused credentials (401) are not retried
in a loop: the workflow waits an hour (or a signal, e.g. after re-onboarding) before trying again. History stays
bounded: continue-as-new after a number of rounds.

The worker's `atlas.workflows.einvoice_listener` starts/signals it when a document is issued (after commit).
"""

from __future__ import annotations

import contextlib
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from atlas.billing.einvoice_activities import (
        ISSUED_SIGNAL,
        SUBMISSION_WORKFLOW,
        SubmissionRequest,
        SubmissionResult,
        submit_unit_documents,
    )

ROUNDS_BEFORE_CONTINUE_AS_NEW = 100
SUBMIT_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5), backoff_coefficient=2.0, maximum_interval=timedelta(minutes=10)
)


@workflow.defn(name=SUBMISSION_WORKFLOW)
class EInvoiceSubmissionWorkflow:
    def __init__(self) -> None:
        self.nudged = False

    @workflow.signal(name=ISSUED_SIGNAL)
    def issued(self) -> None:
        """A document was issued (or the unit re-onboarded): look again."""
        self.nudged = True

    @workflow.run
    async def run(self, request: SubmissionRequest) -> str:
        for _ in range(ROUNDS_BEFORE_CONTINUE_AS_NEW):
            self.nudged = False
            result: SubmissionResult = await workflow.execute_activity(
                submit_unit_documents,
                request,
                start_to_close_timeout=timedelta(minutes=10),
                retry_policy=SUBMIT_RETRY,
            )
            if result.auth_refused:
                with contextlib.suppress(TimeoutError):
                    await workflow.wait_condition(lambda: self.nudged, timeout=timedelta(hours=1))
                continue
            if result.pending == 0 and not self.nudged:
                return f"sent {result.sent}"
        workflow.continue_as_new(request)
