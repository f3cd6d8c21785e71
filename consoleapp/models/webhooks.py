"""Webhook sets (where and with which secret), their triggers, and what LiveChat registered."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..crypto import EncryptedField, new_uid
from ..extensions import db
from .apps import App
from .base import utcnow


class WizardStep(enum.IntEnum):
    """Where a webhook set is in the three-step wizard; steps are never skipped."""

    URL = 1
    SECRET = 2
    TRIGGERS = 3
    REVIEW = 4
    DONE = 5


class WebhookSet(db.Model):
    """One target URL and secret key for an app, and the triggers that fire it."""

    __tablename__ = "webhook_sets"

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(32), unique=True, default=new_uid)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    target_url: Mapped[str | None] = mapped_column(String(500))
    # The path segment of the console's own inbox URL for this set (not a secret).
    inbox_token: Mapped[str] = mapped_column(String(32), unique=True, default=new_uid)
    secret_key_sealed: Mapped[bytes | None] = mapped_column("secret_key", LargeBinary)
    secret_key_last4: Mapped[str | None] = mapped_column(String(4))
    secret_shown_at: Mapped[datetime | None]
    secret_saved_at: Mapped[datetime | None]
    wizard_step: Mapped[int] = mapped_column(default=WizardStep.URL)
    api_version: Mapped[str] = mapped_column(String(8), default="3.6")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    secret_key = EncryptedField("secret_key_sealed")

    app: Mapped[App] = relationship()
    triggers: Mapped[list[WebhookTrigger]] = relationship(
        back_populates="webhook_set", cascade="all, delete-orphan", order_by="WebhookTrigger.id"
    )
    registered: Mapped[list[RegisteredWebhook]] = relationship(
        back_populates="webhook_set", cascade="all, delete-orphan", order_by="RegisteredWebhook.id"
    )

    def set_secret_key(self, value: str) -> None:
        self.secret_key = value
        self.secret_key_last4 = value[-4:]


class WebhookTrigger(db.Model):
    """A chosen trigger (action) of a set, with its filters and additional data."""

    __tablename__ = "webhook_triggers"
    __table_args__ = (UniqueConstraint("webhook_set_id", "action"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_set_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_sets.id", ondelete="CASCADE"), index=True
    )
    action: Mapped[str] = mapped_column(String(64))
    filters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    additional_data: Mapped[list[str]] = mapped_column(JSON, default=list)

    webhook_set: Mapped[WebhookSet] = relationship(back_populates="triggers")


class RegistrationState(enum.StrEnum):
    PENDING = "pending"  # not registered, and no run is about to
    QUEUED = "queued"  # a run will register it
    REGISTERING = "registering"  # a call to LiveChat is in flight (or was, when a worker died)
    REGISTERED = "registered"
    REMOVING = "removing"  # a run will remove (or is removing) it from LiveChat
    FAILED = "failed"
    CLEANUP_PENDING = "cleanup_pending"


class RegisteredWebhook(db.Model):
    """One webhook LiveChat holds for a set's trigger; its id is saved the moment it is known."""

    __tablename__ = "registered_webhooks"
    __table_args__ = (UniqueConstraint("webhook_set_id", "action"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_set_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_sets.id", ondelete="CASCADE"), index=True
    )
    action: Mapped[str] = mapped_column(String(64))
    livechat_webhook_id: Mapped[str | None] = mapped_column(String(64), index=True)
    state: Mapped[str] = mapped_column(String(16), default=RegistrationState.PENDING)
    # What was sent (URL, filters, additional data; never the secret), to spot drift.
    registered_as: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    last_error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0)
    registered_at: Mapped[datetime | None]
    # The run that registered it: cancelling that run removes exactly what it made (R10).
    run_id: Mapped[int | None] = mapped_column(
        ForeignKey("registration_runs.id", ondelete="SET NULL")
    )
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    webhook_set: Mapped[WebhookSet] = relationship(back_populates="registered")
