"""The console's own inbox: what its receiver stored (``services.intake`` stores it), a page at
a time and filtered, and how much came per minute (``services.folding`` counts it).

Every read costs what it shows, not what is stored: pages go by cursor (a delivery id) down the
per-set indexes and stop after a page; nothing counts the deliveries. The chart reads the counts
kept per minute.

Every POST that names a known inbox is kept as a ``Delivery``, verified or rejected. Verified
deliveries are kept whole and also count towards one ``DeliveryEvent`` per dedupe key, so a
retried event shows as "received 2×" instead of as two events. Of a rejected delivery only the
first 4 KB are kept, and only so many a minute per inbox: anyone who knows an inbox address can
send them, and they must not fill the disk.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, func, select, union_all
from sqlalchemy.orm import aliased, joinedload

from ..extensions import db
from ..models import Delivery, DeliveryMinute, WebhookSet, utcnow
from . import intake

VERIFIED = "verified"
REJECTED = "rejected"
STATUSES = (VERIFIED, REJECTED)
PER_PAGE = 25
# The most deliveries one look for newer ones returns; the newest of them when more came.
NEWER_LIMIT = 50
# Ids are 32-bit integers on PostgreSQL: a cursor past this names no delivery (and binding it
# would be an error there), so it is brought back to it.
MAX_ID = 2**31 - 1
# What the chart covers: the last hour, a minute at a time.
CHART_MINUTES = 60
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


@dataclass(frozen=True)
class DeliveryPage:
    """One page of the Inbox, newest first, and whether there is more on either side."""

    items: list[Delivery]
    newer: bool
    older: bool


@dataclass(frozen=True)
class Newer:
    """Deliveries that came after a cursor, newest first, and where to look next time."""

    deliveries: list[Delivery]
    cursor: int


@dataclass(frozen=True)
class MinuteCount:
    minute: datetime
    action: str
    verified: int
    rejected: int


@dataclass(frozen=True)
class Traffic:
    """How many deliveries came per minute and trigger from ``first_minute`` on: only the
    minutes that had some are listed."""

    first_minute: datetime
    minutes: int
    counts: list[MinuteCount]


# -- reading -------------------------------------------------------------------------------


def _app_deliveries(app_id: int, chosen: InboxFilter) -> Select[tuple[Delivery]]:
    query = (
        db.select(Delivery)
        .join(WebhookSet, Delivery.webhook_set_id == WebhookSet.id)
        .where(WebhookSet.app_id == app_id)
        .options(joinedload(Delivery.event))
    )
    return _filtered(query, chosen)


def _filtered(query: Select, chosen: InboxFilter) -> Select:
    if chosen.action:
        query = query.where(Delivery.action == chosen.action)
    if chosen.status:
        # "= true", not "IS true": only an equality lets PostgreSQL seek the index on it.
        query = query.where(Delivery.verified == (chosen.status == VERIFIED))
    return query


def webhook_sets(app_id: int) -> list[WebhookSet]:
    query = db.select(WebhookSet).where(WebhookSet.app_id == app_id).order_by(WebhookSet.id)
    return list(db.session.execute(query).scalars())


def _set_ids(app_id: int) -> list[int]:
    query = db.select(WebhookSet.id).where(WebhookSet.app_id == app_id).order_by(WebhookSet.id)
    return list(db.session.execute(query).scalars())


def _ids(
    set_ids: list[int],
    chosen: InboxFilter,
    *,
    limit: int,
    below: int | None = None,
    above: int | None = None,
    newest_first: bool = True,
) -> list[int]:
    """Ids of the deliveries on one side of a cursor, in id order, at most ``limit``.

    Each set is read on its own, down (or up) its index from the cursor, and stops after
    ``limit`` rows; the sets' few rows are then merged. Nothing is counted or sorted in full.
    """

    def one_set(set_id: int) -> Select[tuple[int]]:
        query = _filtered(select(Delivery.id).where(Delivery.webhook_set_id == set_id), chosen)
        if below is not None:
            query = query.where(Delivery.id < below)
        if above is not None:
            query = query.where(Delivery.id > above)
        return query.order_by(Delivery.id.desc() if newest_first else Delivery.id).limit(limit)

    if not set_ids:
        return []
    if len(set_ids) == 1:
        query = one_set(set_ids[0])
    else:
        parts = [one_set(set_id).subquery() for set_id in set_ids]
        merged = union_all(*(select(part.c.id) for part in parts)).subquery()
        order = merged.c.id.desc() if newest_first else merged.c.id
        query = select(merged.c.id).order_by(order).limit(limit)
    return list(db.session.execute(query).scalars())


def _deliveries(ids: list[int]) -> list[Delivery]:
    """The deliveries with these ids, newest first."""
    if not ids:
        return []
    query = db.select(Delivery).where(Delivery.id.in_(ids)).options(joinedload(Delivery.event))
    found = db.session.execute(query).scalars().unique()
    return sorted(found, key=lambda delivery: delivery.id, reverse=True)


def page(
    app_id: int,
    chosen: InboxFilter,
    before: int | None = None,
    after: int | None = None,
    per_page: int = PER_PAGE,
) -> DeliveryPage:
    """A page of deliveries, newest first (by id, the order they were stored in).

    ``before``: the page that ends just before this id (the "Older" link); ``after``: the page
    that starts just after it ("Newer"). Without either, or once "Newer" reaches the newest,
    the newest page. Each page costs a few index seeks, however many deliveries are kept.
    """
    set_ids = _set_ids(app_id)
    if before is not None and before > MAX_ID:
        before = None
    if after is not None:
        after = min(after, MAX_ID)
        ids = _ids(set_ids, chosen, limit=per_page + 1, above=after, newest_first=False)
        if len(ids) > per_page:
            shown = ids[:per_page]
            older = _exists(set_ids, chosen, below=shown[0])
            return DeliveryPage(_deliveries(shown), newer=True, older=older)
        before = None
    ids = _ids(set_ids, chosen, limit=per_page + 1, below=before)
    newer = before is not None and _exists(set_ids, chosen, above=ids[0] if ids else before - 1)
    return DeliveryPage(_deliveries(ids[:per_page]), newer=newer, older=len(ids) > per_page)


def _exists(
    set_ids: list[int], chosen: InboxFilter, below: int | None = None, above: int | None = None
) -> bool:
    return bool(_ids(set_ids, chosen, limit=1, below=below, above=above))


def resume_after(deliveries: list[Delivery], after: int = 0) -> int:
    """Where the next look for newer deliveries starts: after the newest of these, or just
    before the oldest not folded yet, so that it comes again with its repeats counted."""
    unfolded = [delivery.id for delivery in deliveries if not delivery.folded]
    if unfolded:
        return max(after, min(unfolded) - 1)
    return max([after, *(delivery.id for delivery in deliveries)])


def newer_than(app_id: int, chosen: InboxFilter, after_id: int, limit: int = NEWER_LIMIT) -> Newer:
    """Deliveries that arrived after ``after_id``, newest first, for the page's live updates.

    When nothing came, this is one index seek per set that finds nothing."""
    after_id = min(after_id, MAX_ID)
    found = _deliveries(_ids(_set_ids(app_id), chosen, limit=limit, above=after_id))
    return Newer(found, resume_after(found, after_id))


def get_delivery(app_id: int, delivery_id: int) -> Delivery | None:
    query = _app_deliveries(app_id, InboxFilter()).where(Delivery.id == delivery_id)
    return db.session.execute(query).scalars().unique().one_or_none()


def actions_received(app_id: int) -> list[str]:
    """Every trigger the app's inbox has seen, for the filter's choices.

    Read by hopping along the (set, trigger, id) index from one trigger to the next: one seek
    per trigger, however many deliveries each has."""
    found: set[str] = set()
    for set_id in _set_ids(app_id):
        later = aliased(Delivery)
        first = (
            select(Delivery.action)
            .where(Delivery.webhook_set_id == set_id, Delivery.action.is_not(None))
            .order_by(Delivery.action)
            .limit(1)
        )
        seen = select(first.scalar_subquery().label("action")).cte("seen", recursive=True)
        following = (
            select(later.action)
            .where(later.webhook_set_id == set_id, later.action > seen.c.action)
            .order_by(later.action)
            .limit(1)
            .scalar_subquery()
        )
        seen = seen.union_all(select(following).where(seen.c.action.is_not(None)))
        query = select(seen.c.action).where(seen.c.action.is_not(None))
        found.update(db.session.execute(query).scalars())
    return sorted(found)


def traffic(app_id: int, now: datetime | None = None, minutes: int = CHART_MINUTES) -> Traffic:
    """Deliveries per minute and trigger over the last ``minutes`` (this one included), from the
    counts kept per minute: it costs minutes × triggers, never the deliveries themselves."""
    last = (now or utcnow()).replace(second=0, microsecond=0)
    first = last - timedelta(minutes=minutes - 1)
    query = (
        db.select(
            DeliveryMinute.minute,
            DeliveryMinute.action,
            func.sum(DeliveryMinute.verified),
            func.sum(DeliveryMinute.rejected),
        )
        .join(WebhookSet, DeliveryMinute.webhook_set_id == WebhookSet.id)
        .where(
            WebhookSet.app_id == app_id,
            DeliveryMinute.minute >= first,
            DeliveryMinute.minute <= last,
        )
        .group_by(DeliveryMinute.minute, DeliveryMinute.action)
        .order_by(DeliveryMinute.minute, DeliveryMinute.action)
    )
    counts = [
        MinuteCount(minute, action, int(verified or 0), int(rejected or 0))
        for minute, action, verified, rejected in db.session.execute(query)
    ]
    return Traffic(first, minutes, counts)


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
