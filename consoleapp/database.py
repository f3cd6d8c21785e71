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

import functools
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
    connection.exec_driver_sql("BEGIN" if _read_only.get() else "BEGIN IMMEDIATE")


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
        event.listen(engine, "connect", _configure_sqlite)
        event.listen(engine, "begin", _begin)
        event.listen(engine, "before_cursor_execute", _refuse_writes)
        # First of all hooks: the user's session is looked up in a before_request too.
        app.before_request_funcs.setdefault(None, []).insert(0, _start_request)
        app.teardown_request(_end_request)
