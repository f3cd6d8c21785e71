"""An app installed on a LiveChat license: its OAuth tokens and the license's webhook state."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..crypto import EncryptedField, new_uid
from ..extensions import db
from .apps import App
from .base import utcnow


class Installation(db.Model):
    """One app on one organization's license, with the tokens the install handed over."""

    __tablename__ = "installations"
    __table_args__ = (UniqueConstraint("app_id", "organization_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(32), unique=True, default=new_uid)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    organization_id: Mapped[str] = mapped_column(String(64))
    account_id: Mapped[str | None] = mapped_column(String(64))
    access_token_sealed: Mapped[bytes | None] = mapped_column("access_token", LargeBinary)
    refresh_token_sealed: Mapped[bytes | None] = mapped_column("refresh_token", LargeBinary)
    expires_at: Mapped[datetime | None]
    scopes: Mapped[str] = mapped_column(String(2000), default="")
    # None until checked; LiveChat's answer to get_license_webhooks_state otherwise.
    webhooks_enabled: Mapped[bool | None]
    webhooks_checked_at: Mapped[datetime | None]
    # The refresh token was refused: someone must sign in with LiveChat again.
    needs_reauth: Mapped[bool] = mapped_column(default=False)
    # Set while one caller refreshes the tokens; others wait for it instead of refreshing too.
    refreshing_until: Mapped[datetime | None]
    installed_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    uninstalled_at: Mapped[datetime | None]

    access_token = EncryptedField("access_token_sealed")
    refresh_token = EncryptedField("refresh_token_sealed")

    app: Mapped[App] = relationship()
