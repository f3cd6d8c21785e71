"""Who is calling the Configuration API: a Bearer access token or a Basic PAT."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from sqlalchemy.orm import joinedload

from ...extensions import db
from ...models import utcnow
from ..accounts.credentials import grants
from ..accounts.models import (
    SandboxAccount,
    SandboxClient,
    SandboxOrganization,
    SandboxPersonalAccessToken,
    SandboxToken,
    digest,
)
from .errors import ApiError


@dataclass(frozen=True)
class Caller:
    account: SandboxAccount
    organization: SandboxOrganization
    scopes: list[str]
    # The client an OAuth access token was issued to; None for a PAT.
    client_id: str | None

    @property
    def is_pat(self) -> bool:
        return self.client_id is None

    def require(self, scope: str) -> None:
        if not grants(self.scopes, scope):
            raise ApiError("authorization", f"The credential lacks the required scope: {scope}.")

    def owns(self, client: SandboxClient | None) -> bool:
        return client is not None and client.organization_id == self.organization.id


def _bearer(token: str) -> Caller:
    row = db.session.execute(
        db.select(SandboxToken).where(SandboxToken.access_token_hash == digest(token))
    ).scalar_one_or_none()
    if row is None:
        raise ApiError("authentication", "Invalid access token.")
    if row.revoked_at is not None:
        raise ApiError("authentication", "The access token was revoked.")
    if row.expires_at <= utcnow():
        raise ApiError("authentication", "The access token has expired.")
    organization = db.session.get(SandboxOrganization, row.organization_id)
    assert organization is not None
    return Caller(row.account, organization, list(row.scopes), row.client_id)


def _basic(value: str) -> Caller:
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise ApiError(
            "authentication", "Basic credentials must be base64 of account_id:PAT."
        ) from exc
    account_id, separator, token = decoded.partition(":")
    if not separator or not account_id or not token:
        raise ApiError("authentication", "Basic credentials must be base64 of account_id:PAT.")
    pat = db.session.execute(
        db.select(SandboxPersonalAccessToken)
        .where(SandboxPersonalAccessToken.token_hash == digest(token))
        .options(
            joinedload(SandboxPersonalAccessToken.account).joinedload(SandboxAccount.organization)
        )
    ).scalar_one_or_none()
    if pat is None or pat.account_id != account_id:
        raise ApiError("authentication", "Invalid personal access token.")
    if pat.revoked_at is not None:
        raise ApiError("authentication", "The personal access token was revoked.")
    return Caller(pat.account, pat.account.organization, list(pat.scopes), None)


def authenticate(header: str | None) -> Caller:
    if not header or not header.strip():
        raise ApiError("authentication", "The Authorization header is missing.")
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value:
        return _bearer(value)
    if scheme.lower() == "basic" and value:
        return _basic(value)
    raise ApiError(
        "authentication", "The Authorization header must be 'Bearer <token>' or 'Basic <PAT>'."
    )
