"""Counted votes on recommendations: one row per person per revision (the database refuses a second)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from atlas.db.base import Base, TenantOwned, created_at_column, uuid_pk


class ApprovalDecision(TenantOwned, Base):
    """A person's approve or reject that policy allowed, for one revision of a recommendation."""

    __tablename__ = "approval_decisions"
    __table_args__ = (
        CheckConstraint("verdict IN ('approve', 'reject')", name="verdict"),
        CheckConstraint("revision >= 0", name="revision"),
        UniqueConstraint("tenant_id", "recommendation_id", "revision", "subject", name="uq_approval_decisions_vote"),
    )
    tenant_id_index = False

    id: Mapped[uuid.UUID] = uuid_pk()
    recommendation_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("recommendations.id", ondelete="CASCADE"), nullable=False
    )
    revision: Mapped[int] = mapped_column(Integer, nullable=False)
    subject: Mapped[str] = mapped_column(String(200), nullable=False)
    subject_display: Mapped[str | None] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(20), nullable=False)
    verdict: Mapped[str] = mapped_column(String(10), nullable=False)
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at_column()
