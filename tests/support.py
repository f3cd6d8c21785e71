"""Helpers for tests and conftest files. Import from here, never from ``conftest``:
with conftest files in several folders, ``import conftest`` finds whichever loaded last."""

from __future__ import annotations

from cryptography.fernet import Fernet
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.security import generate_password_hash

from consoleapp import create_app
from consoleapp.extensions import db
from consoleapp.models import Role, User

TEST_FERNET_KEY = Fernet.generate_key().decode()
TEST_PASSWORD = "correct horse battery"
# Hashing at full strength for every test user would dominate the suite's run time.
_FAST_HASH = generate_password_hash(TEST_PASSWORD, method="pbkdf2:sha256:1000")


def make_app(tmp_path, database_url: str, **overrides: object) -> Flask:
    environ = {
        "LIVECHAT_MODE": "sandbox",
        "SECRET_KEY": "test-secret-key-" + "x" * 32,
        "FERNET_KEYS": TEST_FERNET_KEY,
        "DATABASE_URL": database_url,
        # Tests that want the sandbox to provision new apps turn this on with a live server.
        "SANDBOX_PROVISIONING": "off",
    }
    environ.update(overrides.pop("ENVIRON", {}))
    config = {
        "TESTING": True,
        "WTF_CSRF_ENABLED": False,
        "ENVIRON": environ,
    }
    config.update(overrides)
    return create_app(config, instance_path=str(tmp_path / "instance"))


def add_user(app: Flask, email: str, role: Role = Role.OWNER) -> int:
    with app.app_context():
        user = User(email=email, password_hash=_FAST_HASH, role=role.value)
        db.session.add(user)
        db.session.commit()
        return user.id


def sign_in(client: FlaskClient, user_id: int) -> None:
    with client.session_transaction() as session:
        session["user_id"] = user_id


class LiveServer:
    """The console served over a real socket on 127.0.0.1, in a thread."""

    def __init__(self, app: Flask, server) -> None:
        self.app = app
        self.server = server
        self.url = f"http://127.0.0.1:{server.server_port}"
