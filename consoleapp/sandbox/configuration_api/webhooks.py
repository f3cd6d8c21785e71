"""The Configuration API's webhook methods, on the sandbox's tables (livechat-api.md §2)."""

from __future__ import annotations

import secrets
from typing import Any

from ...extensions import db
from ..accounts.models import SandboxClient, SandboxInstallation
from . import catalog, faults
from .auth import Caller
from .errors import ApiError, validation
from .models import SandboxWebhook
from .validation import (
    ID_MAX_LENGTH,
    optional_string,
    register_request,
    reject_unknown,
    required_string,
)

MAX_WEBHOOKS_PER_ACTION = 3
CONFIGURATION_SCOPE = "webhooks.configuration:rw"
STATE_WRITE_SCOPE = "webhooks.state:rw"
STATE_READ_SCOPE = "webhooks.state:ro"


def _owned_client(caller: Caller, client_id: str, lock: bool = False) -> SandboxClient:
    client = db.session.get(SandboxClient, client_id, with_for_update=lock)
    if not caller.owns(client):
        # One answer for "no such client" and "someone else's client", as an owner check gives.
        raise ApiError(
            "authorization",
            f"`owner_client_id` {client_id!r} is not a client of your organization",
        )
    assert client is not None
    return client


def listed(webhook: SandboxWebhook) -> dict[str, Any]:
    """A webhook as ``list_webhooks`` shows it (the docs' sample, plus additional_data when
    requested). The secret key is left out: the docs' sample does not show it."""
    item: dict[str, Any] = {"id": webhook.id, "url": webhook.url}
    if webhook.description is not None:
        item["description"] = webhook.description
    item["action"] = webhook.action
    item["filters"] = webhook.filters or {}
    if webhook.additional_data:
        item["additional_data"] = list(webhook.additional_data)
    item["owner_client_id"] = webhook.owner_client_id
    item["type"] = webhook.type
    return item


def register_webhook(caller: Caller, body: dict[str, Any], version: str) -> dict[str, Any]:
    caller.require(CONFIGURATION_SCOPE)
    wanted = register_request(body, version)
    # Locking the client row serializes registrations per client, so the limit holds.
    client = _owned_client(caller, wanted.owner_client_id, lock=True)
    count = db.session.execute(
        db.select(db.func.count())
        .select_from(SandboxWebhook)
        .where(SandboxWebhook.owner_client_id == client.id, SandboxWebhook.action == wanted.action)
    ).scalar_one()
    if count >= MAX_WEBHOOKS_PER_ACTION:
        raise ApiError(
            "limit_reached",
            f"`action` {wanted.action} already has {MAX_WEBHOOKS_PER_ACTION} webhooks for this "
            "client; unregister one first",
        )
    webhook = SandboxWebhook(
        id=secrets.token_hex(16),
        owner_client_id=client.id,
        action=wanted.action,
        url=wanted.url,
        type=wanted.type,
        description=wanted.description,
        filters=wanted.filters,
        additional_data=wanted.additional_data,
        api_version=version,
        active_from=faults.webhook_active_from(),
    )
    webhook.secret_key = wanted.secret_key
    db.session.add(webhook)
    return {"id": webhook.id}


def list_webhooks(caller: Caller, body: dict[str, Any], version: str) -> list[dict[str, Any]]:
    caller.require(CONFIGURATION_SCOPE)
    reject_unknown(body, {"owner_client_id"})
    client = _owned_client(caller, required_string(body, "owner_client_id"))
    webhooks = db.session.execute(
        db.select(SandboxWebhook)
        .where(SandboxWebhook.owner_client_id == client.id)
        .order_by(SandboxWebhook.created_at, SandboxWebhook.id)
    ).scalars()
    return [listed(webhook) for webhook in webhooks]


def unregister_webhook(caller: Caller, body: dict[str, Any], version: str) -> dict[str, Any]:
    caller.require(CONFIGURATION_SCOPE)
    reject_unknown(body, {"id", "owner_client_id"})
    webhook_id = required_string(body, "id")
    client = _owned_client(caller, required_string(body, "owner_client_id"))
    webhook = db.session.get(SandboxWebhook, webhook_id)
    if webhook is None or webhook.owner_client_id != client.id:
        raise ApiError("not_found", f"Webhook `id` {webhook_id!r} not found for this client")
    db.session.delete(webhook)
    return {}


def list_webhook_names(body: dict[str, Any], version: str) -> list[dict[str, Any]]:
    reject_unknown(body, {"version"})
    wanted = optional_string(body, "version", 8) or catalog.STABLE_VERSION
    if wanted not in catalog.TRIGGERS:
        raise validation(
            f"`version` {wanted!r} is not supported; use one of "
            + ", ".join(catalog.SUPPORTED_VERSIONS)
        )
    return catalog.webhook_names(wanted)


def _state_client(caller: Caller, body: dict[str, Any]) -> SandboxClient:
    """The client whose license webhooks a state method acts on (livechat-api.md §2.1)."""
    reject_unknown(body, {"owner_client_id"})
    given = optional_string(body, "owner_client_id", ID_MAX_LENGTH)
    if caller.is_pat:
        if given is None:
            raise validation("`owner_client_id` is required when authorizing with a PAT")
        return _owned_client(caller, given)
    # Since 3.5 a given owner_client_id overrides the token's client (3.3-3.4 refused it; the
    # sandbox serves 3.5 and later only).
    client = db.session.get(SandboxClient, given or caller.client_id)
    if client is None or not (caller.owns(client) or _state_row(caller, client) is not None):
        raise ApiError(
            "authorization",
            f"`owner_client_id` {given!r} is neither your organization's client nor "
            "installed on your license",
        )
    return client


def _state_row(caller: Caller, client: SandboxClient) -> SandboxInstallation | None:
    return db.session.execute(
        db.select(SandboxInstallation).where(
            SandboxInstallation.client_id == client.id,
            SandboxInstallation.organization_id == caller.organization.id,
        )
    ).scalar_one_or_none()


def enable_license_webhooks(caller: Caller, body: dict[str, Any], version: str) -> dict[str, Any]:
    caller.require(STATE_WRITE_SCOPE)
    row = _state_row(caller, _state_client(caller, body))
    if row is not None:
        row.webhooks_enabled = True
    return {}


def disable_license_webhooks(caller: Caller, body: dict[str, Any], version: str) -> dict[str, Any]:
    caller.require(STATE_WRITE_SCOPE)
    client = _state_client(caller, body)
    row = _state_row(caller, client)
    if row is None:
        # Remember the choice before any install: disabling is sticky (livechat-api.md §2.1).
        row = SandboxInstallation(
            client_id=client.id,
            organization_id=caller.organization.id,
            installed_at=None,
            uninstalled_at=None,
        )
        db.session.add(row)
    row.webhooks_enabled = False
    return {}


def get_license_webhooks_state(
    caller: Caller, body: dict[str, Any], version: str
) -> dict[str, Any]:
    caller.require(STATE_READ_SCOPE)
    row = _state_row(caller, _state_client(caller, body))
    # Enabled unless explicitly disabled: enabling is only needed after a disable.
    return {"license_webhooks_enabled": True if row is None else row.webhooks_enabled}
