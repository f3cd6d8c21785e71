"""What reached an app's inbox for each trigger, read with index seeks: the checklist's
"event received, secret verified", costing the same at 100,000 deliveries as at 10.

Each question is one ``ORDER BY … LIMIT 1`` on the index (set, action, verified, received_at):
the first verified delivery since a time, the last rejected one. They read ``deliveries`` as
the receiver stored them, so a row turns green as soon as its delivery is committed, before any
folding. A summary table kept at fold time would have needed this same read for what is not
folded yet; the index already answers both.

``checklist_version`` fingerprints everything the checklist is worked out from, in one
statement of index seeks and counts of the app's few rows, so an open page's poll is answered
"nothing new" without working the checklist out. Of the deliveries it takes each set's oldest id
(retention removes the oldest first) and its newest few (a new delivery, or a late commit).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, func, select, union_all
from sqlalchemy.orm import aliased

from ..extensions import db
from ..models import (
    App,
    Delivery,
    Installation,
    RegisteredWebhook,
    TriggerTest,
    WebhookSet,
    WebhookTrigger,
)

# SQLite takes at most 500 SELECTs in one compound statement; two per (set, trigger).
SEEKS_PER_STATEMENT = 200
# Ids come from a sequence on PostgreSQL: a delivery may commit just after one with a higher id.
# The sum of a set's newest ids notices it as long as it lands among these.
NEWEST_SEEN = 64
# Part of the fingerprint: a change to what the checklist shows changes every version.
FORMAT = 1


@dataclass(frozen=True)
class Arrived:
    """For one trigger since its start: the first verified delivery, the last rejected one."""

    first_verified_at: datetime | None = None
    last_rejection: str | None = None
    rejected: bool = False


def _seek(set_id: int, action: str, verified: bool, since: datetime | None) -> Select:
    query = select(
        Delivery.action, Delivery.verified, Delivery.received_at, Delivery.rejection
    ).where(
        Delivery.webhook_set_id == set_id,
        Delivery.action == action,
        Delivery.verified.is_(verified),
    )
    if since is not None:
        query = query.where(Delivery.received_at >= since)
    order = Delivery.received_at.asc() if verified else Delivery.received_at.desc()
    # A SELECT of its own: a compound statement's parts may not have ORDER BY or LIMIT.
    return select(query.order_by(order).limit(1).subquery())


def arrived(set_ids: Iterable[int], since: Mapping[str, datetime | None]) -> dict[str, Arrived]:
    """Per trigger of ``since`` (action → its start, or None for all time), what arrived in
    any of the sets: two index seeks per set and trigger, a few statements in all."""
    seeks = [
        _seek(set_id, action, verified, start)
        for set_id in set_ids
        for action, start in since.items()
        for verified in (True, False)
    ]
    first: dict[str, datetime] = {}
    last: dict[str, tuple[datetime, str | None]] = {}
    for begin in range(0, len(seeks), SEEKS_PER_STATEMENT):
        chunk = seeks[begin : begin + SEEKS_PER_STATEMENT]
        statement = chunk[0] if len(chunk) == 1 else union_all(*chunk)
        for action, verified, received_at, rejection in db.session.execute(statement):
            if verified and (action not in first or received_at < first[action]):
                first[action] = received_at
            elif not verified and (action not in last or received_at > last[action][0]):
                last[action] = (received_at, rejection)
    return {
        action: Arrived(
            first.get(action),
            last[action][1] if action in last else None,
            rejected=action in last,
        )
        for action in since
    }


def _one(column: Any, *where: Any) -> Any:
    return select(column).where(*where).scalar_subquery()


def checklist_version(app_id: int) -> str | None:
    """A fingerprint of everything the app's checklist is worked out from; None when there is
    no such app. One statement, each part an index seek or a count of the app's few rows."""
    row = db.session.execute(_version_statement(), {"app_id": app_id}).first()
    if row is None:
        return None
    text = "|".join(str(part) for part in (FORMAT, app_id, *row))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


@functools.cache
def _version_statement() -> Select:
    """Built once: it is polled every second by every open page."""
    app_id = bindparam("app_id")
    sets = select(WebhookSet.id).where(WebhookSet.app_id == app_id)
    one_set = aliased(WebhookSet)
    oldest = (
        select(func.min(Delivery.id))
        .where(Delivery.webhook_set_id == one_set.id)
        .correlate(one_set)
        .scalar_subquery()
    )
    newest = (
        select(Delivery.id)
        .where(Delivery.webhook_set_id == one_set.id)
        .order_by(Delivery.id.desc())
        .limit(NEWEST_SEEN)
        .correlate(one_set)
        .subquery()
    )
    per_set = (
        select(
            oldest.label("oldest"),
            select(func.sum(newest.c.id)).scalar_subquery().label("newest"),
        )
        .where(one_set.app_id == app_id)
        .subquery()
    )
    parts = [
        App.updated_at,
        *(
            _one(column, WebhookSet.app_id == app_id)
            for column in (func.count(), func.max(WebhookSet.id), func.max(WebhookSet.updated_at))
        ),
        *(
            _one(column, WebhookTrigger.webhook_set_id.in_(sets))
            for column in (func.count(), func.max(WebhookTrigger.id))
        ),
        *(
            _one(column, RegisteredWebhook.webhook_set_id.in_(sets))
            for column in (
                func.count(),
                func.max(RegisteredWebhook.id),
                func.max(RegisteredWebhook.updated_at),
            )
        ),
        *(
            _one(column, Installation.app_id == app_id)
            for column in (
                func.count(),
                func.max(Installation.id),
                func.max(Installation.updated_at),
            )
        ),
        # A new test start of the app: an index seek on (app, id).
        _one(func.max(TriggerTest.id), TriggerTest.app_id == app_id),
        *(
            select(func.sum(column)).correlate_except(per_set).scalar_subquery()
            for column in per_set.c
        ),
    ]
    return select(*parts).where(App.id == app_id)
