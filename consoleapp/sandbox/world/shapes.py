"""LiveChat's data structures (chat, thread, event, users) built from the sandbox's rows.

Shapes follow the Agent Chat API structures in livechat-samples/<version>/structures.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .models import (
    SandboxAgent,
    SandboxBot,
    SandboxChat,
    SandboxCustomer,
    SandboxEvent,
    SandboxGroup,
    SandboxThread,
)


def timestamp(moment: datetime) -> str:
    """LiveChat's RFC 3339 form with microseconds: 2017-10-12T15:19:21.010200Z."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def customer_user(customer: SandboxCustomer, present: bool = True) -> dict[str, Any]:
    user: dict[str, Any] = {"id": customer.id, "type": "customer", "name": customer.name}
    if customer.email:
        user["email"] = customer.email
    user.update(
        {
            "present": present,
            "created_at": timestamp(customer.created_at),
            "session_fields": list(customer.session_fields or []),
            "statistics": {"chats_count": 1, "threads_count": 1, "visits_count": 1},
        }
    )
    return user


def agent_user(agent: SandboxAgent, present: bool = True) -> dict[str, Any]:
    return {
        "id": agent.agent_id,
        "type": "agent",
        "name": agent.name,
        "email": agent.agent_id,
        "present": present,
        "visibility": "all",
    }


def bot_user(bot: SandboxBot, present: bool = True) -> dict[str, Any]:
    # Bots appear in chats as agents whose id is the bot id.
    return {"id": bot.id, "type": "agent", "name": bot.name, "present": present}


def event(item: SandboxEvent) -> dict[str, Any]:
    if item.deleted:
        return {
            "id": item.id,
            "type": item.type,
            "deleted": True,
            "author_id": item.author_id,
            "created_at": timestamp(item.created_at),
        }
    shaped: dict[str, Any] = {"id": item.id, "type": item.type}
    if item.author_id is not None:
        shaped["author_id"] = item.author_id
    shaped["created_at"] = timestamp(item.created_at)
    if item.text is not None:
        shaped["text"] = item.text
    shaped.update(item.content or {})
    shaped["visibility"] = "all"
    shaped["properties"] = dict(item.properties or {})
    return shaped


def thread(item: SandboxThread, events: list[SandboxEvent], user_ids: list[str]) -> dict[str, Any]:
    return {
        "id": item.id,
        "active": item.active,
        "user_ids": user_ids,
        "events": [event(entry) for entry in events],
        "properties": dict(item.properties or {}),
        "access": dict(item.access or {}),
        "tags": list(item.tags or []),
        "created_at": timestamp(item.created_at),
    }


def chat(
    item: SandboxChat,
    users: list[dict[str, Any]],
    current: SandboxThread,
    events: list[SandboxEvent],
) -> dict[str, Any]:
    """The chat as incoming_chat carries it: users, properties and the new thread."""
    return {
        "id": item.id,
        "users": users,
        "properties": dict(item.properties or {}),
        "thread": thread(current, events, item.present_user_ids),
    }


def agent_configuration(agent: SandboxAgent, groups: list[SandboxGroup]) -> dict[str, Any]:
    """The full agent as agent_created carries it."""
    return {
        "id": agent.agent_id,
        "name": agent.name,
        "role": agent.role,
        "awaiting_approval": agent.awaiting_approval,
        "groups": [{"id": group.group_id, "priority": "normal"} for group in groups],
        "notifications": ["new_visitor", "visitor_is_typing"],
        "email_subscriptions": ["weekly_summary"],
        "work_scheduler": {
            "timezone": "Europe/Warsaw",
            "schedule": [{"day": "monday", "enabled": True, "start": "08:30", "end": "16:30"}],
        },
    }


def bot_configuration(bot: SandboxBot) -> dict[str, Any]:
    return {
        "id": bot.id,
        "name": bot.name,
        "default_group_priority": bot.default_group_priority,
        "groups": list(bot.groups or []),
        "owner_client_id": bot.owner_client_id,
    }


def group_configuration(group: SandboxGroup) -> dict[str, Any]:
    return {
        "id": group.group_id,
        "name": group.name,
        "language_code": group.language_code,
        "agent_priorities": dict(group.agent_priorities or {}),
    }
