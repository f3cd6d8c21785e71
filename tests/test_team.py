"""Team: invitations (shown once, used once, 7 days) and the rules about owners."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from consoleapp.extensions import db
from consoleapp.models import Invitation, Role, User, utcnow
from support import add_user, sign_in, text_of

LINK = re.compile(r'id="invite-link">(http://[^<]+/invitations/([^<]+))</code>')


def roles(app) -> dict[str, str]:
    with app.app_context():
        return dict(db.session.execute(db.select(User.email, User.role)).all())


def invitation_emails(app) -> list[str]:
    with app.app_context():
        return list(db.session.execute(db.select(Invitation.email)).scalars())


def invite(client, email: str = "new@example.com", role: str = "admin") -> tuple[object, str]:
    response = client.post("/team/invitations", data={"email": email, "role": role})
    match = LINK.search(response.get_data(as_text=True))
    return response, match.group(2) if match else ""


# -- invitations ---------------------------------------------------------------------------


def test_invitation_link_is_shown_once_and_not_cached(app, owner):
    response, token = invite(owner)
    assert response.status_code == 201
    assert response.headers["Cache-Control"] == "no-store"
    assert token and len(token) >= 32
    assert "shown only now" in text_of(response)
    later = owner.get("/team/").get_data(as_text=True)
    assert token not in later
    assert "new@example.com" in later  # listed as an open invitation, without its link
    with app.app_context():
        stored = db.session.execute(db.select(Invitation)).scalar_one()
        assert token not in stored.token_hash  # only a hash of the token is kept


def test_invitation_works_once(app, owner, client):
    _, token = invite(owner, role="admin")
    newcomer = app.test_client()
    assert newcomer.get(f"/invitations/{token}").status_code == 200
    joined = newcomer.post(f"/invitations/{token}", data={"password": "a long enough password"})
    assert joined.status_code == 302
    assert roles(app)["new@example.com"] == "admin"
    assert invitation_emails(app) == []
    assert newcomer.get("/apps/").status_code == 200  # signed in as the new teammate

    stranger = app.test_client()
    again = stranger.get(f"/invitations/{token}")
    assert again.status_code == 404
    assert "This invitation link does not work" in again.get_data(as_text=True)
    replay = stranger.post(f"/invitations/{token}", data={"password": "another long password"})
    assert replay.status_code == 404
    assert len(roles(app)) == 2


@pytest.mark.parametrize(
    ("age", "works"),
    [
        (timedelta(days=6, hours=23), True),
        (timedelta(days=7, minutes=1), False),
        (timedelta(days=30), False),
    ],
)
def test_invitation_expires_after_seven_days(app, owner, monkeypatch, age, works):
    _, token = invite(owner)
    later = utcnow() + age
    monkeypatch.setattr("consoleapp.services.users.utcnow", lambda: later)
    newcomer = app.test_client()
    assert newcomer.get(f"/invitations/{token}").status_code == (200 if works else 404)
    response = newcomer.post(f"/invitations/{token}", data={"password": "a long enough password"})
    assert response.status_code == (302 if works else 404)
    assert ("new@example.com" in roles(app)) is works


def test_a_cancelled_or_replaced_invitation_stops_working(app, owner):
    _, first = invite(owner)
    _, second = invite(owner)  # inviting the same email again replaces the first link
    assert app.test_client().get(f"/invitations/{first}").status_code == 404
    with app.app_context():
        invitation_id = db.session.execute(db.select(Invitation.id)).scalar_one()
    assert owner.post(f"/team/invitations/{invitation_id}/cancel").status_code == 302
    assert app.test_client().get(f"/invitations/{second}").status_code == 404
    assert invitation_emails(app) == []


@pytest.mark.parametrize("token", ["", "x", "x" * 10_000, "../../etc/passwd", "ünï", "%00"])
def test_unknown_invitation_tokens(client, owner_id, token):
    response = client.get(f"/invitations/{token}")
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"role": "viewer"}, "Enter an email address."),
        ({"email": "", "role": "viewer"}, "Enter an email address."),
        ({"email": "   ", "role": "viewer"}, "Enter an email address."),
        ({"email": "a" * 10_000 + "@example.com", "role": "viewer"}, "at most 254 characters"),
        ({"email": "not-an-email", "role": "viewer"}, "like name@example.com"),
        ({"email": "<script>@example.com", "role": "viewer"}, "like name@example.com"),
        ({"email": "a@example.com"}, "Choose a role."),
        ({"email": "a@example.com", "role": "superuser"}, "Not a valid choice."),
        ({"email": "a@example.com", "role": ["viewer", "owner"]}, ""),
        ({"email": " OWNER@example.com ", "role": "viewer"}, "owner@example.com already has"),
    ],
)
def test_invite_bad_input(app, owner, data, message):
    response = owner.post("/team/invitations", data=data)
    if data.get("role") == ["viewer", "owner"]:
        # Two values for one choice: the first counts, as a browser would send only one.
        assert response.status_code == 201
        assert invitation_emails(app) == ["a@example.com"]
        return
    assert response.status_code == 422
    assert message in text_of(response)
    assert "<script>@" not in response.get_data(as_text=True)
    assert invitation_emails(app) == []


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("", "Choose a password."),
        ("short", "Use 10 to 128 characters."),
        ("x" * 10_000, "Use 10 to 128 characters."),
    ],
)
def test_accepting_needs_a_good_password(app, owner, password, message):
    _, token = invite(owner)
    newcomer = app.test_client()
    response = newcomer.post(f"/invitations/{token}", data={"password": password})
    assert response.status_code == 422
    assert message in text_of(response)
    assert "new@example.com" not in roles(app)
    assert newcomer.get(f"/invitations/{token}").status_code == 200  # still usable


# -- roles and owners ----------------------------------------------------------------------


def as_user(app, email: str, role: Role):
    client = app.test_client()
    sign_in(client, add_user(app, email, role))
    return client


def user_id(app, email: str) -> int:
    with app.app_context():
        return db.session.execute(db.select(User.id).filter_by(email=email)).scalar_one()


def test_admin_cannot_invite_an_owner(app, owner_id):
    admin = as_user(app, "admin@example.com", Role.ADMIN)
    response, _ = invite(admin, role="owner")
    assert response.status_code == 422
    assert "Only an owner can invite another owner." in text_of(response)
    assert invitation_emails(app) == []


@pytest.mark.parametrize(
    ("target", "action", "data", "message"),
    [
        ("viewer@example.com", "role", {"role": "owner"}, "Only an owner can make someone"),
        ("owner@example.com", "role", {"role": "viewer"}, "Only an owner can change or remove"),
        ("owner@example.com", "remove", {}, "Only an owner can change or remove an owner."),
        ("viewer@example.com", "role", {"role": "superuser"}, "Choose one of the listed roles."),
        ("viewer@example.com", "role", {}, "Choose one of the listed roles."),
        ("admin@example.com", "remove", {}, "You cannot remove yourself."),
    ],
)
def test_admin_limits(app, owner_id, target, action, data, message):
    admin = as_user(app, "admin@example.com", Role.ADMIN)
    add_user(app, "viewer@example.com", Role.VIEWER)
    before = roles(app)
    response = admin.post(
        f"/team/{user_id(app, target)}/{action}", data=data, follow_redirects=True
    )
    assert response.status_code == 200
    assert message in text_of(response)
    assert roles(app) == before


def test_admin_manages_admins_and_viewers(app, owner_id):
    admin = as_user(app, "admin@example.com", Role.ADMIN)
    viewer_id = add_user(app, "viewer@example.com", Role.VIEWER)
    assert admin.post(f"/team/{viewer_id}/role", data={"role": "admin"}).status_code == 302
    assert roles(app)["viewer@example.com"] == "admin"
    assert admin.post(f"/team/{viewer_id}/remove").status_code == 302
    assert "viewer@example.com" not in roles(app)


def test_the_last_owner_cannot_be_demoted_or_removed(app, owner, owner_id):
    before = roles(app)
    demoted = owner.post(f"/team/{owner_id}/role", data={"role": "admin"}, follow_redirects=True)
    assert "The console needs at least one owner." in text_of(demoted)
    removed = owner.post(f"/team/{owner_id}/remove", follow_redirects=True)
    assert "You cannot remove yourself." in text_of(removed)
    assert roles(app) == before


def test_an_owner_can_hand_over(app, owner, owner_id):
    second_id = add_user(app, "second@example.com", Role.ADMIN)
    assert owner.post(f"/team/{second_id}/role", data={"role": "owner"}).status_code == 302
    # Now there are two owners, so this one may step down.
    assert owner.post(f"/team/{owner_id}/role", data={"role": "admin"}).status_code == 302
    assert roles(app) == {"owner@example.com": "admin", "second@example.com": "owner"}
    # And is an admin from the next request on: owners are out of reach.
    response = owner.post(f"/team/{second_id}/remove", follow_redirects=True)
    assert "Only an owner can change or remove an owner." in text_of(response)
