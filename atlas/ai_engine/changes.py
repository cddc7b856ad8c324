"""What the AI engine changed in a transaction: the recommendations it created, revised and retired.

The AI engine's ``_store_recommendations`` notes each one on the session as it writes it; whoever commits the
transaction then takes the list (:func:`take`) and tells the approval workflows about it
(``atlas.approvals.dispatch.notify``), so a workflow never starts for a row that was rolled back.

It was ``atlas/approvals/hooks.py``. It imports nothing of Atlas and only records what the analysis did, so it sits
with the AI engine (layer 6), which writes it; the approvals (layer 8) read it from here, downwards. Before, the
analysis imported the approvals to note its changes, an arrow from the AI engine up to the layer that builds on it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

KEY = "atlas.ai_engine.changes"
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
