"""Clients, personal access tokens and scopes: the credentials the sandbox hands out.

Only hashes of secrets are stored; the plaintext is returned once to whoever created it.
"""

from __future__ import annotations

import base64
import re
import secrets
from dataclasses import dataclass

from ...extensions import db
from .models import SandboxAccount, SandboxClient, SandboxPersonalAccessToken, digest

# What a provisioned client may ask for when no scopes are given: the webhook scopes the
# console needs, and reading the signed-in account.
DEFAULT_CLIENT_SCOPES = [
    "webhooks.configuration:rw",
    "webhooks.state:rw",
    "webhooks.state:ro",
    "accounts--my:ro",
]
DEFAULT_PAT_SCOPES = ["webhooks.configuration:rw", "webhooks.state:rw", "webhooks.state:ro"]

_SCOPE = re.compile(r"^[a-z][a-z0-9_.-]*(--[a-z]+)?:(ro|rw|rc)$")
# Scopes only an owner, viceowner or administrator may grant (livechat-api.md 5.6).
_ADMINISTRATOR_SCOPE_PREFIXES = (
    "webhooks.",
    "webhooks--",
    "agents--all:rw",
    "agents-bot--all:rw",
    "groups--all:rw",
    "accounts--all:rw",
    "accounts.roles--all:rw",
)


def is_scope(name: object) -> bool:
    return isinstance(name, str) and bool(_SCOPE.match(name))


def needs_administrator(scope: str) -> bool:
    return scope.startswith(_ADMINISTRATOR_SCOPE_PREFIXES)


def grants(held: list[str], needed: str) -> bool:
    """Whether ``held`` covers ``needed``: ``rw`` includes ``ro``; ``all`` ⊃ ``access`` ⊃ ``my``."""
    name, _, mode = needed.partition(":")
    modes = {"ro": ("ro", "rw"), "rc": ("rc", "rw"), "rw": ("rw",)}.get(mode, (mode,))
    base, _, level = name.partition("--")
    levels = {"my": ("my", "access", "all"), "access": ("access", "all")}.get(level, (level,))
    names = [f"{base}--{lvl}" for lvl in levels] if level else [name]
    return any(f"{candidate}:{m}" in held for candidate in names for m in modes)


def new_client_id() -> str:
    return secrets.token_hex(16)


@dataclass(frozen=True)
class IssuedClient:
    client: SandboxClient
    secret: str


def create_client(
    organization_id: str, name: str, redirect_uris: list[str], scopes: list[str] | None = None
) -> IssuedClient:
    secret = secrets.token_urlsafe(32)
    client = SandboxClient(
        id=new_client_id(),
        organization_id=organization_id,
        name=name,
        secret_hash=digest(secret),
        redirect_uris=list(redirect_uris),
        scopes=list(scopes if scopes is not None else DEFAULT_CLIENT_SCOPES),
    )
    db.session.add(client)
    db.session.flush()
    return IssuedClient(client, secret)


def basic_authorization(account_id: str, token: str) -> str:
    """The base64 value the Developer Console shows next to a new PAT."""
    return base64.b64encode(f"{account_id}:{token}".encode()).decode()


@dataclass(frozen=True)
class IssuedPat:
    account: SandboxAccount
    token: str

    @property
    def basic(self) -> str:
        return basic_authorization(self.account.id, self.token)

    def as_dict(self) -> dict[str, str]:
        return {
            "account_id": self.account.id,
            "personal_access_token": self.token,
            "basic_authorization": self.basic,
            "authorization_header": f"Basic {self.basic}",
        }


def create_pat(account: SandboxAccount, scopes: list[str]) -> IssuedPat:
    # PATs carry the region prefix like OAuth access tokens do.
    token = f"{account.organization.region}:{secrets.token_urlsafe(24)}"
    db.session.add(
        SandboxPersonalAccessToken(account_id=account.id, token_hash=digest(token), scopes=scopes)
    )
    db.session.flush()
    return IssuedPat(account, token)
