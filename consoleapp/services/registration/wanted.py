"""What a webhook set should be registered as at LiveChat: one webhook per chosen trigger, each
carrying a description that marks it as this console's, for this set and this key."""

from __future__ import annotations

from typing import Any

from ...models import WebhookSet

MARKER = "consoleapp set"


def description(webhook_set: WebhookSet) -> str:
    """Marks webhooks this console made for this set and key, so a lost answer can be found
    again in ``list_webhooks`` and nobody else's webhook is ever adopted or removed."""
    saved = webhook_set.secret_saved_at
    stamp = saved.strftime("%Y%m%d%H%M%S%f") if saved else "0"
    return f"{MARKER} {webhook_set.uid} key {stamp}"


def desired(webhook_set: WebhookSet) -> dict[str, dict[str, Any]]:
    """What each chosen trigger should be registered as (never the secret itself)."""
    return {
        trigger.action: {
            "url": webhook_set.target_url,
            "filters": dict(trigger.filters or {}),
            "additional_data": list(trigger.additional_data or []),
            "description": description(webhook_set),
        }
        for trigger in webhook_set.triggers
    }
