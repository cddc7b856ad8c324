"""Who hears that a tenant saved a new policy: the approval workflows, connected at start-up.

Once a new policy version is committed, every pending recommendation's approval workflow must judge it again under
that version (``atlas.approvals.dispatch.policy_changed_safely`` signals them, after the answer is sent). The policy
(layer 7) sits below the approvals (layer 8), which read its rules; the policy's save endpoint importing the
approvals' dispatch was an arrow upwards. So the policy owns the event and the shape of its listener
(:data:`PolicySaved`), and the process's composition (``atlas.wiring.wire``: the web app, the worker, the demo, the
tests) hands it the approvals' dispatch, as it hands billing's answers to the platform's entitlements.

Nothing connected is an error (:class:`PolicyListenerNotWired`), never silence: a process that forgot the wiring
refuses to save a policy (before anything is written) instead of saving one the pending recommendations' workflows
never hear of.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

# Told, after the response, which pending recommendations a newly saved policy concerns: the web app's lazy Temporal
# connection (``app.state.temporal``) and the recommendations' ids. It never fails the request.
PolicySaved = Callable[[Any, list[uuid.UUID]], Awaitable[None]]


class PolicyListenerNotWired(RuntimeError):
    """This process never connected the approval workflows to saved policies (``atlas.wiring.wire``)."""


_listener: PolicySaved | None = None


def on_policy_saved(listener: PolicySaved) -> None:
    """Who hears of a saved policy in this process (set once, at start-up)."""
    global _listener
    _listener = listener


def policy_saved_listener() -> PolicySaved:
    """Who hears of a saved policy; :class:`PolicyListenerNotWired` when nobody was connected."""
    if _listener is None:
        raise PolicyListenerNotWired("nobody hears of saved policies in this process: call atlas.wiring.wire()")
    return _listener
