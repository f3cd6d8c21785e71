"""The group commit: the deliveries that arrive together in one process share one transaction.

A committer thread per process takes whatever has arrived by the time the database's write lock
is its own (on SQLite, after the other writers' turns) and stores it with one INSERT, which
commits on its own; each delivery is answered only after the commit that holds it is durable.
So a delivery is still never acknowledged before it is stored, and the one writer SQLite has
is taken once for many deliveries instead of once each. While deliveries keep arriving together
it waits a moment (``GATHER_SECONDS``) before it takes a batch, so more share one. After a
commit it asks a worker, at most once a second, to fold what was stored.

The INSERT goes to the database driver as it is: while the committer holds SQLite's write lock
the other process's committer waits, so the lock is held for one statement (no BEGIN and COMMIT
of their own) and the Python work around it is done before, by each sender's thread (its values
converted by the column types' own bind processors, as SQLAlchemy would store them).
"""

from __future__ import annotations

import functools
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect

from ..database import write_turn
from ..extensions import db, queue
from ..models import Delivery
from ..taskqueue import QueueUnavailable

log = logging.getLogger("consoleapp.intake")

# The most deliveries one commit takes, and how long a delivery waits for its commit.
BATCH_LIMIT = 256
COMMIT_WAIT = 10.0
# While deliveries arrive together (the last commit held more than one), the committer waits
# this long before it takes the next batch, so that more of them share a commit: fewer, larger
# commits cost the database and this process much less than many of one or two. A delivery
# that comes alone is committed at once.
GATHER_SECONDS = 0.002
# How often, at most, a process asks a worker to fold what it stored.
FOLD_EVERY = 1.0
# A committer with nothing to do for this long stops; the next delivery starts another.
IDLE_SECONDS = 10.0
_EXTENSION = "consoleapp.intake"
_DELIVERIES = Delivery.__table__
# The columns the receiver fills (``intake.row_for``), in the order of each row's values.
COLUMNS = (
    "webhook_set_id",
    "received_at",
    "action",
    "livechat_webhook_id",
    "verified",
    "rejection",
    "headers",
    "body",
    "body_format",
    "body_truncated",
    "body_size",
    "body_sha256",
    "dedupe_key",
    "folded",
)
_NAMES = ", ".join(COLUMNS)
_COLUMN_SET = frozenset(COLUMNS)


@functools.lru_cache(maxsize=64)
def sqlite_insert(count: int) -> str:
    """``count`` rows in one statement. SQLite gives them ascending ids in the order of its
    VALUES, the last one ``lastrowid`` (AUTOINCREMENT, one writer at a time)."""
    row = f"({', '.join(['?'] * len(COLUMNS))})"
    # Built from the model's column names and a count alone; every value is a bound parameter.
    return f"INSERT INTO deliveries ({_NAMES}) VALUES {', '.join([row] * count)}"  # nosec B608


@functools.lru_cache(maxsize=64)
def postgresql_insert(count: int) -> str:
    """``count`` rows in one statement, their ids returned. PostgreSQL draws ids from the
    sequence in the order rows come from the SELECT, so the ids sorted are the rows' ids in
    order (the same guarantee SQLAlchemy's own multi-row INSERT relies on)."""
    dialect = postgresql.dialect()
    casts = ", ".join(
        f"CAST(%s AS {_DELIVERIES.c[name].type.compile(dialect=dialect)})" for name in COLUMNS
    )
    rows = ", ".join(f"({casts}, {position})" for position in range(count))
    # Built from the model's column names and types and a count alone; every value is bound.
    return (
        f"INSERT INTO deliveries ({_NAMES}) SELECT {_NAMES} FROM (VALUES {rows}) "  # nosec B608
        f"AS waiting ({_NAMES}, position) ORDER BY position RETURNING id"
    )


class Values:
    """A delivery row as the driver takes it: each value through its column type's bind
    processor, as SQLAlchemy would send it (JSON text, SQLite's timestamp text, ...)."""

    def __init__(self, dialect: Dialect) -> None:
        self._processors = [
            (name, _DELIVERIES.c[name].type.dialect_impl(dialect).bind_processor(dialect))
            for name in COLUMNS
        ]

    def __call__(self, row: dict[str, Any]) -> tuple[Any, ...]:
        if row.keys() != _COLUMN_SET:
            raise ValueError(f"a delivery row has the columns {COLUMNS}, not {tuple(row)}")
        return tuple(
            row[name] if process is None else process(row[name])
            for name, process in self._processors
        )


class NotStored(Exception):
    """The delivery could not be committed (the database is locked, down, or full)."""


class _Retired(Exception):
    """The committer stopped for want of work; ask for the current one."""


@dataclass(eq=False)
class _Waiting:
    values: tuple[Any, ...]
    done: threading.Event = field(default_factory=threading.Event)
    delivery_id: int | None = None
    error: BaseException | None = None


class Committer:
    """One thread per process that commits the deliveries waiting, all in one transaction."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.pid = os.getpid()
        self.retired = False
        self._stopping = False
        with app.app_context():
            self._engine = db.engine
        self._values = Values(self._engine.dialect)
        self._connection: Connection | None = None
        self._grouping = False  # the last commit held more than one delivery
        self._waiting: list[_Waiting] = []
        self._wake = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="delivery-commit", daemon=True)
        self._thread.start()

    def store(self, row: dict[str, Any]) -> int:
        """Queue the row for the next commit and wait until it is durable; its id."""
        waiting = _Waiting(self._values(row))
        with self._wake:
            if self.retired:
                raise _Retired
            self._waiting.append(waiting)
            self._wake.notify()
        if not waiting.done.wait(COMMIT_WAIT) and not self._withdraw(waiting):
            # Its commit is under way: its outcome decides the answer, so a delivery is never
            # answered 503 and stored all the same (the database bounds how long that takes).
            waiting.done.wait(COMMIT_WAIT)
        if not waiting.done.is_set():
            raise NotStored("no commit within the time a sender waits")
        if waiting.error is not None:
            raise NotStored(type(waiting.error).__name__) from waiting.error
        assert waiting.delivery_id is not None
        return waiting.delivery_id

    def _withdraw(self, waiting: _Waiting) -> bool:
        """Take a delivery out of the queue before any commit holds it; False if one does."""
        with self._wake:
            if waiting in self._waiting:
                self._waiting.remove(waiting)
                return True
            return False

    def _await_work(self, timeout: float) -> bool:
        """Wait until a delivery is waiting (or ``timeout``); whether one is."""
        with self._wake:
            if not self._waiting and not self._stopping:
                self._wake.wait(timeout)
            return bool(self._waiting)

    def _take_batch(self) -> list[_Waiting]:
        with self._wake:
            batch, self._waiting = (
                self._waiting[:BATCH_LIMIT],
                self._waiting[BATCH_LIMIT:],
            )
            return batch

    def _run(self) -> None:
        fold_due, folded_at, busy_at = False, 0.0, time.monotonic()
        while True:
            if self._await_work(FOLD_EVERY if fold_due else IDLE_SECONDS):
                if self._grouping:
                    time.sleep(GATHER_SECONDS)  # let the deliveries on their way join this one
                busy_at = time.monotonic()
                fold_due = self._commit() or fold_due
            elif self._stopping or (not fold_due and time.monotonic() - busy_at > IDLE_SECONDS):
                if self._retire():
                    return
            # At most one folding task every FOLD_EVERY seconds, always one after the last
            # commit: a task queued before a commit might run before it and miss its rows.
            if fold_due and time.monotonic() - folded_at >= FOLD_EVERY:
                fold_due, folded_at = False, time.monotonic()
                with self.app.app_context():
                    queue_folding()

    def _insert_waiting(self, batch: list[_Waiting]) -> list[int]:
        """Move every delivery waiting into ``batch`` and store them with one INSERT, which
        commits on its own; their ids, in order. The committer keeps one connection of its own.

        On SQLite the batch is taken once the write gate is this committer's (after the other
        writers' turns), so what arrives while it waits for its turn joins this commit."""
        if self._connection is None:
            connection = self._engine.connect()
            if connection.dialect.name != "sqlite":  # SQLite's driver never begins on its own
                connection.execution_options(isolation_level="AUTOCOMMIT")
            self._connection = connection
        driver = self._connection.connection.driver_connection
        if self._connection.dialect.name == "sqlite":
            with write_turn(self._connection.connection.dbapi_connection):
                batch += self._take_batch()
                if not batch:  # every one withdrawn meanwhile
                    return []
                last = driver.execute(sqlite_insert(len(batch)), _flat(batch)).lastrowid
            return list(range(last - len(batch) + 1, last + 1))
        batch += self._take_batch()
        if not batch:
            return []
        rows = driver.execute(postgresql_insert(len(batch)), _flat(batch)).fetchall()
        return sorted(delivery_id for (delivery_id,) in rows)

    def stop(self, timeout: float = 5.0) -> None:
        """Commit what is waiting, close the connection and end the thread."""
        with self._wake:
            self._stopping = True
            self._wake.notify()
        self._thread.join(timeout)

    def _retire(self) -> bool:
        """Stop when idle (the next delivery starts a new committer); False if one came."""
        with self._wake:
            if self._waiting:
                return False
            self.retired = True
        if self._connection is not None:
            self._connection.close()
        with _start_lock:
            if self.app.extensions.get(_EXTENSION) is self:
                del self.app.extensions[_EXTENSION]
        return True

    def _commit(self) -> bool:
        """Commit what is waiting; whether anything was stored."""
        batch: list[_Waiting] = []
        try:
            ids = self._insert_waiting(batch)
        except Exception as exc:  # every delivery of the batch is answered 503
            if not batch:  # the transaction did not begin: what waited for it is the batch
                batch = self._take_batch()
            log.error("%s deliveries not stored: %s", len(batch), type(exc).__name__)
            if self._connection is not None:
                self._connection.close()
                self._connection = None
            for waiting in batch:
                waiting.error = exc
                waiting.done.set()
            return False
        self._grouping = len(batch) > 1
        for waiting, delivery_id in zip(batch, ids, strict=True):
            waiting.delivery_id = delivery_id
            waiting.done.set()
        return bool(batch)


def _flat(batch: list[_Waiting]) -> list[Any]:
    return [value for waiting in batch for value in waiting.values]


def committer(app: Flask) -> Committer:
    """The process's committer, started on the first delivery (again after a fork)."""
    current: Committer | None = app.extensions.get(_EXTENSION)
    if current is None or current.pid != os.getpid() or current.retired:
        with _start_lock:
            current = app.extensions.get(_EXTENSION)
            if current is None or current.pid != os.getpid() or current.retired:
                current = Committer(app)
                app.extensions[_EXTENSION] = current
    return current


def stop(app: Flask) -> None:
    """End the process's committer, if one runs (the next delivery starts another)."""
    current: Committer | None = app.extensions.get(_EXTENSION)
    if current is not None and current.pid == os.getpid():
        current.stop()


def store(app: Flask, row: dict[str, Any]) -> int:
    """Store the delivery in the next group commit; its id once the commit is durable."""
    while True:
        try:
            return committer(app).store(row)
        except _Retired:
            continue


_start_lock = threading.Lock()


def queue_folding() -> None:
    """Have a worker fold the deliveries just stored into their events and counts."""
    from ..tasks import fold_deliveries

    try:
        queue.send(fold_deliveries)
    except QueueUnavailable:  # the periodic look for unfolded deliveries does it later
        log.warning("folding not queued: the task queue did not answer")
