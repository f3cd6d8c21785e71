"""Helpers for the installation tests: an app ready to install, and an installed row."""

from __future__ import annotations

from datetime import timedelta

from consoleapp.extensions import db
from consoleapp.models import App, Installation, utcnow
from consoleapp.services import installation as installs

ACCOUNTS = "http://127.0.0.1:5000/sandbox/accounts"
TOKEN_URL = f"{ACCOUNTS}/v2/token"
API = "http://127.0.0.1:5000/sandbox/api"
STATE_URL = f"{API}/v3.6/configuration/action/get_license_webhooks_state"
ENABLE_URL = f"{API}/v3.6/configuration/action/enable_license_webhooks"
SECRET = "client-secret-value-9876"
CODE = "dal:the-authorization-code-xyz"
TOKENS = {
    "access_token": "dal:access-token-value-AAAA",
    "refresh_token": "refresh-token-value-BBBB",
    "expires_in": 28800,
    "organization_id": "390e44e6-org",
    "account_id": "b7eff798-acct",
    "scope": "webhooks.state:rw,webhooks.configuration:rw",
    "token_type": "Bearer",
}
EXPIRED = "Sign-in expired or was started elsewhere; start again."


def add_install_app(app) -> int:
    """An app whose authorization settings are complete (Client ID, secret, install URL)."""
    install_url = "http://127.0.0.1:5000/apps/1/install/callback"
    with app.app_context():
        row = App(
            name="Helpdesk",
            client_id="client-abc",
            direct_install_url=install_url,
            redirect_uris=[install_url],
            scopes=["webhooks.state:rw"],
        )
        db.session.add(row)
        db.session.flush()
        row.set_client_secret(SECRET)
        db.session.commit()
        assert row.id == 1
        return row.id


def token_rows(app) -> list[Installation]:
    with app.app_context():
        return list(db.session.execute(db.select(Installation)).scalars())


def installed(app, app_id: int, expired: bool = True) -> int:
    with app.app_context():
        row = Installation(app_id=app_id, organization_id="org-1")
        db.session.add(row)
        db.session.flush()
        row.access_token = "dal:old-access"
        row.refresh_token = "refresh-old"
        row.expires_at = utcnow() + (timedelta(hours=-1) if expired else timedelta(hours=1))
        db.session.commit()
        return row.id


ENDPOINTS = installs.Endpoints(ACCOUNTS, API)
