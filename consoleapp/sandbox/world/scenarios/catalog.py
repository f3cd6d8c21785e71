"""Every scenario: its name, its title on the page, its group, the webhooks it fires, and what
it does first when what it needs is missing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from . import chats, configuration, state
from .context import Context, ScenarioError


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    group: str
    triggers: tuple[str, ...]
    run: Callable[[Context], object]
    versions: tuple[str, ...] = ("3.5", "3.6")


def _s(
    name: str,
    title: str,
    group: str,
    triggers: str,
    run: Callable[[Context], object],
    versions: tuple[str, ...] = ("3.5", "3.6"),
) -> Scenario:
    return Scenario(name, title, group, tuple(triggers.split()), run, versions)


SCENARIOS: tuple[Scenario, ...] = (
    _s("start_chat", "A customer starts a chat", "Chats", "incoming_chat", chats.start_chat),
    _s(
        "send_message",
        "A message is sent (customer or agent)",
        "Chats",
        "incoming_event",
        chats.send_message,
    ),
    _s("edit_message", "A message is edited", "Chats", "event_updated", chats.edit_message),
    _s(
        "delete_message",
        "A message is deleted",
        "Chats",
        "event_deleted",
        chats.delete_message,
        ("3.6",),
    ),
    _s(
        "press_rich_message_button",
        "The customer presses a rich-message button",
        "Chats",
        "incoming_rich_message_postback",
        chats.press_rich_message_button,
    ),
    _s(
        "transfer_chat",
        "The chat is transferred to another group",
        "Chats",
        "chat_transferred",
        chats.transfer_chat,
    ),
    _s("close_chat", "The chat is closed", "Chats", "chat_deactivated", chats.close_chat),
    _s("tag_thread", "The thread is tagged", "Chats", "thread_tagged", chats.tag_thread),
    _s(
        "untag_thread",
        "A tag is removed from the thread",
        "Chats",
        "thread_untagged",
        chats.untag_thread,
    ),
    _s(
        "update_chat_access",
        "Who may see the chat changes",
        "Chats",
        "chat_access_updated",
        state.update_chat_access,
    ),
    _s(
        "add_user_to_chat",
        "An agent joins the chat",
        "Chats",
        "user_added_to_chat",
        state.add_user_to_chat,
    ),
    _s(
        "remove_user_from_chat",
        "An agent leaves the chat",
        "Chats",
        "user_removed_from_chat",
        state.remove_user_from_chat,
    ),
    _s(
        "mark_events_seen",
        "Messages are marked as seen",
        "Chats",
        "events_marked_as_seen",
        state.mark_events_seen,
    ),
    _s(
        "set_thread_summary",
        "A thread summary is set",
        "Chats",
        "thread_summary_set",
        state.set_thread_summary,
        ("3.6",),
    ),
    _s(
        "set_chat_properties",
        "Chat properties are set",
        "Properties",
        "chat_properties_updated",
        state.set_chat_properties,
    ),
    _s(
        "delete_chat_properties",
        "Chat properties are deleted",
        "Properties",
        "chat_properties_deleted",
        state.delete_chat_properties,
    ),
    _s(
        "set_thread_properties",
        "Thread properties are set",
        "Properties",
        "thread_properties_updated",
        state.set_thread_properties,
    ),
    _s(
        "delete_thread_properties",
        "Thread properties are deleted",
        "Properties",
        "thread_properties_deleted",
        state.delete_thread_properties,
    ),
    _s(
        "set_event_properties",
        "Event properties are set",
        "Properties",
        "event_properties_updated",
        state.set_event_properties,
    ),
    _s(
        "delete_event_properties",
        "Event properties are deleted",
        "Properties",
        "event_properties_deleted",
        state.delete_event_properties,
    ),
    _s(
        "set_routing_status",
        "An agent's or bot's routing status changes",
        "Status",
        "routing_status_set",
        state.set_routing_status,
    ),
    _s(
        "update_customer_session_fields",
        "A customer's session fields change",
        "Customers",
        "customer_session_fields_updated",
        state.update_customer_session_fields,
    ),
    _s(
        "new_customer",
        "A new customer arrives (3.5 only)",
        "Customers",
        "incoming_customer",
        state.new_customer,
        ("3.5",),
    ),
    _s(
        "create_agent",
        "An agent is created",
        "Configuration",
        "agent_created",
        configuration.create_agent,
    ),
    _s(
        "approve_agent",
        "An agent is approved",
        "Configuration",
        "agent_approved",
        configuration.approve_agent,
    ),
    _s(
        "update_agent",
        "An agent is updated",
        "Configuration",
        "agent_updated",
        configuration.update_agent,
    ),
    _s(
        "suspend_agent",
        "An agent is suspended",
        "Configuration",
        "agent_suspended",
        configuration.suspend_agent,
    ),
    _s(
        "unsuspend_agent",
        "An agent is unsuspended",
        "Configuration",
        "agent_unsuspended",
        configuration.unsuspend_agent,
    ),
    _s(
        "delete_agent",
        "An agent is deleted",
        "Configuration",
        "agent_deleted",
        configuration.delete_agent,
    ),
    _s("create_bot", "A bot is created", "Configuration", "bot_created", configuration.create_bot),
    _s("update_bot", "A bot is updated", "Configuration", "bot_updated", configuration.update_bot),
    _s("delete_bot", "A bot is deleted", "Configuration", "bot_deleted", configuration.delete_bot),
    _s(
        "create_group",
        "A group is created",
        "Configuration",
        "group_created",
        configuration.create_group,
    ),
    _s(
        "update_group",
        "A group is updated",
        "Configuration",
        "group_updated",
        configuration.update_group,
    ),
    _s(
        "delete_group",
        "A group is deleted",
        "Configuration",
        "group_deleted",
        configuration.delete_group,
    ),
    _s("create_tag", "A tag is created", "Configuration", "tag_created", configuration.create_tag),
    _s("update_tag", "A tag is updated", "Configuration", "tag_updated", configuration.update_tag),
    _s("delete_tag", "A tag is deleted", "Configuration", "tag_deleted", configuration.delete_tag),
    _s(
        "create_auto_access",
        "An auto-access rule is added",
        "Configuration",
        "auto_accesses_updated",
        configuration.create_auto_access,
    ),
    _s(
        "update_auto_access",
        "An auto-access rule is changed",
        "Configuration",
        "auto_accesses_updated",
        configuration.update_auto_access,
    ),
    _s(
        "delete_auto_access",
        "An auto-access rule is deleted",
        "Configuration",
        "auto_accesses_updated",
        configuration.delete_auto_access,
    ),
)
BY_NAME = {scenario.name: scenario for scenario in SCENARIOS}

# What a scenario makes happen first when what it needs is missing (each also fires its own
# webhook), so the page can say so before the button is pressed.
OPEN_CHAT = "Uses the latest open chat; starts one first if none is open."
_FIRST_STEPS = {
    "edit_message": "Uses the latest open chat (or starts one) and sends a message first if "
    "it has none.",
    "delete_message": "Uses the latest open chat (or starts one) and sends a message first if "
    "it has none.",
    "press_rich_message_button": "Uses the latest open chat (or starts one); an agent first "
    "sends a message with a button if it has none.",
    "remove_user_from_chat": "Uses the latest open chat (or starts one); another agent joins "
    "first if only one is in it.",
    "tag_thread": "Uses the latest chat, even a closed one (its archived thread); starts one "
    "only if there is none.",
    "untag_thread": "Uses the latest chat, even a closed one; tags it first if it has no tag.",
}
_CHANGES_ONE = "Creates one first if there is none to change."


def first_step(item: Scenario) -> str:
    """What the scenario does first when what it needs is missing; "" when nothing."""
    if item.name in _FIRST_STEPS:
        return _FIRST_STEPS[item.name]
    if item.group in ("Chats", "Properties") and item.name != "start_chat":
        return OPEN_CHAT
    if item.group == "Configuration" and not item.name.startswith("create_"):
        return _CHANGES_ONE
    return ""


def scenario(name: str) -> Scenario:
    found = BY_NAME.get(name)
    if found is None:
        raise ScenarioError(f"There is no scenario called {name!r}.", "not_found", 404)
    return found


def grouped() -> list[tuple[str, list[Scenario]]]:
    groups: dict[str, list[Scenario]] = {}
    for item in SCENARIOS:
        groups.setdefault(item.group, []).append(item)
    return list(groups.items())
