from __future__ import annotations

import ipaddress
import os
import socket
import threading
import uuid
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from checklist_support import SANDBOX
from consoleapp.extensions import db, limiter
from consoleapp.models import Role
from consoleapp.redaction import configure_logging
from consoleapp.services import group_commit
from support import (
    LiveServer,
    ThreadedWorker,
    add_user,
    add_webhook_set,
    make_app,
    make_live_server,
    serve,
    sign_in,
)

# The test process serves the console as wsgi.py's does, with the same process-wide logging.
configure_logging("INFO")

# -- network guard -------------------------------------------------------------------------

_real_connect = socket.socket.connect
_real_create_connection = socket.create_connection


def _is_loopback(host: object) -> bool:
    if not isinstance(host, str):
        return False
    if host in {"localhost", "localhost.localdomain"}:
        return True
    try:
        address = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_loopback


class NetworkGuardError(AssertionError):
    pass


def _guarded_connect(self: socket.socket, address: object) -> object:
    if self.family in (socket.AF_INET, socket.AF_INET6):
        host = address[0] if isinstance(address, tuple) else address
        if not _is_loopback(host):
            raise NetworkGuardError(f"test tried to connect to non-loopback address {address!r}")
    return _real_connect(self, address)


def _guarded_create_connection(address: tuple, *args: object, **kwargs: object) -> socket.socket:
    if not _is_loopback(address[0]):
        raise NetworkGuardError(f"test tried to connect to non-loopback address {address!r}")
    return _real_create_connection(address, *args, **kwargs)


@pytest.fixture(autouse=True)
def network_guard(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any test that opens a connection to anything but loopback."""
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    monkeypatch.setattr(socket, "create_connection", _guarded_create_connection)


@pytest.fixture
def attempts(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every connection attempt; non-loopback ones are refused here, never sent."""
    seen: list[object] = []
    guarded_connect = socket.socket.connect

    def recording_connect(self: socket.socket, address: object) -> object:
        seen.append(address)
        host = address[0] if isinstance(address, tuple) else address
        if host not in {"127.0.0.1", "::1"}:
            raise ConnectionRefusedError(111, "refused by the test")
        return guarded_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", recording_connect)
    return seen


@pytest.fixture(autouse=True)
def fresh_rate_limits() -> Iterator[None]:
    """The limiter is one module-level extension: keep one test's limits out of the next."""
    yield
    limiter.limit_manager.set_default_limits([])
    if limiter._storage is not None:  # no app built in this test: nothing was counted
        limiter.reset()


# -- database ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str | None]:
    """A fresh PostgreSQL database for this run when TEST_DATABASE_URL points at a server."""
    base = os.environ.get("TEST_DATABASE_URL", "").strip()
    if not base:
        yield None
        return
    base = base.replace("postgresql://", "postgresql+psycopg://", 1)
    name = f"consoleapp_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(base).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def database_url(tmp_path, postgres_url) -> str:
    return postgres_url or f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture
def app_factory(tmp_path, database_url) -> Iterator:
    """Build apps on this test's database; tables are created once and dropped afterwards."""
    made: list[Flask] = []

    def factory(**overrides: object) -> Flask:
        app = make_app(tmp_path, database_url, **overrides)
        if not made:
            with app.app_context():
                db.create_all()
        made.append(app)
        return app

    yield factory
    for app in made:
        group_commit.stop(app)
    if made:
        with made[0].app_context():
            db.session.remove()
            db.drop_all()
            db.engine.dispose()
        for app in made[1:]:
            with app.app_context():
                db.engine.dispose()


@pytest.fixture
def live_server_factory(tmp_path, database_url) -> Iterator:
    """Serve the console (and, in sandbox mode, the sandbox) on 127.0.0.1 at a free port.

    PUBLIC_URL is the server's own address, so the console reaches its sandbox over HTTP.
    """
    started: list[tuple[LiveServer, threading.Thread]] = []
    workers: list[ThreadedWorker] = []

    def factory(worker: bool = True, **overrides: object) -> LiveServer:
        """``worker``: run queued tasks in threads, as a worker process would; without one,
        tasks wait until the test runs them (``run_queued_tasks``)."""
        server = make_live_server()
        environ = {"PUBLIC_URL": f"http://127.0.0.1:{server.server_port}"}
        environ.update(overrides.pop("ENVIRON", {}))
        app = make_app(tmp_path, database_url, ENVIRON=environ, **overrides)
        if not started:
            with app.app_context():
                db.create_all()
        serve(server, app)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        live = LiveServer(app, server)
        started.append((live, thread))
        if worker and not workers:
            workers.append(ThreadedWorker())
        return live

    yield factory
    for running in workers:
        running.stop()
    for live, thread in started:
        live.server.shutdown()
        thread.join(timeout=5)
        live.server.server_close()
        group_commit.stop(live.app)
    for live, _thread in started[1:]:
        with live.app.app_context():
            db.engine.dispose()
    if started:
        with started[0][0].app.app_context():
            db.session.remove()
            db.drop_all()
            db.engine.dispose()


@pytest.fixture
def app(app_factory) -> Flask:
    return app_factory()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask):
    return app.test_cli_runner()


# -- people --------------------------------------------------------------------------------


@pytest.fixture
def owner_id(app: Flask) -> int:
    return add_user(app, "owner@example.com", Role.OWNER)


@pytest.fixture
def owner(client: FlaskClient, owner_id: int) -> FlaskClient:
    """A client signed in as the owner."""
    sign_in(client, owner_id)
    return client


# -- the console and its sandbox on one socket ---------------------------------------------


@pytest.fixture
def live(live_server_factory) -> LiveServer:
    """The console in sandbox mode, served with its sandbox on one socket, without a worker:
    queued tasks wait for ``run_queued_tasks``. Modules that need another set-up define their
    own ``live``."""
    return live_server_factory(worker=False, ENVIRON={"SANDBOX_PROVISIONING": "on"})


@pytest.fixture
def console(live: LiveServer) -> FlaskClient:
    """A client of ``live`` signed in as its owner."""
    client = live.app.test_client()
    sign_in(client, add_user(live.app, "owner@example.com", Role.OWNER))
    return client


# -- the console's inbox -------------------------------------------------------------------


@pytest.fixture
def inbox_set(app: Flask) -> tuple[int, str]:
    """An app with one webhook set whose secret is ``support.INBOX_SECRET``: (app id, inbox
    token)."""
    return add_webhook_set(app)


# -- Install & test ------------------------------------------------------------------------


@pytest.fixture
def sandboxed(app_factory) -> tuple[Flask, FlaskClient]:
    """A console whose sandbox is at ``checklist_support.SANDBOX`` (mocked with responses),
    and a client signed in as its owner."""
    app = app_factory(SANDBOX_URL=SANDBOX)
    client = app.test_client()
    sign_in(client, add_user(app, "owner@example.com", Role.OWNER))
    return app, client
