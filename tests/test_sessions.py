"""Sessions live on the server: signing out, removal, role and password changes, idle and
absolute lifetimes, the account page, and the cap on open sessions."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from flask_migrate import upgrade
from sqlalchemy import text

from consoleapp import config
from consoleapp.config import ConfigurationError
from consoleapp.extensions import db
from consoleapp.models import (
    App,
    Invitation,
    PasswordReset,
    Role,
    User,
    UserSession,
    utcnow,
)
from consoleapp.services import sessions
from support import (
    TEST_PASSWORD,
    add_user,
    add_webhook_set,
    audit_actions,
    make_app,
    password_hash,
    row_counts,
    sign_in,
    text_of,
)

COOKIE = "consoleapp_session"
CHROME_ON_LINUX = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
NEW_PASSWORD = "a brand new password"


def is_signed_in(client) -> bool:
    response = client.get("/account")
    if response.status_code == 302:
        assert response.headers["Location"].startswith("/login")
        return False
    assert response.status_code == 200
    return True


def copy_of(app, client):
    """Another browser holding a copy of ``client``'s session cookie."""
    thief = app.test_client()
    thief.set_cookie(COOKIE, client.get_cookie(COOKIE).value)
    return thief


def login(client, email: str, password: str = TEST_PASSWORD, user_agent: str = CHROME_ON_LINUX):
    return client.post(
        "/login",
        data={"email": email, "password": password},
        headers={"User-Agent": user_agent},
    )


def session_count(app, user_id: int | None = None) -> int:
    with app.app_context():
        query = db.select(db.func.count()).select_from(UserSession)
        if user_id is not None:
            query = query.where(UserSession.user_id == user_id)
        return db.session.execute(query).scalar_one()


class Clock:
    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self):
        return self.now

    def advance(self, **amount: float) -> None:
        self.now += timedelta(**amount)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    """The sessions' clock, moved by the test (no waiting)."""
    moved = Clock()
    monkeypatch.setattr("consoleapp.services.sessions.utcnow", moved)
    return moved


# -- signing out ---------------------------------------------------------------------------


def test_signing_out_ends_the_session_for_every_copy_of_its_cookie(app, client, owner_id):
    assert login(client, "owner@example.com").status_code == 302
    thief = copy_of(app, client)
    assert is_signed_in(thief)
    assert client.post("/logout").status_code == 302
    assert session_count(app) == 0
    response = thief.get("/apps/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    follow = thief.get(response.headers["Location"])
    assert "Sign in" in text_of(follow)
    with thief.session_transaction() as cookie:
        assert "_user_id" not in cookie  # the dead token is forgotten


def test_signing_out_ends_only_that_session(app, owner_id):
    laptop, phone = app.test_client(), app.test_client()
    sign_in(laptop, owner_id)
    sign_in(phone, owner_id)
    laptop.post("/logout")
    assert not is_signed_in(laptop)
    assert is_signed_in(phone)
    assert session_count(app) == 1


@pytest.mark.parametrize(
    "cookie",
    [
        {"user_id": 1},  # a cookie from before sessions lived on the server
        {"_user_id": 1},
        {"_user_id": "not-a-token-we-made"},
        {"_user_id": "x" * 10_000},
        {"_user_id": ["a", "list"]},
        {"_user_id": None},
    ],
)
def test_a_cookie_without_an_open_session_gets_the_sign_in_page(app, client, owner_id, cookie):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    with client.session_transaction() as session:
        session.update(cookie)
    before = row_counts(app)
    response = client.post("/apps/new", data={"name": "Forged"})
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    assert row_counts(app) == before


# -- removal, roles, and ids that are never reused ----------------------------------------


def test_a_removed_teammates_cookie_never_becomes_a_new_teammates_session(app, owner, client):
    admin_id = add_user(app, "gone@example.com", Role.ADMIN)
    removed = app.test_client()
    assert login(removed, "gone@example.com").status_code == 302
    assert is_signed_in(removed)

    assert owner.post(f"/team/{admin_id}/remove").status_code == 302
    assert session_count(app, admin_id) == 0  # removing the account removed its sessions
    invited = owner.post("/team/invitations", data={"email": "new@example.com", "role": "admin"})
    token = text_of(invited).split("/invitations/")[1].split("<")[0]
    newcomer = app.test_client()
    joined = newcomer.post(f"/invitations/{token}", data={"password": "a long enough password"})
    assert joined.status_code == 302
    with app.app_context():
        new_id = db.session.execute(
            db.select(User.id).filter_by(email="new@example.com")
        ).scalar_one()
    assert new_id > admin_id  # the removed account's id is not given out again

    before = row_counts(app)
    response = removed.get("/apps/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    assert removed.post("/apps/new", data={"name": "Ghost app"}).status_code == 302
    assert row_counts(app) == before
    assert is_signed_in(newcomer)


@pytest.mark.parametrize(
    ("model", "make"),
    [
        (User, lambda n: User(email=f"u{n}@example.com", password_hash="h", role="viewer")),
        (App, lambda n: App(name=f"App {n}")),
        (
            Invitation,
            lambda n: Invitation(
                email=f"i{n}@example.com",
                role="viewer",
                token_hash=f"{n:064d}",
                expires_at=utcnow(),
            ),
        ),
    ],
)
def test_ids_of_removed_rows_are_never_reused(app, owner_id, model, make):
    with app.app_context():
        first, second = make(1), make(2)
        db.session.add_all([first, second])
        db.session.commit()
        highest = second.id
        db.session.delete(second)
        db.session.commit()
        third = make(3)
        db.session.add(third)
        db.session.commit()
        assert third.id > highest


def test_session_and_reset_ids_are_never_reused(app, owner_id):
    with app.app_context():
        owner = db.session.get(User, owner_id)
        lifetimes = sessions.Lifetimes.from_config(app.config)
        sessions.start(owner, lifetimes)
        db.session.commit()
        highest = db.session.execute(db.select(db.func.max(UserSession.id))).scalar_one()
        sessions.end_all(owner_id)
        reset = PasswordReset(
            user_id=owner_id,
            token_hash="1" * 64,
            password_fingerprint="f",
            expires_at=utcnow(),
        )
        db.session.add(reset)
        db.session.commit()
        reset_id = reset.id
        db.session.delete(reset)
        sessions.start(owner, lifetimes)
        again = PasswordReset(
            user_id=owner_id, token_hash="2" * 64, password_fingerprint="f", expires_at=utcnow()
        )
        db.session.add(again)
        db.session.commit()
        newest = db.session.execute(db.select(db.func.max(UserSession.id))).scalar_one()
        assert newest > highest
        assert again.id > reset_id


def test_a_cookie_from_before_a_role_change_gets_403_on_an_admin_route(app, owner, client):
    admin_id = add_user(app, "admin@example.com", Role.ADMIN)
    viewer_id = add_user(app, "viewer@example.com", Role.VIEWER)
    admin = app.test_client()
    sign_in(admin, admin_id)
    assert admin.get("/apps/new").status_code == 200
    assert owner.post(f"/team/{admin_id}/role", data={"role": "viewer"}).status_code == 302

    before = row_counts(app)
    for path, data in [
        ("/apps/new", {"name": "Too late"}),
        ("/team/invitations", {"email": "friend@example.com", "role": "admin"}),
        (f"/team/{viewer_id}/role", {"role": "admin"}),
        (f"/team/{viewer_id}/remove", {}),
        (f"/team/{viewer_id}/password-reset", {}),
    ]:
        response = admin.post(path, data=data)
        assert response.status_code == 403, path
        assert "Your role can look but not change this" in text_of(response)
    assert row_counts(app) == before
    with app.app_context():
        assert db.session.get(User, viewer_id).role == "viewer"
    assert is_signed_in(admin)  # still signed in, as a viewer now


def test_removing_yourself_is_refused_and_changes_nothing(app, owner, owner_id):
    add_user(app, "second-owner@example.com", Role.OWNER)
    before = row_counts(app)
    response = owner.post(f"/team/{owner_id}/remove", follow_redirects=True)
    assert response.status_code == 200
    assert "You cannot remove yourself." in text_of(response)
    assert row_counts(app) == before
    assert is_signed_in(owner)


# -- changing your password ----------------------------------------------------------------


def test_changing_your_password_ends_your_other_sessions_only(app, client, owner_id):
    assert login(client, "owner@example.com").status_code == 302
    other = app.test_client()
    sign_in(other, owner_id)
    teammate = app.test_client()
    sign_in(teammate, add_user(app, "admin@example.com", Role.ADMIN))

    response = client.post(
        "/account/password",
        data={"current_password": TEST_PASSWORD, "new_password": NEW_PASSWORD},
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert "Your password is changed. 1 other session signed out." in text_of(response)
    assert is_signed_in(client)
    assert not is_signed_in(other)
    assert is_signed_in(teammate)
    assert "user.password_changed" in audit_actions(app)

    assert login(app.test_client(), "owner@example.com", TEST_PASSWORD).status_code == 422
    assert login(app.test_client(), "owner@example.com", NEW_PASSWORD).status_code == 302


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"current_password": "not my password", "new_password": NEW_PASSWORD}, "not right"),
        ({"current_password": "", "new_password": NEW_PASSWORD}, "Enter your current password."),
        ({"new_password": NEW_PASSWORD}, "Enter your current password."),
        ({"current_password": TEST_PASSWORD}, "Choose a password."),
        ({"current_password": TEST_PASSWORD, "new_password": "short"}, "Use 10 to 128"),
        ({"current_password": TEST_PASSWORD, "new_password": "x" * 129}, "Use 10 to 128"),
        ({"current_password": TEST_PASSWORD, "new_password": TEST_PASSWORD}, "the same as"),
        ({"current_password": "p" * 10_000, "new_password": NEW_PASSWORD}, "at most 128"),
    ],
)
def test_password_change_bad_input_changes_nothing(app, owner, owner_id, data, message):
    other = app.test_client()
    sign_in(other, owner_id)
    hashed = password_hash(app, owner_id)
    before = row_counts(app)
    response = owner.post("/account/password", data=data)
    assert response.status_code == 422
    assert message in text_of(response)
    assert password_hash(app, owner_id) == hashed
    assert row_counts(app) == before
    assert is_signed_in(other) and is_signed_in(owner)


# -- the account page and "sign out everywhere else" ---------------------------------------


def test_the_account_page_lists_open_sessions_in_plain_words(app, client, owner_id):
    firefox = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.1; rv:133.0) Gecko/20100101 Firefox/133.0"
    assert login(app.test_client(), "owner@example.com", user_agent=firefox).status_code == 302
    assert login(client, "owner@example.com").status_code == 302
    apps_page = text_of(client.get("/apps/"))
    assert 'href="/account"' in apps_page  # from the top bar's user menu
    page = text_of(client.get("/account"))
    assert "<h1>Your account</h1>" in page
    assert "Chrome on Linux" in page
    assert "Firefox on macOS" in page
    assert page.count("this session") == 1
    row = page.split("this session")[0].rsplit("<li", 1)[1]
    assert "Chrome on Linux" in row
    assert "after 1 hour without activity, or 12 hours after you signed in" in page
    assert "Sign out everywhere else" in page
    assert "Change your password" in page


def test_sign_out_everywhere_else(app, client, owner_id):
    sign_in(client, owner_id)
    others = [app.test_client() for _ in range(2)]
    for other in others:
        sign_in(other, owner_id)
    response = client.post("/account/sessions/end-others", follow_redirects=True)
    assert "2 other sessions signed out." in text_of(response)
    assert is_signed_in(client)
    assert not any(is_signed_in(other) for other in others)
    assert audit_actions(app).count("user.sessions_ended") == 1

    # Nothing left to end: said so, and nothing recorded.
    before = row_counts(app)
    response = client.post("/account/sessions/end-others", follow_redirects=True)
    assert "No other sessions were open." in text_of(response)
    assert row_counts(app) == before


@pytest.mark.parametrize("role", [Role.VIEWER, Role.ADMIN])
def test_every_role_manages_its_own_account(app, client, owner_id, role):
    user_id = add_user(app, "someone@example.com", role)
    sign_in(client, user_id)
    other = app.test_client()
    sign_in(other, user_id)
    hashed = password_hash(app, user_id)
    assert client.get("/account").status_code == 200
    assert client.post("/account/sessions/end-others").status_code == 302
    assert not is_signed_in(other)
    response = client.post(
        "/account/password",
        data={"current_password": TEST_PASSWORD, "new_password": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert password_hash(app, user_id) != hashed


# -- idle and absolute lifetimes -----------------------------------------------------------


@pytest.mark.parametrize(("idle", "open_"), [({"minutes": 59}, True), ({"minutes": 61}, False)])
def test_a_session_ends_after_an_hour_without_activity(app, client, owner_id, clock, idle, open_):
    sign_in(client, owner_id)
    clock.advance(**idle)
    assert is_signed_in(client) is open_
    assert session_count(app) == (1 if open_ else 0)


def test_a_session_ends_twelve_hours_after_sign_in_however_active(app, client, owner_id, clock):
    sign_in(client, owner_id)
    for _ in range(14):  # a page load every 50 minutes: 11 h 40 min
        clock.advance(minutes=50)
        assert is_signed_in(client)
    clock.advance(minutes=21)  # 12 h 01 min after signing in
    assert not is_signed_in(client)


def test_the_limits_come_from_the_settings(app_factory, owner_id, clock):
    app = app_factory(ENVIRON={"SESSION_IDLE_MINUTES": "5", "SESSION_MAX_HOURS": "1"})
    idle, busy = app.test_client(), app.test_client()
    sign_in(idle, owner_id)
    sign_in(busy, owner_id)
    clock.advance(minutes=4)
    assert is_signed_in(busy)
    clock.advance(minutes=2)
    assert not is_signed_in(idle)
    assert is_signed_in(busy)
    for _ in range(13):  # 58 minutes after signing in
        clock.advance(minutes=4)
        assert is_signed_in(busy)
    clock.advance(minutes=4)  # 1 h 2 min after signing in
    assert not is_signed_in(busy)


def last_seen(app) -> object:
    with app.app_context():
        return db.session.execute(db.select(UserSession.last_seen_at)).scalar_one()


def test_last_seen_is_written_at_most_once_a_minute_and_polls_do_not_count(
    app, client, owner_id, clock
):
    app_id, _ = add_webhook_set(app)
    status = f"/apps/{app_id}/test/status"
    sign_in(client, owner_id)
    signed_in_at = clock.now

    clock.advance(seconds=30)
    assert client.get("/apps/").status_code == 200
    assert last_seen(app) == signed_in_at  # no write within the minute

    clock.advance(seconds=60)
    assert client.get("/apps/").status_code == 200
    assert last_seen(app) == clock.now
    active_at = clock.now

    for _ in range(11):  # an open tab polling every 5 minutes for 55 minutes
        clock.advance(minutes=5)
        assert client.get(status, headers={"Accept": "application/json"}).status_code == 200
    assert last_seen(app) == active_at

    clock.advance(minutes=5, seconds=1)  # an hour after the last page load
    response = client.get(status, headers={"Accept": "application/json"})
    assert response.status_code == 401
    assert session_count(app) == 0


# -- JSON endpoints once the session is gone -----------------------------------------------


def background_polls(app) -> list[str]:
    app_id, _ = add_webhook_set(app)
    with app.app_context():
        from consoleapp.models import WebhookSet

        set_uid = db.session.execute(db.select(WebhookSet.uid)).scalar_one()
    paths = [
        f"/apps/{app_id}/inbox/feed?after=0",
        f"/apps/{app_id}/webhooks/{set_uid}/registration.json",
        f"/apps/{app_id}/install/status",
        f"/apps/{app_id}/test/status",
    ]
    marked = [
        rule.rule
        for rule in app.url_map.iter_rules()
        if getattr(app.view_functions[rule.endpoint], "background_poll", False)
    ]
    assert len(marked) == len(paths)  # every endpoint the page scripts poll is listed here
    return paths


@pytest.mark.parametrize("accept", ["application/json", "*/*"])
def test_what_page_scripts_poll_answers_401_json_once_signed_out(app, client, owner_id, accept):
    paths = background_polls(app)
    sign_in(client, owner_id)
    for path in paths:
        assert client.get(path, headers={"Accept": "application/json"}).status_code == 200, path
    client.post("/logout")
    for path in paths:
        response = client.get(path, headers={"Accept": accept})
        assert response.status_code == 401, path
        assert response.is_json, path
        assert response.get_json()["error"]["message"] == (
            "You were signed out. Reload the page to sign in."
        )


def test_page_scripts_stop_polling_on_401_and_say_so():
    """The scripts' side of the 401 (a browser test shows it on a page)."""
    scripts = Path(__file__).resolve().parents[1] / "static" / "js"
    # Every page script polls through poll.js, which stops on a 401 and has the page say so.
    for name in ("inbox.js", "install.js", "registration.js", "checklist.js"):
        assert "window.consolePoll(" in (scripts / name).read_text(), name
    source = (scripts / "poll.js").read_text()
    assert "response.status === 401" in source
    assert "window.consoleSignedOut()" in source
    assert "You were signed out." in (scripts / "console.js").read_text()


# -- 100 sign-ins --------------------------------------------------------------------------


def test_an_account_keeps_its_newest_twenty_sessions(app, owner_id):
    teammate_id = add_user(app, "admin@example.com", Role.ADMIN)
    teammate = app.test_client()
    sign_in(teammate, teammate_id)
    browsers = [app.test_client() for _ in range(100)]
    for browser in browsers:
        sign_in(browser, owner_id)
    assert session_count(app, owner_id) == sessions.SESSION_CAP == 20
    assert not any(is_signed_in(browser) for browser in browsers[:80])
    assert all(is_signed_in(browser) for browser in browsers[80:])
    assert is_signed_in(teammate)  # other accounts keep theirs
    page = text_of(browsers[-1].get("/account"))
    assert page.count('<p class="session-browser">') == 20


def test_a_real_sign_in_beyond_the_cap_ends_the_oldest(app, owner_id):
    oldest = app.test_client()
    sign_in(oldest, owner_id)
    for _ in range(sessions.SESSION_CAP - 1):
        sign_in(app.test_client(), owner_id)
    newest = app.test_client()
    assert login(newest, "owner@example.com").status_code == 302
    assert session_count(app, owner_id) == sessions.SESSION_CAP
    assert is_signed_in(newest)
    assert not is_signed_in(oldest)


# -- settings ------------------------------------------------------------------------------


def test_session_settings_default_to_an_hour_idle_and_twelve_hours_in_all(app):
    assert app.config["SESSION_IDLE_MINUTES"] == 60
    assert app.config["SESSION_MAX_HOURS"] == 12


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SESSION_IDLE_MINUTES", "0"),
        ("SESSION_IDLE_MINUTES", "-5"),
        ("SESSION_IDLE_MINUTES", "1.5"),
        ("SESSION_IDLE_MINUTES", "an hour"),
        ("SESSION_IDLE_MINUTES", "٣"),
        ("SESSION_IDLE_MINUTES", "9" * 30),
        ("SESSION_MAX_HOURS", "0"),
        ("SESSION_MAX_HOURS", "twelve"),
        ("SESSION_MAX_HOURS", "1e3"),
        ("SESSION_MAX_HOURS", "9000"),
    ],
)
def test_bad_session_settings_refuse_to_start(tmp_path, database_url, name, value):
    with pytest.raises(ConfigurationError, match=f"{name} must be a whole number"):
        make_app(tmp_path, database_url, ENVIRON={name: value})


def test_session_settings_are_in_the_readme():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    names = {setting.name for setting in config.SETTINGS}
    assert {"SESSION_IDLE_MINUTES", "SESSION_MAX_HOURS"} <= names
    assert "| `SESSION_IDLE_MINUTES` | `60` |" in readme
    assert "| `SESSION_MAX_HOURS` | `12` |" in readme


# -- the migration keeps every row -----------------------------------------------------------


def test_the_migration_keeps_rows_and_their_references_on_sqlite(tmp_path, database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("only SQLite rebuilds tables for AUTOINCREMENT; PostgreSQL never reuses")
    app = make_app(tmp_path, f"sqlite:///{tmp_path / 'upgraded.db'}")
    try:
        with app.app_context():
            upgrade(revision="0005")
            with db.engine.begin() as connection:
                for statement in (
                    "INSERT INTO users (id, email, password_hash, role, created_at) VALUES "
                    "(1, 'a@example.com', 'h', 'owner', '2026-01-01'), "
                    "(2, 'b@example.com', 'h', 'admin', '2026-01-01')",
                    "INSERT INTO apps (id, uid, name, scopes, redirect_uris, api_version, "
                    "created_at, updated_at, created_by_id) VALUES "
                    "(7, 'u7', 'Helpdesk', '[]', '[]', '3.6', '2026-01-01', '2026-01-01', 2)",
                    "INSERT INTO webhook_sets (uid, app_id, inbox_token, wizard_step, "
                    "api_version, created_at, updated_at) VALUES "
                    "('s1', 7, 'inbox', 1, '3.6', '2026-01-01', '2026-01-01')",
                    "INSERT INTO audit_events (created_at, actor_id, action, target, details) "
                    "VALUES ('2026-01-01', 2, 'app.created', 'Helpdesk', '{}')",
                ):
                    connection.exec_driver_sql(statement)
            upgrade(revision="0006")
            with db.engine.begin() as connection:

                def one(sql: str):
                    return connection.execute(text(sql)).scalar_one()  # noqa: B023

                assert one("SELECT created_by_id FROM apps WHERE id = 7") == 2
                assert one("SELECT app_id FROM webhook_sets") == 7
                assert one("SELECT actor_id FROM audit_events") == 2
                assert one("PRAGMA foreign_keys") == 1
                for table in ("users", "apps", "invitations", "user_sessions", "password_resets"):
                    sql = one(f"SELECT sql FROM sqlite_master WHERE name = '{table}'")
                    assert "AUTOINCREMENT" in sql, table
                assert one("SELECT count(*) FROM sqlite_master WHERE name = 'uq_apps_lower_name'")
                connection.exec_driver_sql("DELETE FROM users WHERE id = 2")
                connection.exec_driver_sql(
                    "INSERT INTO users (email, password_hash, role, created_at) "
                    "VALUES ('c@example.com', 'h', 'admin', '2026-01-02')"
                )
                assert one("SELECT id FROM users WHERE email = 'c@example.com'") == 3
    finally:
        with app.app_context():
            db.engine.dispose()
