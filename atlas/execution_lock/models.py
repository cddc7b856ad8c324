"""Execution drafts: what an approved action would have been, stored instead of being executed.

Immutable (the database refuses UPDATE and DELETE): a draft is evidence of what the lock stopped.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Index, Integer, String, Text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from atlas.db.base import Base, TenantOwned, created_at_column, uuid_pk


class ExecutionDraft(TenantOwned, Base):
    __tablename__ = "execution_drafts"
    __table_args__ = (
        CheckConstraint("kind IN ('dry_run', 'blocked')", name="kind"),
        Index("ix_execution_drafts_recommendation", "tenant_id", "recommendation_id", "revision", "kind"),
        Index("ix_execution_drafts_recent", "tenant_id", "kind", "created_at"),
    )
    tenant_id_index = False

    id: Mapped[uuid.UUID] = uuid_pk()
    recommendation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    revision: Mapped[int] = mapped_column(Integer, nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    action_type: Mapped[str] = mapped_column(String(20), nullable=False)
    action: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    request: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True))
    impact: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    summary_en: Mapped[str] = mapped_column(Text, nullable=False)
    summary_ar: Mapped[str] = mapped_column(Text, nullable=False)
    correlation_id: Mapped[str] = mapped_column(String(100), nullable=False)
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = created_at_column()
