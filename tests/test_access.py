"""Who may do what: viewers change nothing, unknown ids are 404, removed accounts are out."""

from __future__ import annotations

import re

import pytest

from consoleapp.extensions import csrf, db
from consoleapp.models import App, Delivery, Invitation, Role, User, WebhookSet, utcnow
from support import add_user, row_counts, sign_in

# Routes anyone may post to: they check who is asking themselves.
PUBLIC_POSTS = {
    "auth.setup": 404,  # gone once an owner exists
    "auth.login": 302,  # a signed-in visitor is sent on
    "auth.logout": 302,
    "auth.accept_invitation": 404,  # unknown token
    "auth.reset_password": 404,  # unknown token
    # Every role may manage its own account: an empty form is refused, nothing else open ends.
    "account.change_password": 422,
    "account.end_other_sessions": 302,
}
# Plausible submissions, so that a route which forgot its role check would change something.
FORMS = {
    "apps.new_app": {"name": "Created by a viewer"},
    "apps.rename_app": {"name": "Renamed by a viewer"},
    "apps.delete_app": {"confirm_name": "Seeded"},
    "apps.save_authorization": {
        "auth-client_id": "changed",
        "auth-client_secret": "changed-secret",
        "auth-scopes": ["webhooks.state:rw"],
        "auth-direct_install_url": "https://x.example/cb",
        "auth-redirect_uris": "https://x.example/",
        "auth-api_version": "3.5",
    },
    "apps.save_developer_credential": {"dev-account_id": "acct", "dev-token": "dal:viewer"},
    "team.invite_teammate": {"email": "friend@example.com", "role": "owner"},
    "team.change_role": {"role": "owner"},
}
INT_ARGUMENT = re.compile(r"<int:(\w+)>")


def seed(app) -> dict[str, int]:
    with app.app_context():
        row = App(name="Seeded")
        invitation = Invitation(
            email="invited@example.com", role="viewer", token_hash="1" * 64, expires_at=utcnow()
        )
        db.session.add_all([row, invitation])
        db.session.commit()
        webhook_set = WebhookSet(app_id=row.id)
        db.session.add(webhook_set)
        db.session.flush()
        delivery = Delivery(webhook_set_id=webhook_set.id, action="incoming_chat", body="{}")
        db.session.add(delivery)
        db.session.commit()
        ids = {"app_id": row.id, "invitation_id": invitation.id, "delivery_id": delivery.id}
    ids["user_id"] = add_user(app, "admin@example.com", Role.ADMIN)
    return ids


def path_for(rule, values: dict[str, object]) -> str:
    path = INT_ARGUMENT.sub(lambda m: str(values[m.group(1)]), rule.rule)
    return re.sub(r"<(?:\w+:)?\w+>", "some-token", path)


def console_rules(app, method: str):
    """The console's own routes; the sandbox plays LiveChat and has LiveChat's rules."""
    return [
        rule
        for rule in app.url_map.iter_rules()
        if method in rule.methods and not rule.endpoint.startswith(("sandbox", "static"))
    ]


def is_csrf_exempt(app, path: str) -> bool:
    with app.test_request_context(path, method="POST"):
        return csrf._is_exempt()


def test_viewer_is_refused_on_every_post_route(app, client, owner_id):
    values = seed(app)
    viewer_id = add_user(app, "viewer@example.com", Role.VIEWER)
    checked = []
    for rule in console_rules(app, "POST"):
        path = path_for(rule, values)
        if is_csrf_exempt(app, path):
            continue  # machine endpoints (the webhook receiver) authenticate by secret
        sign_in(client, viewer_id)
        before = row_counts(app)
        response = client.post(path, data=FORMS.get(rule.endpoint, {}))
        expected = PUBLIC_POSTS.get(rule.endpoint, 403)
        assert response.status_code == expected, rule.endpoint
        if expected == 403:
            assert "Your role can look but not change this" in response.get_data(as_text=True)
        if rule.endpoint == "auth.logout":
            before["user_sessions"] -= 1  # signing out ends this session, and only that
        assert row_counts(app) == before, rule.endpoint
        client.post("/logout")  # each route is tried from a session of its own
        checked.append(rule.endpoint)
    assert row_counts(app)["user_sessions"] == 0
    assert set(FORMS) <= set(checked)
    with app.app_context():
        assert db.session.get(App, values["app_id"]).name == "Seeded"
        assert db.session.get(User, values["user_id"]).role == "admin"


@pytest.mark.parametrize("path", ["/apps/new", "/apps/{app_id}/rename", "/apps/{app_id}/delete"])
def test_viewer_is_refused_the_pages_of_changes(app, client, path):
    values = seed(app)
    sign_in(client, add_user(app, "viewer@example.com", Role.VIEWER))
    assert client.get(path.format(**values)).status_code == 403


def test_viewer_sees_everything_without_change_controls(app, client):
    values = seed(app)
    sign_in(client, add_user(app, "viewer@example.com", Role.VIEWER))
    for path in ("/apps/", f"/apps/{values['app_id']}", "/team/", "/audit/"):
        page = client.get(path)
        assert page.status_code == 200, path
        html = page.get_data(as_text=True)
        assert "Create app" not in html and "Invite a teammate" not in html, path
    authorization = client.get(f"/apps/{values['app_id']}/authorization").get_data(as_text=True)
    assert "<fieldset disabled>" in authorization
    assert "Save authorization" not in authorization


def test_a_demoted_admin_loses_rights_on_the_next_request(app, client, owner_id):
    admin_id = add_user(app, "admin@example.com", Role.ADMIN)
    sign_in(client, admin_id)
    assert client.get("/apps/new").status_code == 200
    with app.app_context():
        db.session.get(User, admin_id).role = Role.VIEWER.value
        db.session.commit()
    assert client.post("/apps/new", data={"name": "Too late"}).status_code == 403
    assert row_counts(app)["apps"] == 0


@pytest.mark.parametrize("missing_id", [999_999, 2**31, 10**30])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_unknown_ids_are_not_found(app, owner, missing_id, method):
    app.config["PROPAGATE_EXCEPTIONS"] = False  # a database error would show as 500
    seed(app)
    before = row_counts(app)
    rules = [rule for rule in console_rules(app, method) if INT_ARGUMENT.search(rule.rule)]
    assert rules
    for rule in rules:
        path = INT_ARGUMENT.sub(str(missing_id), rule.rule)
        response = owner.open(path, method=method, data=FORMS.get(rule.endpoint, {}))
        assert response.status_code == 404, path
        assert "That page does not exist" in response.get_data(as_text=True)
    assert row_counts(app) == before


@pytest.mark.parametrize("path", ["/apps/abc", "/apps/-1", "/apps/1.5", "/team/x/remove"])
def test_malformed_ids_are_not_found(app, owner, path):
    assert owner.get(path).status_code in {404, 405}


def test_no_get_route_changes_anything(app, owner):
    values = seed(app)
    before = row_counts(app)
    for rule in console_rules(app, "GET"):
        owner.get(path_for(rule, values))
    assert row_counts(app) == before


def test_a_removed_accounts_open_session_is_signed_out(app, client, owner_id):
    admin_id = add_user(app, "gone@example.com", Role.ADMIN)
    sign_in(client, admin_id)
    assert client.get("/apps/new").status_code == 200
    with app.app_context():
        db.session.delete(db.session.get(User, admin_id))
        db.session.commit()
    before = row_counts(app)
    response = client.post("/apps/new", data={"name": "Ghost app"})
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    assert row_counts(app) == before
    with client.session_transaction() as session:
        assert "_user_id" not in session
    # A new account that happens to reuse the id does not inherit the old session either.
    assert client.get("/apps/").status_code == 302


# -- signing in ----------------------------------------------------------------------------

WRONG = "Email or password is not right. Check both and try again."


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "Enter an email address."),
        ({"email": "   ", "password": "whatever it is"}, "Enter an email address."),
        ({"email": "not-an-email", "password": "whatever it is"}, "like name@example.com"),
        ({"email": "x" * 10_000 + "@example.com", "password": "p"}, "at most 254 characters"),
        ({"email": "owner@example.com"}, "Enter your password."),
        ({"email": "owner@example.com", "password": "p" * 10_000}, "longer than 128"),
        ({"email": "owner@example.com", "password": "wrong password"}, WRONG),
        ({"email": "nobody@example.com", "password": "wrong password"}, WRONG),
        ({"email": "owner@example.com", "password": "ünïcødé ✓ wrong"}, WRONG),
        ({"email": "owner@example.com", "password": "\x00"}, WRONG),
    ],
)
def test_sign_in_bad_input(app, client, owner_id, data, message):
    before = row_counts(app)
    response = client.post("/login", data=data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True).replace("&#39;", "'")
    assert row_counts(app) == before  # no sign-in recorded
    with client.session_transaction() as session:
        assert "_user_id" not in session


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/audit/?page=2", "/audit/?page=2"),
        ("/\r\nSet-Cookie: stolen=1", "/apps/"),
        ("/apps/?a=\n", "/apps/"),
        ("/\t/evil.example", "/apps/"),
        ("/\x00", "/apps/"),
        ("https://evil.example/", "/apps/"),
        ("x" * 10_000, "/apps/"),
    ],
)
def test_next_after_sign_in_is_a_local_path_or_nothing(app, owner, target, expected):
    app.config["PROPAGATE_EXCEPTIONS"] = False  # a header that cannot be sent would be a 500
    # Signed in already: /login sends the visitor straight on.
    response = owner.get("/login", query_string={"next": target})
    assert response.status_code == 302
    assert response.headers["Location"] == expected
