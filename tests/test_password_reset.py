"""Password reset links: made by an owner or admin (or the command line), shown once, stored as
a hash, valid 1 hour, used once, void after any other password change."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest

from consoleapp.cli import reset_password as reset_password_command
from consoleapp.extensions import db
from consoleapp.models import AuditEvent, PasswordReset, Role, User, UserSession, utcnow
from consoleapp.services import passwords
from support import (
    TEST_PASSWORD,
    add_user,
    audit_actions,
    password_hash,
    row_counts,
    sign_in,
    text_of,
)

LINK = re.compile(r'id="reset-link">(http://[^<]+/password-reset/([^<]+))</code>')
NEW_PASSWORD = "a brand new password"


def make_link(client, user_id: int):
    response = client.post(f"/team/{user_id}/password-reset")
    match = LINK.search(response.get_data(as_text=True))
    return response, match.group(2) if match else ""


def sessions_of(app, user_id: int) -> int:
    with app.app_context():
        return db.session.execute(
            db.select(db.func.count()).select_from(UserSession).filter_by(user_id=user_id)
        ).scalar_one()


def sign_in_with(app, email: str, password: str) -> int:
    return app.test_client().post("/login", data={"email": email, "password": password}).status_code


@pytest.fixture
def teammate_id(app) -> int:
    return add_user(app, "forgetful@example.com", Role.ADMIN)


def test_a_reset_link_is_shown_once_stored_as_a_hash(app, owner, teammate_id):
    response, token = make_link(owner, teammate_id)
    assert response.status_code == 201
    assert response.headers["Cache-Control"] == "no-store"
    assert token and len(token) >= 32
    page = text_of(response)
    assert "Password reset link for forgetful@example.com" in page
    assert "shown only now, works once, and expires in 1 hour" in page
    assert f"http://localhost/password-reset/{token}" in page
    assert token not in owner.get("/team/").get_data(as_text=True)
    with app.app_context():
        stored = db.session.execute(db.select(PasswordReset)).scalar_one()
        assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert stored.expires_at - stored.created_at == timedelta(hours=1)
    assert "user.password_reset_link_created" in audit_actions(app)


def test_using_the_link_sets_the_password_and_ends_every_session(app, owner, teammate_id):
    laptop, phone = app.test_client(), app.test_client()
    sign_in(laptop, teammate_id)
    sign_in(phone, teammate_id)
    _, token = make_link(owner, teammate_id)

    visitor = app.test_client()
    form = visitor.get(f"/password-reset/{token}")
    assert form.status_code == 200
    assert "Choose a new password" in text_of(form)
    assert "forgetful@example.com" in text_of(form)
    done = visitor.post(f"/password-reset/{token}", data={"password": NEW_PASSWORD})
    assert done.status_code == 302
    assert done.headers["Location"] == "/login"
    assert "Your password is changed" in text_of(visitor.get("/login"))

    assert sessions_of(app, teammate_id) == 0
    for browser in (laptop, phone):
        assert browser.get("/apps/").headers["Location"].startswith("/login")
    assert sign_in_with(app, "forgetful@example.com", TEST_PASSWORD) == 422
    assert sign_in_with(app, "forgetful@example.com", NEW_PASSWORD) == 302
    assert "user.password_reset" in audit_actions(app)
    assert owner.get("/team/").status_code == 200  # the owner's own session is untouched


def test_a_link_works_once(app, owner, teammate_id):
    _, token = make_link(owner, teammate_id)
    visitor = app.test_client()
    visitor.post(f"/password-reset/{token}", data={"password": NEW_PASSWORD})
    hashed = password_hash(app, teammate_id)
    before = row_counts(app)
    for response in (
        visitor.get(f"/password-reset/{token}"),
        visitor.post(f"/password-reset/{token}", data={"password": "yet another password"}),
    ):
        assert response.status_code == 410
        assert "It was already used" in text_of(response)
    assert password_hash(app, teammate_id) == hashed
    assert row_counts(app) == before


def test_a_stale_check_cannot_use_a_link_twice(app, owner, teammate_id):
    """Two requests that both saw the link unused: exactly one of them sets a password."""
    _, token = make_link(owner, teammate_id)
    with app.app_context():
        first = passwords.check_reset(token)
        second = passwords.check_reset(token)
        assert first.problem is None and second.problem is None
        assert passwords.reset_password(first.reset, NEW_PASSWORD) is None
        db.session.commit()
        hashed = db.session.get(User, teammate_id).password_hash
        problem = passwords.reset_password(second.reset, "yet another password")
        assert problem is passwords.ResetProblem.USED
        db.session.rollback()
        assert db.session.get(User, teammate_id).password_hash == hashed


@pytest.mark.parametrize(("age", "works"), [({"minutes": 59}, True), ({"minutes": 61}, False)])
def test_a_link_expires_after_an_hour(app, owner, teammate_id, monkeypatch, age, works):
    _, token = make_link(owner, teammate_id)
    later = utcnow() + timedelta(**age)
    monkeypatch.setattr("consoleapp.services.passwords.utcnow", lambda: later)
    hashed = password_hash(app, teammate_id)
    visitor = app.test_client()
    response = visitor.post(f"/password-reset/{token}", data={"password": NEW_PASSWORD})
    assert response.status_code == (302 if works else 410)
    assert (password_hash(app, teammate_id) != hashed) is works
    if not works:
        assert "It is older than 1 hour" in text_of(response)


def test_a_link_for_a_removed_teammate_does_not_work(app, owner, teammate_id):
    _, token = make_link(owner, teammate_id)
    owner.post(f"/team/{teammate_id}/remove")
    before = row_counts(app)
    for response in (
        app.test_client().get(f"/password-reset/{token}"),
        app.test_client().post(f"/password-reset/{token}", data={"password": NEW_PASSWORD}),
    ):
        assert response.status_code == 404
        assert "This password reset link does not work" in text_of(response)
    assert row_counts(app) == before
    # Its account and link are gone, so a new account with the same email gets nothing from it.
    assert before["password_resets"] == 0


def test_a_link_is_void_once_the_password_changed_another_way(app, owner, teammate_id):
    _, token = make_link(owner, teammate_id)
    teammate = app.test_client()
    sign_in(teammate, teammate_id)
    changed = teammate.post(
        "/account/password",
        data={"current_password": TEST_PASSWORD, "new_password": NEW_PASSWORD},
    )
    assert changed.status_code == 302
    hashed = password_hash(app, teammate_id)
    before = row_counts(app)
    response = app.test_client().post(
        f"/password-reset/{token}", data={"password": "someone else's password"}
    )
    assert response.status_code == 410
    assert "password was changed after this link was made" in text_of(response)
    assert password_hash(app, teammate_id) == hashed
    assert row_counts(app) == before
    assert teammate.get("/account").status_code == 200


def test_a_newer_link_replaces_the_older_one(app, owner, teammate_id):
    _, first = make_link(owner, teammate_id)
    _, second = make_link(owner, teammate_id)
    assert app.test_client().get(f"/password-reset/{first}").status_code == 404
    assert app.test_client().get(f"/password-reset/{second}").status_code == 200


@pytest.mark.parametrize("token", ["", "x", "x" * 10_000, "../../etc/passwd", "ünï", "%00"])
def test_unknown_reset_tokens(app, client, owner_id, token):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    before = row_counts(app)
    response = client.get(f"/password-reset/{token}")
    assert response.status_code == 404
    response = client.post(f"/password-reset/{token}", data={"password": NEW_PASSWORD})
    assert response.status_code == 404
    assert row_counts(app) == before


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("", "Choose a password."),
        ("short", "Use 10 to 128 characters."),
        ("x" * 129, "Use 10 to 128 characters."),
    ],
)
def test_a_bad_new_password_keeps_the_link_usable(app, owner, teammate_id, password, message):
    _, token = make_link(owner, teammate_id)
    hashed = password_hash(app, teammate_id)
    visitor = app.test_client()
    response = visitor.post(f"/password-reset/{token}", data={"password": password})
    assert response.status_code == 422
    assert message in text_of(response)
    assert password_hash(app, teammate_id) == hashed
    assert visitor.get(f"/password-reset/{token}").status_code == 200


# -- who may make one ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("actor_role", "target_role", "message"),
    [
        (Role.ADMIN, Role.OWNER, "Only an owner can make a password reset link for an owner."),
        (Role.ADMIN, "self", "To change your own password, use your account page."),
        (Role.OWNER, "self", "To change your own password, use your account page."),
    ],
)
def test_who_may_not_make_a_link(app, owner_id, actor_role, target_role, message):
    actor_id = add_user(app, "actor@example.com", actor_role)
    target_id = actor_id if target_role == "self" else owner_id
    actor = app.test_client()
    sign_in(actor, actor_id)
    before = row_counts(app)
    response = actor.post(f"/team/{target_id}/password-reset", follow_redirects=True)
    assert response.status_code == 200
    assert message in text_of(response)
    assert "/password-reset/" not in response.get_data(as_text=True)
    assert row_counts(app) == before


def test_a_viewer_may_not_make_a_link(app, owner_id, teammate_id):
    viewer = app.test_client()
    sign_in(viewer, add_user(app, "viewer@example.com", Role.VIEWER))
    before = row_counts(app)
    response = viewer.post(f"/team/{teammate_id}/password-reset")
    assert response.status_code == 403
    assert row_counts(app) == before
    assert "Reset link" not in text_of(viewer.get("/team/"))


def test_an_owner_may_make_one_for_another_owner(app, owner, owner_id):
    other_owner = add_user(app, "owner2@example.com", Role.OWNER)
    response, token = make_link(owner, other_owner)
    assert response.status_code == 201 and token


def test_the_team_page_offers_links_only_where_allowed(app, owner_id, teammate_id):
    admin = app.test_client()
    admin_id = add_user(app, "admin@example.com", Role.ADMIN)
    sign_in(admin, admin_id)
    page = admin.get("/team/").get_data(as_text=True)
    assert f"/team/{teammate_id}/password-reset" in page
    assert f"/team/{owner_id}/password-reset" not in page
    assert f"/team/{admin_id}/password-reset" not in page


# -- the command line ----------------------------------------------------------------------


def test_a_locked_out_owner_gets_a_link_from_the_command_line(app_factory):
    app = app_factory(ENVIRON={"PUBLIC_URL": "https://console.example.com/"})
    add_user(app, "owner@example.com", Role.OWNER)
    result = app.test_cli_runner().invoke(reset_password_command, ["  Owner@Example.com "])
    assert result.exit_code == 0, result.output
    link = result.output.strip().splitlines()[-1]
    assert link.startswith("https://console.example.com/password-reset/")
    token = link.rsplit("/", 1)[1]
    client = app.test_client()
    response = client.post(f"/password-reset/{token}", data={"password": NEW_PASSWORD})
    assert response.status_code == 302
    assert sign_in_with(app, "owner@example.com", NEW_PASSWORD) == 302
    with app.app_context():
        event = db.session.execute(
            db.select(AuditEvent).filter_by(action="user.password_reset_link_created")
        ).scalar_one()
        assert event.actor_email is None and event.details == {"via": "command line"}


def test_the_command_line_names_an_unknown_email(app, owner_id):
    before = row_counts(app)
    result = app.test_cli_runner().invoke(reset_password_command, ["nobody@example.com"])
    assert result.exit_code == 1
    assert "No account has the email 'nobody@example.com'" in result.output
    assert row_counts(app) == before


def test_the_reset_command_is_registered(app):
    result = app.test_cli_runner().invoke(args=["users", "reset-password", "--help"])
    assert result.exit_code == 0
    assert "one-time link" in result.output
