"""What the console knows about LiveChat: API versions, scopes, triggers."""

from __future__ import annotations

from dataclasses import dataclass

API_VERSIONS = [("3.6", "3.6 (stable, recommended)"), ("3.5", "3.5 (legacy)")]
DEFAULT_API_VERSION = "3.6"


@dataclass(frozen=True)
class Scope:
    name: str
    description: str
    needed_for: str | None = None


SCOPES = [
    Scope(
        "webhooks.configuration:rw",
        "Register, list and remove the app's webhooks.",
        "Without it the console cannot register webhooks with this app's credentials.",
    ),
    Scope(
        "webhooks.state:rw",
        "Turn the app's webhooks on or off for a license.",
        "Without it the console cannot switch webhooks on after installation, so a license "
        "that turned them off stays silent.",
    ),
    Scope("webhooks.state:ro", "See whether the app's webhooks are on for a license."),
    Scope("chats--all:ro", "Read all chats, including ones the agent is not in."),
    Scope("chats--access:ro", "Read chats in the agent's groups."),
    Scope("chats--my:ro", "Read the agent's own chats."),
    Scope("agents--all:ro", "Read the license's agents."),
    Scope("agents-bot--my:rw", "Create and manage the app's own bots (for bot webhooks)."),
    Scope("accounts--my:ro", "Read the signed-in person's own account."),
]
SCOPE_NAMES = [scope.name for scope in SCOPES]
REQUIRED_SCOPES = [scope for scope in SCOPES if scope.needed_for]


def missing_scopes(chosen: list[str]) -> list[Scope]:
    return [scope for scope in REQUIRED_SCOPES if scope.name not in chosen]


# -- triggers ------------------------------------------------------------------------------
# Written from LiveChat's Configuration API docs for 3.5 and 3.6. The sandbox keeps its own,
# independent list; a test checks that the two agree through ``list_webhook_names``.

CHAT_FILTERS = ("chat_presence", "only_my_chats", "source_type")
EVENT_FILTERS = ("chat_presence", "author_type", "only_my_chats", "source_type")
CHAT_DATA = ("chat_properties", "chat_presence_user_ids")
CONFIGURATION_FILTERS = ("source_type",)


@dataclass(frozen=True)
class Trigger:
    action: str
    group: str
    title: str
    description: str
    how_to_fire: str
    filters: tuple[str, ...] = CHAT_FILTERS
    additional_data: tuple[str, ...] = CHAT_DATA
    versions: tuple[str, ...] = ("3.5", "3.6")


def _config(action: str, title: str, description: str, how: str, versions=("3.5", "3.6")):
    return Trigger(
        action, "Configuration", title, description, how, CONFIGURATION_FILTERS, (), versions
    )


TRIGGERS: list[Trigger] = [
    Trigger(
        "incoming_chat",
        "Chats",
        "A chat starts",
        "A customer or agent starts a new chat, or a closed chat is reopened.",
        "Open your website's chat widget as a customer and send a first message.",
    ),
    Trigger(
        "chat_deactivated",
        "Chats",
        "A chat ends",
        "A chat is closed by an agent, the customer or LiveChat.",
        "Close an open chat in the Agent App.",
    ),
    Trigger(
        "chat_access_updated",
        "Chat access",
        "Chat access changes",
        "The groups that can see a chat change.",
        "Move a chat to another group in the Agent App.",
    ),
    Trigger(
        "chat_transferred",
        "Chat access",
        "A chat is transferred",
        "A chat moves to another agent or group.",
        "Transfer an open chat to another agent or group.",
    ),
    Trigger(
        "user_added_to_chat",
        "Chat users",
        "Someone joins a chat",
        "An agent or customer is added to a chat.",
        "Join an open chat as a second agent.",
    ),
    Trigger(
        "user_removed_from_chat",
        "Chat users",
        "Someone leaves a chat",
        "An agent or customer is removed from a chat.",
        "Leave a chat that another agent is also in.",
    ),
    Trigger(
        "incoming_event",
        "Events",
        "A message arrives",
        "A new message, file or other event is sent in a chat.",
        "Send a message in an open chat, as the customer or as an agent.",
        EVENT_FILTERS,
    ),
    Trigger(
        "event_updated",
        "Events",
        "A message is edited",
        "An event in a chat is changed.",
        "Edit a message you sent in the Agent App.",
        EVENT_FILTERS,
    ),
    Trigger(
        "event_deleted",
        "Events",
        "A message is deleted",
        "An event in a chat is removed.",
        "Delete a message in the Agent App.",
        versions=("3.6",),
    ),
    Trigger(
        "incoming_rich_message_postback",
        "Events",
        "A rich-message button is pressed",
        "A customer presses a button in a rich message (a card or quick reply).",
        "Send a rich message with buttons and press one as the customer.",
    ),
    Trigger(
        "chat_properties_updated",
        "Properties",
        "Chat properties are set",
        "Properties of a chat are added or changed.",
        "Use an app or integration that sets chat properties.",
    ),
    Trigger(
        "chat_properties_deleted",
        "Properties",
        "Chat properties are removed",
        "Properties of a chat are deleted.",
        "Use an app or integration that removes chat properties.",
    ),
    Trigger(
        "thread_properties_updated",
        "Properties",
        "Thread properties are set",
        "Properties of one thread of a chat are added or changed.",
        "Use an app or integration that sets thread properties.",
    ),
    Trigger(
        "thread_properties_deleted",
        "Properties",
        "Thread properties are removed",
        "Properties of one thread of a chat are deleted.",
        "Use an app or integration that removes thread properties.",
    ),
    Trigger(
        "event_properties_updated",
        "Properties",
        "Message properties are set",
        "Properties of one event are added or changed.",
        "Use an app or integration that sets event properties.",
    ),
    Trigger(
        "event_properties_deleted",
        "Properties",
        "Message properties are removed",
        "Properties of one event are deleted.",
        "Use an app or integration that removes event properties.",
    ),
    Trigger(
        "thread_tagged",
        "Thread tags",
        "A chat is tagged",
        "A tag is added to a chat's thread.",
        "Add a tag to a chat in the Agent App.",
    ),
    Trigger(
        "thread_untagged",
        "Thread tags",
        "A tag is removed from a chat",
        "A tag is removed from a chat's thread.",
        "Remove a tag from a chat in the Agent App.",
    ),
    Trigger(
        "routing_status_set",
        "Status",
        "An agent's status changes",
        "An agent or bot starts or stops accepting chats, or goes offline.",
        "Switch your status between accepting and not accepting chats.",
        ("agent_ids", "source_type"),
    ),
    Trigger(
        "customer_session_fields_updated",
        "Customers",
        "Customer details change",
        "Session fields of a customer in an active chat change.",
        "Update a customer's session fields through the chat widget's API.",
        ("chat_presence", "source_type"),
    ),
    Trigger(
        "incoming_customer",
        "Customers",
        "A new customer appears",
        "A new customer is created.",
        "Open the chat widget in a new private window.",
        CONFIGURATION_FILTERS,
        (),
        ("3.5",),
    ),
    Trigger(
        "events_marked_as_seen",
        "Other",
        "Messages are seen",
        "Someone reads the messages of a chat.",
        "Open a chat with unread messages in the Agent App.",
    ),
    Trigger(
        "thread_summary_set",
        "Other",
        "A chat summary is written",
        "A summary of a chat's thread is set.",
        "Let LiveChat write a summary of a closed chat.",
        versions=("3.6",),
    ),
    _config(
        "agent_created",
        "An agent is added",
        "A new agent is invited to the license.",
        "Invite a new agent in Team settings.",
    ),
    _config(
        "agent_approved",
        "An agent is approved",
        "An agent waiting for approval is let in.",
        "Approve an agent's request to join in Team settings.",
    ),
    _config(
        "agent_updated",
        "An agent is changed",
        "An agent's details or groups change.",
        "Change an agent's name or groups in Team settings.",
    ),
    _config(
        "agent_suspended",
        "An agent is suspended",
        "An agent's access is suspended.",
        "Suspend an agent in Team settings.",
    ),
    _config(
        "agent_unsuspended",
        "An agent is unsuspended",
        "A suspended agent's access is restored.",
        "Unsuspend an agent in Team settings.",
    ),
    _config(
        "agent_deleted",
        "An agent is removed",
        "An agent is deleted from the license.",
        "Remove an agent in Team settings.",
    ),
    _config(
        "auto_accesses_updated",
        "Auto-access rules change",
        "Rules that route chats to groups are added, changed or removed.",
        "Change a chat routing rule in Settings.",
    ),
    _config(
        "bot_created",
        "A bot is added",
        "A new bot is created.",
        "Create a bot (for example with ChatBot).",
    ),
    _config("bot_updated", "A bot is changed", "A bot's settings change.", "Edit a bot."),
    _config("bot_deleted", "A bot is removed", "A bot is deleted.", "Delete a bot."),
    _config(
        "group_created",
        "A group is added",
        "A new agent group is created.",
        "Create a group in Team settings.",
    ),
    _config(
        "group_updated",
        "A group is changed",
        "A group's name or agents change.",
        "Rename a group in Team settings.",
    ),
    _config(
        "group_deleted",
        "A group is removed",
        "A group is deleted.",
        "Delete a group in Team settings.",
    ),
    _config(
        "tag_created",
        "A tag is created",
        "A new chat tag is created.",
        "Create a tag in Settings → Tags.",
    ),
    _config(
        "tag_updated",
        "A tag is changed",
        "A tag's groups change.",
        "Edit a tag in Settings → Tags.",
    ),
    _config(
        "tag_deleted",
        "A tag is deleted",
        "A chat tag is deleted.",
        "Delete a tag in Settings → Tags.",
    ),
]

TRIGGER_GROUPS = [
    "Chats",
    "Chat access",
    "Chat users",
    "Events",
    "Properties",
    "Thread tags",
    "Status",
    "Customers",
    "Other",
    "Configuration",
]


# What one delivery of a trigger is about, in the plural, for the filters' one-line summary
# ("Only messages from customers"). Configuration triggers are all "changes".
NOUNS = {
    "incoming_chat": "new chats",
    "chat_deactivated": "ended chats",
    "chat_access_updated": "access changes",
    "chat_transferred": "transfers",
    "user_added_to_chat": "people joining",
    "user_removed_from_chat": "people leaving",
    "incoming_event": "messages",
    "event_updated": "edited messages",
    "event_deleted": "deleted messages",
    "incoming_rich_message_postback": "button presses",
    "chat_properties_updated": "property changes",
    "chat_properties_deleted": "property removals",
    "thread_properties_updated": "property changes",
    "thread_properties_deleted": "property removals",
    "event_properties_updated": "property changes",
    "event_properties_deleted": "property removals",
    "thread_tagged": "tags added",
    "thread_untagged": "tags removed",
    "routing_status_set": "status changes",
    "customer_session_fields_updated": "customer detail changes",
    "incoming_customer": "new customers",
    "events_marked_as_seen": "messages seen",
    "thread_summary_set": "summaries",
}


def noun(action: str) -> str:
    return NOUNS.get(action, "changes")


@dataclass(frozen=True)
class Preset:
    """A few triggers people often want together, ticked with one press."""

    name: str
    title: str
    actions: tuple[str, ...]


PRESETS = [
    Preset(
        "chats",
        "Chats: started, messages, ended",
        ("incoming_chat", "incoming_event", "chat_deactivated"),
    ),
    Preset("tags", "Tags: added, removed", ("thread_tagged", "thread_untagged")),
    Preset(
        "handover",
        "Handover: transfers, joins, leaves",
        ("chat_transferred", "user_added_to_chat", "user_removed_from_chat"),
    ),
    Preset(
        "team",
        "Agents: added, changed, removed",
        ("agent_created", "agent_updated", "agent_deleted"),
    ),
]


def presets_for(version: str) -> list[Preset]:
    """The presets, each with only the triggers this API version has."""
    known = {t.action for t in triggers_for(version)}
    found = []
    for preset in PRESETS:
        actions = tuple(a for a in preset.actions if a in known)
        if actions:
            found.append(Preset(preset.name, preset.title, actions))
    return found


def preset(version: str, name: str) -> Preset | None:
    return next((p for p in presets_for(version) if p.name == name), None)


def triggers_for(version: str) -> list[Trigger]:
    return [trigger for trigger in TRIGGERS if version in trigger.versions]


def trigger(version: str, action: str) -> Trigger | None:
    return next((t for t in triggers_for(version) if t.action == action), None)
