"""Helpers for tests and conftest files. Import from here, never from ``conftest``:
with conftest files in several folders, ``import conftest`` finds whichever loaded last."""

from __future__ import annotations

import html
import re

from cryptography.fernet import Fernet
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.security import generate_password_hash
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wsgi import ClosingIterator

from consoleapp import create_app
from consoleapp.extensions import db
from consoleapp.models import AuditEvent, Delivery, DeliveryEvent, Role, User

TEST_FERNET_KEY = Fernet.generate_key().decode()
# CHECKS S1: addresses that are not publicly reachable, in every notation listed there.
NOT_PUBLIC = [
    "http://127.0.0.1:9/",
    "http://localhost/",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://0.0.0.0/",
    "http://2130706433/",
    "http://0x7f000001/",
    "http://017700000001/",
    "http://10.0.0.5/",
    "http://172.16.0.1/",
    "http://192.168.1.1/",
    "http://100.64.0.1/",
    "http://[fd00::1]/",
    "http://[fe80::1]/",
    "http://192.0.0.170/",
    "http://198.18.0.1/",
    "http://240.0.0.1/",
]
TEST_PASSWORD = "correct horse battery"
TAGS = re.compile(r"<[^>]+>")
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
        # Queued tasks wait in memory until a test runs them (run_queued_tasks) or starts a
        # worker in threads (task_worker).
        "TASK_QUEUE_URL": "memory://",
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
    """Sign ``client`` in as the user: a real session row, its token in the client's cookie."""
    from consoleapp.services import sessions

    app = client.application
    with app.app_context():
        user = db.session.get(User, user_id)
        assert user is not None, f"no user with id {user_id} to sign in"
        token = sessions.start(
            user, sessions.Lifetimes.from_config(app.config), "test client", "127.0.0.1"
        )
        db.session.commit()
    with client.session_transaction() as session:
        session.clear()
        session["_user_id"] = token
        session["_fresh"] = True


_RESPONSE = "tests.response"


class _ClosingRequestHandler(WSGIRequestHandler):
    """Werkzeug's handler, closing the response when the client dropped the connection.

    Werkzeug closes a response only after it has drained the socket; when the drain itself
    fails (a browser left the page while a file was being sent), the open file is left to the
    garbage collector, whose ResourceWarning then fails whichever test it lands in."""

    def connection_dropped(self, error: BaseException, environ: dict | None = None) -> None:
        response = (environ or {}).get(_RESPONSE)
        if response is not None:
            response.close()


def _remembering_response(app: Flask):
    """Wrap ``app`` so the handler can find the response; closing it forgets it."""

    def wsgi(environ, start_response):
        response = app(environ, start_response)
        environ[_RESPONSE] = ClosingIterator(response, lambda: environ.pop(_RESPONSE, None))
        return environ[_RESPONSE]

    return wsgi


def make_live_server() -> BaseWSGIServer:
    """A threaded server on 127.0.0.1 at a free port; ``serve()`` gives it its app."""
    return make_server("127.0.0.1", 0, None, threaded=True, request_handler=_ClosingRequestHandler)


def serve(server: BaseWSGIServer, app: Flask) -> None:
    server.app = _remembering_response(app)


class LiveServer:
    """The console served over a real socket on 127.0.0.1, in a thread."""

    def __init__(self, app: Flask, server) -> None:
        self.app = app
        self.server = server
        self.url = f"http://127.0.0.1:{server.server_port}"


# -- the console's inbox -------------------------------------------------------------------

INBOX_SECRET = "inbox-secret-key-value-Zq9w"


def add_webhook_set(
    app: Flask,
    app_name: str = "Inbox app",
    secret: str | None = INBOX_SECRET,
    inbox_token: str | None = None,
) -> tuple[int, str]:
    """An app (created when missing) with one webhook set; returns the app id and inbox token."""
    from consoleapp.models import App, WebhookSet

    with app.app_context():
        owner = db.session.execute(db.select(App).where(App.name == app_name)).scalar_one_or_none()
        if owner is None:
            owner = App(name=app_name)
            db.session.add(owner)
            db.session.flush()
        webhook_set = WebhookSet(app_id=owner.id, target_url="http://127.0.0.1/hooks/x")
        if inbox_token:
            webhook_set.inbox_token = inbox_token
        if secret is not None:
            webhook_set.set_secret_key(secret)
        db.session.add(webhook_set)
        db.session.commit()
        return owner.id, webhook_set.inbox_token


def delivery_body(
    action: str = "incoming_event", secret: object = INBOX_SECRET, **fields: object
) -> dict[str, object]:
    """A delivery envelope as LiveChat sends it (3.6)."""
    body: dict[str, object] = {
        "webhook_id": "a0c22fdd1ed0b0fbbdd4cfd89a1e4ab3",
        "secret_key": secret,
        "action": action,
        "organization_id": "390e44e6-f1e6-0368c-z6ddb-74g14508c2ex",
        "payload": {
            "chat_id": "PJ0MRSHTDG",
            "thread_id": "K600PKZON8",
            "event": {"id": "0affb00a", "type": "message", "text": "hello there"},
        },
        "additional_data": {},
    }
    body.update(fields)
    return body


def text_of(response) -> str:
    """A page's HTML with its entities turned back into characters."""
    return html.unescape(response.get_data(as_text=True))


def flat_text_of(response) -> str:
    """A page's HTML on one line: entities turned back into characters, every run of
    whitespace (no-break spaces too) made one space."""
    return re.sub(r"\s+", " ", text_of(response))


def words(response) -> str:
    """What a person reads on a page: its text without the tags, whitespace collapsed."""
    return " ".join(html.unescape(TAGS.sub(" ", response.get_data(as_text=True))).split())


def deliveries(app: Flask) -> list[Delivery]:
    """The stored deliveries, once what follows from them is worked out (as a worker does)."""
    fold(app)
    with app.app_context():
        rows = db.session.execute(db.select(Delivery).order_by(Delivery.id)).scalars().all()
        db.session.expunge_all()
        return list(rows)


def events(app: Flask) -> list[DeliveryEvent]:
    """The delivery events, once the stored deliveries are folded into them."""
    fold(app)
    with app.app_context():
        rows = db.session.execute(db.select(DeliveryEvent)).scalars().all()
        db.session.expunge_all()
        return list(rows)


def password_hash(app: Flask, user_id: int) -> str:
    with app.app_context():
        return db.session.get(User, user_id).password_hash


def audit_actions(app: Flask) -> list[str]:
    with app.app_context():
        return list(db.session.execute(db.select(AuditEvent.action)).scalars())


def row_counts(app) -> dict[str, int]:
    with app.app_context():
        return {
            table.name: db.session.execute(
                db.select(db.func.count()).select_from(table)
            ).scalar_one()
            for table in db.metadata.sorted_tables
        }


# -- the task queue ------------------------------------------------------------------------


def run_queued_tasks(limit: int = 10_000) -> int:
    """Run every task queued now (and any they queue), in this thread, as a worker would.

    Scheduled tasks (retries, watches) stay scheduled. Returns how many ran.
    """
    from consoleapp.extensions import queue

    count = 0
    while count < limit and (task := queue.huey.dequeue()) is not None:
        if not queue.huey.ready_to_run(task):
            queue.huey.add_schedule(task)  # a retry or a watch for later, as a worker does
            continue
        task.execute()
        count += 1
    return count


class ThreadedWorker:
    """A worker in threads of the test process, like ``flask --app wsgi worker``."""

    def __init__(self, threads: int = 4) -> None:
        from consoleapp.extensions import queue

        queue.run_worker_start()
        self.consumer = queue.consumer(threads)
        self.consumer.shutdown_timeout = 30
        # Consumer.start would take over SIGINT and SIGTERM; start its threads only.
        self.consumer.scheduler.start()
        for _, worker in self.consumer.worker_threads:
            worker.start()

    def stop(self) -> None:
        self.consumer.stop(graceful=True)


def fold(app: Flask) -> int:
    """Fold the stored deliveries into events and counts now, as the worker's task does."""
    from consoleapp.services import folding

    with app.app_context():
        return folding.fold_all()
