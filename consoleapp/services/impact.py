"""What a destructive action would take away, counted before anyone confirms it.

Each confirmation page names what goes and what stays; these counts are what it names.
Nothing here changes anything.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func

from ..extensions import db
from ..livechat import catalog
from ..models import (
    ACTIVE_STATES,
    App,
    Delivery,
    Installation,
    RegisteredWebhook,
    RegistrationRun,
    WebhookSet,
)


def _count(query) -> int:
    return db.session.execute(query).scalar_one()


def _deliveries(*set_ids: int) -> int:
    if not set_ids:
        return 0
    return _count(db.select(func.count(Delivery.id)).where(Delivery.webhook_set_id.in_(set_ids)))


def _held_by_livechat(*set_ids: int) -> int:
    """Webhooks LiveChat holds for these sets: they keep firing until removed there."""
    if not set_ids:
        return 0
    return _count(
        db.select(func.count(RegisteredWebhook.id)).where(
            RegisteredWebhook.webhook_set_id.in_(set_ids),
            RegisteredWebhook.livechat_webhook_id.is_not(None),
        )
    )


@dataclass(frozen=True)
class AppDeletion:
    webhook_sets: int
    deliveries: int
    installations: int
    held_by_livechat: int


def of_deleting_app(app: App) -> AppDeletion:
    set_ids = list(db.session.execute(db.select(WebhookSet.id).filter_by(app_id=app.id)).scalars())
    installations = _count(db.select(func.count(Installation.id)).filter_by(app_id=app.id))
    return AppDeletion(
        webhook_sets=len(set_ids),
        deliveries=_deliveries(*set_ids),
        installations=installations,
        held_by_livechat=_held_by_livechat(*set_ids),
    )


@dataclass(frozen=True)
class SetDeletion:
    triggers: int
    deliveries: int
    held_by_livechat: int
    running: bool


def _running(webhook_set: WebhookSet) -> bool:
    query = db.select(RegistrationRun.id).where(
        RegistrationRun.webhook_set_id == webhook_set.id,
        RegistrationRun.state.in_([str(state) for state in ACTIVE_STATES]),
    )
    return db.session.execute(query).first() is not None


def of_deleting_set(webhook_set: WebhookSet) -> SetDeletion:
    return SetDeletion(
        triggers=len(webhook_set.triggers),
        deliveries=_deliveries(webhook_set.id),
        held_by_livechat=_held_by_livechat(webhook_set.id),
        running=_running(webhook_set),
    )


@dataclass(frozen=True)
class LiveChatRemoval:
    """The triggers whose webhooks LiveChat holds for the set, by their plain titles."""

    titles: list[str]
    deliveries: int


def of_removing_from_livechat(webhook_set: WebhookSet) -> LiveChatRemoval:
    titles = []
    for row in webhook_set.registered:
        if row.livechat_webhook_id:
            known = catalog.trigger(webhook_set.api_version, row.action)
            titles.append(known.title if known else row.action)
    return LiveChatRemoval(titles, _deliveries(webhook_set.id))
