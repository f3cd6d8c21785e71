"""Deliveries the console's receiver got: every POST is kept, repeats are counted."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text
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
    """One POST to a set's inbox, verified or rejected, with the secret masked."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_set_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_sets.id", ondelete="CASCADE"), index=True
    )
    event_id: Mapped[int | None] = mapped_column(
        ForeignKey("delivery_events.id", ondelete="SET NULL"), index=True
    )
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    action: Mapped[str | None] = mapped_column(String(64), index=True)
    livechat_webhook_id: Mapped[str | None] = mapped_column(String(64))
    verified: Mapped[bool] = mapped_column(default=False)
    # Why it was rejected, in plain words; None when verified.
    rejection: Mapped[str | None] = mapped_column(String(200))
    headers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    body: Mapped[str] = mapped_column(Text, default="")

    webhook_set: Mapped[WebhookSet] = relationship()
    event: Mapped[DeliveryEvent | None] = relationship()
