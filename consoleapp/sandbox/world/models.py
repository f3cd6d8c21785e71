"""The simulated license: agents, bots, groups, customers, chats, tags and auto-access rules.

Every table is prefixed ``sandbox_``. Ids follow LiveChat's shapes: agents are emails, groups
are small integers per license, chats and threads are 10 upper-case characters, events and
customers are UUIDs, bots and auto-access rules are 32 hex characters.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ...extensions import db
from ...models import utcnow


class SandboxAgent(db.Model):
    """An agent of a license; the license's accounts are its first agents."""

    __tablename__ = "sandbox_agents"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("sandbox_organizations.id"))
    agent_id: Mapped[str] = mapped_column(String(254))  # LiveChat agent ids are emails
    account_id: Mapped[str | None] = mapped_column(ForeignKey("sandbox_accounts.id"))
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16), default="normal")
    awaiting_approval: Mapped[bool] = mapped_column(default=False)
    suspended: Mapped[bool] = mapped_column(default=False)
    routing_status: Mapped[str] = mapped_column(String(32), default="not accepting chats")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (db.UniqueConstraint("organization_id", "agent_id"),)


class SandboxGroup(db.Model):
    __tablename__ = "sandbox_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("sandbox_organizations.id"))
    group_id: Mapped[int]  # LiveChat's per-license group number; 0 is "General"
    name: Mapped[str] = mapped_column(String(100))
    language_code: Mapped[str] = mapped_column(String(8), default="en")
    agent_priorities: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)

    __table_args__ = (db.UniqueConstraint("organization_id", "group_id"),)


class SandboxBot(db.Model):
    """A bot on a license, owned by a client (what ``type: bot`` webhooks hang on)."""

    __tablename__ = "sandbox_bots"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("sandbox_organizations.id"))
    owner_client_id: Mapped[str] = mapped_column(
        ForeignKey("sandbox_clients.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(100))
    default_group_priority: Mapped[str] = mapped_column(String(16), default="first")
    groups: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    routing_status: Mapped[str] = mapped_column(String(32), default="offline")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SandboxCustomer(db.Model):
    __tablename__ = "sandbox_customers"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("sandbox_organizations.id"))
    name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(254))
    session_fields: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SandboxChat(db.Model):
    __tablename__ = "sandbox_chats"

    id: Mapped[str] = mapped_column(String(10), primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("sandbox_organizations.id"))
    customer_id: Mapped[str] = mapped_column(ForeignKey("sandbox_customers.id"))
    # Who is in the chat: [{"id", "type": "agent"|"customer", "present": bool}].
    users: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    properties: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    access: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The client that started the chat (None: started by LiveChat itself); only_my_chats uses it.
    source_client_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    threads: Mapped[list[SandboxThread]] = relationship(
        back_populates="chat", order_by="SandboxThread.created_at"
    )

    @property
    def present_user_ids(self) -> list[str]:
        return [user["id"] for user in self.users if user.get("present")]


class SandboxThread(db.Model):
    __tablename__ = "sandbox_threads"

    id: Mapped[str] = mapped_column(String(10), primary_key=True)
    chat_id: Mapped[str] = mapped_column(ForeignKey("sandbox_chats.id", ondelete="CASCADE"))
    active: Mapped[bool] = mapped_column(default=True)
    properties: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    access: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    chat: Mapped[SandboxChat] = relationship(back_populates="threads")


class SandboxEvent(db.Model):
    """A chat event (message, rich message, system message) in a thread."""

    __tablename__ = "sandbox_events"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    thread_id: Mapped[str] = mapped_column(ForeignKey("sandbox_threads.id", ondelete="CASCADE"))
    chat_id: Mapped[str] = mapped_column(ForeignKey("sandbox_chats.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(32))
    author_id: Mapped[str | None] = mapped_column(String(254))
    author_type: Mapped[str | None] = mapped_column(String(16))
    text: Mapped[str | None] = mapped_column(Text)
    # Type-specific fields (rich message template and elements, system message vars).
    content: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    properties: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    deleted: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SandboxTag(db.Model):
    __tablename__ = "sandbox_tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("sandbox_organizations.id"))
    name: Mapped[str] = mapped_column(String(100))
    group_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    author_id: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (db.UniqueConstraint("organization_id", "name"),)


class SandboxAutoAccess(db.Model):
    __tablename__ = "sandbox_auto_accesses"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("sandbox_organizations.id"))
    description: Mapped[str] = mapped_column(String(200), default="")
    access: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    conditions: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    next_id: Mapped[str] = mapped_column(String(32), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
