"""The console's own inbox: store what its receiver got, then list, filter and count it.

Every POST that names a known inbox is kept as a ``Delivery``, verified or rejected. Verified
deliveries are kept whole and also count towards one ``DeliveryEvent`` per dedupe key, so a
retried event shows as "received 2×" instead of as two events. Of a rejected delivery only the
first 4 KB are kept, and only so many a minute per inbox: anyone who knows an inbox address can
send them, and they must not fill the disk.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_sqlalchemy.pagination import Pagination
from limits import RateLimitItemPerMinute
from sqlalchemy import Select, func
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import joinedload

from ..crypto import SecretUnavailable
from ..extensions import db, limiter
from ..livechat.deliveries import Envelope, Verification, dedupe_key, kept_body, verify_secret
from ..models import Delivery, DeliveryEvent, WebhookSet, utcnow

VERIFIED = "verified"
REJECTED = "rejected"
STATUSES = (VERIFIED, REJECTED)
PER_PAGE = 25
# A page number beyond this is empty anyway; bounding it keeps the OFFSET a valid integer.
MAX_PAGE = 1_000_000
MAX_HEADER_LENGTH = 1000
# Of a rejected delivery's body, only this much is kept (its size and hash are kept too).
REJECTED_BODY_KEPT = 4096
# Headers that carry credentials of the sender, never of LiveChat's delivery.
MASKED_HEADERS = {"authorization", "cookie", "proxy-authorization"}
_INSERTS: dict[str, Callable[..., Any]] = {
    "sqlite": sqlite.insert,
    "postgresql": postgresql.insert,
}


log = logging.getLogger("consoleapp.inbox")


class UnknownInbox(LookupError):
    """No webhook set has this inbox address."""


class TooManyRejected(Exception):
    """This inbox kept as many rejected deliveries as it may this minute; this one is not kept."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


@dataclass(frozen=True)
class StoredDelivery:
    delivery_id: int
    verified: bool
    reason: str | None
    times_received: int


@dataclass(frozen=True)
class InboxFilter:
    action: str | None = None
    status: str | None = None

    @property
    def active(self) -> bool:
        return bool(self.action or self.status)


@dataclass(frozen=True)
class ActionCount:
    """What arrived for one trigger: the checklist's "event received, secret verified"."""

    action: str
    verified: int
    rejected: int
    first_verified_at: datetime | None
    last_received_at: datetime | None


def find_webhook_set(inbox_token: str) -> WebhookSet | None:
    # Tokens are 32 hex digits; anything else names no inbox and never reaches the database.
    if not (0 < len(inbox_token) <= 32 and inbox_token.isascii() and inbox_token.isalnum()):
        return None
    query = db.select(WebhookSet).where(WebhookSet.inbox_token == inbox_token)
    return db.session.execute(query).scalar_one_or_none()


def _verify(webhook_set: WebhookSet, envelope: Envelope) -> Verification:
    try:
        expected = webhook_set.secret_key
    except SecretUnavailable:
        return Verification(False, "the saved secret key cannot be read; enter it again")
    return verify_secret(envelope, expected)


def clean_headers(headers: list[tuple[str, str]]) -> dict[str, str]:
    cleaned = {}
    for name, value in headers:
        if name.lower() in MASKED_HEADERS:
            value = "[redacted]"
        cleaned[name] = value.replace("\x00", "")[:MAX_HEADER_LENGTH]
    return cleaned


def _count_event(webhook_set_id: int, key: str, action: str, now: datetime) -> tuple[int, int]:
    """Insert the event or count one more delivery of it, atomically.

    ``ON CONFLICT DO UPDATE`` on the UNIQUE dedupe key: concurrent identical deliveries never
    fail on the index, on SQLite (serialized by BEGIN IMMEDIATE) nor on PostgreSQL.
    """
    table = DeliveryEvent.__table__
    statement = (
        _INSERTS[db.session.get_bind().dialect.name](table)
        .values(
            webhook_set_id=webhook_set_id,
            dedupe_key=key,
            action=action,
            first_received_at=now,
            last_received_at=now,
            times_received=1,
        )
        .on_conflict_do_update(
            index_elements=[table.c.dedupe_key],
            set_={"times_received": table.c.times_received + 1, "last_received_at": now},
        )
        .returning(table.c.id, table.c.times_received)
    )
    event_id, times = db.session.execute(statement).one()
    return event_id, times


def _count_rejected(webhook_set: WebhookSet, per_minute: int) -> None:
    """Count one more rejected delivery to this inbox; raise ``TooManyRejected`` past the limit.

    The count lives in the rate limiter's storage (``RATELIMIT_STORAGE_URI``), so every process
    serving the console shares it.
    """
    if not limiter.enabled:
        return
    limit = RateLimitItemPerMinute(per_minute)
    identity = ("rejected-deliveries", webhook_set.uid)
    try:
        if limiter.limiter.hit(limit, *identity):
            return
        reset_at = limiter.limiter.get_window_stats(limit, *identity).reset_time
    except Exception as exc:  # the storage is down: keep the delivery (bounded) anyway
        log.warning("rejected deliveries not counted: %s", type(exc).__name__)
        return
    raise TooManyRejected(retry_after=max(1, math.ceil(reset_at - time.time())))


@dataclass(frozen=True)
class CheckedDelivery:
    """Which inbox a delivery came to, and whether its secret key is right."""

    webhook_set_id: int
    verification: Verification


def check_delivery(
    inbox_token: str, envelope: Envelope, rejected_per_minute: int
) -> CheckedDelivery:
    """Find the inbox and check the secret key; reads only.

    A rejected delivery counts against the inbox's limit: past it, ``TooManyRejected``.
    """
    webhook_set = find_webhook_set(inbox_token)
    if webhook_set is None:
        raise UnknownInbox(inbox_token)
    verification = _verify(webhook_set, envelope)
    if not verification.verified:
        _count_rejected(webhook_set, rejected_per_minute)
    return CheckedDelivery(webhook_set.id, verification)


def store_delivery(
    checked: CheckedDelivery, envelope: Envelope, body: bytes, headers: list[tuple[str, str]]
) -> StoredDelivery:
    """Add the delivery (and count its event) to the session; the receiver commits.

    The body is laid out and hashed before the first statement: on SQLite the transaction holds
    the write lock, and every other delivery waits for it.
    """
    verified = checked.verification.verified
    kept = kept_body(envelope, body, limit=None if verified else REJECTED_BODY_KEPT)
    key = dedupe_key(envelope) if verified else None
    now = utcnow()
    event_id, times = None, 0
    if key is not None:
        event_id, times = _count_event(checked.webhook_set_id, key, envelope.action, now)
    delivery = Delivery(
        webhook_set_id=checked.webhook_set_id,
        event_id=event_id,
        received_at=now,
        action=envelope.action,
        livechat_webhook_id=envelope.webhook_id,
        verified=verified,
        rejection=checked.verification.reason,
        headers=clean_headers(headers),
        body=kept.text,
        body_format=kept.format,
        body_truncated=kept.truncated,
        body_size=kept.size,
        body_sha256=kept.sha256,
    )
    db.session.add(delivery)
    db.session.flush()
    return StoredDelivery(delivery.id, verified, checked.verification.reason, times)


# -- reading -------------------------------------------------------------------------------


def _app_deliveries(app_id: int, chosen: InboxFilter) -> Select[tuple[Delivery]]:
    query = (
        db.select(Delivery)
        .join(WebhookSet, Delivery.webhook_set_id == WebhookSet.id)
        .where(WebhookSet.app_id == app_id)
        .options(joinedload(Delivery.event))
    )
    if chosen.action:
        query = query.where(Delivery.action == chosen.action)
    if chosen.status:
        query = query.where(Delivery.verified.is_(chosen.status == VERIFIED))
    return query


def page(app_id: int, chosen: InboxFilter, number: int, per_page: int = PER_PAGE) -> Pagination:
    """Deliveries newest first; ids break ties between deliveries of the same instant."""
    query = _app_deliveries(app_id, chosen).order_by(
        Delivery.received_at.desc(), Delivery.id.desc()
    )
    number = min(max(number, 1), MAX_PAGE)
    return db.paginate(query, page=number, per_page=per_page, error_out=False)


def newer_than(app_id: int, chosen: InboxFilter, after_id: int, limit: int = 50) -> list[Delivery]:
    """Deliveries that arrived after ``after_id``, newest first, for the page's live updates."""
    query = (
        _app_deliveries(app_id, chosen)
        .where(Delivery.id > after_id)
        .order_by(Delivery.id.desc())
        .limit(limit)
    )
    return list(db.session.execute(query).scalars().unique())


def get_delivery(app_id: int, delivery_id: int) -> Delivery | None:
    query = _app_deliveries(app_id, InboxFilter()).where(Delivery.id == delivery_id)
    return db.session.execute(query).scalars().unique().one_or_none()


def actions_received(app_id: int) -> list[str]:
    """Every trigger the app's inbox has seen, for the filter's choices."""
    query = (
        db.select(Delivery.action)
        .join(WebhookSet, Delivery.webhook_set_id == WebhookSet.id)
        .where(WebhookSet.app_id == app_id, Delivery.action.is_not(None))
        .distinct()
        .order_by(Delivery.action)
    )
    return list(db.session.execute(query).scalars())


def inbox_tokens(app_id: int) -> list[str]:
    query = db.select(WebhookSet.inbox_token).where(WebhookSet.app_id == app_id)
    return list(db.session.execute(query.order_by(WebhookSet.id)).scalars())


def action_counts(app_id: int, since: datetime | None = None) -> dict[str, ActionCount]:
    """Per trigger: how many deliveries were verified and rejected, and when they came."""
    verified = func.sum(db.case((Delivery.verified.is_(True), 1), else_=0))
    first_verified = func.min(db.case((Delivery.verified.is_(True), Delivery.received_at)))
    query = (
        db.select(
            Delivery.action,
            verified,
            func.count(Delivery.id) - verified,
            first_verified,
            func.max(Delivery.received_at),
        )
        .join(WebhookSet, Delivery.webhook_set_id == WebhookSet.id)
        .where(WebhookSet.app_id == app_id, Delivery.action.is_not(None))
        .group_by(Delivery.action)
    )
    if since is not None:
        query = query.where(Delivery.received_at >= since)
    return {
        action: ActionCount(action, int(ok or 0), int(bad or 0), first, last)
        for action, ok, bad, first, last in db.session.execute(query)
    }
