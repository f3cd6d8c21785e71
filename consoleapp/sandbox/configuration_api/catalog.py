"""The triggers LiveChat offers per Configuration API version, as the sandbox enforces them.

Written from livechat-api.md §3 on purpose separately from the console's own catalog: the
sandbox plays LiveChat, and a mistake shared by both would hide itself. A test compares the two
through ``list_webhook_names``.
"""

from __future__ import annotations

from dataclasses import dataclass

SUPPORTED_VERSIONS = ("3.5", "3.6")
STABLE_VERSION = "3.6"
# Responses of a legacy version carry a ``Legacy: YYYY-MM-DD`` header naming the end of that
# stage (livechat-api.md §1.1). The facts give no end date for 3.5, so this one is a stand-in
# with the documented form; clients should read the header's presence, not its exact date.
LEGACY_UNTIL = {"3.5": "2026-12-31"}

CHAT_FILTERS = ("chat_presence", "only_my_chats", "source_type")
EVENT_FILTERS = ("chat_presence", "author_type", "only_my_chats", "source_type")
CONFIGURATION_FILTERS = ("source_type",)
ADDITIONAL_DATA = ("chat_properties", "chat_presence_user_ids")
SOURCE_TYPES = ("my_client", "other_clients", "system")
AUTHOR_TYPES = ("customer", "agent")


@dataclass(frozen=True)
class Trigger:
    action: str
    filters: tuple[str, ...]
    additional_data: tuple[str, ...] = ()

    def as_listed(self) -> dict[str, object]:
        """The item ``list_webhook_names`` returns: keys left out when empty, as in the docs."""
        item: dict[str, object] = {"action": self.action}
        if self.filters:
            item["filters"] = list(self.filters)
        if self.additional_data:
            item["additional_data"] = list(self.additional_data)
        return item


def _chat(action: str, filters: tuple[str, ...] = CHAT_FILTERS) -> Trigger:
    return Trigger(action, filters, ADDITIONAL_DATA)


def _configuration(action: str) -> Trigger:
    return Trigger(action, CONFIGURATION_FILTERS)


_COMMON_BEFORE = [
    _chat("incoming_chat"),
    _chat("chat_deactivated"),
    _chat("chat_access_updated"),
    _chat("chat_transferred"),
    _chat("user_added_to_chat"),
    _chat("user_removed_from_chat"),
    _chat("incoming_event", EVENT_FILTERS),
]
_EVENT_DELETED = _chat("event_deleted")
_COMMON_EVENTS = [
    _chat("event_updated", EVENT_FILTERS),
    _chat("incoming_rich_message_postback"),
    _chat("chat_properties_updated"),
    _chat("chat_properties_deleted"),
    _chat("thread_properties_updated"),
    _chat("thread_properties_deleted"),
    _chat("event_properties_updated"),
    _chat("event_properties_deleted"),
    _chat("thread_tagged"),
    _chat("thread_untagged"),
    _chat("routing_status_set", ("agent_ids", "source_type")),
    _chat("customer_session_fields_updated", ("chat_presence", "source_type")),
]
# 3.3-3.5 list incoming_customer among the actions that take no additional data.
_INCOMING_CUSTOMER = Trigger("incoming_customer", ("source_type",))
# Actions about the license's configuration: no chat, no additional data, a requester in 3.6.
CONFIGURATION_ACTIONS = (
    "agent_created",
    "agent_approved",
    "agent_updated",
    "agent_suspended",
    "agent_unsuspended",
    "agent_deleted",
    "auto_accesses_updated",
    "bot_created",
    "bot_updated",
    "bot_deleted",
    "group_created",
    "group_updated",
    "group_deleted",
    "tag_created",
    "tag_updated",
    "tag_deleted",
)
_CONFIGURATION = [_configuration(action) for action in CONFIGURATION_ACTIONS]
_OTHER = [_chat("events_marked_as_seen")]
_THREAD_SUMMARY_SET = _chat("thread_summary_set")

TRIGGERS: dict[str, tuple[Trigger, ...]] = {
    "3.5": tuple(_COMMON_BEFORE + _COMMON_EVENTS + [_INCOMING_CUSTOMER] + _CONFIGURATION + _OTHER),
    "3.6": tuple(
        _COMMON_BEFORE
        + [_EVENT_DELETED]
        + _COMMON_EVENTS
        + _CONFIGURATION
        + _OTHER
        + [_THREAD_SUMMARY_SET]
    ),
}


def trigger(version: str, action: str) -> Trigger | None:
    return next((item for item in TRIGGERS.get(version, ()) if item.action == action), None)


def webhook_names(version: str) -> list[dict[str, object]]:
    return [item.as_listed() for item in TRIGGERS[version]]
