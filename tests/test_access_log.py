"""No credential in any log line: invitation and reset links, the inbox token, OAuth code and
state, in the access log of werkzeug and of gunicorn (with the project's gunicorn.conf.py) and
in the console's own log."""

from __future__ import annotations

import logging
import os
import re
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from gunicorn.config import KNOWN_SETTINGS as gunicorn_settings
from served import stop_process

from consoleapp.extensions import db
from consoleapp.models import Role, User
from consoleapp.redaction import REDACTED
from consoleapp.services import users
from support import TEST_FERNET_KEY, add_user, add_webhook_set, delivery_body

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 10
MARKERS = [
    f"/invitations/{REDACTED}",
    f"/hooks/{REDACTED}",
    f"/password-reset/{REDACTED}",
    f"code={REDACTED}",
    f"state={REDACTED}",
]


@dataclass
class Credentials:
    app_id: int
    invitation: str
    inbox: str
    unknown_invitation: str = ""
    reset: str = ""
    code: str = ""
    state: str = ""

    def __post_init__(self) -> None:
        # Random values, so a match in the log can only come from the request itself.
        self.unknown_invitation = secrets.token_urlsafe(32)
        self.reset = secrets.token_urlsafe(32)
        self.code = secrets.token_urlsafe(24)
        self.state = secrets.token_urlsafe(24)

    def values(self) -> dict[str, str]:
        return {
            "invitation": self.invitation,
            "unknown invitation": self.unknown_invitation,
            "inbox token": self.inbox,
            "reset token": self.reset,
            "code": self.code,
            "state": self.state,
        }


def make_credentials(app) -> Credentials:
    """A pending owner invitation and an app with an inbox, in the server's database."""
    owner_id = add_user(app, "owner@example.com", Role.OWNER)
    with app.app_context():
        _, invitation = users.invite(db.session.get(User, owner_id), "new@example.com", Role.OWNER)
        db.session.commit()
    app_id, inbox = add_webhook_set(app)
    return Credentials(app_id=app_id, invitation=invitation, inbox=inbox)


def csrf_token(page: requests.Response) -> str:
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text)
    return found.group(1) if found else ""


def run_flows(base: str, credentials: Credentials) -> None:
    """Each flow whose address carries a credential, as a browser and LiveChat make them."""
    http = requests.Session()
    invitation_url = f"{base}/invitations/{credentials.invitation}"
    page = http.get(invitation_url, timeout=TIMEOUT)
    assert page.status_code == 200
    joined = http.post(
        invitation_url,
        data={"password": "a long enough password", "csrf_token": csrf_token(page)},
        headers={"Referer": invitation_url},
        allow_redirects=False,
        timeout=TIMEOUT,
    )
    assert joined.status_code == 302 and joined.headers["Location"].endswith("/apps/")

    unknown = http.get(f"{base}/invitations/{credentials.unknown_invitation}", timeout=TIMEOUT)
    assert unknown.status_code == 404

    delivered = requests.post(
        f"{base}/hooks/{credentials.inbox}", json=delivery_body(), timeout=TIMEOUT
    )
    assert delivered.status_code == 200

    callback_url = (
        f"{base}/apps/{credentials.app_id}/install/callback"
        f"?code={credentials.code}&state={credentials.state}"
    )
    callback = http.get(callback_url, timeout=TIMEOUT)
    assert callback.status_code == 400  # a state this console did not issue
    # The page the popup opens next names the callback as its referrer.
    http.get(f"{base}/apps/", headers={"Referer": callback_url}, timeout=TIMEOUT)

    reset = requests.get(f"{base}/password-reset/{credentials.reset}", timeout=TIMEOUT)
    assert reset.status_code < 500


def assert_no_credentials(text: str, credentials: Credentials) -> None:
    for kind, value in credentials.values().items():
        assert value not in text, f"the {kind} is in the log"
    for marker in MARKERS:
        assert marker in text


def test_werkzeug_access_log_and_console_log_hold_no_credentials(live_server_factory, caplog):
    live = live_server_factory()
    credentials = make_credentials(live.app)
    caplog.set_level(logging.INFO)
    run_flows(live.url, credentials)
    access_lines = [r.getMessage() for r in caplog.records if r.name == "werkzeug"]
    assert len(access_lines) >= 7  # one line per request, so the log was really captured
    assert_no_credentials(caplog.text, credentials)


# -- gunicorn ------------------------------------------------------------------------------


def _wait_for_port(error_log: Path, process: subprocess.Popen, deadline: float) -> int:
    """The port gunicorn chose, from its "Listening at" line."""
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail("gunicorn stopped:\n" + error_log.read_text(errors="replace"))
        if error_log.exists():
            found = re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", error_log.read_text())
            if found:
                return int(found.group(1))
        time.sleep(0.1)
    pytest.fail("gunicorn did not start listening:\n" + error_log.read_text(errors="replace"))


def _wait_until_serving(base: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            requests.get(f"{base}/login", timeout=2)
            return
        except requests.ConnectionError:
            time.sleep(0.1)
    pytest.fail("gunicorn did not answer")


def test_gunicorn_access_log_holds_no_credentials(app, database_url, tmp_path):
    credentials = make_credentials(app)
    access_log = tmp_path / "access.log"
    error_log = tmp_path / "error.log"
    output = tmp_path / "output.log"
    environ = {
        key: value
        for key, value in os.environ.items()
        if key not in {"GUNICORN_CMD_ARGS", "WEB_CONCURRENCY", "PORT"}
    }
    environ.update(
        LIVECHAT_MODE="sandbox",
        SECRET_KEY="gunicorn-test-secret-" + "x" * 32,
        FERNET_KEYS=TEST_FERNET_KEY,
        DATABASE_URL=database_url,
        SANDBOX_PROVISIONING="off",
    )
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--config",
        str(ROOT / "gunicorn.conf.py"),
        "--bind",
        "127.0.0.1:0",  # the port is read back from the error log: no race for a free one
        "--workers",
        "1",
        "--graceful-timeout",
        "5",
        "--access-logfile",
        str(access_log),
        "--error-logfile",
        str(error_log),
        "wsgi:app",
    ]
    if any(setting.name == "control_socket_disable" for setting in gunicorn_settings):
        command[-1:-1] = ["--no-control-socket"]  # keep out of the shared ~/.gunicorn
    with output.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=ROOT, env=environ, stdout=out, stderr=subprocess.STDOUT
        )
        try:
            deadline = time.monotonic() + 60
            base = f"http://127.0.0.1:{_wait_for_port(error_log, process, deadline)}"
            _wait_until_serving(base, deadline)
            run_flows(base, credentials)
        finally:
            stop_process(process)
    logged = access_log.read_text()
    assert f'"GET /invitations/{REDACTED} HTTP/1.1" 200' in logged
    assert f'"POST /hooks/{REDACTED} HTTP/1.1" 200' in logged
    assert f'"{base}/invitations/{REDACTED}"' in logged  # the referrer, masked too
    assert_no_credentials(logged, credentials)
    for other in (error_log, output):
        text = other.read_text(errors="replace")
        for kind, value in credentials.values().items():
            assert value not in text, f"the {kind} is in {other.name}"
