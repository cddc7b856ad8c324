"""Billing workflows: one renewal workflow per subscription (`subscription-<id>`), and the trial sweep.

Deterministic (ARCHITECTURE rule 7): the workflow asks an activity what to do next and sleeps for as long
as the activity says (period end, dunning retry), waking early when signalled (a payment, a cancellation,
a plan change). Every decision and every clock reading happens in the activities.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, WorkflowAlreadyStartedError

with workflow.unsafe.imports_passed_through():
    from atlas.billing.activities import (
        RenewalRequest,
        RenewalStep,
        billing_sweep,
        charge_renewal,
        reconcile_payments,
        renewal_next_step,
    )
    from atlas.billing.einvoice_activities import (
        SUBMISSION_WORKFLOW,
        SubmissionRequest,
        submission_workflow_id,
        units_with_pending,
    )
    from atlas.billing.einvoicing_reminders import certificate_reminders
    from atlas.billing.scheduling import RENEWAL_CHANGED_SIGNAL, RENEWAL_WORKFLOW, renewal_workflow_id

STEPS_BEFORE_CONTINUE_AS_NEW = 200


# Its name, its signal's name and its id are billing's (`atlas.billing.scheduling`), which starts it by name.
@workflow.defn(name=RENEWAL_WORKFLOW)
class SubscriptionRenewalWorkflow:
    def __init__(self) -> None:
        self.nudged = False

    @workflow.signal(name=RENEWAL_CHANGED_SIGNAL)
    def changed(self) -> None:
        """Something changed (a payment, a cancellation, a plan change): decide again now."""
        self.nudged = True

    @workflow.run
    async def run(self, request: RenewalRequest) -> str:
        for _ in range(STEPS_BEFORE_CONTINUE_AS_NEW):
            step: RenewalStep = await workflow.execute_activity(
                renewal_next_step,
                request,
                start_to_close_timeout=timedelta(minutes=1),
                retry_policy=RetryPolicy(maximum_interval=timedelta(minutes=5)),
            )
            if step.kind == "done":
                return step.reason
            if step.kind == "wait":
                self.nudged = False
                with contextlib.suppress(TimeoutError):  # the time to act has come
                    await workflow.wait_condition(
                        lambda: self.nudged, timeout=timedelta(seconds=max(step.seconds, 0.1))
                    )
                continue
            await workflow.execute_activity(
                charge_renewal,
                request,
                start_to_close_timeout=timedelta(minutes=3),
                retry_policy=RetryPolicy(maximum_interval=timedelta(minutes=10)),
            )
        workflow.continue_as_new(request)


@workflow.defn(name="BillingSweep")
class BillingSweepWorkflow:
    """Scheduled: persist ended trials and make sure every card-paid subscription has its renewal workflow."""

    @workflow.run
    async def run(self) -> dict[str, int]:
        # First settle payments Moyasar took but nobody told Atlas about (they may activate a subscription).
        reconciled: dict[str, int] = await workflow.execute_activity(
            reconcile_payments, start_to_close_timeout=timedelta(minutes=5)
        )
        requests: list[RenewalRequest] = await workflow.execute_activity(
            billing_sweep, start_to_close_timeout=timedelta(minutes=2)
        )
        started = 0
        for request in requests:
            try:
                await workflow.start_child_workflow(
                    SubscriptionRenewalWorkflow.run,
                    request,
                    id=renewal_workflow_id(request.subscription_id),
                    parent_close_policy=workflow.ParentClosePolicy.ABANDON,
                )
                started += 1
            except WorkflowAlreadyStartedError:
                pass
        # ZATCA: every unit with documents still to send has its submission workflow (after an outage or a restart)
        units: list[SubmissionRequest] = await workflow.execute_activity(
            units_with_pending, start_to_close_timeout=timedelta(minutes=1)
        )
        for unit in units:
            with contextlib.suppress(WorkflowAlreadyStartedError):
                await workflow.start_child_workflow(
                    SUBMISSION_WORKFLOW,
                    unit,
                    id=submission_workflow_id(unit.unit_id),
                    parent_close_policy=workflow.ParentClosePolicy.ABANDON,
                )
        # ZATCA: remind before the active unit's certificate expires (once per threshold; the activity reads the
        # clock). A failing check must not fail the sweep: it is tried again at the next run.
        reminded = 0
        try:
            reminder = await workflow.execute_activity(
                certificate_reminders,
                start_to_close_timeout=timedelta(minutes=1),
                retry_policy=RetryPolicy(maximum_attempts=3),
            )
            reminded = int(reminder.reminded)
        except ActivityError:
            workflow.logger.warning("einvoicing certificate reminder check failed; the next sweep tries again")
        return {
            "subscriptions": len(requests),
            "started": started,
            "payments_checked": reconciled.get("checked", 0),
            "einvoice_units": len(units),
            "certificate_reminders": reminded,
        }
