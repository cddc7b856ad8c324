"""API shapes of the approval workflow: what a person sends to approve, reject, change or decide in bulk."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated, Literal

import msgspec

from atlas.bounds import NonNegativeInt32Field

Text = Annotated[str, msgspec.Meta(max_length=2000)]


class ApproveIn(msgspec.Struct, forbid_unknown_fields=True):
    comment: Text | None = None
    # The revision the person looked at: if the recommendation changed since, the vote is refused (409).
    revision: NonNegativeInt32Field | None = None


class RejectIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: Text | None = None  # required; missing or blank answers 422 with a translated message
    revision: NonNegativeInt32Field | None = None


class ChangeIn(msgspec.Struct, forbid_unknown_fields=True):
    quantity: Decimal  # a JSON number or a decimal string; positive
    reason: Text | None = None  # required


class BulkIn(msgspec.Struct, forbid_unknown_fields=True):
    ids: Annotated[list[uuid.UUID], msgspec.Meta(min_length=1, max_length=100)]
    verdict: Literal["approve", "reject"]
    reason: Text | None = None  # required to reject; a comment when approving
