"""Database engine settings: SQLite made durable and concurrent-safe.

SQLite has one writer at a time. A transaction that will write takes the write lock when it
begins (``BEGIN IMMEDIATE``), so concurrent writers wait their turn (``busy_timeout``) instead
of failing midway when a read lock cannot be upgraded. A read-only request (GET, HEAD,
OPTIONS) begins its transactions without it (``BEGIN``, a snapshot in WAL mode), so reading a
page never waits for, nor holds up, the receiver or a worker. A read-only request that must
write after all does so in ``writing()``; a view that writes on GET says so with
``@writes_on_get``. Anything else that writes in a read-only request is a bug, and fails loudly
(``ReadOnlyViolation``) instead of failing later, at random, on a busy database.
"""

from __future__ import annotations

import fcntl
import functools
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from flask import Flask, current_app, request
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from .extensions import db

SQLITE_BUSY_TIMEOUT_MS = 5000
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")
_read_only: ContextVar[bool] = ContextVar("consoleapp_read_only", default=False)


class ReadOnlyViolation(RuntimeError):
    """A read-only request tried to write outside ``writing()``."""


class WriteGate:
    """One writer at a time among the threads and processes that share a SQLite file, woken in
    turn as soon as the writer before them commits.

    SQLite's own wait for its write lock (``busy_timeout``) sleeps and retries with a growing
    back-off, so under load a waiting writer can lose to newcomers again and again (the
    receiver's slowest answers took seconds). Here writers queue instead: a lock shared by the
    threads of a process, then an ``flock`` on a file beside the database shared by the
    processes. The gate is taken when a write transaction begins and given back when it
    ends; it is re-entrant per thread. A thread waits for its turn in the process no longer
    than SQLite would wait; then for the file, as long as the writer before it takes.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._threads = threading.RLock()
        self._depth = 0
        self._fd: int | None = None
        self._pid = os.getpid()

    def acquire(self) -> None:
        if not self._threads.acquire(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000):
            raise sqlite3.OperationalError("database is locked (no turn to write in time)")
        self._depth += 1
        if self._depth > 1:
            return
        try:
            self._lock_file()
        except BaseException:
            self._depth -= 1
            self._threads.release()
            raise

    def release(self) -> None:
        self._depth -= 1
        if self._depth == 0 and self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._threads.release()

    def _lock_file(self) -> None:
        if self._fd is None or self._pid != os.getpid():  # after a fork: a lock of our own
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            self._pid = os.getpid()
        # Another process's writer holds it for one transaction at most; the kernel wakes
        # this one the moment it is given back.
        fcntl.flock(self._fd, fcntl.LOCK_EX)


_gates: dict[str, WriteGate] = {}
_gates_lock = threading.Lock()


def gate_for(database: str) -> WriteGate:
    with _gates_lock:
        found = _gates.get(database)
        if found is None:
            found = _gates[database] = WriteGate(f"{database}-writers.lock")
        return found


class GatedConnection(sqlite3.Connection):
    """A SQLite connection that gives the write gate back as soon as its transaction ends."""

    gate: WriteGate | None = None
    holds_gate = False

    def hold_gate(self) -> None:
        if self.gate is not None and not self.holds_gate:
            self.gate.acquire()
            self.holds_gate = True

    def _give_back(self) -> None:
        if self.holds_gate and self.gate is not None:
            self.holds_gate = False
            self.gate.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._give_back()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._give_back()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._give_back()


@contextmanager
def write_turn(dbapi_connection: Any) -> Iterator[None]:
    """Hold the write gate around statements that each commit on their own, outside
    ``BEGIN ... COMMIT`` (one INSERT of many rows, say). Without a gate (a database in memory)
    it does nothing."""
    if not isinstance(dbapi_connection, GatedConnection):
        yield
        return
    dbapi_connection.hold_gate()
    try:
        yield
    finally:
        dbapi_connection._give_back()


def _connect_gated(_dialect: Any, _record: Any, _cargs: Any, cparams: dict[str, Any]) -> None:
    cparams["factory"] = GatedConnection


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # Python's sqlite3 opens transactions lazily; take over so BEGIN IMMEDIATE can be used.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _begin(connection: Any) -> None:
    if _read_only.get():
        connection.exec_driver_sql("BEGIN")
        return
    dbapi_connection = connection.connection.dbapi_connection
    if isinstance(dbapi_connection, GatedConnection):
        dbapi_connection.hold_gate()
    try:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    except BaseException:
        if isinstance(dbapi_connection, GatedConnection):
            dbapi_connection._give_back()
        raise


def _refuse_writes(connection: Any, cursor: Any, statement: str, *args: Any) -> None:
    if _read_only.get() and statement.lstrip()[:7].upper().startswith(_WRITES):
        raise ReadOnlyViolation(
            f"a read-only request wrote without writing(): {statement.split(None, 3)[:3]}"
        )


@contextmanager
def writing() -> Iterator[None]:
    """Write from a read-only request: the transaction begun here takes the write lock.

    Ends the current (read) transaction first; commit inside the block.
    """
    db.session.rollback()
    token = _read_only.set(False)
    try:
        yield
    finally:
        _read_only.reset(token)


@contextmanager
def reading() -> Iterator[None]:
    """Reads that take no write lock, also in a request that writes later; the transaction
    they begin ends with the block."""
    token = _read_only.set(True)
    try:
        yield
    finally:
        db.session.rollback()
        _read_only.reset(token)


def ensure(fill: Callable[[], None]) -> None:
    """Run ``fill``, which adds whatever standing rows are missing (without flushing) and is
    safe to repeat; a concurrent filler that wins the race is no error.

    Elsewhere the rows join the caller's transaction. In a read-only request nothing is
    written when nothing is missing (the common case), and otherwise ``fill`` runs again in a
    transaction of its own that is committed here.
    """
    if not _read_only.get():
        try:
            with db.session.begin_nested():
                fill()
        except IntegrityError:
            pass
        return
    with db.session.no_autoflush:
        fill()
    if not (db.session.new or db.session.dirty):
        return
    with writing():
        try:
            fill()
            db.session.commit()
        except IntegrityError:
            db.session.rollback()


def writes_on_get(view: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a view that writes although it answers GET (an OAuth callback)."""
    view.writes_on_get = True  # type: ignore[attr-defined]
    return view


def read_only(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Run ``fn`` with reads that take no write lock (for CLI and tasks that only read)."""

    @functools.wraps(fn)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        token = _read_only.set(True)
        try:
            return fn(*args, **kwargs)
        finally:
            _read_only.reset(token)

    return wrapped


def _start_request() -> None:
    view = current_app.view_functions.get(request.endpoint or "")
    if request.method in SAFE_METHODS and not getattr(view, "writes_on_get", False):
        request.environ["consoleapp.read_only"] = _read_only.set(True)


def _end_request(_exc: BaseException | None) -> None:
    token = request.environ.pop("consoleapp.read_only", None)
    if token is not None:
        _read_only.reset(token)


def init_app(app: Flask) -> None:
    with app.app_context():
        engine: Engine = db.engine
    if engine.dialect.name == "sqlite":
        database = engine.url.database
        if database and database != ":memory:" and not database.startswith("file:"):
            gate = gate_for(os.path.abspath(database))
            event.listen(engine, "do_connect", _connect_gated)
            event.listen(
                engine,
                "connect",
                lambda dbapi_connection, _record: setattr(dbapi_connection, "gate", gate),
            )
        event.listen(engine, "connect", _configure_sqlite)
        event.listen(engine, "begin", _begin)
        event.listen(engine, "before_cursor_execute", _refuse_writes)
        # First of all hooks: the user's session is looked up in a before_request too.
        app.before_request_funcs.setdefault(None, []).insert(0, _start_request)
        app.teardown_request(_end_request)
