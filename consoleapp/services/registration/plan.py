"""What pressing Register will change at LiveChat, trigger by trigger, before it is pressed.

A register run (``run``) removes outdated webhooks first, then registers what is
missing; LiveChat cannot edit a webhook, so a changed trigger is removed and registered again.
This module says that in advance, from the same comparison the run makes (``desired`` against
what each row was registered as), and warns where LiveChat's limit of 3 webhooks per trigger
for one app will get in the way.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from ...extensions import db
from ...models import RegisteredWebhook, RegistrationState, WebhookSet
from .wanted import desired

PER_TRIGGER_LIMIT = 3  # livechat-api.md §2: at most 3 webhooks per action per Client ID


class Change(enum.StrEnum):
    KEEP = "keep"
    ADD = "add"
    REPLACE = "replace"
    REMOVE = "remove"


@dataclass(frozen=True)
class PlannedChange:
    action: str
    change: Change
    # For a replacement: what differs ("url", "filters", "key"); for an addition that failed
    # before: LiveChat's reason.
    why: tuple[str, ...] = ()
    last_error: str | None = None
    # Webhooks for this trigger that the app holds at LiveChat through its other sets.
    elsewhere: int = 0

    @property
    def over_limit(self) -> bool:
        """Adding it would pass LiveChat's limit: one of the others must go first."""
        return self.change is Change.ADD and self.elsewhere >= PER_TRIGGER_LIMIT

    @property
    def at_limit(self) -> bool:
        """Replacing it: the old one must be removed before the new one fits."""
        return self.change is Change.REPLACE and self.elsewhere + 1 >= PER_TRIGGER_LIMIT


@dataclass(frozen=True)
class Plan:
    changes: list[PlannedChange] = field(default_factory=list)

    def count(self, change: Change) -> int:
        return sum(1 for item in self.changes if item.change is change)

    @property
    def changes_anything(self) -> bool:
        return any(item.change is not Change.KEEP for item in self.changes)


def _differences(registered: dict[str, Any], spec: dict[str, Any]) -> tuple[str, ...]:
    why = []
    if registered.get("url") != spec["url"]:
        why.append("url")
    if (registered.get("filters") or {}) != spec["filters"] or sorted(
        registered.get("additional_data") or []
    ) != sorted(spec["additional_data"]):
        why.append("filters")
    if registered.get("description") != spec["description"]:
        why.append("key")
    return tuple(why)


def _held_elsewhere(webhook_set: WebhookSet) -> dict[str, int]:
    """Per trigger, the webhooks the app's other sets hold at LiveChat (same Client ID)."""
    rows = db.session.execute(
        db.select(RegisteredWebhook.action, db.func.count(RegisteredWebhook.id))
        .join(WebhookSet, WebhookSet.id == RegisteredWebhook.webhook_set_id)
        .where(
            WebhookSet.app_id == webhook_set.app_id,
            WebhookSet.id != webhook_set.id,
            RegisteredWebhook.livechat_webhook_id.is_not(None),
        )
        .group_by(RegisteredWebhook.action)
    ).all()
    return {action: count for action, count in rows}


def plan(webhook_set: WebhookSet) -> Plan:
    """Each chosen trigger (in the set's order), then each webhook that will be removed."""
    wanted = desired(webhook_set)
    rows = {row.action: row for row in webhook_set.registered}
    elsewhere = _held_elsewhere(webhook_set)
    changes = []
    for action, spec in wanted.items():
        row = rows.get(action)
        others = elsewhere.get(action, 0)
        if row is None or row.livechat_webhook_id is None:
            failed = row is not None and row.state == RegistrationState.FAILED
            error = row.last_error if failed and row is not None else None
            changes.append(PlannedChange(action, Change.ADD, last_error=error, elsewhere=others))
        elif row.registered_as != spec:
            why = _differences(row.registered_as or {}, spec)
            changes.append(PlannedChange(action, Change.REPLACE, why, elsewhere=others))
        else:
            changes.append(PlannedChange(action, Change.KEEP, elsewhere=others))
    for action, row in rows.items():
        if action not in wanted and row.livechat_webhook_id:
            changes.append(PlannedChange(action, Change.REMOVE))
    return Plan(changes)
