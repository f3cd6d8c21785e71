"""Scenarios that change state around chats: properties, access, members, seen marks,
summaries, routing status and customers."""

from __future__ import annotations

from typing import Any

from ....extensions import db
from .. import licenses, shapes
from ..models import SandboxChat, SandboxCustomer, SandboxThread
from .chats import _namespace, active_chat, add_event, agent_id_in, thread_events
from .context import Context, ScenarioError

PROPERTY = "rating"


def _property_value(ctx: Context) -> str:
    return str(ctx.options.get("text") or "good")


def set_chat_properties(ctx: Context) -> None:
    chat, _ = active_chat(ctx)
    namespace = _namespace(ctx)
    changed = {namespace: {PROPERTY: _property_value(ctx)}}
    chat.properties = _merge(chat.properties, changed)
    db.session.flush()
    ctx.emit("chat_properties_updated", {"chat_id": chat.id, "properties": changed}, chat=chat)


def delete_chat_properties(ctx: Context) -> None:
    chat, _ = active_chat(ctx)
    namespace = _namespace(ctx)
    chat.properties = _without(chat.properties, namespace)
    db.session.flush()
    payload = {"chat_id": chat.id, "properties": {namespace: [PROPERTY]}}
    ctx.emit("chat_properties_deleted", payload, chat=chat)


def set_thread_properties(ctx: Context) -> None:
    chat, thread = active_chat(ctx)
    changed = {_namespace(ctx): {PROPERTY: _property_value(ctx)}}
    thread.properties = _merge(thread.properties, changed)
    db.session.flush()
    payload = {"chat_id": chat.id, "thread_id": thread.id, "properties": changed}
    ctx.emit("thread_properties_updated", payload, chat=chat)


def delete_thread_properties(ctx: Context) -> None:
    chat, thread = active_chat(ctx)
    namespace = _namespace(ctx)
    thread.properties = _without(thread.properties, namespace)
    db.session.flush()
    payload = {"chat_id": chat.id, "thread_id": thread.id, "properties": {namespace: [PROPERTY]}}
    ctx.emit("thread_properties_deleted", payload, chat=chat)


def _last_event(ctx: Context, chat: SandboxChat, thread: SandboxThread):  # noqa: ANN202
    events = [item for item in thread_events(thread) if not item.deleted]
    if events:
        return events[-1]
    return add_event(ctx, chat, thread, chat.customer_id, "customer", text="Hello?")


def set_event_properties(ctx: Context) -> None:
    chat, thread = active_chat(ctx)
    item = _last_event(ctx, chat, thread)
    changed = {_namespace(ctx): {PROPERTY: _property_value(ctx)}}
    item.properties = _merge(item.properties, changed)
    db.session.flush()
    payload = {
        "chat_id": chat.id,
        "thread_id": thread.id,
        "event_id": item.id,
        "properties": changed,
    }
    ctx.emit("event_properties_updated", payload, chat=chat)


def delete_event_properties(ctx: Context) -> None:
    chat, thread = active_chat(ctx)
    item = _last_event(ctx, chat, thread)
    namespace = _namespace(ctx)
    item.properties = _without(item.properties, namespace)
    db.session.flush()
    payload = {
        "chat_id": chat.id,
        "thread_id": thread.id,
        "event_id": item.id,
        "properties": {namespace: [PROPERTY]},
    }
    ctx.emit("event_properties_deleted", payload, chat=chat)


def _merge(current: dict[str, Any] | None, changed: dict[str, dict[str, Any]]) -> dict[str, Any]:
    merged = {key: dict(value) for key, value in (current or {}).items()}
    for namespace, values in changed.items():
        merged.setdefault(namespace, {}).update(values)
    return merged


def _without(current: dict[str, Any] | None, namespace: str) -> dict[str, Any]:
    remaining = {key: dict(value) for key, value in (current or {}).items()}
    remaining.get(namespace, {}).pop(PROPERTY, None)
    return {key: value for key, value in remaining.items() if value}


def mark_events_seen(ctx: Context) -> None:
    chat, thread = active_chat(ctx)
    user_id = agent_id_in(ctx, chat) if ctx.author_type == "agent" else chat.customer_id
    events = thread_events(thread)
    seen_up_to = events[-1].created_at if events else ctx.now
    payload = {"user_id": user_id, "chat_id": chat.id, "seen_up_to": shapes.timestamp(seen_up_to)}
    ctx.emit("events_marked_as_seen", payload, chat=chat)


def set_thread_summary(ctx: Context) -> None:
    chat, thread = active_chat(ctx)
    summary = {
        "status": "ok",
        "text": ctx.options.get("text")
        or "• Customer asks about an order.  \n• Agent checks the order status.",
        "updated_at": shapes.timestamp(ctx.now),
    }
    thread.summary = summary
    db.session.flush()
    payload = {"chat_id": chat.id, "thread_id": thread.id, "summary": summary}
    ctx.emit("thread_summary_set", payload, chat=chat)


def update_chat_access(ctx: Context) -> None:
    chat, thread = active_chat(ctx)
    group_ids = sorted(
        {
            *chat.access.get("group_ids", [0]),
            *[g.group_id for g in licenses.groups(ctx.organization)],
        }
    )
    chat.access = {"group_ids": group_ids}
    thread.access = {"group_ids": group_ids}
    db.session.flush()
    ctx.emit("chat_access_updated", {"id": chat.id, "access": {"group_ids": group_ids}}, chat=chat)


def add_user_to_chat(ctx: Context) -> None:
    chat, thread = active_chat(ctx)
    requester = agent_id_in(ctx, chat)
    present = set(chat.present_user_ids)
    candidates = [
        item for item in licenses.agents(ctx.organization) if item.agent_id not in present
    ]
    wanted = ctx.options.get("agent_id")
    agent = next((a for a in candidates if a.agent_id == wanted), None) if wanted else None
    agent = agent or (candidates[0] if candidates else None)
    if agent is None:
        raise ScenarioError("Every agent of this license is already in the chat.")
    users = [user for user in chat.users if user["id"] != agent.agent_id]
    chat.users = [*users, {"id": agent.agent_id, "type": "agent", "present": True}]
    db.session.flush()
    payload = {
        "chat_id": chat.id,
        "thread_id": thread.id,
        "user": shapes.agent_user(agent),
        "user_type": "agent",
        "reason": "manual",
        "requester_id": requester,
    }
    ctx.emit("user_added_to_chat", payload, chat=chat)


def remove_user_from_chat(ctx: Context) -> None:
    chat, thread = active_chat(ctx)
    agents_present = [u["id"] for u in chat.users if u["type"] == "agent" and u.get("present")]
    if len(agents_present) < 2:
        add_user_to_chat(ctx)
        ctx.notes.append("Only one agent was in the chat, so another joined first.")
        agents_present = [u["id"] for u in chat.users if u["type"] == "agent" and u.get("present")]
    wanted = ctx.options.get("agent_id")
    removed = wanted if wanted in agents_present else agents_present[-1]
    requester = agents_present[0]
    payload = {
        "chat_id": chat.id,
        "thread_id": thread.id,
        "user_id": removed,
        "user_type": "agent",
        "reason": "manual",
        "requester_id": requester,
    }
    # Filters and additional data see the chat as it was while the user was still in it.
    ctx.emit("user_removed_from_chat", payload, chat=chat)
    chat.users = [dict(u, present=False) if u["id"] == removed else u for u in chat.users]
    db.session.flush()


def _customer(ctx: Context) -> SandboxCustomer:
    customers = licenses.customers(ctx.organization)
    if not customers:
        raise ScenarioError("This license has no customer yet.")
    return customers[0]


def update_customer_session_fields(ctx: Context) -> None:
    customer = _customer(ctx)
    customer.session_fields = [{"plan": str(ctx.options.get("text") or "premium")}]
    db.session.flush()
    active_chats = [
        chat
        for chat in db.session.execute(
            db.select(SandboxChat).where(SandboxChat.customer_id == customer.id)
        ).scalars()
        if licenses.current_thread(chat).active
    ]
    base = {"id": customer.id, "session_fields": list(customer.session_fields)}
    if not active_chats:
        ctx.emit("customer_session_fields_updated", base)
        return
    # LiveChat sends one delivery per active chat of the customer.
    for chat in active_chats:
        thread = licenses.current_thread(chat)
        payload = dict(base, active_chat={"chat_id": chat.id, "thread_id": thread.id})
        ctx.emit("customer_session_fields_updated", payload, chat=chat)


def new_customer(ctx: Context) -> None:
    customer = SandboxCustomer(
        id=licenses.uuid_id(),
        organization_id=ctx.organization.id,
        name=str(ctx.options.get("text") or "New Visitor"),
        email=None,
        session_fields=[],
        created_at=ctx.now,
    )
    db.session.add(customer)
    db.session.flush()
    ctx.emit("incoming_customer", {"customer": shapes.customer_user(customer)})


def set_routing_status(ctx: Context) -> None:
    target = ctx.options.get("target") or "agent"
    status = ctx.options.get("status")
    if target == "bot":
        bot = licenses.ensure_bot(ctx.organization, ctx.require_client())
        status = status or (
            "not accepting chats" if bot.routing_status == "accepting chats" else "accepting chats"
        )
        bot.routing_status = status
        agent_id = bot.id
    else:
        if status == "offline":
            raise ScenarioError("Only bots can be set offline; agents accept chats or not.")
        agent = licenses.agent(ctx.organization, ctx.options.get("agent_id"))
        if agent is None:
            raise ScenarioError("No such agent on this license.", "not_found", 404)
        status = status or (
            "not accepting chats"
            if agent.routing_status == "accepting chats"
            else "accepting chats"
        )
        agent.routing_status = status
        agent_id = agent.agent_id
    db.session.flush()
    ctx.emit("routing_status_set", {"agent_id": agent_id, "status": status}, agent_id=agent_id)
