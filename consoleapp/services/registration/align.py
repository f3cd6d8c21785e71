"""Bring a set's rows in line with what LiveChat lists for the app.

A run that is taken up again, or a set registered before, lists the app's webhooks first: a
webhook removed at LiveChat is forgotten here, and one whose answer was lost (a worker died, a
call timed out) is adopted by the marker in its description, so nothing is registered twice
(R8) and nobody else's webhook is ever taken for the console's.
"""

from __future__ import annotations

from typing import Any

from ...extensions import db
from ...livechat.configuration import RegisteredWebhook as ListedWebhook
from ...models import RegistrationState, WebhookSet, utcnow


def matches(listed: ListedWebhook, action: str, spec: dict[str, Any]) -> bool:
    return (
        listed.action == action
        and listed.url == spec["url"]
        and listed.description == spec["description"]
        and (listed.filters or {}) == spec["filters"]
        and sorted(listed.additional_data) == sorted(spec["additional_data"])
    )


def find(
    listed: list[ListedWebhook], action: str, spec: dict[str, Any], claimed: set[str]
) -> ListedWebhook | None:
    """The first listed webhook registered as ``spec`` that no row holds yet."""
    return next((w for w in listed if w.id not in claimed and matches(w, action, spec)), None)


def align(
    webhook_set: WebhookSet, listed: list[ListedWebhook], wanted: dict[str, Any], run_id: int
) -> None:
    """Forget webhooks removed at LiveChat, adopt webhooks whose answer was lost; commits."""
    listed_ids = {w.id for w in listed}
    held = {row.livechat_webhook_id for row in webhook_set.registered}
    for row in webhook_set.registered:
        if row.livechat_webhook_id and row.livechat_webhook_id not in listed_ids:
            row.livechat_webhook_id, row.registered_as = None, {}
            if row.action in wanted:
                row.state = RegistrationState.QUEUED
            else:
                db.session.delete(row)
            continue
        spec = wanted.get(row.action)
        if row.livechat_webhook_id is None and spec is not None:
            found = find(listed, row.action, spec, held)
            if found is not None:
                held.add(found.id)
                row.livechat_webhook_id, row.registered_as = found.id, spec
                row.state, row.last_error = RegistrationState.REGISTERED, None
                row.registered_at = utcnow()
                row.run_id = row.run_id or run_id
            elif row.state == RegistrationState.REGISTERING:
                row.state = RegistrationState.QUEUED
    db.session.commit()
