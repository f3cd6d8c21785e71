"""Helpers for the sandbox's tests: provisioning, the OAuth dance and API calls over HTTP."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from consoleapp.extensions import db
from consoleapp.sandbox.accounts import credentials, seed
from consoleapp.sandbox.accounts.models import SandboxAccount, SandboxInstallation
from consoleapp.sandbox.configuration_api.models import SandboxWebhook

REDIRECT_URI = "https://console.example/oauth/callback"
ADA = seed.account_id("acme", "ada")
NICK = seed.account_id("acme", "nick")
GLOBEX_ADA = seed.account_id("globex", "ada")
ACME = seed.organization_id("acme")
GLOBEX = seed.organization_id("globex")


@dataclass
class Sandbox:
    client_id: str
    client_secret: str
    organization_id: str
    account_id: str
    pat: str
    basic: str

    @property
    def pat_headers(self) -> dict[str, str]:
        return {"Authorization": f"Basic {self.basic}"}


def provision(client: FlaskClient, **body: Any) -> Sandbox:
    payload = {"name": "Helpdesk hooks", "redirect_uris": [REDIRECT_URI], **body}
    response = client.post("/sandbox/provision", json=payload)
    assert response.status_code == 201, response.get_json()
    data = response.get_json()
    return Sandbox(
        client_id=data["client_id"],
        client_secret=data["client_secret"],
        organization_id=data["organization_id"],
        account_id=data["account_id"],
        pat=data["personal_access_token"],
        basic=data["basic_authorization"],
    )


def other_organization_client(app: Flask) -> str:
    """A client owned by the second organization."""
    with app.app_context():
        seed.ensure_seeded()
        issued = credentials.create_client(GLOBEX, "Globex app", [REDIRECT_URI])
        db.session.commit()
        return issued.client.id


def pat_for(app: Flask, account_id: str, scopes: list[str]) -> dict[str, str]:
    with app.app_context():
        seed.ensure_seeded()
        account = db.session.get(SandboxAccount, account_id)
        assert account is not None
        issued = credentials.create_pat(account, scopes)
        db.session.commit()
        return {"Authorization": f"Basic {issued.basic}"}


def pkce_pair(method: str = "S256") -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    if method.upper() == "S256":
        digest = hashlib.sha256(verifier.encode()).digest()
        return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    return verifier, verifier


def authorize_params(sandbox: Sandbox, **overrides: str | None) -> dict[str, str]:
    params: dict[str, str | None] = {
        "response_type": "code",
        "client_id": sandbox.client_id,
        "redirect_uri": REDIRECT_URI,
        "state": "st4te-xyz",
    }
    params.update(overrides)
    return {key: value for key, value in params.items() if value is not None}


def decide(
    client: FlaskClient, params: dict[str, str], account_id: str = ADA, decision: str = "allow"
) -> TestResponse:
    return client.post(
        "/sandbox/accounts/", data={**params, "account_id": account_id, "decision": decision}
    )


def query_of(location: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


def get_code(
    client: FlaskClient, sandbox: Sandbox, account_id: str = ADA, **overrides: str | None
) -> str:
    response = decide(client, authorize_params(sandbox, **overrides), account_id)
    assert response.status_code == 302, response.data
    return query_of(response.headers["Location"])["code"]


def exchange(
    client: FlaskClient, sandbox: Sandbox, code: str, as_json: bool = False, **extra: str | None
) -> TestResponse:
    body: dict[str, str | None] = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": sandbox.client_id,
        "client_secret": sandbox.client_secret,
        "redirect_uri": REDIRECT_URI,
    }
    body.update(extra)
    cleaned = {key: value for key, value in body.items() if value is not None}
    if as_json:
        return client.post("/sandbox/accounts/v2/token", json=cleaned)
    return client.post("/sandbox/accounts/v2/token", data=cleaned)


def tokens(client: FlaskClient, sandbox: Sandbox, account_id: str = ADA) -> dict[str, Any]:
    verifier, challenge = pkce_pair()
    code = get_code(
        client, sandbox, account_id, code_challenge=challenge, code_challenge_method="S256"
    )
    response = exchange(client, sandbox, code, code_verifier=verifier)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def api(
    client: FlaskClient,
    method: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    version: str = "3.6",
) -> TestResponse:
    return client.post(
        f"/sandbox/api/v{version}/configuration/action/{method}",
        json={} if body is None else body,
        headers=headers or {},
    )


def error_of(response: TestResponse) -> tuple[str, str]:
    error = response.get_json()["error"]
    return error["type"], error["message"]


def webhook_body(sandbox: Sandbox, **overrides: Any) -> dict[str, Any]:
    body = {
        "action": "incoming_chat",
        "secret_key": "s3cret-key-for-tests",
        "url": "https://hooks.example/livechat",
        "owner_client_id": sandbox.client_id,
        "type": "license",
    }
    body.update(overrides)
    return {key: value for key, value in body.items() if value is not None}


def stored_webhooks(app: Flask) -> list[SandboxWebhook]:
    with app.app_context():
        return list(db.session.execute(db.select(SandboxWebhook)).scalars())


def register(client, sandbox: Sandbox, version: str = "3.6", headers=None, **overrides):
    return api(
        client,
        "register_webhook",
        webhook_body(sandbox, **overrides),
        headers or sandbox.pat_headers,
        version,
    )


TOKEN_FIELDS = {
    "access_token",
    "account_id",
    "expires_in",
    "organization_id",
    "refresh_token",
    "scope",
    "token_type",
}


def installation(app: Flask, client_id: str, organization_id: str = ACME):
    with app.app_context():
        return db.session.execute(
            db.select(SandboxInstallation).where(
                SandboxInstallation.client_id == client_id,
                SandboxInstallation.organization_id == organization_id,
            )
        ).scalar_one_or_none()
