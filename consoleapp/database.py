"""Database engine settings: SQLite made durable and concurrent-safe."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine

from .extensions import db

SQLITE_BUSY_TIMEOUT_MS = 5000


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # Python's sqlite3 opens transactions lazily; take over so BEGIN IMMEDIATE can be used.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _begin_immediate(connection: Any) -> None:
    # Take the write lock at the start, so concurrent writers wait (busy_timeout) instead of
    # failing midway with "database is locked" when upgrading a read lock.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def init_app(app: Flask) -> None:
    with app.app_context():
        engine: Engine = db.engine
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _configure_sqlite)
        event.listen(engine, "begin", _begin_immediate)
