"""ZATCA submission: one workflow per invoicing unit (`einvoice-unit-<id>`), sending its documents in chain order.

Deterministic (ARCHITECTURE rule 7): each round is an activity (`einvoice.submit_pending`); the workflow runs rounds
until nothing is pending and no new document was signalled meanwhile, then ends (the next issued document starts it
again). While ZATCA is unavailable the round answers with the outage and the **workflow** waits — 5 s, doubling, at
most a minute — and a newly issued document cuts the wait short (but never below 5 s between tries). So once ZATCA is
back the queue moves within a minute at most, not after an activity retry's backoff of up to ten minutes that no
signal can shorten (measured by `benchmarks/einvoice_clearance.py`). Unexpected failures of the activity (the
database down) are retried by Temporal. Refused credentials (401) are not retried in a loop: the workflow waits an
hour (or a signal, e.g. after re-onboarding or a renewal) before trying again. History stays bounded:
continue-as-new after a number of rounds.

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
    initial_interval=timedelta(seconds=5), backoff_coefficient=2.0, maximum_interval=timedelta(minutes=1)
)
OUTAGE_FIRST_WAIT = timedelta(seconds=5)  # also the least time between two tries while ZATCA is down
OUTAGE_LONGEST_WAIT = timedelta(minutes=1)


@workflow.defn(name=SUBMISSION_WORKFLOW)
class EInvoiceSubmissionWorkflow:
    def __init__(self) -> None:
        self.nudged = False

    @workflow.signal(name=ISSUED_SIGNAL)
    def issued(self) -> None:
        """A document was issued (or the unit re-onboarded): look again."""
        self.nudged = True

    async def _wait(self, timeout: timedelta) -> None:
        """Wait ``timeout`` or until a document is issued, whichever comes first."""
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(lambda: self.nudged, timeout=timeout)

    @workflow.run
    async def run(self, request: SubmissionRequest) -> str:
        outage_wait = OUTAGE_FIRST_WAIT
        for _ in range(ROUNDS_BEFORE_CONTINUE_AS_NEW):
            self.nudged = False
            result: SubmissionResult = await workflow.execute_activity(
                submit_unit_documents,
                request,
                start_to_close_timeout=timedelta(minutes=10),
                retry_policy=SUBMIT_RETRY,
            )
            if result.auth_refused:
                await self._wait(timedelta(hours=1))
                continue
            if result.outage:
                # ZATCA unavailable: the documents wait in order; try again after the wait or a new document
                await workflow.sleep(OUTAGE_FIRST_WAIT)
                await self._wait(outage_wait - OUTAGE_FIRST_WAIT)
                outage_wait = min(outage_wait * 2, OUTAGE_LONGEST_WAIT)
                continue
            outage_wait = OUTAGE_FIRST_WAIT
            if result.pending == 0 and not self.nudged:
                return f"sent {result.sent}"
        workflow.continue_as_new(request)
