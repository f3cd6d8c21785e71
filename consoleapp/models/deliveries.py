"""Deliveries the console's receiver got: every POST is kept, repeats are counted."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import utcnow
from .webhooks import WebhookSet


class DeliveryEvent(db.Model):
    """One distinct event (by dedupe key); several deliveries may carry it."""

    __tablename__ = "delivery_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_set_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_sets.id", ondelete="CASCADE"), index=True
    )
    # sha256 of webhook id, action and the canonical payload: webhook_id alone repeats.
    dedupe_key: Mapped[str] = mapped_column(String(64), unique=True)
    action: Mapped[str] = mapped_column(String(64))
    first_received_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_received_at: Mapped[datetime] = mapped_column(default=utcnow)
    times_received: Mapped[int] = mapped_column(default=1)


class Delivery(db.Model):
    """One POST to a set's inbox, verified or rejected, with the secret masked.

    A verified body is kept whole; of a rejected one only the first few KB. ``body_format`` says
    how ``body`` holds it: laid out ("pretty", older deliveries) or as received ("raw"), which
    the Inbox lays out when it shows it.

    The receiver only appends rows. What follows from them (the event a repeat belongs to, the
    counts per minute) is worked out afterwards by a task, which marks each row ``folded``.
    """

    __tablename__ = "deliveries"
    __table_args__ = (
        # The Inbox, newest first, per set; and the keyset pages and live updates by id.
        Index("ix_deliveries_set_id", "webhook_set_id", "id"),
        # The Inbox filtered by trigger, or by verified and rejected.
        Index("ix_deliveries_set_action_id", "webhook_set_id", "action", "id"),
        Index("ix_deliveries_set_verified_id", "webhook_set_id", "verified", "id"),
        # The checklist: the first verified (or any rejected) delivery of a trigger since a time.
        Index(
            "ix_deliveries_set_action_verified_received",
            "webhook_set_id",
            "action",
            "verified",
            "received_at",
        ),
        # What the folding task has still to do.
        Index(
            "ix_deliveries_unfolded",
            "id",
            sqlite_where=text("NOT folded"),
            postgresql_where=text("NOT folded"),
        ),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_set_id: Mapped[int] = mapped_column(ForeignKey("webhook_sets.id", ondelete="CASCADE"))
    event_id: Mapped[int | None] = mapped_column(
        ForeignKey("delivery_events.id", ondelete="SET NULL"), index=True
    )
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    action: Mapped[str | None] = mapped_column(String(64))
    livechat_webhook_id: Mapped[str | None] = mapped_column(String(64))
    verified: Mapped[bool] = mapped_column(default=False)
    # Why it was rejected, in plain words; None when verified.
    rejection: Mapped[str | None] = mapped_column(String(200))
    headers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    body: Mapped[str] = mapped_column(Text, default="")
    body_format: Mapped[str] = mapped_column(String(8), default="pretty", server_default="pretty")
    body_truncated: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Of the body as received; unknown for deliveries stored before they were recorded.
    body_size: Mapped[int | None]
    body_sha256: Mapped[str | None] = mapped_column(String(64))
    # sha256 of webhook id, action and canonical payload; None for a rejected delivery.
    dedupe_key: Mapped[str | None] = mapped_column(String(64))
    folded: Mapped[bool] = mapped_column(default=False, server_default=false())

    webhook_set: Mapped[WebhookSet] = relationship()
    event: Mapped[DeliveryEvent | None] = relationship()


class DeliveryMinute(db.Model):
    """How many deliveries of a trigger came to a set in one minute, verified and rejected:
    the Inbox's chart, read without counting the deliveries themselves."""

    __tablename__ = "delivery_minutes"

    webhook_set_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_sets.id", ondelete="CASCADE"), primary_key=True
    )
    minute: Mapped[datetime] = mapped_column(primary_key=True)
    action: Mapped[str] = mapped_column(String(64), primary_key=True)
    verified: Mapped[int] = mapped_column(default=0)
    rejected: Mapped[int] = mapped_column(default=0)
