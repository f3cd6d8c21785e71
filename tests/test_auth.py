from __future__ import annotations

import pytest

from consoleapp.extensions import db
from consoleapp.models import AuditEvent, Role, User
from support import TEST_PASSWORD, add_user, sign_in


def count(app, model) -> int:
    with app.app_context():
        return db.session.execute(db.select(db.func.count()).select_from(model)).scalar_one()


def test_first_visit_leads_to_setup(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/setup"
    assert client.get("/login").headers["Location"] == "/setup"
    assert client.get("/apps/").headers["Location"] == "/setup"


def test_setup_creates_owner_and_signs_in(app, client):
    response = client.post(
        "/setup", data={"email": "  Boss@Example.com ", "password": "a long enough password"}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/apps/new"
    with app.app_context():
        user = db.session.execute(db.select(User)).scalar_one()
        assert user.email == "boss@example.com"
        assert user.role == Role.OWNER
        assert user.password_hash != "a long enough password"
    page = client.get("/apps/")
    assert b"No apps yet" in page.data


def test_setup_is_gone_once_an_owner_exists(app, client, owner_id):
    assert client.get("/setup").status_code == 404
    response = client.post("/setup", data={"email": "x@example.com", "password": "p" * 12})
    assert response.status_code == 404
    assert count(app, User) == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"email": "", "password": "a long enough password"}, b"Enter an email address."),
        ({"email": "not-an-email", "password": "a long enough password"}, b"like name@example"),
        ({"email": "a@example.com", "password": "short"}, b"Use 10 to 128 characters."),
        ({"email": "a@example.com", "password": "x" * 10000}, b"Use 10 to 128 characters."),
        ({"email": "a" * 10000 + "@example.com", "password": "p" * 12}, b"at most 254"),
        ({"email": "<script>@example.com", "password": "p" * 12}, b"like name@example"),
    ],
)
def test_setup_bad_input(app, client, data, message):
    response = client.post("/setup", data=data)
    assert response.status_code == 422
    assert message in response.data
    assert b"<script>@" not in response.data
    assert count(app, User) == 0


def test_login_and_wrong_password_same_message(app, client, owner_id):
    add_user(app, "viewer@example.com", Role.VIEWER)
    wrong = client.post("/login", data={"email": "owner@example.com", "password": "wrong pass!"})
    unknown = client.post("/login", data={"email": "nobody@example.com", "password": "wrong!!!"})
    assert wrong.status_code == unknown.status_code == 422
    message = b"Email or password is not right"
    assert message in wrong.data and message in unknown.data
    ok = client.post("/login", data={"email": "OWNER@example.com ", "password": TEST_PASSWORD})
    assert ok.status_code == 302
    assert ok.headers["Location"] == "/apps/"
    with app.app_context():
        actions = db.session.execute(db.select(AuditEvent.action)).scalars().all()
    assert actions == ["user.signed_in"]


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/audit/", "/audit/"),
        ("https://evil.example/", "/apps/"),
        ("//evil.example/", "/apps/"),
        ("/\\evil.example", "/apps/"),
        ("javascript:alert(1)", "/apps/"),
    ],
)
def test_login_next_only_follows_local_paths(client, owner_id, target, expected):
    response = client.post(
        "/login",
        query_string={"next": target},
        data={"email": "owner@example.com", "password": TEST_PASSWORD},
    )
    assert response.headers["Location"] == expected


def test_pages_need_sign_in(client, owner_id):
    for path in ["/apps/", "/apps/new", "/team/", "/audit/"]:
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login?next=")


def test_logout(owner):
    assert owner.get("/apps/").status_code == 200
    response = owner.post("/logout")
    assert response.status_code == 302
    assert owner.get("/apps/").status_code == 302


def test_deleted_users_open_session_is_signed_out(app, client, owner_id):
    user_id = add_user(app, "gone@example.com", Role.ADMIN)
    sign_in(client, user_id)
    assert client.get("/apps/").status_code == 200
    with app.app_context():
        db.session.delete(db.session.get(User, user_id))
        db.session.commit()
    response = client.get("/apps/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    with client.session_transaction() as session:
        assert "_user_id" not in session
