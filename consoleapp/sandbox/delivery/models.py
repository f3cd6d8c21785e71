"""The sandbox's deliveries: one row per envelope to send, and one per attempt to send it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ...extensions import db
from ...models import utcnow


class SandboxDelivery(db.Model):
    """One envelope to send to one webhook's URL, with its retry state.

    The envelope is stored without ``secret_key``; the key is read from the webhook when the
    request is built, so the secret is never at rest outside its encrypted column.
    """

    __tablename__ = "sandbox_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_id: Mapped[str] = mapped_column(String(32), index=True)
    owner_client_id: Mapped[str] = mapped_column(String(64))
    organization_id: Mapped[str] = mapped_column(String(36))
    action: Mapped[str] = mapped_column(String(64))
    url: Mapped[str] = mapped_column(String(500))
    envelope: Mapped[dict[str, Any]] = mapped_column(JSON)
    # "pending" (waiting or retrying), "delivered", "failed" (retries used up), "dropped".
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempt_count: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A worker owns the row until claimed_until; a crashed worker's claim simply expires.
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]

    attempts: Mapped[list[SandboxDeliveryAttempt]] = relationship(
        back_populates="delivery",
        order_by="SandboxDeliveryAttempt.number",
        cascade="all, delete-orphan",
    )

    __table_args__ = (Index("ix_sandbox_deliveries_due", "status", "next_attempt_at"),)


class SandboxDeliveryAttempt(db.Model):
    __tablename__ = "sandbox_delivery_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("sandbox_deliveries.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int]
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    status_code: Mapped[int | None]
    latency_ms: Mapped[int] = mapped_column(default=0)
    error_class: Mapped[str | None] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(String(200))

    delivery: Mapped[SandboxDelivery] = relationship(back_populates="attempts")
