"""The sandbox's accounts server, through HTTP: /v2/token, /v2/info and revocation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sandbox_helpers import (
    ACME,
    ADA,
    GLOBEX,
    GLOBEX_ADA,
    REDIRECT_URI,
    TOKEN_FIELDS,
    Sandbox,
    api,
    bearer,
    exchange,
    get_code,
    pkce_pair,
    tokens,
)

from consoleapp.extensions import db
from consoleapp.models import utcnow
from consoleapp.sandbox.accounts.models import SandboxAuthorizationCode, SandboxToken

# -- /v2/token: authorization_code ---------------------------------------------------------


@pytest.mark.parametrize("as_json", [False, True], ids=["form", "json"])
def test_code_exchange_returns_livechat_token_fields(client, sandbox: Sandbox, as_json):
    verifier, challenge = pkce_pair()
    code = get_code(client, sandbox, code_challenge=challenge, code_challenge_method="S256")
    response = exchange(client, sandbox, code, as_json=as_json, code_verifier=verifier)
    body = response.get_json()
    assert response.status_code == 200
    assert set(body) == TOKEN_FIELDS
    assert body["access_token"].startswith("dal:")
    assert ":" not in body["refresh_token"]
    assert body["expires_in"] == 28800
    assert body["token_type"] == "Bearer"
    assert body["account_id"] == ADA and body["organization_id"] == ACME
    assert (
        body["scope"] == "webhooks.configuration:rw,webhooks.state:rw,webhooks.state:ro,"
        "accounts--my:ro"
    )
    assert response.headers["Cache-Control"] == "no-store"


def test_tokens_of_a_fra_organization_carry_its_region(client, sandbox: Sandbox):
    body = tokens(client, sandbox, GLOBEX_ADA)
    assert body["access_token"].startswith("fra:")
    assert body["organization_id"] == GLOBEX


@pytest.mark.parametrize("method", ["plain", "s256", "S256"])
def test_pkce_methods(client, sandbox: Sandbox, method):
    verifier, challenge = pkce_pair(method)
    code = get_code(client, sandbox, code_challenge=challenge, code_challenge_method=method)
    assert exchange(client, sandbox, code, code_verifier=verifier).status_code == 200


def test_pkce_defaults_to_plain(client, sandbox: Sandbox):
    verifier, _ = pkce_pair("plain")
    code = get_code(client, sandbox, code_challenge=verifier)
    assert exchange(client, sandbox, code, code_verifier=verifier).status_code == 200


@pytest.mark.parametrize(
    ("verifier", "description"),
    [
        (None, "code_verifier is missing"),
        ("x" * 43, "does not match"),
        ("bad verifier", "code_verifier is missing or malformed"),
    ],
)
def test_pkce_verifier_is_checked(client, sandbox: Sandbox, verifier, description):
    _, challenge = pkce_pair()
    code = get_code(client, sandbox, code_challenge=challenge, code_challenge_method="S256")
    response = exchange(client, sandbox, code, code_verifier=verifier)
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_grant"
    assert description in response.get_json()["error_description"]


def test_verifier_without_a_challenge_is_refused(client, sandbox: Sandbox):
    code = get_code(client, sandbox)
    response = exchange(client, sandbox, code, code_verifier="v" * 50)
    assert response.get_json()["error"] == "invalid_grant"


def test_code_is_single_use(client, sandbox: Sandbox):
    code = get_code(client, sandbox)
    assert exchange(client, sandbox, code).status_code == 200
    again = exchange(client, sandbox, code)
    assert again.status_code == 400
    assert again.get_json()["error"] == "invalid_grant"
    assert "already used" in again.get_json()["error_description"]


def test_code_expires_after_a_few_minutes(app, client, sandbox: Sandbox):
    code = get_code(client, sandbox)
    with app.app_context():
        row = db.session.execute(db.select(SandboxAuthorizationCode)).scalar_one()
        assert timedelta(minutes=1) < row.expires_at - row.created_at <= timedelta(minutes=10)
        row.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    response = exchange(client, sandbox, code)
    assert response.get_json()["error"] == "invalid_grant"
    assert "expired" in response.get_json()["error_description"]


BAD_EXCHANGE = [
    ({"grant_type": None}, 422, "invalid_request", "grant_type is required"),
    ({"grant_type": "password"}, 403, "unsupported_grant_type", "grant_type must be"),
    ({"code": None}, 422, "invalid_request", "code is required"),
    ({"redirect_uri": None}, 422, "invalid_request", "redirect_uri is required"),
    ({"client_id": None}, 422, "invalid_request", "client_id is required"),
    ({"client_id": "f" * 32}, 401, "unauthorized_client", "Unknown client_id"),
    ({"client_secret": None}, 422, "invalid_request", "client_secret is required"),
    ({"client_secret": "wrong"}, 401, "unauthorized_client", "Wrong client_secret"),
    ({"code": "dal:not-a-code"}, 400, "invalid_grant", "unknown"),
    ({"redirect_uri": REDIRECT_URI + "/other"}, 401, "unauthorized_client", "redirect_uri"),
]


@pytest.mark.parametrize(("changes", "status", "error", "description"), BAD_EXCHANGE)
def test_bad_code_exchange_gets_livechat_error(
    client, sandbox: Sandbox, changes, status, error, description
):
    code = get_code(client, sandbox)
    body = {"code": code, **changes}
    response = exchange(client, sandbox, **body)
    assert response.status_code == status
    payload = response.get_json()
    assert payload["error"] == error
    assert description in payload["error_description"]
    assert set(payload) == {"error", "error_description", "request_id"}


def test_client_secret_in_a_basic_header_is_not_enough(client, sandbox: Sandbox):
    code = get_code(client, sandbox)
    response = client.post(
        "/sandbox/accounts/v2/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "client_id": sandbox.client_id,
            "redirect_uri": REDIRECT_URI,
        },
        auth=(sandbox.client_id, sandbox.client_secret),
    )
    assert response.status_code == 422
    assert (
        "client_secret is required in the request body" in response.get_json()["error_description"]
    )


def test_malformed_json_token_request(client):
    response = client.post(
        "/sandbox/accounts/v2/token", data="[1]", content_type="application/json"
    )
    assert response.status_code == 422
    assert response.get_json()["error"] == "invalid_request"


# -- refresh, limits, info, revoke ---------------------------------------------------------


def refresh(client: FlaskClient, sandbox: Sandbox, refresh_token: str, as_json: bool = False):
    body = {
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
        "client_id": sandbox.client_id,
        "client_secret": sandbox.client_secret,
    }
    if as_json:
        return client.post("/sandbox/accounts/v2/token", json=body)
    return client.post("/sandbox/accounts/v2/token", data=body)


@pytest.mark.parametrize("as_json", [False, True], ids=["form", "json"])
def test_refresh_issues_a_new_access_token_and_keeps_the_refresh_token(
    client, sandbox: Sandbox, as_json
):
    first = tokens(client, sandbox)
    response = refresh(client, sandbox, first["refresh_token"], as_json)
    body = response.get_json()
    assert response.status_code == 200 and set(body) == TOKEN_FIELDS
    assert body["access_token"] != first["access_token"]
    assert body["refresh_token"] == first["refresh_token"]
    assert body["scope"] == first["scope"]
    info = client.get("/sandbox/accounts/v2/info", headers=bearer(body["access_token"]))
    assert info.status_code == 200


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"refresh_token": "nope"}, "invalid_grant"),
        ({"client_secret": "wrong"}, "unauthorized_client"),
        ({"refresh_token": None}, "invalid_request"),
    ],
)
def test_bad_refresh(client, sandbox: Sandbox, changes, error):
    first = tokens(client, sandbox)
    body = {
        "grant_type": "refresh_token",
        "refresh_token": first["refresh_token"],
        "client_id": sandbox.client_id,
        "client_secret": sandbox.client_secret,
        **changes,
    }
    body = {key: value for key, value in body.items() if value is not None}
    response = client.post("/sandbox/accounts/v2/token", data=body)
    assert response.get_json()["error"] == error


def test_refresh_token_of_another_client_is_refused(client, sandbox: Sandbox):
    from sandbox_helpers import provision

    other = provision(client)
    first = tokens(client, sandbox)
    response = refresh(client, other, first["refresh_token"])
    assert response.get_json()["error"] == "invalid_grant"


def test_at_most_25_tokens_per_client_and_account(app, client, sandbox: Sandbox):
    first = tokens(client, sandbox)
    latest = first
    for _ in range(25):
        latest = refresh(client, sandbox, latest["refresh_token"]).get_json()
    old = client.get("/sandbox/accounts/v2/info", headers=bearer(first["access_token"]))
    assert old.status_code == 401
    new = client.get("/sandbox/accounts/v2/info", headers=bearer(latest["access_token"]))
    assert new.status_code == 200
    with app.app_context():
        live = db.session.execute(
            db.select(db.func.count())
            .select_from(SandboxToken)
            .where(SandboxToken.revoked_at.is_(None))
        ).scalar_one()
    assert live == 25


def test_tokens_of_other_accounts_do_not_count_toward_the_limit(client, sandbox: Sandbox):
    ada = tokens(client, sandbox)
    # Refreshes, not sign-ins: a fourth sign-in within 30 s is too_many_redirects.
    other = tokens(client, sandbox, GLOBEX_ADA)
    for _ in range(26):
        other = refresh(client, sandbox, other["refresh_token"]).get_json()
    info = client.get("/sandbox/accounts/v2/info", headers=bearer(ada["access_token"]))
    assert info.status_code == 200


@pytest.mark.parametrize("how", ["header", "query"])
def test_info_describes_the_token(client, sandbox: Sandbox, how):
    issued = tokens(client, sandbox)
    if how == "header":
        response = client.get("/sandbox/accounts/v2/info", headers=bearer(issued["access_token"]))
    else:
        response = client.get(
            "/sandbox/accounts/v2/info", query_string={"code": issued["access_token"]}
        )
    body = response.get_json()
    assert response.status_code == 200
    assert body["client_id"] == sandbox.client_id
    assert body["account_id"] == ADA and body["organization_id"] == ACME
    assert body["scope"] == issued["scope"] and body["token_type"] == "Bearer"
    assert 28790 <= body["expires_in"] <= 28800
    assert body["access_token"] == issued["access_token"]


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer dal:unknown"}, {"Authorization": "Basic abc"}]
)
def test_info_refuses_unknown_tokens(client, headers):
    response = client.get("/sandbox/accounts/v2/info", headers=headers)
    assert response.status_code == 401
    assert response.get_json()["error"] == "unauthorized"


def test_info_refuses_expired_tokens(app, client, sandbox: Sandbox):
    issued = tokens(client, sandbox)
    with app.app_context():
        for row in db.session.execute(db.select(SandboxToken)).scalars():
            row.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    response = client.get("/sandbox/accounts/v2/info", headers=bearer(issued["access_token"]))
    assert response.status_code == 401
    listed = api(
        client,
        "list_webhooks",
        {"owner_client_id": sandbox.client_id},
        bearer(issued["access_token"]),
    )
    assert listed.status_code == 401
    assert listed.get_json()["error"]["message"] == "The access token has expired."


@pytest.mark.parametrize("how", ["header", "query"])
def test_revoking_an_access_token_revokes_its_refresh_token(client, sandbox: Sandbox, how):
    issued = tokens(client, sandbox)
    if how == "header":
        response = client.delete(
            "/sandbox/accounts/v2/token", headers=bearer(issued["access_token"])
        )
    else:
        response = client.delete(
            "/sandbox/accounts/v2/token", query_string={"code": issued["access_token"]}
        )
    assert response.status_code == 200 and response.get_json() == {}
    info = client.get("/sandbox/accounts/v2/info", headers=bearer(issued["access_token"]))
    assert info.status_code == 401
    assert refresh(client, sandbox, issued["refresh_token"]).get_json()["error"] == (
        "invalid_grant"
    )
    listed = api(
        client,
        "list_webhooks",
        {"owner_client_id": sandbox.client_id},
        bearer(issued["access_token"]),
    )
    assert listed.status_code == 401
    assert listed.get_json()["error"]["type"] == "authentication"
    again = client.delete("/sandbox/accounts/v2/token", headers=bearer(issued["access_token"]))
    assert again.status_code == 404


def test_revoking_a_refresh_token_revokes_its_access_token(client, sandbox: Sandbox):
    issued = tokens(client, sandbox)
    response = client.delete("/sandbox/accounts/v2/token", headers=bearer(issued["refresh_token"]))
    assert response.status_code == 200
    info = client.get("/sandbox/accounts/v2/info", headers=bearer(issued["access_token"]))
    assert info.status_code == 401


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        ({"headers": {"Authorization": "Bearer dal:unknown"}}, 404),
        ({"query_string": {"code": "unknown"}}, 404),
        ({}, 401),
    ],
)
def test_revoking_unknown_tokens(client, kwargs, status):
    response = client.delete("/sandbox/accounts/v2/token", **kwargs)
    assert response.status_code == status
    assert "error" in response.get_json()
