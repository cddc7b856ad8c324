"""What an approval workflow and its activities are handed: plain dataclasses, Temporal's payloads.

Apart from the activities so that the dispatch (which starts workflows) and the activities (one of which, the
reconcile sweep, starts workflows through the dispatch) both import them without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass

from atlas.approvals.services import Vote


@dataclass
class ApprovalRequest:
    tenant_id: str
    recommendation_id: str


@dataclass
class VoteRequest:
    tenant_id: str
    recommendation_id: str
    vote: Vote
