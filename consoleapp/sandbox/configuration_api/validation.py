"""Request validation for the webhook methods, rule by rule from livechat-api.md §2.

Every failure raises a ``validation`` error whose message names the field, as LiveChat's do
("`id` is required").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from . import catalog
from .errors import validation

URL_MAX_LENGTH = 500
# Not documented by LiveChat; bounds that keep a stored webhook sane.
SECRET_KEY_MAX_LENGTH = 1000
DESCRIPTION_MAX_LENGTH = 1000
ID_MAX_LENGTH = 64

REGISTER_FIELDS = {
    "action",
    "secret_key",
    "url",
    "owner_client_id",
    "type",
    "description",
    "additional_data",
    "filters",
}
WEBHOOK_TYPES = ("license", "bot")


def reject_unknown(body: dict[str, Any], allowed: set[str], prefix: str = "") -> None:
    for key in body:
        if key not in allowed:
            raise validation(f"`{prefix}{key}` is not a supported field")


def required_string(body: dict[str, Any], field: str, max_length: int = ID_MAX_LENGTH) -> str:
    if field not in body or body[field] is None:
        raise validation(f"`{field}` is required")
    return string(body, field, max_length)


def optional_string(
    body: dict[str, Any], field: str, max_length: int, allow_empty: bool = False
) -> str | None:
    if body.get(field) is None:
        return None
    if allow_empty and body[field] == "":
        return ""
    return string(body, field, max_length)


def string(body: dict[str, Any], field: str, max_length: int) -> str:
    value = body[field]
    if not isinstance(value, str):
        raise validation(f"`{field}` must be a string")
    if not value.strip():
        raise validation(f"`{field}` must not be empty")
    if len(value) > max_length:
        raise validation(f"`{field}` must have at most {max_length} characters")
    if any(ord(ch) < 32 for ch in value) and field != "description":
        raise validation(f"`{field}` must not contain control characters")
    return value


def _string_list(value: Any, field: str, allowed: tuple[str, ...] | None = None) -> list[str]:
    if not isinstance(value, list):
        raise validation(f"`{field}` must be an array of strings")
    if not value:
        raise validation(f"`{field}` must not be empty")
    for item in value:
        if not isinstance(item, str) or not item:
            raise validation(f"`{field}` must be an array of strings")
        if allowed is not None and item not in allowed:
            raise validation(f"`{field}` has an unknown value {item!r}; use {', '.join(allowed)}")
    return list(dict.fromkeys(value))


def _object(value: Any, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise validation(f"`{field}` must be an object")
    return value


def _boolean(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise validation(f"`{field}` must be a boolean")
    return value


def _values_or_excluded(value: Any, field: str) -> dict[str, list[str]]:
    ids = _object(value, field)
    reject_unknown(ids, {"values", "exclude_values"}, f"{field}.")
    present = [key for key in ("values", "exclude_values") if ids.get(key) is not None]
    if len(present) != 1:
        raise validation(f"`{field}` needs exactly one of `values` or `exclude_values`")
    key = present[0]
    return {key: _string_list(ids[key], f"{field}.{key}")}


def _chat_presence(value: Any) -> dict[str, Any]:
    presence = _object(value, "filters.chat_presence")
    reject_unknown(presence, {"user_ids", "my_bots"}, "filters.chat_presence.")
    cleaned: dict[str, Any] = {}
    if presence.get("user_ids") is not None:
        cleaned["user_ids"] = _values_or_excluded(
            presence["user_ids"], "filters.chat_presence.user_ids"
        )
    if presence.get("my_bots") is not None:
        cleaned["my_bots"] = _boolean(presence["my_bots"], "filters.chat_presence.my_bots")
    if not cleaned:
        raise validation("`filters.chat_presence` needs `user_ids` or `my_bots`")
    return cleaned


def _filters(value: Any, trigger: catalog.Trigger) -> dict[str, Any]:
    filters = _object(value, "filters")
    cleaned: dict[str, Any] = {}
    for key, item in filters.items():
        if key not in {"author_type", "only_my_chats", "chat_presence", "source_type", "agent_ids"}:
            raise validation(f"`filters.{key}` is not a supported filter")
        if key not in trigger.filters:
            raise validation(
                f"`filters.{key}` is not allowed for action {trigger.action}"
                + (f"; allowed: {', '.join(trigger.filters)}" if trigger.filters else "")
            )
        if item is None:
            continue
        if key == "author_type":
            if item not in catalog.AUTHOR_TYPES:
                raise validation("`filters.author_type` must be one of: customer, agent")
            cleaned[key] = item
        elif key == "only_my_chats":
            cleaned[key] = _boolean(item, "filters.only_my_chats")
        elif key == "chat_presence":
            cleaned[key] = _chat_presence(item)
        elif key == "source_type":
            cleaned[key] = _string_list(item, "filters.source_type", catalog.SOURCE_TYPES)
        else:
            # The shape is undocumented; the sandbox assumes the user_ids shape.
            cleaned[key] = _values_or_excluded(item, "filters.agent_ids")
    return cleaned


def _url(value: str) -> str:
    if len(value) > URL_MAX_LENGTH:
        raise validation(f"`url` must have at most {URL_MAX_LENGTH} characters")
    if any(ch.isspace() for ch in value):
        raise validation("`url` must not contain spaces")
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise validation("`url` must be an http:// or https:// URL with a host")
    return value


@dataclass(frozen=True)
class WebhookRequest:
    action: str
    secret_key: str
    url: str
    owner_client_id: str
    type: str
    description: str | None
    additional_data: list[str]
    filters: dict[str, Any]


def register_request(body: dict[str, Any], version: str) -> WebhookRequest:
    reject_unknown(body, REGISTER_FIELDS)
    for field in ("action", "secret_key", "url", "owner_client_id", "type"):
        if field not in body or body[field] is None:
            raise validation(f"`{field}` is required")
    action = string(body, "action", ID_MAX_LENGTH)
    secret_key = string(body, "secret_key", SECRET_KEY_MAX_LENGTH)
    url = _url(string(body, "url", URL_MAX_LENGTH + 1))
    owner_client_id = string(body, "owner_client_id", ID_MAX_LENGTH)
    webhook_type = string(body, "type", ID_MAX_LENGTH)
    if webhook_type not in WEBHOOK_TYPES:
        raise validation("`type` must be one of: license, bot")
    trigger = catalog.trigger(version, action)
    if trigger is None:
        raise validation(f"`action` {action!r} is not a webhook action in version {version}")
    description = optional_string(body, "description", DESCRIPTION_MAX_LENGTH, allow_empty=True)
    additional_data: list[str] = []
    if body.get("additional_data") is not None:
        if not isinstance(body["additional_data"], list):
            raise validation("`additional_data` must be an array of strings")
        if body["additional_data"]:
            additional_data = _string_list(
                body["additional_data"], "additional_data", catalog.ADDITIONAL_DATA
            )
        if additional_data and not trigger.additional_data:
            raise validation(f"`additional_data` is not allowed for action {action}")
    filters = _filters(body["filters"], trigger) if body.get("filters") is not None else {}
    return WebhookRequest(
        action=action,
        secret_key=secret_key,
        url=url,
        owner_client_id=owner_client_id,
        type=webhook_type,
        description=description,
        additional_data=additional_data,
        filters=filters,
    )
