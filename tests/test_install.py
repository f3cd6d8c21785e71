"""Private installation: "Install app", the Direct installation URL, tokens, disconnecting
(CHECKS.md O1-O13, R11)."""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses

from consoleapp.extensions import db
from consoleapp.models import App, Installation, Role, utcnow
from install_support import (
    ACCOUNTS,
    CODE,
    ENABLE_URL,
    EXPIRED,
    SECRET,
    STATE_URL,
    TOKEN_URL,
    TOKENS,
    add_install_app,
    installed,
    token_rows,
)
from support import add_user, sign_in, text_of

# -- fixtures ------------------------------------------------------------------------------


@pytest.fixture
def app_id(app) -> int:
    return add_install_app(app)


def start(client, app_id: int) -> dict[str, str]:
    """Start a sign-in; the authorize URL's parameters."""
    response = client.post(f"/apps/{app_id}/install/start")
    assert response.status_code == 302
    location = response.headers["Location"]
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


def callback(client, app_id: int, **params: str):
    return client.get(f"/apps/{app_id}/install/callback", query_string=params)


def mock_happy_token(mock: responses.RequestsMock, webhooks_on: bool = True) -> None:
    mock.post(TOKEN_URL, json=TOKENS)
    mock.post(STATE_URL, json={"license_webhooks_enabled": webhooks_on})
    if not webhooks_on:
        mock.post(ENABLE_URL, json={})


# -- O1: starting ----------------------------------------------------------------------------


def test_o1_start_redirects_with_state_and_s256_and_writes_nothing(app, owner, app_id):
    with app.app_context():
        before = db.session.execute(db.select(db.func.count()).select_from(App)).scalar_one()
    response = owner.post(f"/apps/{app_id}/install/start")
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == f"{ACCOUNTS}/"
    params = parse_qs(location.query)
    assert params["response_type"] == ["code"]
    assert params["client_id"] == ["client-abc"]
    assert params["redirect_uri"] == ["http://127.0.0.1:5000/apps/1/install/callback"]
    assert params["code_challenge_method"] == ["S256"]
    assert len(params["code_challenge"][0]) == 43
    assert len(params["state"][0]) >= 32
    assert token_rows(app) == []
    with app.app_context():
        after = db.session.execute(db.select(db.func.count()).select_from(App)).scalar_one()
    assert before == after


def test_start_needs_an_editor_and_a_post(app, client, app_id):
    sign_in(client, add_user(app, "viewer@example.com", Role.VIEWER))
    assert client.post(f"/apps/{app_id}/install/start").status_code == 403
    assert client.get(f"/apps/{app_id}/install/start").status_code == 405


def test_start_without_authorization_settings_says_what_to_do(app, owner):
    with app.app_context():
        row = App(name="Bare")
        db.session.add(row)
        db.session.commit()
        bare_id = row.id
    response = owner.post(f"/apps/{bare_id}/install/start", follow_redirects=True)
    assert "Fill in the app's Client ID" in text_of(response)


# -- O2-O6: callbacks that must not exchange anything ----------------------------------------


@responses.activate(assert_all_requests_are_fired=True)
def test_o2_wrong_state_is_refused_without_a_token_request(app, owner, app_id):
    start(owner, app_id)
    response = callback(owner, app_id, code=CODE, state="not-the-state")
    assert response.status_code == 400
    assert EXPIRED in text_of(response)
    assert len(responses.calls) == 0
    assert token_rows(app) == []


@responses.activate(assert_all_requests_are_fired=True)
def test_o2_odd_states_are_refused_too(app, owner, app_id):
    start(owner, app_id)
    for state in ("é", "x" * 5000, "", "%00"):
        response = callback(owner, app_id, code=CODE, state=state)
        assert response.status_code == 400
        assert EXPIRED in text_of(response)
    assert len(responses.calls) == 0


@responses.activate(assert_all_requests_are_fired=True)
def test_o3_right_state_in_a_fresh_cookie_jar_is_refused(app, owner, app_id):
    state = start(owner, app_id)["state"]
    stranger = app.test_client()
    sign_in(stranger, 1)  # even the same user, signed in elsewhere
    response = callback(stranger, app_id, code=CODE, state=state)
    assert response.status_code == 400
    assert EXPIRED in text_of(response)
    anonymous = app.test_client()
    response = callback(anonymous, app_id, code=CODE, state=state)
    assert response.status_code == 400
    assert EXPIRED in text_of(response)
    assert len(responses.calls) == 0
    assert token_rows(app) == []


@responses.activate(assert_all_requests_are_fired=True)
def test_o4_code_without_state_offers_a_fresh_sign_in(app, owner, app_id):
    response = callback(owner, app_id, code=CODE)
    page = text_of(response)
    assert response.status_code == 400
    assert EXPIRED in page
    assert "Start sign-in" in page
    assert f'action="/apps/{app_id}/install/start"' in page
    assert len(responses.calls) == 0
    assert token_rows(app) == []


def test_o5_replaying_a_successful_callback_is_refused(app, owner, app_id):
    state = start(owner, app_id)["state"]
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock_happy_token(mock)
        first = callback(owner, app_id, code=CODE, state=state)
        assert first.status_code == 200
        second = callback(owner, app_id, code=CODE, state=state)
        assert second.status_code == 400
        assert EXPIRED in text_of(second)
        assert len([c for c in mock.calls if c.request.url == TOKEN_URL]) == 1
    assert len(token_rows(app)) == 1


def test_o6_access_denied_is_a_friendly_400_and_keeps_the_installation(app, owner, app_id):
    state = start(owner, app_id)["state"]
    with responses.RequestsMock() as mock:
        mock_happy_token(mock)
        callback(owner, app_id, code=CODE, state=state)
    before = token_rows(app)[0]
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        state = start(owner, app_id)["state"]
        response = callback(owner, app_id, error="access_denied", state=state)
        assert len(mock.calls) == 0
    page = text_of(response)
    assert response.status_code == 400
    assert "You chose Deny" in page
    assert "Traceback" not in page
    after = token_rows(app)
    assert len(after) == 1
    assert after[0].access_token_sealed == before.access_token_sealed
    # The state was used up by the refusal.
    assert callback(owner, app_id, code=CODE, state=state).status_code == 400


# -- O7, O8: the token request ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "status"),
    [
        ({"status": 400, "json": {"error": "invalid_grant", "error_description": "x"}}, 502),
        ({"status": 500, "body": "oops"}, 502),
        ({"body": requests.ConnectTimeout("slow")}, 503),
    ],
    ids=["invalid_grant", "500", "timeout"],
)
def test_o7_token_endpoint_failures(app, owner, app_id, caplog, answer, status):
    caplog.set_level(logging.DEBUG)
    params = start(owner, app_id)
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.post(TOKEN_URL, **answer)
        response = callback(owner, app_id, code=CODE, state=params["state"])
    assert response.status_code == status
    assert "LiveChat sign-in failed, try again" in text_of(response)
    assert token_rows(app) == []
    assert "LiveChat sign-in failed" in caplog.text
    for secret in (CODE, SECRET, "the-authorization-code"):
        assert secret not in caplog.text


def test_o8_token_request_carries_secret_and_verifier_in_the_body(app, owner, app_id, monkeypatch):
    seen: dict[str, object] = {}
    send = requests.Session.send

    def spying(self, request, **kwargs):
        if request.url == TOKEN_URL:
            seen["timeout"] = kwargs.get("timeout")
        return send(self, request, **kwargs)

    monkeypatch.setattr(requests.Session, "send", spying)
    params = start(owner, app_id)
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock_happy_token(mock)
        callback(owner, app_id, code=CODE, state=params["state"])
        token_call = mock.calls[0].request
    body = parse_qs(token_call.body)
    assert body["client_secret"] == [SECRET]
    assert body["client_id"] == ["client-abc"]
    assert body["grant_type"] == ["authorization_code"]
    assert body["code"] == [CODE]
    assert body["redirect_uri"] == ["http://127.0.0.1:5000/apps/1/install/callback"]
    verifier = body["code_verifier"][0]
    assert 43 <= len(verifier) <= 128
    assert "Authorization" not in token_call.headers
    assert seen["timeout"] == 10


def test_success_stores_encrypted_tokens_and_enables_webhooks(app, owner, app_id):
    params = start(owner, app_id)
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock_happy_token(mock, webhooks_on=False)
        response = callback(owner, app_id, code=CODE, state=params["state"])
        assert mock.calls[1].request.headers["Authorization"] == f"Bearer {TOKENS['access_token']}"
    page = text_of(response)
    assert response.status_code == 200
    assert "Installed" in page
    assert "js/install.js" in page
    assert "<script>" not in page
    with app.app_context():
        row = db.session.execute(db.select(Installation)).scalar_one()
        assert row.organization_id == TOKENS["organization_id"]
        assert row.access_token == TOKENS["access_token"]
        assert row.refresh_token == TOKENS["refresh_token"]
        assert TOKENS["access_token"].encode() not in row.access_token_sealed
        assert row.webhooks_enabled is True
        assert row.expires_at is not None and row.expires_at > utcnow()


# -- O11, O12, O13 ---------------------------------------------------------------------------


def test_o11_no_token_code_or_verifier_in_pages_headers_or_log(app, owner, app_id, caplog):
    caplog.set_level(logging.DEBUG)
    params = start(owner, app_id)
    seen: list[str] = []
    with responses.RequestsMock() as mock:
        mock_happy_token(mock)
        done = callback(owner, app_id, code=CODE, state=params["state"])
        verifier = parse_qs(mock.calls[0].request.body)["code_verifier"][0]
    for response in (
        done,
        owner.get(f"/apps/{app_id}/install/connection"),
        owner.get(f"/apps/{app_id}/install/status"),
        owner.post(f"/apps/{app_id}/install/start"),
    ):
        seen.append(response.get_data(as_text=True))
        seen.append(str(response.headers))
    seen.append(caplog.text)
    with owner.session_transaction() as session:
        seen.append(repr(dict(session)))
    everything = "\n".join(seen)
    for secret in (TOKENS["access_token"], TOKENS["refresh_token"], CODE, verifier, SECRET):
        assert secret not in everything
    assert logging.getLogger("authlib").getEffectiveLevel() >= logging.INFO


def test_o12_thirty_unfinished_starts_keep_the_cookie_small(app, owner, app_id):
    for _ in range(30):
        response = owner.post(f"/apps/{app_id}/install/start")
        assert response.status_code == 302
    cookie = owner.get_cookie("consoleapp_session")
    assert cookie is not None
    assert len(cookie.value) + len("consoleapp_session=") <= 4096
    # Still signed in, and the newest start can still be finished.
    assert owner.get(f"/apps/{app_id}/install/connection").status_code == 200
    state = start(owner, app_id)["state"]
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock_happy_token(mock)
        assert callback(owner, app_id, code=CODE, state=state).status_code == 200


def test_o13_disconnect_revokes_with_a_header_and_deletes_even_on_failure(app, owner, app_id):
    for revoke_answer in ({"json": {}}, {"status": 500, "json": {"error": "server_error"}}):
        row_id = installed(app, app_id, expired=False)
        with app.app_context():
            uid = db.session.get(Installation, row_id).uid
        with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
            mock.delete(TOKEN_URL, **revoke_answer)
            response = owner.post(f"/apps/{app_id}/install/{uid}/disconnect")
            request = mock.calls[0].request
        assert response.status_code == 302
        assert request.headers["Authorization"] == "Bearer refresh-old"
        assert "code=" not in (urlsplit(request.url).query or "")
        assert token_rows(app) == []


def test_disconnect_is_for_editors(app, client, app_id):
    row_id = installed(app, app_id, expired=False)
    with app.app_context():
        uid = db.session.get(Installation, row_id).uid
    sign_in(client, add_user(app, "viewer@example.com", Role.VIEWER))
    assert client.post(f"/apps/{app_id}/install/{uid}/disconnect").status_code == 403
    assert len(token_rows(app)) == 1


def test_status_json_shape(app, owner, app_id):
    assert owner.get(f"/apps/{app_id}/install/status").get_json() == {
        "app_id": app_id,
        "installed": False,
        "needs_reauth": False,
        "webhooks_enabled": False,
        "installations": [],
    }
    params = start(owner, app_id)
    with responses.RequestsMock() as mock:
        mock_happy_token(mock)
        callback(owner, app_id, code=CODE, state=params["state"])
    body = owner.get(f"/apps/{app_id}/install/status").get_json()
    assert body["installed"] is True
    assert body["webhooks_enabled"] is True
    (item,) = body["installations"]
    assert set(item) == {
        "id",
        "organization_id",
        "account_id",
        "installed_at",
        "webhooks_enabled",
        "webhooks_checked_at",
        "needs_reauth",
    }
    assert item["organization_id"] == TOKENS["organization_id"]


# -- the whole flow against the sandbox, over HTTP -------------------------------------------


@pytest.fixture
def live(live_server_factory):
    return live_server_factory(ENVIRON={"SANDBOX_PROVISIONING": "on"})


def test_install_against_the_sandbox(live):
    console = live.app.test_client()
    sign_in(console, add_user(live.app, "owner@example.com", Role.OWNER))
    created = console.post("/apps/new", data={"name": "Helpdesk"})
    app_id = int(created.headers["Location"].split("/")[2])

    authorize = console.post(f"/apps/{app_id}/install/start").headers["Location"]
    assert authorize.startswith(f"{live.url}/sandbox/accounts/?")
    consent = console.get(authorize.removeprefix(live.url))
    assert consent.status_code == 200, text_of(consent)
    form = text_of(consent)
    fields = dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', form))
    account = re.search(r'name="account_id" value="([^"]+)"[^>]*checked', form)
    assert account is not None
    fields.update(account_id=account.group(1), decision="allow")
    back = console.post("/sandbox/accounts/", data=fields)
    assert back.status_code == 302
    landing = back.headers["Location"]
    assert landing.startswith(f"{live.url}/apps/{app_id}/install/callback?")

    done = console.get(landing.removeprefix(live.url))
    assert done.status_code == 200, text_of(done)
    assert "Installed" in text_of(done)
    with live.app.app_context():
        row = db.session.execute(db.select(Installation)).scalar_one()
        assert row.access_token and row.refresh_token
        assert row.access_token.encode() not in row.access_token_sealed
        assert row.webhooks_enabled is True
        row_id, uid = row.id, row.uid
        # Expire it, so the next call refreshes against the sandbox.
        row.expires_at = utcnow() - timedelta(minutes=5)
        db.session.commit()
        old = row.access_token
    checked = console.post(f"/apps/{app_id}/install/{uid}/check", follow_redirects=True)
    assert "The license's webhooks are on." in text_of(checked)
    with live.app.app_context():
        assert db.session.get(Installation, row_id).access_token != old

    gone = console.post(f"/apps/{app_id}/install/{uid}/disconnect", follow_redirects=True)
    assert "the app's sign-in was revoked" in text_of(gone)
    with live.app.app_context():
        assert db.session.execute(db.select(Installation)).scalar_one_or_none() is None
    audit = text_of(console.get("/audit/"))
    assert "installed an app on a LiveChat license" in audit
    assert "disconnected an app from LiveChat" in audit
