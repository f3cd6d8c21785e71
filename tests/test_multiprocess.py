"""Several processes serve one console: 2 web processes (gunicorn) and 2 workers on
PostgreSQL, with the task queue on Redis and again on PostgreSQL.

Registers every 3.6 trigger with latency injected, kills the worker that holds the run in the
middle of it, and checks that the run finishes by itself with exactly one webhook per trigger
at LiveChat (the sandbox) and every id saved; then installs the app, fires one sandbox event
per trigger from the Install & test page, and checks that each delivery arrives once,
verified. Needs PostgreSQL (TEST_DATABASE_URL) and Redis (127.0.0.1:6379); `.ci/run` starts
them where they are not running.
"""

from __future__ import annotations

import os
import signal
import time
import uuid

import pytest
import redis
from http_journey import Console
from served import served
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from consoleapp.livechat import catalog
from consoleapp.livechat.configuration import ConfigurationApi, Credential
from support import TEST_FERNET_KEY

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
TRIGGERS = [trigger.action for trigger in catalog.triggers_for("3.6")]


@pytest.fixture
def database(postgres_url):
    """A database of its own: the processes migrate it and share it."""
    if postgres_url is None:
        pytest.skip("several processes need PostgreSQL; set TEST_DATABASE_URL")
    name = f"consoleapp_mp_{uuid.uuid4().hex[:10]}"
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(postgres_url).set(database=name, drivername="postgresql")
    yield url.render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def redis_queue():
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.skip(f"Redis is not running at {REDIS_URL}; `.ci/run` starts it")
    client.flushdb()
    yield REDIS_URL
    client.flushdb()
    client.close()


def queue_url(kind: str, database: str, request) -> str:
    return request.getfixturevalue("redis_queue") if kind == "redis" else database


def holder_pid(database: str) -> int | None:
    engine = create_engine(database.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as connection:
            holder = connection.execute(
                text("SELECT holder FROM registration_runs WHERE state = 'running'")
            ).scalar()
    finally:
        engine.dispose()
    return int(holder.split("-")[-2]) if holder else None


@pytest.mark.parametrize("kind", ["redis", "postgresql"])
def test_two_web_processes_and_two_workers_serve_one_console(kind, database, tmp_path, request):
    environ = {
        "LIVECHAT_MODE": "sandbox",
        "SECRET_KEY": "multi-process-secret-key-" + "x" * 32,
        "FERNET_KEYS": TEST_FERNET_KEY,
        "DATABASE_URL": database,
        "TASK_QUEUE_URL": queue_url(kind, database, request),
        "SANDBOX_PROVISIONING": "on",
        "REGISTRATION_LEASE_SECONDS": "4",
        "RATELIMIT_STORAGE_URI": "memory://",
    }
    with served(environ, tmp_path / "logs", web_workers=2, task_workers=2) as running:
        person = Console(running.url)
        person.create_owner()
        app_id = person.create_app()
        uid = person.webhook_set(app_id, TRIGGERS, "multi-process-secret-12345")

        # Register, slowly, and kill the worker that holds the run in the middle of it.
        person.sandbox_fault(kind="latency", method="register_webhook", value=700)
        assert person.register(app_id, uid).status_code == 302
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            status = person.registration(app_id, uid)
            if status["registered"] >= 8 and (pid := holder_pid(database)):
                break
            time.sleep(0.05)
        else:
            raise AssertionError(f"the run did not get going: {status}")
        os.kill(pid, signal.SIGKILL)
        killed = next(w for w in running.workers if w.pid == pid)
        killed.wait(timeout=10)
        assert status["registered"] < len(TRIGGERS)

        final = person.wait_for_run(app_id, uid, seconds=120)
        assert final["run"] == {
            "state": "finished",
            "kind": "register",
            "active": False,
            "problem": None,
        }
        assert final["registered"] == final["total"] == len(TRIGGERS)
        person.clear_sandbox_faults()

        api, owner = livechat_api(running.url, database, app_id)
        at_livechat = api.list_webhooks(owner)
        assert sorted(w.action for w in at_livechat) == sorted(TRIGGERS)  # one each
        saved = {row["webhook_id"] for row in final["rows"]}
        assert saved == {w.id for w in at_livechat}

        # Install, fire one sandbox event per trigger, and see each delivery once, verified.
        person.install(app_id)
        for action in TRIGGERS:
            answer = person.fire(app_id, action)
            assert answer.status_code == 200, (action, heading(answer.text))
        sent, stored = settle(running.url, database)
        assert sent, "the sandbox sent nothing"
        assert {row["action"] for row in sent} >= set(TRIGGERS)
        assert stored == {"deliveries": len(sent), "verified": len(sent), "repeats": 0}
        assert all(row["attempt_count"] == 1 for row in sent)


def heading(page: str) -> str:
    start = page.find("<h1")
    return page[start : page.find("</main>", start)][:600]


def livechat_api(url: str, database: str, app_id: int) -> tuple[ConfigurationApi, str]:
    """The Configuration API as LiveChat's own client reaches it, with the app's credential."""
    from consoleapp import create_app
    from consoleapp.extensions import db
    from consoleapp.models import App

    reader = create_app(
        {
            "ENVIRON": {
                "LIVECHAT_MODE": "sandbox",
                "SECRET_KEY": "r" * 40,
                "FERNET_KEYS": TEST_FERNET_KEY,
                "DATABASE_URL": database,
                "TASK_QUEUE_URL": "memory://",
                "SANDBOX_PROVISIONING": "off",
            }
        },
        instance_path=None,
    )
    with reader.app_context():
        app = db.session.get(App, app_id)
        credential = Credential.personal_access_token(app.developer_account_id, app.developer_token)
        owner = app.client_id
        db.session.remove()
        db.engine.dispose()
    return ConfigurationApi(f"{url}/sandbox/api", "3.6", credential), owner


def settle(url: str, database: str, seconds: float = 120) -> tuple[list[dict], dict[str, int]]:
    """Wait until the sandbox has no delivery left pending; then what it sent and what the
    console's inbox holds."""
    import requests

    deadline = time.monotonic() + seconds
    while True:
        sent = requests.get(f"{url}/sandbox/deliveries?limit=200", timeout=10).json()
        deliveries = sent["deliveries"]
        if deliveries and all(d["status"] != "pending" for d in deliveries):
            break
        if time.monotonic() > deadline:
            raise AssertionError(
                "deliveries still pending: "
                + str([d for d in deliveries if d["status"] == "pending"][:3])
            )
        time.sleep(0.2)
    assert {d["status"] for d in deliveries} == {"delivered"}, deliveries
    engine = create_engine(database.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as connection:
            counts = connection.execute(
                text(
                    "SELECT count(*), count(*) FILTER (WHERE verified),"
                    " (SELECT count(*) FROM delivery_events WHERE times_received > 1)"
                    " FROM deliveries"
                )
            ).one()
    finally:
        engine.dispose()
    return deliveries, {"deliveries": counts[0], "verified": counts[1], "repeats": counts[2]}
