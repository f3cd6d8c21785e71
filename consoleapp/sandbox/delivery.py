"""Delivery as LiveChat does it: queued with the event, sent in the background, retried.

``enqueue`` stores one row per webhook an occurrence fires, in the caller's transaction. A
worker thread, started lazily in each process on first enqueue, claims due rows with a
conditional UPDATE (so several processes can share the table), POSTs each envelope through the
guarded HTTP client with LiveChat's ~10 s deadline, and retries anything but a 200 up to three
times within about a minute. Every attempt is recorded.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, current_app
from sqlalchemy import or_, update

from ..crypto import SecretUnavailable
from ..extensions import db
from ..livechat.safe_http import HttpResult, SafeHttpClient
from ..models import utcnow
from .matching import Occurrence, envelope, matching_webhooks, with_secret
from .models import SandboxWebhook
from .world_models import SandboxDelivery, SandboxDeliveryAttempt

log = logging.getLogger("consoleapp.sandbox.delivery")

MAX_ATTEMPTS = 4  # the first try and LiveChat's 3 retries
RETRY_DELAYS = (5.0, 15.0, 30.0)  # seconds after each failed attempt: all within ~1 minute
DEFAULT_TIMEOUT = 10.0
POLL_SECONDS = 0.5
PARALLEL_SENDS = 4
_EXTENSION = "consoleapp.sandbox.delivery_worker"


def enqueue(occurrence: Occurrence, now: datetime | None = None) -> list[SandboxDelivery]:
    """Store a delivery per webhook the occurrence fires; sending happens in the worker."""
    now = now or utcnow()
    deliveries = []
    for webhook in matching_webhooks(occurrence, now):
        delivery = SandboxDelivery(
            webhook_id=webhook.id,
            owner_client_id=webhook.owner_client_id,
            organization_id=occurrence.organization.id,
            action=occurrence.action,
            url=webhook.url,
            envelope=envelope(webhook, occurrence),
            status="pending",
            attempt_count=0,
            next_attempt_at=now,
            created_at=now,
        )
        db.session.add(delivery)
        deliveries.append(delivery)
    db.session.flush()
    if deliveries and thread_enabled(current_app):
        ensure_worker(current_app._get_current_object())  # type: ignore[attr-defined]
    return deliveries


# -- sending -----------------------------------------------------------------------------


def _client(app: Flask) -> SafeHttpClient:
    timeout = float(app.config.get("SANDBOX_DELIVERY_TIMEOUT", DEFAULT_TIMEOUT))
    return SafeHttpClient(
        allow_loopback=bool(app.config.get("ALLOW_PRIVATE_TARGETS")),
        connect_timeout=min(5.0, timeout),
        read_timeout=timeout,
        deadline=timeout,  # LiveChat gives an endpoint about 10 s for the whole answer
    )


def _retry_delays(app: Flask) -> tuple[float, ...]:
    return tuple(app.config.get("SANDBOX_DELIVERY_RETRY_DELAYS", RETRY_DELAYS))


def _due_ids(now: datetime, limit: int) -> list[int]:
    return list(
        db.session.execute(
            db.select(SandboxDelivery.id)
            .where(
                SandboxDelivery.status == "pending",
                SandboxDelivery.next_attempt_at <= now,
                or_(SandboxDelivery.claimed_until.is_(None), SandboxDelivery.claimed_until < now),
            )
            .order_by(SandboxDelivery.next_attempt_at, SandboxDelivery.id)
            .limit(limit)
        ).scalars()
    )


def _claim(delivery_id: int, worker_id: str, now: datetime, lease: timedelta) -> bool:
    """Take the row for this worker; another process that got there first wins."""
    result = db.session.execute(
        update(SandboxDelivery)
        .where(
            SandboxDelivery.id == delivery_id,
            SandboxDelivery.status == "pending",
            or_(SandboxDelivery.claimed_until.is_(None), SandboxDelivery.claimed_until < now),
        )
        .values(claimed_by=worker_id, claimed_until=now + lease)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount == 1


def _finish(delivery: SandboxDelivery, status: str, error: str | None, now: datetime) -> None:
    delivery.status = status
    delivery.last_error = error
    delivery.finished_at = now
    delivery.claimed_by = None
    delivery.claimed_until = None


def _send(app: Flask, delivery_id: int, now: datetime) -> None:
    """One attempt for a claimed delivery. The HTTP call holds no database transaction."""
    delivery = db.session.get(SandboxDelivery, delivery_id)
    if delivery is None:
        return
    webhook = db.session.get(SandboxWebhook, delivery.webhook_id)
    secret: str | None = None
    if webhook is not None:
        try:
            secret = webhook.secret_key
        except SecretUnavailable:
            secret = None
    if secret is None:
        reason = "webhook was unregistered" if webhook is None else "secret key unreadable"
        _finish(delivery, "dropped", reason, now)
        db.session.commit()
        return
    body = with_secret(delivery.envelope, secret)
    url, number = delivery.url, delivery.attempt_count + 1
    started_at = utcnow()
    # End the transaction first: SQLite's write lock must not wait on someone's slow endpoint.
    db.session.commit()

    result: HttpResult = _client(app).post_json(url, body)

    delivery = db.session.get(SandboxDelivery, delivery_id)
    if delivery is None:
        return
    # Retries count from when this attempt ended (a slow target must not cause an instant retry).
    now = max(now, utcnow())
    delivered = result.answered and result.status_code == 200  # a body cut off is no answer
    error = None if delivered else (result.error or f"answered {result.status_code}, not 200")
    db.session.add(
        SandboxDeliveryAttempt(
            delivery_id=delivery.id,
            number=number,
            started_at=started_at,
            status_code=result.status_code,
            latency_ms=result.latency_ms,
            error_class=None if delivered else (result.error_class or "http_status"),
            error=error,
        )
    )
    delivery.attempt_count = number
    if delivered:
        _finish(delivery, "delivered", None, now)
    elif number >= MAX_ATTEMPTS:
        _finish(delivery, "failed", error, now)
    else:
        delays = _retry_delays(app)
        delay = delays[min(number - 1, len(delays) - 1)]
        delivery.next_attempt_at = now + timedelta(seconds=delay)
        delivery.last_error = error
        delivery.claimed_by = None
        delivery.claimed_until = None
    db.session.commit()


def _lease(app: Flask) -> timedelta:
    return timedelta(seconds=float(app.config.get("SANDBOX_DELIVERY_TIMEOUT", 10)) * 2 + 30)


def run_due(now: datetime | None = None, limit: int = 100, worker_id: str | None = None) -> int:
    """Send every delivery due at ``now``, one attempt each, in this thread. Returns the count.

    Used by the worker and by tests (pass a later ``now`` to reach the retries).
    """
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    now = now or utcnow()
    worker_id = worker_id or f"sync-{os.getpid()}-{secrets.token_hex(4)}"
    sent = 0
    for delivery_id in _due_ids(now, limit):
        if _claim(delivery_id, worker_id, now, _lease(app)):
            _send(app, delivery_id, now)
            sent += 1
    db.session.commit()
    return sent


# -- the background worker ---------------------------------------------------------------


def thread_enabled(app: Flask) -> bool:
    setting = app.config.get("SANDBOX_DELIVERY_THREAD")
    return (not app.testing) if setting is None else bool(setting)


class DeliveryWorker:
    """A daemon thread per process that sends due deliveries, a few at a time."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.pid = os.getpid()
        self.worker_id = f"{os.uname().nodename}-{self.pid}-{secrets.token_hex(4)}"
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sandbox-delivery", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 15.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _send_one(self, delivery_id: int, now: datetime) -> None:
        with self.app.app_context():
            try:
                _send(self.app, delivery_id, now)
            except Exception:
                log.exception("sandbox delivery %s failed unexpectedly", delivery_id)
                db.session.rollback()
            finally:
                db.session.remove()

    def _claim_batch(self) -> tuple[list[int], datetime]:
        with self.app.app_context():
            try:
                now = utcnow()
                lease = _lease(self.app)
                claimed = [
                    delivery_id
                    for delivery_id in _due_ids(now, PARALLEL_SENDS)
                    if _claim(delivery_id, self.worker_id, now, lease)
                ]
                return claimed, now
            except Exception:
                log.exception("sandbox delivery worker could not read the queue")
                db.session.rollback()
                return [], utcnow()
            finally:
                db.session.remove()

    def _run(self) -> None:
        with ThreadPoolExecutor(PARALLEL_SENDS, thread_name_prefix="sandbox-send") as pool:
            while not self._stop.is_set():
                claimed, now = self._claim_batch()
                if claimed:
                    list(pool.map(self._send_one, claimed, [now] * len(claimed)))
                    continue
                self._wake.wait(POLL_SECONDS)
                self._wake.clear()


_start_lock = threading.Lock()


def ensure_worker(app: Flask) -> DeliveryWorker:
    """The process's worker for this app, started on first use (again after a fork)."""
    with _start_lock:
        worker: DeliveryWorker | None = app.extensions.get(_EXTENSION)
        if worker is None or worker.pid != os.getpid() or not worker.alive:
            worker = DeliveryWorker(app)
            app.extensions[_EXTENSION] = worker
            worker.start()
        return worker


def stop_worker(app: Flask) -> None:
    worker: DeliveryWorker | None = app.extensions.pop(_EXTENSION, None)
    if worker is not None and worker.pid == os.getpid():
        worker.stop()


# -- reading ---------------------------------------------------------------------------


def as_json(delivery: SandboxDelivery) -> dict[str, Any]:
    shown = with_secret(delivery.envelope, "[redacted]")
    return {
        "id": delivery.id,
        "webhook_id": delivery.webhook_id,
        "owner_client_id": delivery.owner_client_id,
        "organization_id": delivery.organization_id,
        "action": delivery.action,
        "url": delivery.url,
        "status": delivery.status,
        "attempt_count": delivery.attempt_count,
        "created_at": delivery.created_at.isoformat() + "Z",
        "next_attempt_at": (
            delivery.next_attempt_at.isoformat() + "Z" if delivery.status == "pending" else None
        ),
        "finished_at": delivery.finished_at.isoformat() + "Z" if delivery.finished_at else None,
        "last_error": delivery.last_error,
        "body": shown,
        "attempts": [
            {
                "number": attempt.number,
                "started_at": attempt.started_at.isoformat() + "Z",
                "status_code": attempt.status_code,
                "latency_ms": attempt.latency_ms,
                "error_class": attempt.error_class,
                "error": attempt.error,
            }
            for attempt in delivery.attempts
        ],
    }


def recent(
    limit: int = 50, action: str | None = None, webhook_id: str | None = None
) -> list[SandboxDelivery]:
    query = db.select(SandboxDelivery).order_by(SandboxDelivery.id.desc()).limit(limit)
    if action:
        query = query.where(SandboxDelivery.action == action)
    if webhook_id:
        query = query.where(SandboxDelivery.webhook_id == webhook_id)
    return list(db.session.execute(query).scalars())
