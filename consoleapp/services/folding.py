"""What follows from stored deliveries, worked out after the receiver has answered: the event
each verified delivery belongs to (so a repeat shows as "received 2×"), and how many came per
minute (the Inbox's chart).

Deliveries are folded in batches, in the order they came: a handful of set-based statements per
batch, each done by the database itself, so that the write lock (SQLite has one) is held for
as short a time as the receiver needs. Each batch is one transaction that also marks its
deliveries ``folded``: two workers folding at once never count a delivery twice (SQLite has one
writer; PostgreSQL skips rows another worker has locked).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, case, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from ..extensions import db
from ..models import Delivery, DeliveryEvent, DeliveryMinute

BATCH = 500
_INSERTS: dict[str, Callable[..., Any]] = {
    "sqlite": sqlite.insert,
    "postgresql": postgresql.insert,
}
_deliveries = Delivery.__table__
_events = DeliveryEvent.__table__
_minutes = DeliveryMinute.__table__
_ids = bindparam("ids", expanding=True)
# Written word for word as the partial index ix_deliveries_unfolded's condition, so that finding
# what is left to fold is a seek in that small index, not a scan of every delivery kept
# (SQLAlchemy would write ``NOT folded`` as ``folded = 0`` on SQLite, which the planner does not
# match with the index).
_UNFOLDED = text("NOT deliveries.folded")


def minute_of(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def _minute(column: Any) -> Any:
    """The minute a timestamp falls in, computed by the database."""
    if _dialect() == "postgresql":
        return func.date_trunc("minute", column)
    # How SQLAlchemy stores a DateTime in SQLite, with the seconds set to zero.
    return func.strftime("%Y-%m-%d %H:%M:00.000000", column)


def _count_events(ids: list[int]) -> None:
    """Add the batch's verified deliveries to their events, creating the new ones."""
    grouped = (
        select(
            func.min(_deliveries.c.webhook_set_id),
            _deliveries.c.dedupe_key,
            func.min(_deliveries.c.action),
            func.min(_deliveries.c.received_at),
            func.max(_deliveries.c.received_at),
            func.count(),
        )
        .where(
            _deliveries.c.id.in_(_ids),
            _deliveries.c.verified.is_(True),
            _deliveries.c.dedupe_key.is_not(None),
        )
        .group_by(_deliveries.c.dedupe_key)
    )
    upsert = _INSERTS[_dialect()](_events).from_select(
        [
            "webhook_set_id",
            "dedupe_key",
            "action",
            "first_received_at",
            "last_received_at",
            "times_received",
        ],
        grouped,
    )
    upsert = upsert.on_conflict_do_update(
        index_elements=[_events.c.dedupe_key],
        set_={
            "times_received": _events.c.times_received + upsert.excluded.times_received,
            "last_received_at": upsert.excluded.last_received_at,
        },
    )
    db.session.execute(upsert, {"ids": ids})


def _count_minutes(ids: list[int]) -> None:
    minute = _minute(_deliveries.c.received_at)
    grouped = (
        select(
            _deliveries.c.webhook_set_id,
            minute,
            _deliveries.c.action,
            func.sum(case((_deliveries.c.verified.is_(True), 1), else_=0)),
            func.sum(case((_deliveries.c.verified.is_(True), 0), else_=1)),
        )
        .where(_deliveries.c.id.in_(_ids), _deliveries.c.action.is_not(None))
        .group_by(_deliveries.c.webhook_set_id, minute, _deliveries.c.action)
    )
    upsert = _INSERTS[_dialect()](_minutes).from_select(
        ["webhook_set_id", "minute", "action", "verified", "rejected"], grouped
    )
    upsert = upsert.on_conflict_do_update(
        index_elements=[_minutes.c.webhook_set_id, _minutes.c.minute, _minutes.c.action],
        set_={
            "verified": _minutes.c.verified + upsert.excluded.verified,
            "rejected": _minutes.c.rejected + upsert.excluded.rejected,
        },
    )
    db.session.execute(upsert, {"ids": ids})


def _mark_folded(ids: list[int]) -> None:
    event = (
        select(_events.c.id)
        .where(_events.c.dedupe_key == _deliveries.c.dedupe_key)
        .scalar_subquery()
    )
    db.session.execute(
        update(_deliveries)
        .where(_deliveries.c.id.in_(_ids))
        .values(folded=True, event_id=case((_deliveries.c.verified.is_(True), event), else_=None)),
        {"ids": ids},
    )


def _left_to_fold(up_to: int) -> Any:
    """The ids of deliveries not folded yet, up to ``up_to``."""
    return select(_deliveries.c.id).where(_UNFOLDED, _deliveries.c.id <= up_to)


def fold_batch(up_to: int) -> int:
    """Fold up to BATCH deliveries with ids up to ``up_to``, oldest first, in one transaction;
    how many. Commits."""
    query = _left_to_fold(up_to).order_by(_deliveries.c.id).limit(BATCH)
    if _dialect() == "postgresql":
        query = query.with_for_update(skip_locked=True)
    ids = list(db.session.execute(query).scalars())
    if ids:
        _count_events(ids)
        _count_minutes(ids)
        _mark_folded(ids)
    db.session.commit()
    return len(ids)


def _unfolded(up_to: int) -> bool:
    found = db.session.execute(_left_to_fold(up_to).limit(1)).first() is not None
    db.session.commit()
    return found


def fold_all(wait: float = 10.0) -> int:
    """Fold every delivery stored when this call began, a batch at a time; how many it folded.

    What arrives meanwhile is left to the next call (each commit of deliveries queues one):
    under a steady stream this folds in batches of what came since, instead of chasing every
    new delivery in a tight loop of tiny transactions that takes CPU from the receiver. On
    PostgreSQL another worker may hold a batch (skipped, not waited for); this returns once
    that batch is folded too, or after ``wait`` seconds."""
    up_to = db.session.execute(select(func.max(_deliveries.c.id))).scalar()
    db.session.commit()
    if up_to is None:
        return 0
    total = 0
    give_up = time.monotonic() + wait
    while True:
        count = fold_batch(up_to)
        total += count
        if count == BATCH:
            continue
        if not _unfolded(up_to) or time.monotonic() > give_up:
            return total
        time.sleep(0.05)
