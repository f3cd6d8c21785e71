"""Delivery as LiveChat does it: queued with the event, sent in the background, retried.

``enqueue`` stores one row per webhook an occurrence fires, in the caller's transaction, and
queues a ``deliver`` task for each once that transaction commits. The task claims its row with a
conditional UPDATE (so a second copy of the task, or another worker, does nothing), POSTs the
envelope through the guarded HTTP client with LiveChat's ~10 s deadline, and schedules a retry
for anything but a 200, up to three within about a minute. Every attempt is recorded. A row
whose task was lost (its worker was killed) is found by a periodic task and queued again.
"""

from __future__ import annotations

import logging
import os
import secrets
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, current_app
from huey import crontab
from sqlalchemy import or_, update

from ...crypto import SecretUnavailable
from ...extensions import db, queue
from ...models import utcnow
from ...outbound.safe_http import HttpResult, SafeHttpClient
from ..configuration_api.models import SandboxWebhook
from .matching import Occurrence, envelope, matching_webhooks, with_secret
from .models import SandboxDelivery, SandboxDeliveryAttempt

log = logging.getLogger("consoleapp.sandbox.delivery")

MAX_ATTEMPTS = 4  # the first try and LiveChat's 3 retries
# A due delivery still pending this long after it was due lost its task: queue it again.
OVERDUE = timedelta(seconds=15)


def enqueue(occurrence: Occurrence, now: datetime | None = None) -> list[SandboxDelivery]:
    """Store a delivery per webhook the occurrence fires; each is sent once the caller commits."""
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
    for delivery in deliveries:
        queue.send_after_commit(db.session, deliver, delivery.id)
    return deliveries


# -- sending -----------------------------------------------------------------------------


def _client(app: Flask) -> SafeHttpClient:
    timeout = float(app.config["SANDBOX_DELIVERY_TIMEOUT"])
    return SafeHttpClient(
        allow_loopback=bool(app.config["ALLOW_PRIVATE_TARGETS"]),
        connect_timeout=min(5.0, timeout),
        read_timeout=timeout,
        deadline=timeout,  # LiveChat gives an endpoint about 10 s for the whole answer
    )


def _retry_delays(app: Flask) -> tuple[float, ...]:
    return tuple(app.config["SANDBOX_DELIVERY_RETRY_DELAYS"])


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
    """Take the row for this worker if it is due; another worker that got there first wins."""
    result = db.session.execute(
        update(SandboxDelivery)
        .where(
            SandboxDelivery.id == delivery_id,
            SandboxDelivery.status == "pending",
            SandboxDelivery.next_attempt_at <= now,
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


def _send(app: Flask, delivery_id: int, now: datetime) -> float | None:
    """One attempt for a claimed delivery; returns the delay before its retry, if any.

    The HTTP call holds no database transaction.
    """
    delivery = db.session.get(SandboxDelivery, delivery_id)
    if delivery is None:
        return None
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
        return None
    body = with_secret(delivery.envelope, secret)
    url, number = delivery.url, delivery.attempt_count + 1
    started_at = utcnow()
    # End the transaction first: SQLite's write lock must not wait on someone's slow endpoint.
    db.session.commit()

    result: HttpResult = _client(app).post_json(url, body)

    delivery = db.session.get(SandboxDelivery, delivery_id)
    if delivery is None:
        return None
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
    delay = None
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
    return delay


def _lease(app: Flask) -> timedelta:
    return timedelta(seconds=float(app.config["SANDBOX_DELIVERY_TIMEOUT"]) * 2 + 30)


def _worker_id() -> str:
    return f"{os.uname().nodename}-{os.getpid()}-{secrets.token_hex(4)}"


def attempt(delivery_id: int, now: datetime | None = None) -> tuple[bool, float | None]:
    """Claim and send one due delivery in this thread: whether it was sent (False when not
    due or another worker has it), and the delay before its retry, if one is needed."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    now = now or utcnow()
    if not _claim(delivery_id, _worker_id(), now, _lease(app)):
        return False, None
    return True, _send(app, delivery_id, now)


@queue.task()
def deliver(delivery_id: int) -> None:
    """Send one delivery attempt, and schedule the retry LiveChat would make."""
    _, delay = attempt(delivery_id)
    if delay is not None:
        queue.send(deliver, delivery_id, delay=delay)


def run_due(now: datetime | None = None, limit: int = 100) -> int:
    """Send every delivery due at ``now``, one attempt each, in this thread. Returns the count.

    For tests (pass a later ``now`` to reach the retries) and scripts.
    """
    now = now or utcnow()
    sent = 0
    for delivery_id in _due_ids(now, limit):
        sent += attempt(delivery_id, now)[0]
    db.session.commit()
    return sent


def requeue_overdue(now: datetime | None = None) -> int:
    """Queue again every pending delivery whose task was lost; returns how many."""
    now = now or utcnow()
    found = _due_ids(now - OVERDUE, 500)
    db.session.commit()
    for delivery_id in found:
        queue.send(deliver, delivery_id)
    return len(found)


@queue.periodic_task(crontab(minute="*"))
def requeue_lost_deliveries() -> None:
    if count := requeue_overdue():
        log.warning("queued %s sandbox deliveries again after their worker stopped", count)


queue.on_worker_start(requeue_overdue)


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
