"""What the Inbox keeps: deliveries younger than DELIVERY_RETENTION_DAYS, and at most
INBOX_MAX_DELIVERIES of them per webhook set, the newest. The rest is removed in small
batches, each its own short transaction, so the receiver never waits long for the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from ..extensions import db
from ..models import Delivery, DeliveryEvent, DeliveryMinute, WebhookSet, utcnow

BATCH = 500
# The chart shows the last hour; its counts are kept a little longer.
MINUTES_KEPT = timedelta(hours=2)


@dataclass(frozen=True)
class Policy:
    days: int
    per_inbox: int

    @classmethod
    def from_config(cls, config: dict) -> Policy:
        return cls(config["DELIVERY_RETENTION_DAYS"], config["INBOX_MAX_DELIVERIES"])


@dataclass
class Pruned:
    too_old: int = 0
    beyond_cap: int = 0
    events: int = 0

    @property
    def deliveries(self) -> int:
        return self.too_old + self.beyond_cap


def _delete_batch(condition) -> int:
    ids = list(
        db.session.execute(
            db.select(Delivery.id).where(condition).order_by(Delivery.id).limit(BATCH)
        ).scalars()
    )
    if ids:
        db.session.execute(db.delete(Delivery).where(Delivery.id.in_(ids)))
    db.session.commit()
    return len(ids)


def _until_done(condition) -> int:
    removed = 0
    while count := _delete_batch(condition):
        removed += count
    return removed


def _oldest_kept(set_id: int, per_inbox: int) -> int | None:
    """The id of the oldest delivery the set keeps, when it has more than it may."""
    return db.session.execute(
        db.select(Delivery.id)
        .where(Delivery.webhook_set_id == set_id)
        .order_by(Delivery.id.desc())
        .offset(per_inbox - 1)
        .limit(1)
    ).scalar_one_or_none()


def prune(policy: Policy, now: datetime | None = None) -> Pruned:
    """Remove what the Inbox no longer keeps, a batch at a time; commits each batch."""
    now = now or utcnow()
    cutoff = now - timedelta(days=policy.days)
    pruned = Pruned()
    pruned.too_old = _until_done(Delivery.received_at < cutoff)
    set_ids = list(db.session.execute(db.select(WebhookSet.id)).scalars())
    db.session.commit()
    for set_id in set_ids:
        oldest = _oldest_kept(set_id, policy.per_inbox)
        db.session.commit()
        if oldest is not None:
            pruned.beyond_cap += _until_done(
                (Delivery.webhook_set_id == set_id) & (Delivery.id < oldest)
            )
    # Events no delivery refers to any more, and counts per minute the chart no longer shows.
    orphaned = ~db.exists().where(Delivery.event_id == DeliveryEvent.id)
    pruned.events = db.session.execute(
        db.delete(DeliveryEvent).where(DeliveryEvent.last_received_at < cutoff, orphaned)
    ).rowcount
    db.session.execute(db.delete(DeliveryMinute).where(DeliveryMinute.minute < now - MINUTES_KEPT))
    db.session.commit()
    return pruned
