"""One approval workflow per recommendation (`approval-<recommendation id>`): policy, people, the lock.

    evaluate policy ─ refused ─> rejected (approval_resolved: rejected_by_policy)
          │ allowed: approval_requested (a new policy may count the approvals given: approved)
          ▼
    wait for decisions (update `decide`, one at a time), a revision (signal `revised`) or a new policy
    (signal `policy_changed`): evaluate again; retirement (signal `retired`: end); the reminder and the
    expiry (durable timers)
          │ reject ─> rejected          │ expiry ─> expired
          ▼ required distinct approvals
    approved ─> ready_for_execution ─> the execution lock ─> blocked_by_lock (+ draft, action_blocked)

Deterministic (ARCHITECTURE rule 7): no clock but `workflow.now()`, no I/O; each step is an activity whose
transactions each move the database row once and are idempotent (from approved to the lock is one step of
two transactions: ready_for_execution, then blocked_by_lock), so the row (the read model) and the workflow
never disagree, and a worker killed anywhere resumes where it stopped. No sleeps or polling:
the workflow wakes on an update, a signal or a timer.

The steps are short database transactions, so they run as local activities: in the worker that runs the
workflow task, without a round trip through the Temporal server for each (a vote is answered, and an
approval reaches the lock, in one or two workflow tasks). A local activity whose worker dies is run again
when the workflow task is retried on another worker; being idempotent, a second run changes nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from atlas.approvals.activities import (
        evaluate_policy,
        expire,
        meet_the_lock,
        reconcile,
        record_vote,
        remind,
        to_the_lock,
    )
    from atlas.approvals.requests import ApprovalRequest, VoteRequest
    from atlas.approvals.services import Evaluation, StepOutcome, Vote, VoteOutcome

STEP_TIMEOUT = timedelta(seconds=5)
VOTE_TIMEOUT = timedelta(seconds=10)
RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200), backoff_coefficient=2.0, maximum_interval=timedelta(seconds=5)
)
# A vote waits for its answer: retry a little, then report the failure rather than hang the person's request.
VOTE_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200), maximum_interval=timedelta(seconds=2), maximum_attempts=5
)
OPEN = "pending"


# Not sandboxed: every approval costs several activations, and the sandbox re-enters its import-restricted
# interpreter state for each one and for every payload (compiling the code it runs each time): about 14%
# of the worker's CPU samples per approval, measured (benchmarks/README.md, Approvals). The sandbox only
# guards against accidental I/O, clocks and randomness; this class does none of those (it reads
# `workflow.now()`, and every step is a local activity; tests/workflows/test_determinism.py reads every
# workflow class for them), and replay still checks that the commands match the history, sandbox or not.
@workflow.defn(name="RecommendationApproval", sandboxed=False)
class RecommendationApprovalWorkflow:
    @workflow.init
    def __init__(self, request: ApprovalRequest) -> None:
        # Set before any message is handled: a vote can arrive in the very first activation.
        self.request = request
        self.status = "starting"
        self.revision = 0
        self.revised = False
        self.retired = False
        self.reminded = False
        self.expires_at: datetime | None = None
        self.remind_at: datetime | None = None
        self.draft_id: str | None = None
        # Updates and the main loop's steps touch the row one at a time.
        self.lock = asyncio.Lock()

    # --- messages ---------------------------------------------------------------------------------------

    @workflow.signal(name="revised")
    def on_revised(self) -> None:
        """The recommendation changed (a new revision): evaluate policy again; earlier approvals no longer count."""
        self.revised = True

    @workflow.signal(name="policy_changed")
    def on_policy_changed(self) -> None:
        """An admin saved a new policy: evaluate again; approvals already given count if the new policy counts them."""
        self.revised = True

    @workflow.signal(name="retired")
    def on_retired(self) -> None:
        """The AI engine retired the recommendation: end without further transitions."""
        self.retired = True

    @workflow.query(name="state")
    def state(self) -> dict[str, object]:
        return {"status": self.status, "revision": self.revision, "draft_id": self.draft_id}

    @workflow.update(name="decide")
    async def decide(self, vote: Vote) -> VoteOutcome:
        """Count one person's approve or reject (policy decides whether it counts); returns the new state."""
        async with self.lock:
            outcome = await self._vote(vote)
            if outcome.result == "needs_evaluation":  # revised or a new policy, and the signal has not arrived yet
                await self._evaluate()
                outcome = await self._vote(vote)
            if outcome.status not in ("missing",):
                self.status = outcome.status
            return outcome

    @decide.validator
    def validate_decide(self, vote: Vote) -> None:
        if vote.verdict not in ("approve", "reject"):
            raise ValueError("verdict must be approve or reject")
        if vote.verdict == "reject" and not (vote.reason or "").strip():
            raise ValueError("a rejection needs a reason")
        if not vote.subject or not vote.role:
            raise ValueError("a vote needs its subject and role")

    # --- the process ------------------------------------------------------------------------------------

    @workflow.run
    async def run(self, request: ApprovalRequest) -> str:
        async with self.lock:
            await self._evaluate()
        while self.status == OPEN and not self.retired:
            if self.revised:
                async with self.lock:
                    self.revised = False
                    if self.status == OPEN:
                        await self._evaluate()
                continue
            deadline = self._next_deadline()
            try:
                await workflow.wait_condition(
                    lambda: self.status != OPEN or self.revised or self.retired,
                    timeout=None if deadline is None else max(deadline - workflow.now(), timedelta(milliseconds=1)),
                )
            except TimeoutError:
                async with self.lock:
                    await self._timer_fired()
        if not self.retired:
            if self.status == "approved":
                outcome = await self._step(to_the_lock)
                self.status, self.draft_id = outcome.status, outcome.draft_id
            # Already ready: restarted by the reconcile, or replaying a history from before `approvals.mark_ready`
            # went on to the lock.
            if self.status == "ready_for_execution":
                outcome = await self._step(meet_the_lock)
                self.status, self.draft_id = outcome.status, outcome.draft_id
        else:
            self.status = "retired"
        # Let a vote still being answered finish before the workflow closes.
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.status

    def _next_deadline(self) -> datetime | None:
        if self.remind_at is not None and not self.reminded:
            return self.remind_at
        return self.expires_at

    async def _timer_fired(self) -> None:
        if self.status != OPEN:
            return
        now = workflow.now()
        if self.remind_at is not None and not self.reminded and now >= self.remind_at:
            self.status = (await self._step(remind)).status
            self.reminded = True
        elif self.expires_at is not None and now >= self.expires_at:
            self.status = (await self._step(expire)).status

    async def _evaluate(self) -> None:
        found: Evaluation = await workflow.execute_local_activity(
            evaluate_policy, self.request, start_to_close_timeout=STEP_TIMEOUT, retry_policy=RETRY
        )
        now = workflow.now()
        self.status, self.revision, self.reminded = found.status, found.revision, found.reminded or self.reminded
        self.expires_at = None if found.expires_in is None else now + timedelta(seconds=found.expires_in)
        self.remind_at = None if found.remind_in is None else now + timedelta(seconds=found.remind_in)

    async def _vote(self, vote: Vote) -> VoteOutcome:
        outcome: VoteOutcome = await workflow.execute_local_activity(
            record_vote,
            VoteRequest(self.request.tenant_id, self.request.recommendation_id, vote),
            start_to_close_timeout=VOTE_TIMEOUT,
            retry_policy=VOTE_RETRY,
        )
        return outcome

    async def _step(self, step: Callable[[ApprovalRequest], Awaitable[StepOutcome]]) -> StepOutcome:
        outcome: StepOutcome = await workflow.execute_local_activity(
            step,
            self.request,
            start_to_close_timeout=STEP_TIMEOUT,
            retry_policy=RETRY,
        )
        return outcome


@workflow.defn(name="ApprovalReconcile")
class ApprovalReconcileWorkflow:
    """Scheduled: start the workflows that a failed start left out, resume approvals stuck before the lock."""

    @workflow.run
    async def run(self) -> int:
        started: int = await workflow.execute_activity(
            reconcile, start_to_close_timeout=timedelta(minutes=2), retry_policy=RetryPolicy(maximum_attempts=3)
        )
        return started
