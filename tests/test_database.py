"""The database: SQLite durability settings, and migrations that build exactly the models."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate.cli import db as db_command
from sqlalchemy import (
    JSON,
    DateTime,
    String,
    column,
    create_engine,
    insert,
    inspect,
    table,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from consoleapp.database import SQLITE_BUSY_TIMEOUT_MS
from consoleapp.extensions import db
from consoleapp.models import App, AuditEvent, TriggerTest
from support import make_app


@pytest.fixture
def sqlite_app(app, database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite settings; this run uses PostgreSQL")
    return app


def test_sqlite_pragmas_are_in_force_on_every_connection(sqlite_app):
    with sqlite_app.app_context():
        for _ in range(2):  # a fresh pooled connection gets them too
            with db.engine.connect() as connection:

                def pragma(name: str):
                    return connection.exec_driver_sql(f"PRAGMA {name}").scalar()  # noqa: B023

                assert pragma("journal_mode") == "wal"
                assert pragma("synchronous") == 2  # FULL
                assert pragma("foreign_keys") == 1
                assert pragma("busy_timeout") == SQLITE_BUSY_TIMEOUT_MS
            db.engine.dispose()


def test_sqlite_transactions_take_the_write_lock_at_once(sqlite_app, database_url):
    """BEGIN IMMEDIATE: a second writer waits at the start instead of failing midway."""
    path = make_url(database_url).database
    with sqlite_app.app_context():
        db.session.execute(text("SELECT 1"))  # opens the transaction
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
            db.session.rollback()
            other.execute("BEGIN IMMEDIATE")  # free again once the session is done
            other.execute("ROLLBACK")
        finally:
            other.close()


def test_writers_take_turns_at_the_write_gate(sqlite_app):
    """A second writer waits at the gate, not in SQLite's sleeping busy handler, and starts the
    moment the first one commits; a rollback or a failed begin gives the turn back too."""
    with sqlite_app.app_context():
        engine = db.engine
    order: list[str] = []
    first_holds = threading.Event()

    def first() -> None:
        with engine.connect() as connection, connection.begin():
            connection.exec_driver_sql("SELECT 1")  # BEGIN IMMEDIATE took the write lock
            order.append("first wrote")
            first_holds.set()
            time.sleep(0.3)
            order.append("first commits")

    def second() -> None:
        first_holds.wait(5)
        started = time.monotonic()
        with engine.connect() as connection, connection.begin():
            order.append("second began")
            waited.append(time.monotonic() - started)

    waited: list[float] = []
    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert order == ["first wrote", "first commits", "second began"]
    assert 0.2 < waited[0] < 2.0

    # A rolled-back writer gives the turn back: the next one does not wait.
    with engine.connect() as connection:
        connection.begin()
        connection.rollback()
    started = time.monotonic()
    with engine.connect() as connection, connection.begin():
        pass
    assert time.monotonic() - started < 1.0


def test_another_process_at_the_write_gate_holds_writers_back(sqlite_app, database_url):
    """The gate is shared by every process on the file: while another holds it, a writer here
    waits, and begins as soon as it is given back."""
    lock_file = f"{Path(make_url(database_url).database).resolve()}-writers.lock"
    with sqlite_app.app_context():
        engine = db.engine
    other = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(other, fcntl.LOCK_EX)
    began = threading.Event()

    def write() -> None:
        with engine.connect() as connection, connection.begin():
            began.set()

    writer = threading.Thread(target=write)
    writer.start()
    try:
        assert not began.wait(0.5)
    finally:
        fcntl.flock(other, fcntl.LOCK_UN)
        os.close(other)
    assert began.wait(5)
    writer.join(5)


def test_foreign_keys_are_enforced(app):
    with app.app_context():
        db.session.add(AuditEvent(action="x", actor_id=424242, details={}))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()


# -- migrations ----------------------------------------------------------------------------


@pytest.fixture
def empty_database(tmp_path, postgres_url):
    """An empty database URL: a new SQLite file, or a new schema in the PostgreSQL database."""
    if postgres_url is None:
        yield f"sqlite:///{tmp_path / 'migrated.db'}"
        return
    schema = f"migrations_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(postgres_url).update_query_dict({"options": f"-csearch_path={schema}"})
    yield url.render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def test_db_upgrade_builds_exactly_the_models(tmp_path, empty_database):
    app = make_app(tmp_path, empty_database)
    try:
        with app.app_context():
            assert inspect(db.engine).get_table_names() == []
        runner = app.test_cli_runner()
        result = runner.invoke(db_command, ["upgrade"])
        assert result.exit_code == 0, result.output + repr(result.exception)
        again = runner.invoke(db_command, ["upgrade"])  # nothing left to do
        assert again.exit_code == 0, again.output

        with app.app_context(), db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, db.metadata)
            tables = set(inspect(connection).get_table_names())
        assert differences == []
        assert {"users", "apps", "audit_events", "invitations", "alembic_version"} <= tables
        assert {"sandbox_clients", "sandbox_webhooks", "sandbox_deliveries"} <= tables
    finally:
        with app.app_context():
            db.engine.dispose()


def _insert_app(connection, app_id: int, name: str) -> None:
    connection.execute(
        text(
            "INSERT INTO apps (id, uid, name, scopes, redirect_uris, api_version, created_at,"
            " updated_at) VALUES (:id, :uid, :name, '[]', '[]', '3.6', :now, :now)"
        ),
        {"id": app_id, "uid": f"uid{app_id}", "name": name, "now": "2026-01-01 00:00:00"},
    )


def test_upgrade_gives_existing_lookalike_names_distinct_names(tmp_path, empty_database):
    """Names saved before lookalikes were refused: the oldest keeps its name, later ones get
    a number, the audit log says so, and nothing that belongs to an app is lost."""
    app = make_app(tmp_path, empty_database)
    try:
        runner = app.test_cli_runner()
        result = runner.invoke(db_command, ["upgrade", "0005"])
        assert result.exit_code == 0, result.output + repr(result.exception)
        with app.app_context(), db.engine.begin() as connection:
            for app_id, name in [
                (1, "Helpdesk sync"),
                (2, "Ｈｅｌｐｄｅｓｋ sync"),
                (3, "Help\u200bdesk sync"),
                (4, "Helpdesk sync (2)"),
                (5, "Billing"),
            ]:
                _insert_app(connection, app_id, name)
            connection.execute(
                text(
                    "INSERT INTO webhook_sets (id, uid, app_id, inbox_token, wizard_step,"
                    " api_version, created_at, updated_at) VALUES (1, 'set1', 2, 'inbox1', 1,"
                    " '3.6', '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
                )
            )
        result = runner.invoke(db_command, ["upgrade"])
        assert result.exit_code == 0, result.output + repr(result.exception)

        with app.app_context():
            rows = db.session.execute(db.select(App.id, App.name).order_by(App.id)).all()
            assert [tuple(row) for row in rows] == [
                (1, "Helpdesk sync"),
                (2, "Ｈｅｌｐｄｅｓｋ sync (3)"),
                (3, "Help\u200bdesk sync (4)"),
                (4, "Helpdesk sync (2)"),
                (5, "Billing"),
            ]
            events = db.session.execute(
                db.select(AuditEvent.action, AuditEvent.target, AuditEvent.details).order_by(
                    AuditEvent.id
                )
            ).all()
            assert [tuple(event) for event in events] == [
                (
                    "app.renamed",
                    "Ｈｅｌｐｄｅｓｋ sync (3)",
                    {
                        "before": "Ｈｅｌｐｄｅｓｋ sync",
                        "reason": "looked the same as “Helpdesk sync”",
                    },
                ),
                (
                    "app.renamed",
                    "Help\u200bdesk sync (4)",
                    {
                        "before": "Help\u200bdesk sync",
                        "reason": "looked the same as “Helpdesk sync”",
                    },
                ),
            ]
            count = db.select(db.func.count()).select_from(db.table("webhook_sets"))
            assert db.session.execute(count).scalar_one() == 1
            db.session.add(App(name="HELPDESK SYNC"))
            with pytest.raises(IntegrityError):
                db.session.commit()
            db.session.rollback()
    finally:
        with app.app_context():
            db.engine.dispose()


def test_upgrade_keeps_the_clock_of_tests_started_before_it(tmp_path, empty_database):
    """Test starts were audit events: the latest of each trigger of an app still there becomes
    a trigger test, so its checklist row still counts from it."""
    app = make_app(tmp_path, empty_database)
    audit_events = table(
        "audit_events",
        column("created_at", DateTime()),
        column("action", String()),
        column("target", String()),
        column("details", JSON()),
    )
    at = datetime(2026, 1, 1, 12, 0, 0)
    started = [
        (1, "incoming_chat", "start_chat", at),
        (1, "incoming_chat", "start_chat", at + timedelta(minutes=5)),
        (1, "chat_deactivated", "close_chat", at + timedelta(minutes=1)),
        (9, "incoming_chat", "start_chat", at),  # its app was deleted
    ]
    try:
        runner = app.test_cli_runner()
        result = runner.invoke(db_command, ["upgrade", "0010"])
        assert result.exit_code == 0, result.output + repr(result.exception)
        with app.app_context(), db.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO apps (id, uid, name, name_key, scopes, redirect_uris, api_version,"
                    " created_at, updated_at) VALUES (1, 'uid1', 'Helpdesk', 'helpdesk', '[]',"
                    " '[]', '3.6', :now, :now)"
                ),
                {"now": at},
            )
            rows = [
                {
                    "created_at": when,
                    "action": "test.event_started",
                    "target": "Helpdesk",
                    "details": {"app_id": app_id, "trigger": action, "scenario": scenario},
                }
                for app_id, action, scenario, when in started
            ]
            rows += [
                {"created_at": at, "action": "test.event_started", "target": "", "details": odd}
                for odd in ({}, {"app_id": "1", "trigger": "incoming_chat"}, {"app_id": 1})
            ]
            rows.append(
                {
                    "created_at": at,
                    "action": "app.renamed",
                    "target": "",
                    "details": {"app_id": 1, "trigger": "agent_created"},
                }
            )
            connection.execute(insert(audit_events), rows)
        result = runner.invoke(db_command, ["upgrade"])
        assert result.exit_code == 0, result.output + repr(result.exception)

        with app.app_context():
            query = db.select(
                TriggerTest.app_id, TriggerTest.action, TriggerTest.scenario, TriggerTest.started_at
            ).order_by(TriggerTest.id)
            assert [tuple(row) for row in db.session.execute(query)] == [
                (1, "incoming_chat", "start_chat", at + timedelta(minutes=5)),
                (1, "chat_deactivated", "close_chat", at + timedelta(minutes=1)),
            ]
    finally:
        with app.app_context():
            db.engine.dispose()


LOOKALIKES = [
    ("Helpdesk sync", "HELPDESK SYNC"),
    ("Helpdesk sync", "Helpdesk\u00a0sync"),
    ("Helpdesk sync", "Helpdesk\u3000sync"),
    ("Helpdesk sync", "Helpdesk   sync"),
    ("Helpdesk sync", "Ｈｅｌｐｄｅｓｋ ｓｙｎｃ"),
    ("Helpdesk sync", "Help\u200bdesk sync"),
    ("Straße", "STRASSE"),
]


@pytest.mark.parametrize(("first", "second"), LOOKALIKES)
def test_lookalike_app_names_cannot_both_be_stored(app, first, second):
    """The service checks first; the unique name key holds when two people save at once.

    The second request checked before the first committed, so only the database stands in
    its way.
    """
    with app.app_context():
        db.session.add(App(name=first))
        db.session.commit()
    with app.app_context():
        db.session.add(App(name=second))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()
        assert db.session.execute(db.select(App.name)).scalars().all() == [first]


# -- read-only requests ----------------------------------------------------------------------


def test_a_page_read_takes_no_write_lock(sqlite_app, database_url, owner):
    """A GET reads a snapshot: it answers while another writer holds SQLite's write lock."""
    path = make_url(database_url).database
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        assert owner.get("/apps/").status_code == 200
        assert owner.get("/audit/").status_code == 200
        other.execute("ROLLBACK")
    finally:
        other.close()


def test_a_write_in_a_read_only_request_fails_loudly(sqlite_app, owner):
    from consoleapp.database import ReadOnlyViolation, writing

    @sqlite_app.get("/test-writes-on-get")
    def writes_on_get():
        db.session.add(AuditEvent(action="test.write", details={}))
        db.session.commit()
        return "written"

    @sqlite_app.get("/test-writes-in-writing")
    def writes_in_writing():
        with writing():
            db.session.add(AuditEvent(action="test.write", details={}))
            db.session.commit()
        return "written"

    sqlite_app.config["PROPAGATE_EXCEPTIONS"] = True
    with pytest.raises(ReadOnlyViolation):
        owner.get("/test-writes-on-get")
    assert owner.get("/test-writes-in-writing").get_data(as_text=True) == "written"
    with sqlite_app.app_context():
        actions = db.session.execute(db.select(AuditEvent.action)).scalars().all()
    assert actions.count("test.write") == 1
