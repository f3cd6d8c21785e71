"""Scenarios in chats: customers start chats and write, agents answer, tag, transfer, close."""

from __future__ import annotations

from typing import Any

from ....extensions import db
from .. import licenses, shapes
from ..models import SandboxChat, SandboxEvent, SandboxTag, SandboxThread
from .context import Context, ScenarioError

RICH_BUTTON = {"text": "Yes", "postback_id": "action_yes", "type": "url"}


def _namespace(ctx: Context) -> str:
    # LiveChat namespaces properties by the client that set them; "routing" is LiveChat's own.
    return ctx.source_client_id or "routing"


def thread_events(thread: SandboxThread) -> list[SandboxEvent]:
    return list(
        db.session.execute(
            db.select(SandboxEvent)
            .where(SandboxEvent.thread_id == thread.id)
            .order_by(SandboxEvent.created_at, SandboxEvent.id)
        ).scalars()
    )


def add_event(
    ctx: Context,
    chat: SandboxChat,
    thread: SandboxThread,
    author_id: str,
    author_type: str,
    kind: str = "message",
    text: str | None = None,
    content: dict[str, Any] | None = None,
) -> SandboxEvent:
    item = SandboxEvent(
        id=licenses.uuid_id(),
        thread_id=thread.id,
        chat_id=chat.id,
        type=kind,
        author_id=author_id,
        author_type=author_type,
        text=text,
        content=content or {},
        properties={},
        created_at=ctx.now,
    )
    db.session.add(item)
    db.session.flush()
    return item


def agent_id_in(ctx: Context, chat: SandboxChat) -> str:
    """The agent serving the chat (or the license's first agent, if nobody is present)."""
    for user in chat.users:
        if user["type"] == "agent" and user.get("present"):
            return user["id"]
    agent = licenses.agent(ctx.organization)
    if agent is None:
        raise ScenarioError("This license has no agent to act in the chat.")
    return agent.agent_id


def start_chat(ctx: Context) -> SandboxChat:
    customers = licenses.customers(ctx.organization)
    agent = licenses.agent(ctx.organization)
    if not customers or agent is None:
        raise ScenarioError("This license has no customer or agent yet.")
    customer = customers[0]
    chat = SandboxChat(
        id=licenses.chat_like_id(),
        organization_id=ctx.organization.id,
        customer_id=customer.id,
        users=[
            {"id": customer.id, "type": "customer", "present": True},
            {"id": agent.agent_id, "type": "agent", "present": True},
        ],
        properties={},
        access={"group_ids": [0]},
        source_client_id=ctx.source_client_id,
        created_at=ctx.now,
    )
    thread_properties: dict[str, Any] = {}
    if ctx.source_client_id:
        thread_properties["source"] = {"client_id": ctx.source_client_id}
    thread = SandboxThread(
        id=licenses.chat_like_id(),
        chat_id=chat.id,
        active=True,
        properties=thread_properties,
        access={"group_ids": [0]},
        tags=[],
        created_at=ctx.now,
    )
    db.session.add_all([chat, thread])
    db.session.flush()
    text = ctx.options.get("text") or "Hi, I have a question about my order."
    first = add_event(ctx, chat, thread, customer.id, "customer", text=text)
    users = [shapes.customer_user(customer), shapes.agent_user(agent)]
    ctx.emit("incoming_chat", {"chat": shapes.chat(chat, users, thread, [first])}, chat=chat)
    ctx.chat_id = chat.id
    return chat


def _named_or_latest_chat(ctx: Context, active: bool) -> SandboxChat:
    """The chat named in the request, or the latest one (open only, or any), or a new one."""
    if ctx.chat_id:
        chat = db.session.get(SandboxChat, ctx.chat_id)
        if chat is None or chat.organization_id != ctx.organization.id:
            raise ScenarioError(
                f"Chat {ctx.chat_id} does not exist on this license.", "not_found", 404
            )
        return chat
    chat = licenses.latest_chat(ctx.organization, active=active)
    if chat is None:
        chat = start_chat(ctx)
        ctx.notes.append(
            f"No chat was open, so chat {chat.id} was started first (that sent incoming_chat)."
        )
    return chat


def active_chat(ctx: Context) -> tuple[SandboxChat, SandboxThread]:
    """The chat named in the request, or the latest active one, or a new one."""
    chat = _named_or_latest_chat(ctx, active=True)
    thread = licenses.current_thread(chat)
    if not thread.active:
        raise ScenarioError(f"Chat {chat.id} is closed; start a new chat.", "validation")
    ctx.chat_id = chat.id
    return chat, thread


def latest_thread(ctx: Context) -> tuple[SandboxChat, SandboxThread]:
    """The chat named, or the latest chat even if closed, and its latest thread: LiveChat lets
    agents tag and untag an archived thread, so a closed chat needs no new one."""
    chat = _named_or_latest_chat(ctx, active=False)
    thread = licenses.current_thread(chat)
    note = f"Chat {chat.id} is closed, so its archived thread was used."
    if not thread.active and note not in ctx.notes:
        ctx.notes.append(note)
    ctx.chat_id = chat.id
    return chat, thread


def _author(ctx: Context, chat: SandboxChat) -> tuple[str, str]:
    if ctx.author_type == "agent":
        return agent_id_in(ctx, chat), "agent"
    return chat.customer_id, "customer"


def send_message(ctx: Context) -> None:
    chat, thread = active_chat(ctx)
    author_id, author_type = _author(ctx, chat)
    default = "Thanks, let me check." if author_type == "agent" else "Is anyone there?"
    item = add_event(
        ctx, chat, thread, author_id, author_type, text=ctx.options.get("text") or default
    )
    payload = {"chat_id": chat.id, "thread_id": thread.id, "event": shapes.event(item)}
    ctx.emit("incoming_event", payload, chat=chat, author_type=author_type)


def _latest_message(ctx: Context, thread: SandboxThread) -> SandboxEvent | None:
    messages = [
        item for item in thread_events(thread) if item.type == "message" and not item.deleted
    ]
    wanted = [item for item in messages if item.author_type == ctx.author_type]
    return (wanted or messages or [None])[-1]


def _message_to_change(ctx: Context) -> tuple[SandboxChat, SandboxThread, SandboxEvent]:
    chat, thread = active_chat(ctx)
    item = _latest_message(ctx, thread)
    if item is None:
        send_message(ctx)
        ctx.notes.append("The chat had no message, so one was sent first (incoming_event).")
        item = _latest_message(ctx, thread)
        assert item is not None
    return chat, thread, item


def edit_message(ctx: Context) -> None:
    chat, thread, item = _message_to_change(ctx)
    item.text = ctx.options.get("text") or f"{item.text} (edited)"
    db.session.flush()
    payload = {"chat_id": chat.id, "thread_id": thread.id, "event": shapes.event(item)}
    ctx.emit("event_updated", payload, chat=chat, author_type=item.author_type)


def delete_message(ctx: Context) -> None:
    chat, thread, item = _message_to_change(ctx)
    item.deleted = True
    db.session.flush()
    payload = {"chat_id": chat.id, "thread_id": thread.id, "event_id": item.id}
    ctx.emit("event_deleted", payload, chat=chat, author_type=item.author_type)


def press_rich_message_button(ctx: Context) -> None:
    chat, thread = active_chat(ctx)
    rich = next(
        (item for item in reversed(thread_events(thread)) if item.type == "rich_message"), None
    )
    if rich is None:
        agent_id = agent_id_in(ctx, chat)
        content = {
            "template_id": "quick_replies",
            "elements": [{"title": "Did that help?", "buttons": [dict(RICH_BUTTON, user_ids=[])]}],
        }
        rich = add_event(ctx, chat, thread, agent_id, "agent", kind="rich_message", content=content)
        payload = {"chat_id": chat.id, "thread_id": thread.id, "event": shapes.event(rich)}
        ctx.emit("incoming_event", payload, chat=chat, author_type="agent")
        ctx.notes.append(
            "The agent first sent a message with a button to press (incoming_event, from an agent)."
        )
    base = {"user_id": chat.customer_id, "chat_id": chat.id, "thread_id": thread.id}
    base["event_id"] = rich.id
    postback = {
        "id": RICH_BUTTON["postback_id"],
        "toggled": True,
        "button_type": RICH_BUTTON["type"],
        "button_value": "https://example.com/help",
        "ecommerce": {"product_id": "12345", "option_id": "red-xl", "quantity": 1},
    }
    legacy = dict(base, postback={"id": postback["id"], "toggled": True})
    ctx.emit(
        "incoming_rich_message_postback",
        dict(base, postback=postback),
        chat=chat,
        author_type="customer",
        by_version={"3.5": legacy},
    )


def transfer_chat(ctx: Context) -> None:
    chat, thread = active_chat(ctx)
    groups = licenses.groups(ctx.organization)
    target_group = groups[-1].group_id if groups else 0
    current = agent_id_in(ctx, chat)
    others = [item for item in licenses.agents(ctx.organization) if item.agent_id != current]
    target = ctx.options.get("agent_id") or (others[0].agent_id if others else current)
    users = [dict(user, present=False) if user["id"] == current else user for user in chat.users]
    if not any(user["id"] == target for user in users):
        users.append({"id": target, "type": "agent", "present": True})
    chat.users = [dict(user, present=True) if user["id"] == target else user for user in users]
    chat.access = {"group_ids": [target_group]}
    thread.access = {"group_ids": [target_group]}
    db.session.flush()
    payload: dict[str, Any] = {
        "chat_id": chat.id,
        "thread_id": thread.id,
        "requester_id": current,
        "reason": "inactive" if ctx.performed_by == "system" else "manual",
        "transferred_to": {"group_ids": [target_group], "agent_ids": [target]},
    }
    legacy = dict(payload)
    if ctx.options.get("queued"):
        queued_at = shapes.timestamp(ctx.now)
        payload["queue"] = {"position": 1, "wait_time": 0, "queued_at": queued_at}
        # The 3.5 documentation names this field queued_at_us.
        legacy["queue"] = {"position": 1, "wait_time": 0, "queued_at_us": queued_at}
    ctx.emit("chat_transferred", payload, chat=chat, by_version={"3.5": legacy})


def close_chat(ctx: Context) -> None:
    chat, thread = active_chat(ctx)
    thread.active = False
    db.session.flush()
    payload: dict[str, Any] = {"chat_id": chat.id, "thread_id": thread.id}
    if ctx.performed_by != "system":
        # Left out when the router closed the chat (livechat-api.md §3.2).
        payload["user_id"] = agent_id_in(ctx, chat)
    ctx.emit("chat_deactivated", payload, chat=chat)


def _tag_name(ctx: Context) -> str:
    name = ctx.options.get("tag") or "support"
    exists = db.session.execute(
        db.select(SandboxTag.id).where(
            SandboxTag.organization_id == ctx.organization.id, SandboxTag.name == name
        )
    ).first()
    if not exists:
        admin = licenses.agent(ctx.organization)
        db.session.add(
            SandboxTag(
                organization_id=ctx.organization.id,
                name=name,
                group_ids=[0],
                author_id=admin.agent_id if admin else "",
                created_at=ctx.now,
            )
        )
    return name


def tag_thread(ctx: Context) -> None:
    chat, thread = latest_thread(ctx)
    name = _tag_name(ctx)
    if name not in thread.tags:
        thread.tags = [*thread.tags, name]
    db.session.flush()
    ctx.emit("thread_tagged", {"chat_id": chat.id, "thread_id": thread.id, "tag": name}, chat=chat)


def untag_thread(ctx: Context) -> None:
    chat, thread = latest_thread(ctx)
    name = ctx.options.get("tag") or (thread.tags[-1] if thread.tags else None)
    if name is None or name not in thread.tags:
        tag_thread(ctx)
        name = thread.tags[-1]
        ctx.notes.append(f"The thread had no tag “{name}”, so it was tagged first (thread_tagged).")
    thread.tags = [tag for tag in thread.tags if tag != name]
    db.session.flush()
    payload = {"chat_id": chat.id, "thread_id": thread.id, "tag": name}
    ctx.emit("thread_untagged", payload, chat=chat)
