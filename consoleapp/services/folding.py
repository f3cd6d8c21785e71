"""What follows from stored deliveries, worked out after the receiver has answered: the event
each verified delivery belongs to (so a repeat shows as "received 2×"), and how many came per
minute (the Inbox's chart).

Deliveries are folded in batches, in the order they came, each batch in one transaction that
also marks its deliveries ``folded``: two workers folding at once never count a delivery
twice (SQLite has one writer; PostgreSQL skips rows another worker has locked).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, update
from sqlalchemy.dialects import postgresql, sqlite

from ..extensions import db
from ..models import Delivery, DeliveryEvent, DeliveryMinute

BATCH = 500
_INSERTS: dict[str, Callable[..., Any]] = {
    "sqlite": sqlite.insert,
    "postgresql": postgresql.insert,
}


def _insert(table: Any) -> Any:
    return _INSERTS[db.session.get_bind().dialect.name](table)


def minute_of(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def _count_events(rows: list[Any]) -> dict[int, int]:
    """Insert each event or add its new deliveries to it; the event id of every delivery."""
    by_key: dict[tuple[int, str], list[Any]] = defaultdict(list)
    for row in rows:
        if row.verified and row.dedupe_key:
            by_key[(row.webhook_set_id, row.dedupe_key)].append(row)
    table = DeliveryEvent.__table__
    event_of: dict[int, int] = {}
    for (set_id, key), group in by_key.items():
        statement = (
            _insert(table)
            .values(
                webhook_set_id=set_id,
                dedupe_key=key,
                action=group[0].action,
                first_received_at=group[0].received_at,
                last_received_at=group[-1].received_at,
                times_received=len(group),
            )
            .on_conflict_do_update(
                index_elements=[table.c.dedupe_key],
                set_={
                    "times_received": table.c.times_received + len(group),
                    "last_received_at": group[-1].received_at,
                },
            )
            .returning(table.c.id)
        )
        event_id = db.session.execute(statement).scalar_one()
        for row in group:
            event_of[row.id] = event_id
    return event_of


def _count_minutes(rows: list[Any]) -> None:
    counts: dict[tuple[int, datetime, str], list[int]] = defaultdict(lambda: [0, 0])
    for row in rows:
        if row.action:
            counts[(row.webhook_set_id, minute_of(row.received_at), row.action)][
                0 if row.verified else 1
            ] += 1
    table = DeliveryMinute.__table__
    for (set_id, minute, action), (verified, rejected) in counts.items():
        db.session.execute(
            _insert(table)
            .values(
                webhook_set_id=set_id,
                minute=minute,
                action=action,
                verified=verified,
                rejected=rejected,
            )
            .on_conflict_do_update(
                index_elements=[table.c.webhook_set_id, table.c.minute, table.c.action],
                set_={
                    "verified": table.c.verified + verified,
                    "rejected": table.c.rejected + rejected,
                },
            )
        )


def fold_batch(limit: int = BATCH) -> int:
    """Fold up to ``limit`` deliveries, oldest first, in one transaction; how many. Commits."""
    query = (
        db.select(
            Delivery.id,
            Delivery.webhook_set_id,
            Delivery.action,
            Delivery.verified,
            Delivery.received_at,
            Delivery.dedupe_key,
        )
        .where(Delivery.folded.is_(False))
        .order_by(Delivery.id)
        .limit(limit)
    )
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = db.session.execute(query).all()
    if not rows:
        db.session.commit()
        return 0
    event_of = _count_events(rows)
    _count_minutes(rows)
    db.session.execute(
        update(Delivery.__table__)
        .where(Delivery.__table__.c.id == bindparam("delivery_id"))
        .values(folded=True, event_id=bindparam("event")),
        [{"delivery_id": row.id, "event": event_of.get(row.id)} for row in rows],
    )
    db.session.commit()
    return len(rows)


def fold_all() -> int:
    """Fold every delivery stored so far, a batch at a time; how many."""
    total = 0
    while count := fold_batch():
        total += count
    return total
