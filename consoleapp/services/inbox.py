"""The console's own inbox: list, filter and count what its receiver stored
(``services.intake`` stores it).

Every POST that names a known inbox is kept as a ``Delivery``, verified or rejected. Verified
deliveries are kept whole and also count towards one ``DeliveryEvent`` per dedupe key, so a
retried event shows as "received 2×" instead of as two events. Of a rejected delivery only the
first 4 KB are kept, and only so many a minute per inbox: anyone who knows an inbox address can
send them, and they must not fill the disk.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import Select, func
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..models import Delivery, WebhookSet
from . import intake

VERIFIED = "verified"
REJECTED = "rejected"
STATUSES = (VERIFIED, REJECTED)
PER_PAGE = 25
# A page number beyond this is empty anyway; bounding it keeps the OFFSET a valid integer.
MAX_PAGE = 1_000_000
# Of a rejected delivery's body, only this much is kept (its size and hash are kept too).
REJECTED_BODY_KEPT = intake.REJECTED_BODY_KEPT


log = logging.getLogger("consoleapp.inbox")


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
