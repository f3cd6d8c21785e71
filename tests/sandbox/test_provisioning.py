"""Provisioning for the console, client whitelist updates and the ``flask sandbox`` commands."""

from __future__ import annotations

import base64
import json

import pytest
from sandbox_helpers import ACME, ADA, REDIRECT_URI, api, authorize_params, error_of, provision

from consoleapp.extensions import db
from consoleapp.sandbox.accounts.models import SandboxClient, SandboxOrganization
from consoleapp.sandbox.accounts.seed import ensure_seeded
from consoleapp.sandbox.configuration_api.models import SandboxWebhook


def test_provision_returns_a_ready_app(app, client):
    response = client.post(
        "/sandbox/provision", json={"name": "Helpdesk", "redirect_uris": [REDIRECT_URI]}
    )
    body = response.get_json()
    assert response.status_code == 201
    assert set(body) == {
        "client_id",
        "client_secret",
        "organization_id",
        "account_id",
        "personal_access_token",
        "basic_authorization",
        "authorization_header",
    }
    assert body["organization_id"] == ACME and body["account_id"] == ADA
    assert len(body["client_id"]) == 32
    decoded = base64.b64decode(body["basic_authorization"]).decode()
    assert decoded == f"{ADA}:{body['personal_access_token']}"
    assert body["authorization_header"] == f"Basic {body['basic_authorization']}"
    with app.app_context():
        stored = db.session.get(SandboxClient, body["client_id"])
        assert stored.redirect_uris == [REDIRECT_URI]
        assert body["client_secret"] not in stored.secret_hash
    # The PAT registers webhooks for the new client at once.
    headers = {"Authorization": body["authorization_header"]}
    registered = api(
        client,
        "register_webhook",
        {
            "action": "incoming_chat",
            "secret_key": "k",
            "url": "https://hooks.example/x",
            "owner_client_id": body["client_id"],
            "type": "license",
        },
        headers,
    )
    assert registered.status_code == 200


def test_provision_is_exempt_from_csrf(app_factory):
    app = app_factory(WTF_CSRF_ENABLED=True)
    response = app.test_client().post("/sandbox/provision", json={"name": "x"})
    assert response.status_code == 201


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "`name` must be a string of 1 to 100 characters"),
        ({"name": ""}, "`name` must be a string of 1 to 100 characters"),
        ({"name": "n" * 101}, "`name` must be a string of 1 to 100 characters"),
        ({"name": "x", "redirect_uris": "https://a.example"}, "`redirect_uris` must be an array"),
        ({"name": "x", "redirect_uris": ["ftp://a.example"]}, "`redirect_uris`: “ftp://a"),
        ({"name": "x", "redirect_uris": ["https://a.example/?q=1"]}, "`redirect_uris`: Whitelist"),
        ({"name": "x", "redirect_uris": ["https://a.example"] * 21}, "`redirect_uris` takes at"),
        ({"name": "x", "scopes": ["not a scope"]}, "`scopes` must be a non-empty array"),
        ({"name": "x", "scopes": []}, "`scopes` must be a non-empty array"),
    ],
)
def test_bad_provision_requests(app, client, body, message):
    response = client.post("/sandbox/provision", json=body)
    assert response.status_code == 400
    type_, text = error_of(response)
    assert type_ == "validation" and text.startswith(message)
    with app.app_context():
        assert db.session.execute(db.select(SandboxClient)).first() is None


def test_provision_needs_json(client):
    response = client.post("/sandbox/provision", data={"name": "x"})
    assert response.status_code == 400
    assert error_of(response)[0] == "validation"


def test_redirect_uri_whitelist_update(client):
    sandbox = provision(client, redirect_uris=[])
    new_uri = "http://127.0.0.1:5000/apps/1/installed"
    params = authorize_params(sandbox, redirect_uri=new_uri)
    before = client.get("/sandbox/accounts/", query_string=params)
    assert "invalid_redirect_uri" in before.headers["Location"]
    response = client.post(
        f"/sandbox/clients/{sandbox.client_id}/redirect-uris", json={"redirect_uris": [new_uri]}
    )
    assert response.status_code == 200
    assert response.get_json() == {"client_id": sandbox.client_id, "redirect_uris": [new_uri]}
    assert client.get("/sandbox/accounts/", query_string=params).status_code == 200


@pytest.mark.parametrize(
    ("path", "body", "status", "type_"),
    [
        ("/sandbox/clients/nope/redirect-uris", {"redirect_uris": []}, 404, "not_found"),
        ("/sandbox/clients/{id}/redirect-uris", {}, 400, "validation"),
        ("/sandbox/clients/{id}/redirect-uris", {"redirect_uris": [1]}, 400, "validation"),
        ("/sandbox/clients/{id}/scopes", {"scopes": "a:rw"}, 400, "validation"),
        ("/sandbox/clients/nope/scopes", {"scopes": ["a:rw"]}, 404, "not_found"),
    ],
)
def test_bad_client_updates(client, path, body, status, type_):
    sandbox = provision(client)
    response = client.post(path.replace("{id}", sandbox.client_id), json=body)
    assert response.status_code == status
    assert error_of(response)[0] == type_


def test_scope_update_changes_what_the_consent_page_asks(client):
    sandbox = provision(client)
    response = client.post(
        f"/sandbox/clients/{sandbox.client_id}/scopes",
        json={"scopes": ["webhooks.state:ro", "chats--all:ro"]},
    )
    assert response.get_json()["scopes"] == ["webhooks.state:ro", "chats--all:ro"]
    page = client.get("/sandbox/accounts/", query_string=authorize_params(sandbox))
    assert "chats--all:ro" in page.get_data(as_text=True)
    assert "webhooks.configuration:rw" not in page.get_data(as_text=True)


def test_seeding_is_idempotent(app):
    with app.app_context():
        ensure_seeded()
        ensure_seeded()
        db.session.commit()
        organizations = db.session.execute(db.select(SandboxOrganization)).scalars().all()
        assert sorted(org.name for org in organizations) == ["Acme Support", "Globex Help Desk"]
        for org in organizations:
            roles = sorted((account.name, account.role) for account in org.accounts)
            assert roles == [("Ada Admin", "administrator"), ("Nick Normal", "normal")]


# -- flask sandbox ... ---------------------------------------------------------------------


def test_cli_create_client(app, runner):
    result = runner.invoke(
        args=["sandbox", "create-client", "--redirect-uri", REDIRECT_URI,
              "--redirect-uri", "http://127.0.0.1:5000/cb"]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["redirect_uris"] == [REDIRECT_URI, "http://127.0.0.1:5000/cb"]
    assert body["organization_id"] == ACME
    with app.app_context():
        assert db.session.get(SandboxClient, body["client_id"]) is not None


def test_cli_create_client_refuses_bad_uris(runner):
    result = runner.invoke(args=["sandbox", "create-client", "--redirect-uri", "https://a/?x"])
    assert result.exit_code != 0
    assert "query string" in result.output


def test_cli_create_pat(client, runner):
    sandbox = provision(client)
    result = runner.invoke(
        args=["sandbox", "create-pat", "--scopes", "webhooks.configuration:rw",
              "--scopes", "webhooks.state:ro"]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["account_id"] == ADA
    assert body["scopes"] == ["webhooks.configuration:rw", "webhooks.state:ro"]
    assert base64.b64decode(body["basic_authorization"]).decode() == (
        f"{ADA}:{body['personal_access_token']}"
    )
    headers = {"Authorization": body["authorization_header"]}
    listed = api(client, "list_webhooks", {"owner_client_id": sandbox.client_id}, headers)
    assert listed.status_code == 200
    refused = api(
        client, "disable_license_webhooks", {"owner_client_id": sandbox.client_id}, headers
    )
    assert error_of(refused)[0] == "authorization"


def test_cli_create_pat_refuses_bad_scopes(runner):
    result = runner.invoke(args=["sandbox", "create-pat", "--scopes", "everything"])
    assert result.exit_code != 0


def test_cli_reset_empties_and_reseeds(app, client, runner):
    sandbox = provision(client)
    api(
        client,
        "register_webhook",
        {
            "action": "incoming_chat",
            "secret_key": "k",
            "url": "https://h.example/",
            "owner_client_id": sandbox.client_id,
            "type": "license",
        },
        sandbox.pat_headers,
    )
    result = runner.invoke(args=["sandbox", "reset"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["reset"] is True
    with app.app_context():
        assert db.session.execute(db.select(SandboxClient)).first() is None
        assert db.session.execute(db.select(SandboxWebhook)).first() is None
        assert len(db.session.execute(db.select(SandboxOrganization)).all()) == 2
