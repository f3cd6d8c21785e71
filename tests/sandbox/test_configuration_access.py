"""The Configuration API's credentials, scopes, license webhook state and request shapes."""

from __future__ import annotations

import json

import pytest
from sandbox_helpers import (
    ACME,
    ADA,
    NICK,
    Sandbox,
    api,
    bearer,
    error_of,
    other_organization_client,
    pat_for,
    provision,
    register,
    stored_webhooks,
    tokens,
    webhook_body,
)

from consoleapp.extensions import db

LISTED_KEYS = {"id", "url", "action", "filters", "owner_client_id", "type"}


# -- authentication and scopes -------------------------------------------------------------

BAD_CREDENTIALS = [
    ({}, "The Authorization header is missing."),
    ({"Authorization": "Bearer"}, "The Authorization header must be 'Bearer <token>' or "
     "'Basic <PAT>'."),
    ({"Authorization": "Token abc"}, "The Authorization header must be 'Bearer <token>' or "
     "'Basic <PAT>'."),
    ({"Authorization": "Bearer dal:not-a-token"}, "Invalid access token."),
    ({"Authorization": "Basic !!!"}, "Basic credentials must be base64 of account_id:PAT."),
    ({"Authorization": "Basic bm9jb2xvbg=="},
     "Basic credentials must be base64 of account_id:PAT."),
    ({"Authorization": "Basic YWNjb3VudDpkYWw6bm9wZQ=="}, "Invalid personal access token."),
]  # fmt: skip


@pytest.mark.parametrize(("headers", "message"), BAD_CREDENTIALS)
@pytest.mark.parametrize(
    "method", ["register_webhook", "list_webhooks", "get_license_webhooks_state"]
)
def test_bad_credentials(client, sandbox: Sandbox, headers, message, method):
    response = api(client, method, webhook_body(sandbox), headers)
    assert response.status_code == 401
    assert error_of(response) == ("authentication", message)


def test_pat_of_another_account_id_is_refused(app, client, sandbox: Sandbox):
    import base64

    value = base64.b64encode(f"{NICK}:{sandbox.pat}".encode()).decode()
    response = api(
        client,
        "list_webhooks",
        {"owner_client_id": sandbox.client_id},
        {"Authorization": f"Basic {value}"},
    )
    assert error_of(response) == ("authentication", "Invalid personal access token.")


@pytest.mark.parametrize(
    ("scopes", "method", "needed"),
    [
        (["webhooks.state:rw"], "register_webhook", "webhooks.configuration:rw"),
        (["webhooks.state:ro"], "list_webhooks", "webhooks.configuration:rw"),
        (["webhooks.state:ro"], "unregister_webhook", "webhooks.configuration:rw"),
        (["webhooks.configuration:rw"], "get_license_webhooks_state", "webhooks.state:ro"),
        (["webhooks.state:ro"], "enable_license_webhooks", "webhooks.state:rw"),
        (["webhooks.state:ro"], "disable_license_webhooks", "webhooks.state:rw"),
    ],
)
def test_pat_lacking_the_scope(app, client, sandbox: Sandbox, scopes, method, needed):
    headers = pat_for(app, ADA, scopes)
    body = (
        webhook_body(sandbox)
        if method == "register_webhook"
        else {"owner_client_id": sandbox.client_id, "id": "x"}
    )
    if method != "register_webhook" and method != "unregister_webhook":
        body.pop("id")
    response = api(client, method, body, headers)
    assert response.status_code == 403
    assert error_of(response) == (
        "authorization",
        f"The credential lacks the required scope: {needed}.",
    )
    assert stored_webhooks(app) == []


def test_rw_scope_covers_ro(app, client, sandbox: Sandbox):
    headers = pat_for(app, ADA, ["webhooks.state:rw"])
    response = api(
        client, "get_license_webhooks_state", {"owner_client_id": sandbox.client_id}, headers
    )
    assert response.status_code == 200


def test_revoked_pat_is_refused(app, client, sandbox: Sandbox):
    from consoleapp.models import utcnow
    from consoleapp.sandbox.accounts.models import SandboxPersonalAccessToken

    with app.app_context():
        for pat in db.session.execute(db.select(SandboxPersonalAccessToken)).scalars():
            pat.revoked_at = utcnow()
        db.session.commit()
    response = api(
        client, "list_webhooks", {"owner_client_id": sandbox.client_id}, sandbox.pat_headers
    )
    assert error_of(response) == ("authentication", "The personal access token was revoked.")


def test_oauth_token_with_fewer_scopes(client, sandbox: Sandbox):
    from sandbox_helpers import exchange, get_code

    code = get_code(client, sandbox, scope="webhooks.state:ro")
    token = exchange(client, sandbox, code).get_json()["access_token"]
    headers = bearer(token)
    assert api(client, "get_license_webhooks_state", {}, headers).status_code == 200
    response = api(client, "disable_license_webhooks", {}, headers)
    assert error_of(response) == (
        "authorization",
        "The credential lacks the required scope: webhooks.state:rw.",
    )
    assert error_of(register(client, sandbox, headers=headers))[0] == "authorization"


# -- license webhook state -----------------------------------------------------------------


def test_state_methods_with_a_pat_need_owner_client_id(client, sandbox: Sandbox):
    for method in (
        "enable_license_webhooks",
        "disable_license_webhooks",
        "get_license_webhooks_state",
    ):
        response = api(client, method, {}, sandbox.pat_headers)
        assert response.status_code == 400
        assert error_of(response) == (
            "validation",
            "`owner_client_id` is required when authorizing with a PAT",
        )


def test_state_methods_with_a_pat(client, sandbox: Sandbox):
    body = {"owner_client_id": sandbox.client_id}
    state = api(client, "get_license_webhooks_state", body, sandbox.pat_headers)
    assert state.get_json() == {"license_webhooks_enabled": True}
    assert api(client, "disable_license_webhooks", body, sandbox.pat_headers).get_json() == {}
    state = api(client, "get_license_webhooks_state", body, sandbox.pat_headers)
    assert state.get_json() == {"license_webhooks_enabled": False}
    assert api(client, "enable_license_webhooks", body, sandbox.pat_headers).get_json() == {}
    state = api(client, "get_license_webhooks_state", body, sandbox.pat_headers)
    assert state.get_json() == {"license_webhooks_enabled": True}


def test_state_with_a_pat_for_a_foreign_client(app, client, sandbox: Sandbox):
    foreign = other_organization_client(app)
    response = api(
        client, "disable_license_webhooks", {"owner_client_id": foreign}, sandbox.pat_headers
    )
    assert error_of(response)[0] == "authorization"


@pytest.mark.parametrize("version", ["3.5", "3.6"])
def test_owner_client_id_with_a_bearer_token_overrides_the_tokens_client(
    client, sandbox: Sandbox, version
):
    other = provision(client)
    headers = bearer(tokens(client, sandbox)["access_token"])
    response = api(
        client, "disable_license_webhooks", {"owner_client_id": other.client_id}, headers, version
    )
    assert response.status_code == 200
    mine = api(client, "get_license_webhooks_state", {}, headers, version).get_json()
    theirs = api(
        client, "get_license_webhooks_state", {"owner_client_id": other.client_id}, headers, version
    ).get_json()
    assert mine == {"license_webhooks_enabled": True}
    assert theirs == {"license_webhooks_enabled": False}


def test_bearer_of_another_license_acts_on_its_own_license(app, client, sandbox: Sandbox):
    from sandbox_helpers import GLOBEX_ADA

    acme = bearer(tokens(client, sandbox)["access_token"])
    globex = bearer(tokens(client, sandbox, GLOBEX_ADA)["access_token"])
    assert api(client, "disable_license_webhooks", {}, globex).status_code == 200
    assert api(client, "get_license_webhooks_state", {}, globex).get_json() == {
        "license_webhooks_enabled": False
    }
    assert api(client, "get_license_webhooks_state", {}, acme).get_json() == {
        "license_webhooks_enabled": True
    }
    # Globex may not touch a client that is neither its own nor installed on its license.
    stranger = provision(client)
    response = api(
        client, "get_license_webhooks_state", {"owner_client_id": stranger.client_id}, globex
    )
    assert error_of(response)[0] == "authorization"


def test_disable_before_install_is_sticky(app, client, sandbox: Sandbox):
    body = {"owner_client_id": sandbox.client_id}
    api(client, "disable_license_webhooks", body, sandbox.pat_headers)
    headers = bearer(tokens(client, sandbox)["access_token"])
    assert api(client, "get_license_webhooks_state", {}, headers).get_json() == {
        "license_webhooks_enabled": False
    }
    api(client, "enable_license_webhooks", {}, headers)
    assert api(client, "get_license_webhooks_state", body, sandbox.pat_headers).get_json() == {
        "license_webhooks_enabled": True
    }


# -- request shape -------------------------------------------------------------------------


def post_raw(client, path: str, data: bytes | str, content_type: str, headers=None):
    return client.post(path, data=data, content_type=content_type, headers=headers or {})


ACTION = "/sandbox/api/v3.6/configuration/action/list_webhooks"


@pytest.mark.parametrize(
    ("data", "content_type", "message"),
    [
        ("{", "application/json", "The request body is not valid JSON"),
        ("", "application/json", "The request body is not valid JSON"),
        (b"\xff\xfe", "application/json", "The request body is not valid JSON"),
        ("[1]", "application/json", "The request body must be a JSON object"),
        ('"x"', "application/json", "The request body must be a JSON object"),
        ("{}", "text/plain", "`Content-Type` must be application/json"),
        ("owner_client_id=x", "application/x-www-form-urlencoded",
         "`Content-Type` must be application/json"),
    ],
)  # fmt: skip
def test_malformed_requests(client, sandbox: Sandbox, data, content_type, message):
    response = post_raw(client, ACTION, data, content_type, sandbox.pat_headers)
    assert response.status_code == 400
    assert error_of(response) == ("validation", message)


def test_json_with_charset_is_accepted(client, sandbox: Sandbox):
    response = post_raw(
        client,
        ACTION,
        json.dumps({"owner_client_id": sandbox.client_id}),
        "application/json; charset=utf-8",
        sandbox.pat_headers,
    )
    assert response.status_code == 200


@pytest.mark.parametrize("version", ["3.3", "3.4", "3.7", "4", "x"])
def test_unsupported_versions(client, sandbox: Sandbox, version):
    response = api(client, "list_webhooks", {}, sandbox.pat_headers, version)
    assert response.status_code == 400
    assert error_of(response)[0] == "unsupported_version"


@pytest.mark.parametrize("method", ["list_agents", "register_webhooks", "x" * 300])
def test_unknown_methods(client, sandbox: Sandbox, method):
    response = api(client, method, {}, sandbox.pat_headers)
    assert response.status_code == 404
    assert error_of(response)[0] == "not_found"


@pytest.mark.parametrize("verb", ["get", "put", "delete", "patch"])
def test_other_http_methods(client, verb):
    response = getattr(client, verb)(ACTION)
    assert response.status_code == 405
    assert error_of(response)[0] == "validation"


@pytest.mark.parametrize(
    "path", ["/sandbox/api/", "/sandbox/api/v3.6/agent/action/x", "/sandbox/api/nothing"]
)
def test_unknown_paths_get_livechat_errors(client, path):
    response = client.post(path, json={})
    assert response.status_code == 404
    assert error_of(response)[0] == "not_found"


def test_oversized_body(client, sandbox: Sandbox):
    data = '{"description": "' + "x" * (1024 * 1024 + 10) + '"}'
    response = post_raw(client, ACTION, data, "application/json", sandbox.pat_headers)
    assert response.status_code == 413
    assert error_of(response)[0] == "entity_too_large"


def test_unexpected_failure_is_internal_and_stores_nothing(app, client, sandbox, monkeypatch):
    from consoleapp.sandbox.configuration_api import webhooks

    def explode() -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(webhooks.faults, "webhook_active_from", explode)
    response = register(client, sandbox)
    assert response.status_code == 500
    assert error_of(response) == ("internal", "Internal server error")
    assert stored_webhooks(app) == []


def test_seeded_organization_owns_provisioned_clients(client, sandbox: Sandbox):
    assert sandbox.organization_id == ACME
    assert sandbox.account_id == ADA
