"""Web hardening: W1 (headers), W2 (cookies), W3 (CSRF), W5 (no traceback), W8 (login limit)."""

from __future__ import annotations

import re
import time
from datetime import datetime

import pytest
from itsdangerous import URLSafeTimedSerializer
from itsdangerous.timed import TimestampSigner
from werkzeug.routing import Rule

from consoleapp.extensions import csrf, db
from consoleapp.models import App, Invitation, Role
from support import TEST_PASSWORD, add_user, row_counts, sign_in

SANDBOX_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self' http://127.0.0.1:5000; frame-ancestors 'none'"
)
LIVE_CSP = SANDBOX_CSP.replace("http://127.0.0.1:5000", "https://accounts.livechat.com")
CSRF_MESSAGE = "Form expired, reload and retry."
TOKEN_FIELD = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def seed(app) -> dict[str, object]:
    """One of everything a URL can name: an app, a teammate, an open invitation."""
    with app.app_context():
        row = App(name="Seeded", client_id="cid")
        row.set_client_secret("seeded-secret")
        db.session.add(row)
        invitation = Invitation(
            email="invited@example.com",
            role="viewer",
            token_hash="0" * 64,
            expires_at=datetime(2999, 1, 1),
        )
        db.session.add(invitation)
        db.session.commit()
        ids = {"app_id": row.id, "invitation_id": invitation.id}
    ids["user_id"] = add_user(app, "teammate@example.com", Role.VIEWER)
    return ids


def build_path(rule: Rule, values: dict[str, object]) -> str:
    arguments = {}
    for name in rule.arguments:
        if name in values:
            arguments[name] = values[name]
        elif name == "filename":
            arguments[name] = "css/console.css"
        elif name == "version":
            arguments[name] = "3.6"
        else:
            arguments[name] = 1 if "int" in rule.rule else "x"
    return rule.build(arguments, append_unknown=False)[1]


def routes(app, method: str) -> list[Rule]:
    return [rule for rule in app.url_map.iter_rules() if method in rule.methods]


# -- W1 ------------------------------------------------------------------------------------


def assert_hardened(response, policy: str) -> None:
    headers = response.headers
    assert headers["Content-Security-Policy"] == policy
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Frame-Options"] == "DENY"
    if response.mimetype == "text/html":
        html = response.get_data(as_text=True)
        # The CSP allows neither inline scripts, inline handlers nor inline styles.
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline <script>"
        assert not re.search(r"\son[a-z]+\s*=", html), "inline event handler"
        assert not re.search(r"<style|\sstyle\s*=", html), "inline style"
        assert "no-store" in headers["Cache-Control"]


@pytest.mark.parametrize("signed_in", [False, True])
def test_every_get_route_sends_the_security_headers(app, client, owner_id, signed_in):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    values = seed(app)
    if signed_in:
        sign_in(client, owner_id)
    checked = 0
    for rule in routes(app, "GET"):
        with client.get(build_path(rule, values)) as response:
            assert_hardened(response, SANDBOX_CSP)
            if not rule.endpoint.startswith(("sandbox", "static")):
                # The Direct installation URL refuses a callback without our state (O4).
                refused = {400} if rule.endpoint == "install.callback" else set()
                if getattr(app.view_functions[rule.endpoint], "background_poll", False):
                    refused.add(401)  # what page scripts poll says "signed out" in JSON
                assert response.status_code in {200, 302, 404} | refused, rule.endpoint
        checked += 1
    assert checked >= 10


def test_error_pages_and_static_files_are_hardened_too(client):
    for response in (client.get("/no-such-page"), client.post("/apps/")):
        assert response.status_code in {404, 405}
        assert_hardened(response, SANDBOX_CSP)
    with client.get("/static/css/console.css") as response:
        assert response.status_code == 200
        assert_hardened(response, SANDBOX_CSP)


def test_live_mode_policy_names_the_accounts_host(app_factory):
    app = app_factory(ENVIRON={"LIVECHAT_MODE": "live", "SECRET_KEY": "k" * 40})
    add_user(app, "owner@example.com")
    response = app.test_client().get("/login")
    assert response.status_code == 200
    assert_hardened(response, LIVE_CSP)
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"


def test_every_answer_page_scripts_poll_is_no_store(app, client, owner_id):
    polled = {
        endpoint
        for endpoint, view in app.view_functions.items()
        if getattr(view, "background_poll", False)
    }
    assert {"install.status", "inbox.newer_deliveries"} <= polled
    assert [e for e in sorted(polled) if not getattr(app.view_functions[e], "no_store", 0)] == []
    sign_in(client, owner_id)
    response = client.get(f"/apps/{seed(app)['app_id']}/install/status")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"


# -- W2 ------------------------------------------------------------------------------------


def login_cookie(app) -> str:
    add_user(app, "owner@example.com")
    response = app.test_client().post(
        "/login", data={"email": "owner@example.com", "password": TEST_PASSWORD}
    )
    assert response.status_code == 302
    (cookie,) = response.headers.getlist("Set-Cookie")
    return cookie


def test_session_cookie_with_secure_cookies_on(app_factory):
    cookie = login_cookie(app_factory(ENVIRON={"SECURE_COOKIES": "on"}))
    attributes = [part.strip() for part in cookie.split(";")]
    assert attributes[0].startswith("__Host-session=")
    assert "Secure" in attributes
    assert "HttpOnly" in attributes
    assert "SameSite=Lax" in attributes
    assert "Path=/" in attributes
    assert not any(part.lower().startswith("domain") for part in attributes)


def test_session_cookie_for_http_development(app_factory):
    cookie = login_cookie(app_factory(ENVIRON={"SECURE_COOKIES": "off"}))
    attributes = [part.strip() for part in cookie.split(";")]
    assert attributes[0].startswith("consoleapp_session=")
    assert "__Host-" not in cookie
    assert "Secure" not in attributes
    assert "HttpOnly" in attributes
    assert "SameSite=Lax" in attributes
    assert "Path=/" in attributes


# -- W3 ------------------------------------------------------------------------------------

# Valid submissions, so that a POST which got past the CSRF check would change something.
FORMS = {
    "auth.setup": {"email": "new@example.com", "password": "a long enough password"},
    "auth.login": {"email": "owner@example.com", "password": TEST_PASSWORD},
    "auth.accept_invitation": {"password": "a long enough password"},
    "apps.new_app": {"name": "Created"},
    "apps.rename_app": {"name": "Renamed"},
    "apps.delete_app": {"confirm_name": "Seeded"},
    "apps.save_authorization": {
        "auth-client_id": "changed",
        "auth-client_secret": "changed-secret",
        "auth-direct_install_url": "https://x.example/cb",
        "auth-redirect_uris": "https://x.example/",
        "auth-api_version": "3.5",
    },
    "apps.save_developer_credential": {"dev-account_id": "acct", "dev-token": "dal:newtoken"},
    "team.invite_teammate": {"email": "another@example.com", "role": "admin"},
    "team.cancel_invitation": {},
    "team.change_role": {"role": "admin"},
    "team.remove_user": {},
}


def csrf_protected_posts(app) -> list[Rule]:
    protected = []
    for rule in routes(app, "POST"):
        with app.test_request_context(build_path(rule, {}), method="POST"):
            if not csrf._is_exempt():
                protected.append(rule)
    return protected


def form_token(client, path: str = "/apps/new") -> str:
    page = client.get(path)
    assert page.status_code == 200
    return TOKEN_FIELD.search(page.get_data(as_text=True)).group(1)


@pytest.fixture
def csrf_app(app_factory):
    app = app_factory(WTF_CSRF_ENABLED=True)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    return app


def test_console_forms_are_not_exempt_from_csrf(csrf_app):
    endpoints = {rule.endpoint for rule in csrf_protected_posts(csrf_app)}
    assert set(FORMS) <= endpoints


def test_a_valid_token_is_accepted(csrf_app):
    owner_id = add_user(csrf_app, "owner@example.com")
    client = csrf_app.test_client()
    sign_in(client, owner_id)
    response = client.post("/apps/new", data={"name": "Made", "csrf_token": form_token(client)})
    assert response.status_code == 302
    assert row_counts(csrf_app)["apps"] == 1


def _other_sessions_token(app, owner_id) -> str:
    other = app.test_client()
    sign_in(other, owner_id)
    return form_token(other)


class NineHoursAgo(TimestampSigner):
    def get_timestamp(self) -> int:
        return int(time.time()) - 9 * 3600


def _expired_token(app, client) -> str:
    """This session's own token, signed as Flask-WTF does but older than its 8 h limit."""
    with client.session_transaction() as session:
        raw = session["csrf_token"]
    serializer = URLSafeTimedSerializer(
        app.config["SECRET_KEY"], salt="wtf-csrf-token", signer=NineHoursAgo
    )
    return serializer.dumps(raw)


@pytest.mark.parametrize("variant", ["missing", "other session", "expired"])
def test_every_form_refuses_a_bad_csrf_token(csrf_app, variant):
    owner_id = add_user(csrf_app, "owner@example.com")
    values = seed(csrf_app)
    client = csrf_app.test_client()
    sign_in(client, owner_id)
    form_token(client)  # this session has a token of its own
    if variant == "missing":
        token = None
    elif variant == "other session":
        token = _other_sessions_token(csrf_app, owner_id)
    else:
        token = _expired_token(csrf_app, client)
    before = row_counts(csrf_app)
    rules = csrf_protected_posts(csrf_app)
    assert rules
    for rule in rules:
        data = dict(FORMS.get(rule.endpoint, {}))
        if token is not None:
            data["csrf_token"] = token
        response = client.post(build_path(rule, values), data=data)
        assert response.status_code == 400, rule.endpoint
        assert CSRF_MESSAGE in response.get_data(as_text=True), rule.endpoint
        assert row_counts(csrf_app) == before, rule.endpoint
    # Still signed in: a refused form does not end the session.
    assert client.get("/apps/").status_code == 200


# -- W5 ------------------------------------------------------------------------------------


@pytest.mark.parametrize("accept", ["text/html", "application/json"])
def test_an_unexpected_error_shows_a_generic_page(app, owner, monkeypatch, accept):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    secret_key = app.config["SECRET_KEY"]

    def explode():
        raise RuntimeError(f"boom at {__file__} with {secret_key}")

    monkeypatch.setattr("consoleapp.services.apps.list_apps", explode)
    response = owner.get("/apps/", headers={"Accept": accept})
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert "went wrong" in body or "hit an error" in body
    for leak in ("Traceback", "RuntimeError", "boom", __file__, ".py", "/work", secret_key):
        assert leak not in body


# -- W8 ------------------------------------------------------------------------------------


def limited_app(app_factory, proxy_count: str):
    app = app_factory(RATELIMIT_ENABLED=True, ENVIRON={"PROXY_COUNT": proxy_count})
    add_user(app, "owner@example.com")
    return app


def attempt(client, forwarded_for: str):
    return client.post(
        "/login",
        data={"email": "owner@example.com", "password": "wrong password"},
        headers={"X-Forwarded-For": forwarded_for},
    )


def test_login_limit_ignores_forged_forwarded_for_without_a_proxy(app_factory):
    client = limited_app(app_factory, "0").test_client()
    # Each attempt claims another address; with no proxy configured the header is not believed.
    statuses = [attempt(client, f"203.0.113.{n}").status_code for n in range(10)]
    assert statuses == [422] * 10
    limited = attempt(client, "203.0.113.99")
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) > 0
    assert "Wait a minute, then try again." in limited.get_data(as_text=True)
    assert client.get("/login").status_code == 200  # only POSTs count


def test_login_limit_is_per_client_address_behind_one_proxy(app_factory):
    client = limited_app(app_factory, "1").test_client()
    assert [attempt(client, "198.51.100.7").status_code for _ in range(10)] == [422] * 10
    limited = attempt(client, "198.51.100.7")
    assert limited.status_code == 429
    assert "Retry-After" in limited.headers
    # The proxy's X-Forwarded-For is believed: another client is not held back.
    assert attempt(client, "198.51.100.8").status_code == 422
