"""What the AI engine changed in a transaction, for the approval workflows to hear about once it commits.

`_store_recommendations` notes each new, revised and retired recommendation on the session; whoever commits
the transaction (the analysis activity, the analyse-now API) then takes the list and calls
`atlas.approvals.dispatch.notify`, so a workflow never starts for a row that was rolled back.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

KEY = "atlas.approvals.changes"
Kind = Literal["created", "revised", "retired"]


@dataclass
class Changes:
    created: list[uuid.UUID] = field(default_factory=list)
    revised: list[uuid.UUID] = field(default_factory=list)
    retired: list[uuid.UUID] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.created or self.revised or self.retired)


def note(session: AsyncSession, kind: Kind, recommendation_id: uuid.UUID) -> None:
    changes = session.info.setdefault(KEY, Changes())
    getattr(changes, kind).append(recommendation_id)


def take(session: AsyncSession) -> Changes:
    """The changes noted so far (and forget them)."""
    changes = session.info.pop(KEY, None)
    return changes if isinstance(changes, Changes) else Changes()
