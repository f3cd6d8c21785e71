"""Test events started from Install & test: when each trigger's clock starts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import utcnow


class TriggerTest(db.Model):
    """A test event started for one of an app's triggers; the latest one per trigger starts
    the clock its checklist row counts from. The audit log keeps who started it as well."""

    __tablename__ = "trigger_tests"
    __table_args__ = (
        # The latest start of a trigger of an app: one index seek per trigger.
        Index("ix_trigger_tests_app_action_started", "app_id", "action", "started_at"),
        # The newest start of an app, for the checklist's version.
        Index("ix_trigger_tests_app_id", "app_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(64))
    # The sandbox scenario that was asked to fire it.
    scenario: Mapped[str] = mapped_column(String(64), default="")
    # Taken before the sandbox was asked: its delivery may arrive before its answer.
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
