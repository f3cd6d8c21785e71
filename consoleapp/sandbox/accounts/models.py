"""The accounts server's tables: organizations, accounts, apps (clients), tokens, installations.

Every table of the sandbox is prefixed ``sandbox_``. Secrets the sandbox issues (client secrets,
tokens, codes, PATs) are stored as SHA-256 hashes.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ...extensions import db
from ...models import utcnow


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def digest_matches(secret: str, stored: str | None) -> bool:
    return stored is not None and hmac.compare_digest(digest(secret), stored)


class SandboxOrganization(db.Model):
    """A LiveChat organization with its one license."""

    __tablename__ = "sandbox_organizations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    license_id: Mapped[int] = mapped_column(unique=True)
    region: Mapped[str] = mapped_column(String(8), default="dal")

    accounts: Mapped[list[SandboxAccount]] = relationship(back_populates="organization")


class SandboxAccount(db.Model):
    """A person with a LiveChat account; agents of the organization's license."""

    __tablename__ = "sandbox_accounts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("sandbox_organizations.id"))
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    # LiveChat roles: "owner", "viceowner", "administrator", "normal" (plain agent).
    role: Mapped[str] = mapped_column(String(16))

    organization: Mapped[SandboxOrganization] = relationship(back_populates="accounts")

    @property
    def can_grant_administrator_scopes(self) -> bool:
        return self.role in {"owner", "viceowner", "administrator"}


class SandboxClient(db.Model):
    """An app registered in the Developer Console: a Client ID owned by an organization."""

    __tablename__ = "sandbox_clients"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # the Client ID
    organization_id: Mapped[str] = mapped_column(ForeignKey("sandbox_organizations.id"))
    name: Mapped[str] = mapped_column(String(100))
    secret_hash: Mapped[str] = mapped_column(String(64))
    redirect_uris: Mapped[list[str]] = mapped_column(JSON, default=list)
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    organization: Mapped[SandboxOrganization] = relationship()


class SandboxPersonalAccessToken(db.Model):
    __tablename__ = "sandbox_personal_access_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("sandbox_accounts.id"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]

    account: Mapped[SandboxAccount] = relationship()


class SandboxAuthorizationCode(db.Model):
    __tablename__ = "sandbox_authorization_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("sandbox_clients.id", ondelete="CASCADE"))
    account_id: Mapped[str] = mapped_column(ForeignKey("sandbox_accounts.id"))
    organization_id: Mapped[str] = mapped_column(ForeignKey("sandbox_organizations.id"))
    redirect_uri: Mapped[str] = mapped_column(String(500))
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    code_challenge: Mapped[str | None] = mapped_column(String(128))
    code_challenge_method: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class SandboxToken(db.Model):
    """An access token and its paired refresh token, issued to a client for an account."""

    __tablename__ = "sandbox_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    access_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    refresh_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("sandbox_clients.id", ondelete="CASCADE"))
    account_id: Mapped[str] = mapped_column(ForeignKey("sandbox_accounts.id"))
    organization_id: Mapped[str] = mapped_column(ForeignKey("sandbox_organizations.id"))
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]

    client: Mapped[SandboxClient] = relationship()
    account: Mapped[SandboxAccount] = relationship()


class SandboxInstallation(db.Model):
    """A client installed on an organization's license, with its license webhook state."""

    __tablename__ = "sandbox_installations"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("sandbox_clients.id", ondelete="CASCADE"))
    organization_id: Mapped[str] = mapped_column(ForeignKey("sandbox_organizations.id"))
    installed_at: Mapped[datetime | None] = mapped_column(default=utcnow)
    uninstalled_at: Mapped[datetime | None]
    # Disabling is sticky across reinstalls until enable_license_webhooks is called.
    webhooks_enabled: Mapped[bool] = mapped_column(default=True)

    client: Mapped[SandboxClient] = relationship()
    organization: Mapped[SandboxOrganization] = relationship()

    __table_args__ = (db.UniqueConstraint("client_id", "organization_id"),)
