"""Which webhooks an occurrence fires, and the envelopes LiveChat would send them.

An ``Occurrence`` is something that happened on a license (a message, a tag, a new agent).
Filter semantics are those of livechat-api.md §2.2; envelopes those of §4.1.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ...extensions import db
from ..accounts.models import SandboxInstallation, SandboxOrganization
from ..configuration_api.catalog import CONFIGURATION_ACTIONS
from ..configuration_api.models import SandboxWebhook
from ..world.models import SandboxBot, SandboxChat


def version_tuple(version: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in version.split("."))
    except ValueError:
        return (0,)


@dataclass
class Occurrence:
    """Something that happened on a license, and who made it happen.

    ``payload`` is the 3.6 shape; ``payload_by_version`` overrides it for versions whose
    documented shape differs. ``source_client_id`` is the client that performed the action
    (None: LiveChat itself, the ``system`` source type).
    """

    organization: SandboxOrganization
    action: str
    payload: Any
    source_client_id: str | None = None
    requester: dict[str, str] | None = None
    chat: SandboxChat | None = None
    author_type: str | None = None
    agent_id: str | None = None
    payload_by_version: dict[str, Any] = field(default_factory=dict)

    def payload_for(self, version: str) -> Any:
        return self.payload_by_version.get(version, self.payload)

    @property
    def present_user_ids(self) -> list[str]:
        return self.chat.present_user_ids if self.chat is not None else []


def source_type(occurrence: Occurrence, owner_client_id: str) -> str:
    if occurrence.source_client_id is None:
        return "system"
    if occurrence.source_client_id == owner_client_id:
        return "my_client"
    return "other_clients"


def _listed(rule: Any, value: str | None) -> bool:
    """``{values}`` / ``{exclude_values}`` (or a bare list) applied to one value."""
    if isinstance(rule, list):
        return value in rule
    if not isinstance(rule, dict):
        return True
    if "values" in rule:
        return value in (rule.get("values") or [])
    if "exclude_values" in rule:
        return value not in (rule.get("exclude_values") or [])
    return True


def _owner_bot_ids(organization_id: str, owner_client_id: str) -> set[str]:
    return set(
        db.session.execute(
            db.select(SandboxBot.id).where(
                SandboxBot.organization_id == organization_id,
                SandboxBot.owner_client_id == owner_client_id,
            )
        ).scalars()
    )


def _presence_matches(presence: dict[str, Any], occurrence: Occurrence, owner: str) -> bool:
    present = set(occurrence.present_user_ids)
    user_ids = presence.get("user_ids") or {}
    excluded = set(user_ids.get("exclude_values") or [])
    if excluded & present:
        return False
    wanted: list[bool] = []
    if "values" in user_ids:
        wanted.append(bool(set(user_ids.get("values") or []) & present))
    if presence.get("my_bots"):
        wanted.append(bool(_owner_bot_ids(occurrence.organization.id, owner) & present))
    # Several positive conditions: any of the named users or bots being present is enough.
    return any(wanted) if wanted else True


WHO = {"customer": "a customer", "agent": "an agent"}
SOURCES = {
    "my_client": "its own app",
    "other_clients": "other apps",
    "system": "LiveChat on its own",
}


def filter_refusal(webhook: SandboxWebhook, occurrence: Occurrence) -> str | None:
    """Which of the webhook's filters keeps this occurrence out, in words; None: it fits."""
    filters = webhook.filters or {}
    owner = webhook.owner_client_id
    author_type = filters.get("author_type")
    if author_type and author_type != occurrence.author_type:
        wrote = WHO.get(occurrence.author_type or "", "nobody")
        return f"takes only messages from {author_type}s, and this one came from {wrote}"
    if filters.get("only_my_chats") and (
        occurrence.chat is None or occurrence.chat.source_client_id != owner
    ):
        return "takes only chats its own app started, and this chat was started by another"
    presence = filters.get("chat_presence")
    if presence and not _presence_matches(presence, occurrence, owner):
        return "leaves this chat out because of who is in it"
    source_types = filters.get("source_type")
    if source_types and source_type(occurrence, owner) not in source_types:
        wanted = " or ".join(SOURCES.get(s, s) for s in source_types)
        done_by = SOURCES[source_type(occurrence, owner)]
        return f"takes only what is done by {wanted}, and this was done by {done_by}"
    if "agent_ids" in filters and not _listed(filters["agent_ids"], occurrence.agent_id):
        return "leaves this agent out"
    return None


def filters_match(webhook: SandboxWebhook, occurrence: Occurrence) -> bool:
    return filter_refusal(webhook, occurrence) is None


def _installed_with_webhooks_on(client_id: str, organization_id: str) -> bool:
    installation = db.session.execute(
        db.select(SandboxInstallation).where(
            SandboxInstallation.client_id == client_id,
            SandboxInstallation.organization_id == organization_id,
        )
    ).scalar_one_or_none()
    return bool(
        installation is not None
        and installation.uninstalled_at is None
        and installation.webhooks_enabled
    )


def _bot_online(client_id: str, organization_id: str) -> bool:
    return (
        db.session.execute(
            db.select(SandboxBot.id).where(
                SandboxBot.organization_id == organization_id,
                SandboxBot.owner_client_id == client_id,
                SandboxBot.routing_status != "offline",
            )
        ).first()
        is not None
    )


def webhook_listens(webhook: SandboxWebhook, organization_id: str) -> bool:
    """License webhooks need an installation with webhooks on; bot webhooks an online bot."""
    if webhook.type == "bot":
        return _bot_online(webhook.owner_client_id, organization_id)
    return _installed_with_webhooks_on(webhook.owner_client_id, organization_id)


def additional_data(webhook: SandboxWebhook, occurrence: Occurrence) -> dict[str, Any]:
    if occurrence.action in CONFIGURATION_ACTIONS or occurrence.chat is None:
        return {}
    data: dict[str, Any] = {}
    requested = webhook.additional_data or []
    if "chat_properties" in requested:
        data["chat_properties"] = dict(occurrence.chat.properties or {})
    if "chat_presence_user_ids" in requested:
        data["chat_presence_user_ids"] = occurrence.present_user_ids
    return data


def envelope(webhook: SandboxWebhook, occurrence: Occurrence) -> dict[str, Any]:
    """The delivery body without ``secret_key``, in the documented key order."""
    version = version_tuple(webhook.api_version)
    body: dict[str, Any] = {"webhook_id": webhook.id, "action": occurrence.action}
    if version >= (3, 4):
        body["organization_id"] = occurrence.organization.id
    else:
        body["license_id"] = occurrence.organization.license_id
    body["payload"] = occurrence.payload_for(webhook.api_version)
    if (
        version >= (3, 6)
        and occurrence.action in CONFIGURATION_ACTIONS
        and occurrence.requester is not None
    ):
        body["requester"] = occurrence.requester
    body["additional_data"] = additional_data(webhook, occurrence)
    return body


def with_secret(body: dict[str, Any], secret_key: str) -> dict[str, Any]:
    """Insert ``secret_key`` right after ``webhook_id``, where LiveChat's samples put it."""
    ordered: dict[str, Any] = {}
    for key, value in body.items():
        ordered[key] = value
        if key == "webhook_id":
            ordered["secret_key"] = secret_key
    return ordered


def matching_webhooks(occurrence: Occurrence, now: datetime) -> list[SandboxWebhook]:
    candidates = db.session.execute(
        db.select(SandboxWebhook)
        .where(SandboxWebhook.action == occurrence.action, SandboxWebhook.active_from <= now)
        .order_by(SandboxWebhook.created_at, SandboxWebhook.id)
    ).scalars()
    return [
        webhook
        for webhook in candidates
        if webhook_listens(webhook, occurrence.organization.id)
        and filters_match(webhook, occurrence)
    ]
