"""The sandbox's accounts server, through HTTP: the sign-in and consent page."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from sandbox_helpers import (
    ADA,
    NICK,
    REDIRECT_URI,
    Sandbox,
    api,
    authorize_params,
    bearer,
    decide,
    exchange,
    installation,
    query_of,
    tokens,
)

from consoleapp.extensions import db
from consoleapp.sandbox.accounts.models import SandboxAuthorizationCode

# -- authorize page --------------------------------------------------------------------------


def test_authorize_page_reads_like_livechat_sign_in_and_consent(client, sandbox: Sandbox):
    response = client.get("/sandbox/accounts/", query_string=authorize_params(sandbox))
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Sign in to continue to Helpdesk hooks" in page
    assert "wants access to your LiveChat account" in page
    for text in ("Ada Admin", "Nick Normal", "Acme Support", "Globex Help Desk"):
        assert text in page
    assert "webhooks.configuration:rw" in page and "webhooks.state:rw" in page
    assert 'value="allow"' in page and 'value="deny"' in page
    assert "<script>" not in page and "style=" not in page
    assert "css/sandbox.css" in page


def test_authorize_without_trailing_slash_keeps_the_query(client, sandbox: Sandbox):
    response = client.get("/sandbox/accounts", query_string=authorize_params(sandbox))
    assert response.status_code == 308
    assert "client_id=" in response.headers["Location"]


BAD_AUTHORIZE = [
    ({"client_id": None}, "unauthorized_client", "client_id_not_found"),
    ({"client_id": "0" * 32}, "unauthorized_client", "client_id_not_found"),
    ({"redirect_uri": None}, "unauthorized_client", "redirect_uri_not_set"),
    (
        {"redirect_uri": "https://evil.example/oauth/callback"},
        "unauthorized_client",
        "invalid_redirect_uri",
    ),
    (
        {"redirect_uri": "http://console.example/oauth/callback"},
        "unauthorized_client",
        "invalid_redirect_uri",
    ),
    (
        {"redirect_uri": "https://console.example:8443/oauth/callback"},
        "unauthorized_client",
        "invalid_redirect_uri",
    ),
    (
        {"redirect_uri": "https://console.example/oauth"},
        "unauthorized_client",
        "invalid_redirect_uri",
    ),
    (
        {"redirect_uri": "https://console.example/oauth/callback/../../admin"},
        "unauthorized_client",
        "invalid_redirect_uri",
    ),
    ({"response_type": None}, "unsupported_response_type", None),
    ({"response_type": "token"}, "unsupported_response_type", None),
    ({"code_challenge_method": "S256"}, "invalid_request", None),
    ({"code_challenge": "a" * 43, "code_challenge_method": "S512"}, "invalid_request", None),
    ({"code_challenge": "short", "code_challenge_method": "S256"}, "invalid_request", None),
    ({"code_challenge": "a" * 129}, "invalid_request", None),
    ({"scope": "chats--all:rw"}, "invalid_scope", None),
]


@pytest.mark.parametrize(("overrides", "exception", "details"), BAD_AUTHORIZE)
def test_bad_authorize_request_lands_on_the_error_page(
    client, sandbox: Sandbox, overrides, exception, details
):
    params = authorize_params(sandbox, **overrides)
    response = client.get("/sandbox/accounts/", query_string=params)
    assert response.status_code == 302
    location = response.headers["Location"]
    assert urlsplit(location).path == "/sandbox/accounts/ooops"
    query = query_of(location)
    assert query["oauth_exception"] == exception
    assert query.get("exception_details") == details
    page = client.get(location)
    assert page.status_code == 400
    assert exception in page.get_data(as_text=True)
    # The same request posted back from the consent form is refused the same way.
    posted = decide(client, params)
    assert posted.headers["Location"] == location


def test_redirect_uri_under_a_whitelisted_prefix_is_accepted(client, sandbox: Sandbox):
    uri = REDIRECT_URI + "/popup?next=1"
    response = decide(client, authorize_params(sandbox, redirect_uri=uri))
    location = response.headers["Location"]
    assert location.startswith(uri + "&code=")
    assert query_of(location)["next"] == "1"


def test_allow_redirects_with_code_and_unchanged_state_and_installs(app, client, sandbox):
    state = "a b&c=d/é?"
    response = decide(client, authorize_params(sandbox, state=state))
    assert response.status_code == 302
    query = query_of(response.headers["Location"])
    assert query["state"] == state
    assert re.fullmatch(r"dal:[A-Za-z0-9_\-]+", query["code"])
    row = installation(app, sandbox.client_id)
    assert row is not None and row.installed_at is not None and row.webhooks_enabled


def test_deny_redirects_with_access_denied_and_no_code(app, client, sandbox: Sandbox):
    response = decide(client, authorize_params(sandbox), decision="deny")
    query = query_of(response.headers["Location"])
    assert query["error"] == "access_denied"
    assert query["state"] == "st4te-xyz"
    assert "code" not in query
    assert installation(app, sandbox.client_id) is None


def test_plain_agent_cannot_grant_administrator_scopes(app, client, sandbox: Sandbox):
    response = decide(client, authorize_params(sandbox), account_id=NICK)
    query = query_of(response.headers["Location"])
    assert query["error"] == "invalid_scope"
    assert query["state"] == "st4te-xyz"
    assert "code" not in query
    assert installation(app, sandbox.client_id) is None
    with app.app_context():
        assert db.session.execute(db.select(SandboxAuthorizationCode)).first() is None


def test_plain_agent_may_grant_agent_scopes(client, sandbox: Sandbox):
    response = decide(client, authorize_params(sandbox, scope="accounts--my:ro"), NICK)
    assert "code" in query_of(response.headers["Location"])


@pytest.mark.parametrize(
    "form", [{"decision": "allow"}, {"decision": "allow", "account_id": "nobody"}, {}]
)
def test_consent_without_a_valid_choice_is_shown_again(client, sandbox: Sandbox, form):
    data = {**authorize_params(sandbox), **form}
    response = client.post("/sandbox/accounts/", data=data)
    assert response.status_code == 400
    assert "Choose the account to sign in with" in response.get_data(as_text=True)


def test_consent_form_is_csrf_protected(app_factory):
    app = app_factory(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    from sandbox_helpers import provision

    sandbox = provision(client)
    params = authorize_params(sandbox)
    refused = decide(client, params)
    assert refused.status_code == 400
    page = client.get("/sandbox/accounts/", query_string=params).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    allowed = client.post(
        "/sandbox/accounts/",
        data={**params, "csrf_token": token, "account_id": ADA, "decision": "allow"},
    )
    assert allowed.status_code == 302 and "code=" in allowed.headers["Location"]
    # The token endpoint is a machine endpoint: no CSRF token.
    code = query_of(allowed.headers["Location"])["code"]
    assert exchange(client, sandbox, code).status_code == 200


def test_sticky_disable_survives_reinstall(app, client, sandbox: Sandbox):
    issued = tokens(client, sandbox)
    headers = bearer(issued["access_token"])
    assert api(client, "disable_license_webhooks", {}, headers).status_code == 200
    tokens(client, sandbox)  # authorizes (installs) again
    state = api(client, "get_license_webhooks_state", {}, headers).get_json()
    assert state == {"license_webhooks_enabled": False}
    assert installation(app, sandbox.client_id).webhooks_enabled is False
