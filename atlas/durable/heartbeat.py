"""Heartbeats that cover every wait of an activity reading a customer system.

Temporal takes an activity that has not heartbeated within its heartbeat timeout for lost and starts it
again, on this worker or another, while the first attempt may still be waiting on the customer's system: one
request may take the connector's whole timeout (up to 300 s), a ``Retry-After`` up to 60 s, a backoff up to 30 s,
and a parent endpoint is read whole before its first page is reported. A heartbeat after each page leaves all
of those silent, and two copies of the same read then run side by side. `heartbeating` runs the work beside a
keepalive that repeats the latest progress at a fraction of the timeout, for as long as the work runs.

It stops as soon as the attempt is over: when the work returns or raises, and when Temporal cancels the
attempt. Temporal tells an async activity it is cancelled (a cancel request, an attempt the server already
timed out, found out through a heartbeat, a worker shutting down) by cancelling its task; the keepalive stops
beating from that moment, even while the work is still unwinding, so an attempt whose work is gone never
looks alive. Heartbeats are also the only way a cancellation reaches a running activity: without them an
attempt Temporal gave up on would read to its end beside its retry.

The keepalive is also silent while the attempt's task has a cancellation pending (`asyncio.Task.cancelling`),
whoever asked for it. A task group whose task failed cancels the task it runs in to tear the rest down; if the
teardown hangs (a sibling waiting on a queue nobody reads any more), the work is gone although its coroutine
has not returned, and Temporal must time the attempt out and run the endpoint again rather than hear it is
alive for hours. A cancellation withdrawn again (``asyncio.timeout`` does so) resumes the beats. So work run
here must not catch a failed task group and carry on in the same task: on Python 3.11 the group leaves its
task's cancellation pending, which would silence the keepalive of a live attempt.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

from temporalio import activity

# Keepalives per heartbeat timeout. Temporal's SDK sends at most one heartbeat per 80% of the timeout and
# always the newest, so three calls per timeout keep that window full without extra traffic.
BEATS_PER_TIMEOUT = 3
# Without a heartbeat timeout nothing times out on silence, but a heartbeat still carries a cancellation (a
# start-to-close timeout the server enforced) back to the attempt.
INTERVAL_WITHOUT_TIMEOUT = timedelta(seconds=10)

T = TypeVar("T")


class Progress:
    """The latest progress an activity reported: heartbeated at once, and repeated by the keepalive."""

    def __init__(self) -> None:
        self.details: tuple[Any, ...] = ()

    def __call__(self, details: dict[str, Any]) -> None:
        self.details = (details,)
        activity.heartbeat(details)


def keepalive_interval(heartbeat_timeout: timedelta | None) -> float:
    """Seconds between keepalive heartbeats: a third of the attempt's heartbeat timeout."""
    if heartbeat_timeout is None:
        return INTERVAL_WITHOUT_TIMEOUT.total_seconds()
    return max(0.05, heartbeat_timeout.total_seconds() / BEATS_PER_TIMEOUT)


async def _keep_alive(progress: Progress, interval: float, attempt: asyncio.Task[Any]) -> None:
    # Checked before every beat: once Temporal has cancelled the attempt, nothing more is sent for it; while its
    # task is being torn down for any other reason, nothing is sent either.
    while not activity.is_cancelled():
        if not attempt.cancelling():
            activity.heartbeat(*progress.details)
        await asyncio.sleep(interval)


async def heartbeating(work: Callable[[Progress], Awaitable[T]]) -> T:
    """Run ``work`` (given a `Progress` to report through) with a keepalive heartbeat beside it.

    Call it from inside an activity. The keepalive is a task of this attempt: it ends with the work, and a
    cancellation of the activity still reaches the work as `asyncio.CancelledError`.
    """
    attempt = asyncio.current_task()
    assert attempt is not None, "heartbeating runs inside an activity's task"
    progress = Progress()
    keepalive = asyncio.create_task(
        _keep_alive(progress, keepalive_interval(activity.info().heartbeat_timeout), attempt),
        name="activity-keepalive",
    )
    try:
        return await work(progress)
    finally:
        keepalive.cancel()
        # Waited for without re-raising its CancelledError, so a cancellation of this attempt is never swallowed.
        await asyncio.wait([keepalive])
