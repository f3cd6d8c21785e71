"""The receiver's short path: find the set's secret, check it, append the delivery, answer.

Nothing derived makes a delivery wait: the event a repeat belongs to and the counts per minute
are folded in afterwards by a task (``fold``). Concurrent deliveries in one process share one
transaction (a *group commit*): a committer thread inserts whatever has arrived in one go and
commits once, and each delivery is answered only after the commit that holds it is durable. So
a delivery is still never acknowledged before it is stored, and the database's one writer (on
SQLite) is taken once for many deliveries instead of once each.

The set's secret is kept in the process for a few seconds at most (``SECRET_TTL``): a changed
key is in use everywhere within that time, and at once in the process that changed it.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from limits import RateLimitItemPerMinute
from sqlalchemy import Connection, insert

from .. import database
from ..crypto import SecretUnavailable
from ..extensions import db, limiter, queue
from ..livechat.deliveries import (
    Envelope,
    Verification,
    dedupe_key,
    parse_envelope,
    received_body,
    verify_secret,
)
from ..models import Delivery, WebhookSet, utcnow
from ..taskqueue import QueueUnavailable

log = logging.getLogger("consoleapp.intake")

# A secret read from the database serves this long before it is read again.
SECRET_TTL = 5.0
# Of a rejected delivery's body, only this much is kept (its size and hash are kept too).
REJECTED_BODY_KEPT = 4096
MAX_HEADER_LENGTH = 1000
# Headers that carry credentials of the sender, never of LiveChat's delivery.
MASKED_HEADERS = {"authorization", "cookie", "proxy-authorization"}
# The most deliveries one commit takes, and how long a delivery waits for its commit.
BATCH_LIMIT = 256
COMMIT_WAIT = 10.0
# How often, at most, a process asks a worker to fold what it stored.
FOLD_EVERY = 1.0
# A committer with nothing to do for this long stops; the next delivery starts another.
IDLE_SECONDS = 10.0
_EXTENSION = "consoleapp.intake"
_INBOXES = "consoleapp.inboxes"
_DELIVERIES = Delivery.__table__
# The ids of a batch in the order of its rows. SQLAlchemy can say so only by inserting one row
# per statement on SQLite; one multi-row INSERT gives its rows ascending ids in the order of its
# VALUES there (AUTOINCREMENT, one writer at a time), so the ids sorted are the rows' ids.
_INSERT = insert(_DELIVERIES).returning(_DELIVERIES.c.id, sort_by_parameter_order=True)
_INSERT_SQLITE = insert(_DELIVERIES).returning(_DELIVERIES.c.id)


class UnknownInbox(LookupError):
    """No webhook set has this inbox address."""


class TooManyRejected(Exception):
    """This inbox kept as many rejected deliveries as it may this minute; this one is not kept."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


class _Retired(Exception):
    """The committer stopped for want of work; ask for the current one."""


class NotStored(Exception):
    """The delivery could not be committed (the database is locked, down, or full)."""


@dataclass(frozen=True)
class Inbox:
    set_id: int
    set_uid: str
    secret: str | None
    readable: bool
    read_at: float


@dataclass(frozen=True)
class StoredDelivery:
    delivery_id: int
    verified: bool
    reason: str | None


def clean_headers(headers: list[tuple[str, str]]) -> dict[str, str]:
    cleaned = {}
    for name, value in headers:
        if name.lower() in MASKED_HEADERS:
            value = "[redacted]"
        cleaned[name] = value.replace("\x00", "")[:MAX_HEADER_LENGTH]
    return cleaned


# -- the set's secret, kept in the process -----------------------------------------------------


class InboxCache:
    def __init__(self) -> None:
        self._inboxes: dict[str, Inbox] = {}
        self._lock = threading.Lock()

    def get(self, token: str, fresh: bool = False) -> Inbox:
        found = self._inboxes.get(token)
        if found is not None and not fresh and time.monotonic() - found.read_at < SECRET_TTL:
            return found
        inbox = _read_inbox(token)
        with self._lock:
            self._inboxes[token] = inbox
        return inbox

    def forget(self, token: str) -> None:
        with self._lock:
            self._inboxes.pop(token, None)


def _read_inbox(token: str) -> Inbox:
    # Tokens are 32 hex digits; anything else names no inbox and never reaches the database.
    if not (0 < len(token) <= 32 and token.isascii() and token.isalnum()):
        raise UnknownInbox(token)
    with database.reading():
        webhook_set = db.session.execute(
            db.select(WebhookSet).where(WebhookSet.inbox_token == token)
        ).scalar_one_or_none()
        if webhook_set is None:
            raise UnknownInbox(token)
        try:
            secret, readable = webhook_set.secret_key, True
        except SecretUnavailable:
            secret, readable = None, False
        return Inbox(webhook_set.id, webhook_set.uid, secret, readable, time.monotonic())


def _verify(inbox: Inbox, envelope: Envelope) -> Verification:
    if not inbox.readable:
        return Verification(False, "the saved secret key cannot be read; enter it again")
    return verify_secret(envelope, inbox.secret)


def check(cache: InboxCache, token: str, envelope: Envelope) -> tuple[Inbox, Verification]:
    """The inbox and the verdict on the secret. A key kept in the process that no longer
    matches is read again once, so a key changed elsewhere takes effect at once."""
    inbox = cache.get(token)
    verification = _verify(inbox, envelope)
    if not verification.verified and time.monotonic() - inbox.read_at > 0.5:
        inbox = cache.get(token, fresh=True)
        verification = _verify(inbox, envelope)
    return inbox, verification


def count_rejected(inbox: Inbox, per_minute: int) -> None:
    """Count one more rejected delivery to this inbox; raise ``TooManyRejected`` past the limit.

    The count lives in the rate limiter's storage (``RATELIMIT_STORAGE_URI``), so every process
    serving the console shares it.
    """
    if not limiter.enabled:
        return
    limit = RateLimitItemPerMinute(per_minute)
    identity = ("rejected-deliveries", inbox.set_uid)
    try:
        if limiter.limiter.hit(limit, *identity):
            return
        reset_at = limiter.limiter.get_window_stats(limit, *identity).reset_time
    except Exception as exc:  # the storage is down: keep the delivery (bounded) anyway
        log.warning("rejected deliveries not counted: %s", type(exc).__name__)
        return
    raise TooManyRejected(retry_after=max(1, math.ceil(reset_at - time.time())))


def row_for(
    inbox: Inbox,
    verification: Verification,
    envelope: Envelope,
    body: bytes,
    headers: list[tuple[str, str]],
) -> dict[str, Any]:
    """The delivery as it is stored: the body as received with its secret masked (all of it when
    verified, the first 4 KB when not), laid out only when someone looks at it."""
    verified = verification.verified
    kept = received_body(body, limit=None if verified else REJECTED_BODY_KEPT)
    return {
        "webhook_set_id": inbox.set_id,
        "received_at": utcnow(),
        "action": envelope.action,
        "livechat_webhook_id": envelope.webhook_id,
        "verified": verified,
        "rejection": verification.reason,
        "headers": clean_headers(headers),
        "body": kept.text,
        "body_format": kept.format,
        "body_truncated": kept.truncated,
        "body_size": kept.size,
        "body_sha256": kept.sha256,
        "dedupe_key": dedupe_key(envelope) if verified else None,
        "folded": False,
    }


def receive(
    app: Flask, token: str, body: bytes, headers: Iterable[tuple[str, str]]
) -> StoredDelivery:
    """Check one delivery and store it, rejected ones counted against the inbox's limit a
    minute first. Raises ``MalformedDelivery``, ``UnknownInbox`` or ``TooManyRejected`` when
    it is not taken, ``NotStored`` or ``SQLAlchemyError`` when it could not be stored."""
    envelope = parse_envelope(body)
    cache = app.extensions.setdefault(_INBOXES, InboxCache())
    inbox, verification = check(cache, token, envelope)
    if not verification.verified:
        count_rejected(inbox, app.config["REJECTED_PER_MINUTE"])
    row = row_for(inbox, verification, envelope, body, list(headers))
    return StoredDelivery(store(app, row), verification.verified, verification.reason)


# -- the group commit -------------------------------------------------------------------------


@dataclass(eq=False)
class _Waiting:
    row: dict[str, Any]
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
        self._connection: Connection | None = None
        self._waiting: list[_Waiting] = []
        self._wake = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="delivery-commit", daemon=True)
        self._thread.start()

    def store(self, row: dict[str, Any]) -> int:
        """Queue the row for the next commit and wait until it is durable; its id."""
        waiting = _Waiting(row)
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
        """Begin a transaction, then move every delivery waiting into ``batch``, insert them
        and commit; their ids, in order. The committer keeps one connection of its own.

        On SQLite the transaction takes the write lock when it begins (after the other writers'
        turns), so what arrives while it waits for its turn joins this commit."""
        if self._connection is None:
            self._connection = self._engine.connect()
        with self._connection.begin():
            batch += self._take_batch()
            if not batch:  # every one withdrawn meanwhile: an empty transaction
                return []
            rows = [waiting.row for waiting in batch]
            if self._connection.dialect.name == "sqlite":
                return sorted(self._connection.execute(_INSERT_SQLITE, rows).scalars())
            return list(self._connection.execute(_INSERT, rows).scalars())

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
        for waiting, delivery_id in zip(batch, ids, strict=True):
            waiting.delivery_id = delivery_id
            waiting.done.set()
        return bool(batch)


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
