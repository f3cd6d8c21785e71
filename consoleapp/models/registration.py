"""Registration runs: one piece of background work that makes LiveChat match a webhook set.

The row is the record of truth for the work: which worker holds it and until when (a lease it
renews while it runs), whether someone asked to cancel, and how it ended. A run whose lease
ran out belongs to nobody and is taken up again by the next worker that looks.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .accounts import NEVER_REUSE_IDS, User
from .base import utcnow
from .webhooks import WebhookSet


class RunKind(enum.StrEnum):
    REGISTER = "register"  # make LiveChat hold one webhook per chosen trigger
    REMOVE = "remove"  # take every webhook of the set off LiveChat


class RunState(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    CANCELLING = "cancelling"
    FINISHED = "finished"
    CANCELLED = "cancelled"

    @property
    def active(self) -> bool:
        return self in ACTIVE_STATES


ACTIVE_STATES = (RunState.QUEUED, RunState.RUNNING, RunState.CANCELLING)
_ACTIVE_SQL = "state IN ('queued', 'running', 'cancelling')"


class RegistrationRun(db.Model):
    __tablename__ = "registration_runs"
    __table_args__ = (
        # At most one run of a set at a time, whichever process or tab asks.
        Index(
            "uq_registration_runs_one_active",
            "webhook_set_id",
            unique=True,
            sqlite_where=text(_ACTIVE_SQL),
            postgresql_where=text(_ACTIVE_SQL),
        ),
        NEVER_REUSE_IDS,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_set_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_sets.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16), default=RunKind.REGISTER)
    state: Mapped[str] = mapped_column(String(16), default=RunState.QUEUED)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # The worker that holds the run, and until when; it renews the lease while it works.
    holder: Mapped[str | None] = mapped_column(String(120))
    lease_until: Mapped[datetime | None]
    # How many times a worker took the run up (more than one: a worker died holding it).
    pickups: Mapped[int] = mapped_column(default=0)
    cancel_requested_at: Mapped[datetime | None]
    # How it ended, in words a person can act on; None while it runs or when all went well.
    problem: Mapped[str | None] = mapped_column(Text)

    webhook_set: Mapped[WebhookSet] = relationship()
    requested_by: Mapped[User | None] = relationship()

    @property
    def state_enum(self) -> RunState:
        return RunState(self.state)
