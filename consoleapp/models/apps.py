"""LiveChat apps and their authorization settings."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from ..app_names import KEY_MAX, NAME_MAX, name_key
from ..crypto import EncryptedField, SecretUnavailable, new_uid
from ..extensions import db
from .accounts import NEVER_REUSE_IDS, User
from .base import utcnow


class App(db.Model):
    """A LiveChat app (Client ID) whose webhooks the console manages."""

    __tablename__ = "apps"
    __table_args__ = (Index("uq_apps_name_key", "name_key", unique=True), NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(32), unique=True, default=new_uid)
    name: Mapped[str] = mapped_column(String(NAME_MAX), unique=True)
    # What the name looks like (app_names.name_key): unique, so lookalikes are refused even
    # when two people save one at the same moment.
    name_key: Mapped[str] = mapped_column(String(KEY_MAX))
    client_id: Mapped[str | None] = mapped_column(String(100))
    client_secret_sealed: Mapped[bytes | None] = mapped_column("client_secret", LargeBinary)
    client_secret_last4: Mapped[str | None] = mapped_column(String(4))
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    direct_install_url: Mapped[str | None] = mapped_column(String(500))
    redirect_uris: Mapped[list[str]] = mapped_column(JSON, default=list)
    developer_account_id: Mapped[str | None] = mapped_column(String(100))
    developer_token_sealed: Mapped[bytes | None] = mapped_column("developer_token", LargeBinary)
    developer_token_last4: Mapped[str | None] = mapped_column(String(4))
    api_version: Mapped[str] = mapped_column(String(8), default="3.6")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    client_secret = EncryptedField("client_secret_sealed")
    developer_token = EncryptedField("developer_token_sealed")

    created_by: Mapped[User | None] = relationship()

    @validates("name")
    def _keep_name_key(self, _field: str, name: str) -> str:
        self.name_key = name_key(name)
        return name

    def set_client_secret(self, value: str) -> None:
        self.client_secret = value
        self.client_secret_last4 = value[-4:]

    def set_developer_token(self, value: str) -> None:
        self.developer_token = value
        self.developer_token_last4 = value[-4:]

    def secret_readable(self, field: str) -> bool:
        """False when a stored secret can no longer be opened and must be entered again."""
        try:
            getattr(self, field)
        except SecretUnavailable:
            return False
        return True

    @property
    def authorization_complete(self) -> bool:
        return bool(
            self.client_id
            and self.client_secret_sealed
            and self.direct_install_url
            and self.redirect_uris
        )

    @property
    def developer_credential_complete(self) -> bool:
        return bool(self.developer_account_id and self.developer_token_sealed)
