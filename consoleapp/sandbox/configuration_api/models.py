"""The Configuration API's tables: registered webhooks, and the faults injected into its calls.

A webhook's secret key, which LiveChat sends back in every delivery, is stored encrypted like
the console's own secrets.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ...crypto import EncryptedField, new_uid
from ...extensions import db
from ...models import utcnow
from ..accounts.models import SandboxClient


class SandboxWebhook(db.Model):
    """A webhook registered with ``register_webhook``."""

    __tablename__ = "sandbox_webhooks"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    uid: Mapped[str] = mapped_column(String(32), unique=True, default=new_uid)
    owner_client_id: Mapped[str] = mapped_column(
        ForeignKey("sandbox_clients.id", ondelete="CASCADE")
    )
    action: Mapped[str] = mapped_column(String(64))
    url: Mapped[str] = mapped_column(String(500))
    secret_key_sealed: Mapped[bytes] = mapped_column("secret_key", LargeBinary)
    type: Mapped[str] = mapped_column(String(8))
    description: Mapped[str | None] = mapped_column(String(1000))
    filters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    additional_data: Mapped[list[str]] = mapped_column(JSON, default=list)
    api_version: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Deliveries start only after LiveChat's propagation delay (a fault setting; default 0).
    active_from: Mapped[datetime] = mapped_column(default=utcnow)

    secret_key = EncryptedField("secret_key_sealed")

    client: Mapped[SandboxClient] = relationship()


class SandboxFault(db.Model):
    """A fault injected on demand: latency, rate limiting, errors, ambiguous timeouts."""

    __tablename__ = "sandbox_faults"

    id: Mapped[int] = mapped_column(primary_key=True)
    # "latency", "too_many_requests", "internal", "timeout_after_store", "propagation_delay"
    kind: Mapped[str] = mapped_column(String(32))
    method: Mapped[str] = mapped_column(String(64), default="*")  # API method, or "*"
    value: Mapped[float] = mapped_column(default=0)  # milliseconds or seconds, by kind
    remaining: Mapped[int | None]  # how many more calls it affects; None = until removed
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
