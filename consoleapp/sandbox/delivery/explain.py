"""Why an occurrence sent nothing, in words a person can act on.

The Scenarios page says this instead of a bare "0 deliveries queued": no webhook for that
trigger, one that does not start yet, an app not installed or with license webhooks off, a bot
offline, or a filter that leaves the occurrence out (``matching.filter_refusal``).
"""

from __future__ import annotations

from datetime import datetime

from ...extensions import db
from ..accounts.models import SandboxInstallation
from ..configuration_api.models import SandboxWebhook
from ..world.models import SandboxBot
from .matching import Occurrence, filter_refusal


def _installation(client_id: str, organization_id: str) -> SandboxInstallation | None:
    return db.session.execute(
        db.select(SandboxInstallation).where(
            SandboxInstallation.client_id == client_id,
            SandboxInstallation.organization_id == organization_id,
        )
    ).scalar_one_or_none()


def _bot_online(client_id: str, organization_id: str) -> bool:
    found = db.session.execute(
        db.select(SandboxBot.id).where(
            SandboxBot.organization_id == organization_id,
            SandboxBot.owner_client_id == client_id,
            SandboxBot.routing_status != "offline",
        )
    ).first()
    return found is not None


def _webhook_refusal(webhook: SandboxWebhook, occurrence: Occurrence) -> str:
    app = webhook.client.name
    license_name = occurrence.organization.name
    if webhook.type == "bot":
        if not _bot_online(webhook.owner_client_id, occurrence.organization.id):
            return (
                f"{app}'s webhook is a bot webhook, and {app} has no bot online on {license_name}"
            )
    else:
        installed = _installation(webhook.owner_client_id, occurrence.organization.id)
        if installed is None or installed.uninstalled_at is not None:
            return f"{app} is not installed on {license_name}, so its webhooks hear nothing there"
        if not installed.webhooks_enabled:
            return f"license webhooks are turned off for {app} on {license_name}"
    refusal = filter_refusal(webhook, occurrence)
    return f"{app}'s webhook {refusal}" if refusal else f"{app}'s webhook did not take it"


def why_nothing_was_sent(occurrence: Occurrence, now: datetime) -> str:
    webhooks = list(
        db.session.execute(
            db.select(SandboxWebhook)
            .where(SandboxWebhook.action == occurrence.action)
            .order_by(SandboxWebhook.created_at, SandboxWebhook.id)
        ).scalars()
    )
    if not webhooks:
        return f"no app has a webhook registered for {occurrence.action}"
    started = [webhook for webhook in webhooks if webhook.active_from <= now]
    if not started:
        first = min(webhook.active_from for webhook in webhooks)
        return (
            f"the webhook for {occurrence.action} was registered moments ago and starts at "
            f"{first:%H:%M:%S} UTC (LiveChat takes a while to apply changes)"
        )
    reasons: list[str] = []
    for webhook in started:
        reason = _webhook_refusal(webhook, occurrence)
        if reason not in reasons:
            reasons.append(reason)
    return "; ".join(reasons)
