"""The task queue: Huey, bound to the app by ``init_app``, its storage chosen by a setting.

Work that outlives a request runs as a task in a worker process (``flask --app wsgi worker``).
Huey does not acknowledge tasks: one whose worker is killed is lost. So tasks carry only ids,
the database records who holds each piece of work and until when, and periodic tasks re-queue
what is overdue; the queue only wakes workers. The storage is opened on first use (the first
task queued, or the worker starting), so building the app does no I/O.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, current_app, has_app_context
from huey import Huey
from huey.api import TaskWrapper
from huey.consumer import Consumer
from huey.storage import MemoryStorage, PostgresStorage, RedisStorage, SqliteStorage
from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger("consoleapp.tasks")

_AFTER_COMMIT = "consoleapp.queue_after_commit"
# How often an idle worker looks for work in storages that cannot wake it (SQLite): a queued
# task starts within this; idle, the polling costs a worker under 1 % of a core.
POLL_SECONDS = 0.05


class QueueUnavailable(RuntimeError):
    """The queue's storage did not take a task; the message says what to check."""


def storage_for(url: str) -> tuple[type, dict[str, Any]]:
    """Huey's storage class and its arguments for a ``TASK_QUEUE_URL``."""
    scheme = urlsplit(url).scheme.lower()
    if scheme == "memory":
        return MemoryStorage, {}
    if scheme == "sqlite":
        return SqliteStorage, {"filename": url.removeprefix("sqlite:///"), "fsync": True}
    if scheme in {"redis", "rediss"}:
        return RedisStorage, {"url": url}
    if scheme in {"postgresql", "postgres"}:
        return PostgresStorage, {"dsn": url}
    raise ValueError(url)


def where(url: str) -> str:
    """Where the queue's storage is, without credentials, for messages."""
    parts = urlsplit(url)
    if parts.scheme in {"sqlite", "memory"}:
        return url.removeprefix("sqlite:///")
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname or 'localhost'}{port}"


class _LazyHuey(Huey):
    """Huey whose storage is opened on first use rather than when it is built."""

    storage_class = MemoryStorage
    _opened: Any = None

    @property
    def storage(self) -> Any:  # type: ignore[override]
        if self._opened is None:
            self._opened = self.create_storage()
        return self._opened

    @storage.setter
    def storage(self, value: Any) -> None:
        self._opened = value

    def use(self, storage_class: type, **kwargs: Any) -> None:
        if self._opened is not None and hasattr(self._opened, "close"):
            self._opened.close()
        self.storage_class = storage_class
        self.storage_kwargs = kwargs
        self._opened = None


class TaskQueue:
    """The console's one queue. Tasks run in the app's context, each with its own session."""

    def __init__(self) -> None:
        self.huey = _LazyHuey("consoleapp", results=False, utc=True)
        self._app: Flask | None = None
        self._worker_start: list[Callable[[], Any]] = []
        self.url = "memory://"

    def init_app(self, app: Flask) -> None:
        self.url = app.config["TASK_QUEUE_URL"]
        storage_class, kwargs = storage_for(self.url)
        self.huey.use(storage_class, **kwargs)
        self._app = app
        app.extensions["task_queue"] = self
        if not event.contains(Session, "after_commit", _flush):
            event.listen(Session, "after_commit", _flush)
            event.listen(Session, "after_soft_rollback", _forget)

    @property
    def app(self) -> Flask:
        if has_app_context():
            return current_app._get_current_object()  # type: ignore[attr-defined]
        if self._app is None:
            raise RuntimeError("the task queue is not bound to an app; call init_app first")
        return self._app

    def _in_app_context(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            from .extensions import db

            with self.app.app_context():
                try:
                    return fn(*args, **kwargs)
                finally:
                    db.session.remove()

        return run

    def task(self, **options: Any) -> Callable[[Callable[..., Any]], TaskWrapper]:
        """A background task: small, idempotent, taking ids, committing its own work."""

        def decorator(fn: Callable[..., Any]) -> TaskWrapper:
            return self.huey.task(**options)(self._in_app_context(fn))

        return decorator

    def periodic_task(self, when: Callable[..., bool], **options: Any) -> Callable[..., Any]:
        def decorator(fn: Callable[..., Any]) -> TaskWrapper:
            return self.huey.periodic_task(when, **options)(self._in_app_context(fn))

        return decorator

    def on_worker_start(self, fn: Callable[[], Any]) -> Callable[[], Any]:
        """Run ``fn`` once, in the app's context, when a worker process starts."""
        self._worker_start.append(fn)
        return fn

    def run_worker_start(self) -> None:
        for fn in self._worker_start:
            self._in_app_context(fn)()

    def send(self, task: TaskWrapper, *args: Any, delay: float | None = None) -> None:
        """Queue ``task(*args)`` now (or after ``delay`` seconds); ``QueueUnavailable`` if the
        storage refuses it, so the caller can say so instead of answering 500."""
        try:
            if delay:
                task.schedule(args=args, delay=delay)
            else:
                task(*args)
        except Exception as exc:
            log.error("could not queue %s: %s", task.name, type(exc).__name__)
            raise QueueUnavailable(
                f"The task queue ({where(self.url)}) did not answer. Check that it is running."
            ) from exc

    def send_after_commit(self, session: Session, task: TaskWrapper, *args: Any) -> None:
        """Queue ``task(*args)`` once ``session`` commits (never if it rolls back), so a worker
        never looks for rows that are not there yet."""
        session.info.setdefault(_AFTER_COMMIT, []).append((task, args))

    def consumer(self, workers: int) -> Consumer:
        """A consumer of ``workers`` threads that picks up a queued task within POLL_SECONDS."""
        return self.huey.create_consumer(
            workers=workers,
            worker_type="thread",
            initial_delay=POLL_SECONDS / 2,
            backoff=1.15,
            max_delay=POLL_SECONDS,
            periodic=True,
            scheduler_interval=1,
            check_worker_health=True,
        )


def _flush(session: Session) -> None:
    waiting = session.info.pop(_AFTER_COMMIT, [])
    for task, args in waiting:
        try:
            task(*args)
        except Exception as exc:  # the periodic re-queue picks the work up later
            log.warning("could not queue %s after commit: %s", task.name, type(exc).__name__)


def _forget(session: Session, _previous: Any) -> None:
    session.info.pop(_AFTER_COMMIT, None)
