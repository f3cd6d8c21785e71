"""The receiver's short path: find the set's secret, check it, append the delivery, answer.

Nothing derived makes a delivery wait: the event a repeat belongs to and the counts per minute
are folded in afterwards by a task (``folding``). Concurrent deliveries in one process share
one transaction (``group_commit``), and each is answered only once that commit is durable.

The set's secret is kept in the process for a few seconds at most (``SECRET_TTL``): a changed
key is in use everywhere within that time, and at once in the process that changed it.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flask import Flask
from limits import RateLimitItemPerMinute

from .. import database
from ..crypto import SecretUnavailable
from ..extensions import db, limiter
from ..livechat.deliveries import (
    Envelope,
    Verification,
    dedupe_key,
    parse_envelope,
    received_body,
    verify_secret,
)
from ..models import WebhookSet, utcnow
from .group_commit import store

log = logging.getLogger("consoleapp.intake")

# A secret read from the database serves this long before it is read again.
SECRET_TTL = 5.0
# Of a rejected delivery's body, only this much is kept (its size and hash are kept too).
REJECTED_BODY_KEPT = 4096
MAX_HEADER_LENGTH = 1000
# Headers that carry credentials of the sender, never of LiveChat's delivery.
MASKED_HEADERS = {"authorization", "cookie", "proxy-authorization"}
_INBOXES = "consoleapp.inboxes"


class UnknownInbox(LookupError):
    """No webhook set has this inbox address."""


class TooManyRejected(Exception):
    """This inbox kept as many rejected deliveries as it may this minute; this one is not kept."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


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
    cache = app.extensions.get(_INBOXES) or app.extensions.setdefault(_INBOXES, InboxCache())
    inbox, verification = check(cache, token, envelope)
    if not verification.verified:
        count_rejected(inbox, app.config["REJECTED_PER_MINUTE"])
    row = row_for(inbox, verification, envelope, body, list(headers))
    return StoredDelivery(store(app, row), verification.verified, verification.reason)
