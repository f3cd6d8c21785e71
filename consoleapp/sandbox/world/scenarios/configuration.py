"""Scenarios that change the license's configuration: agents, bots, groups, tags, auto access."""

from __future__ import annotations

from typing import Any

from ....extensions import db
from .. import licenses, shapes
from ..models import SandboxAgent, SandboxAutoAccess, SandboxBot, SandboxGroup, SandboxTag
from .context import Context, ScenarioError


def _domain(ctx: Context) -> str:
    admin = licenses.agent(ctx.organization)
    return admin.agent_id.split("@", 1)[-1] if admin else "example.com"


def _created_agents(ctx: Context) -> list[SandboxAgent]:
    # Only agents made by scenarios change; the license's own people stay as they are.
    return [item for item in licenses.agents(ctx.organization) if item.account_id is None]


def create_agent(ctx: Context) -> SandboxAgent:
    number = len(licenses.agents(ctx.organization)) + 1
    agent = SandboxAgent(
        organization_id=ctx.organization.id,
        agent_id=f"agent{number}.{licenses.hex_id()[:6]}@{_domain(ctx)}",
        name=f"Agent {number}",
        role="normal",
        awaiting_approval=bool(ctx.options.get("awaiting_approval", True)),
        created_at=ctx.now,
    )
    db.session.add(agent)
    db.session.flush()
    groups = licenses.groups(ctx.organization)[:1]
    ctx.emit("agent_created", shapes.agent_configuration(agent, groups))
    return agent


def _scenario_agent(ctx: Context) -> SandboxAgent:
    wanted = ctx.options.get("agent_id")
    created = _created_agents(ctx)
    if wanted:
        agent = next((item for item in created if item.agent_id == wanted), None)
        if agent is None:
            raise ScenarioError(
                f"{wanted} is not an agent these scenarios created; only those can change.",
                "not_found",
                404,
            )
        return agent
    if created:
        return created[-1]
    ctx.notes.append("No agent to change, so one was created first.")
    return create_agent(ctx)


def approve_agent(ctx: Context) -> None:
    agent = _scenario_agent(ctx)
    agent.awaiting_approval = False
    ctx.emit("agent_approved", {"id": agent.agent_id})


def update_agent(ctx: Context) -> None:
    agent = _scenario_agent(ctx)
    agent.name = str(ctx.options.get("text") or f"{agent.name} Jr.")
    ctx.emit("agent_updated", {"id": agent.agent_id, "name": agent.name})


def suspend_agent(ctx: Context) -> None:
    agent = _scenario_agent(ctx)
    agent.suspended = True
    ctx.emit("agent_suspended", {"id": agent.agent_id})


def unsuspend_agent(ctx: Context) -> None:
    agent = _scenario_agent(ctx)
    agent.suspended = False
    ctx.emit("agent_unsuspended", {"id": agent.agent_id})


def delete_agent(ctx: Context) -> None:
    agent = _scenario_agent(ctx)
    agent_id = agent.agent_id
    db.session.delete(agent)
    db.session.flush()
    ctx.emit("agent_deleted", {"id": agent_id})


def _bot(ctx: Context) -> SandboxBot:
    client_id = ctx.require_client()
    bots = [item for item in licenses.bots(ctx.organization) if item.owner_client_id == client_id]
    if bots:
        return bots[-1]
    ctx.notes.append("The app had no bot, so one was created first.")
    return create_bot(ctx)


def create_bot(ctx: Context) -> SandboxBot:
    client_id = ctx.require_client()
    bot = SandboxBot(
        id=licenses.hex_id(),
        organization_id=ctx.organization.id,
        owner_client_id=client_id,
        name=str(ctx.options.get("text") or "Helper Bot"),
        default_group_priority="first",
        groups=[{"id": 0, "priority": "normal"}],
        created_at=ctx.now,
    )
    db.session.add(bot)
    db.session.flush()
    ctx.emit("bot_created", shapes.bot_configuration(bot))
    return bot


def update_bot(ctx: Context) -> None:
    bot = _bot(ctx)
    bot.name = str(ctx.options.get("text") or f"{bot.name} 2")
    ctx.emit("bot_updated", {"id": bot.id, "name": bot.name})


def delete_bot(ctx: Context) -> None:
    bot = _bot(ctx)
    bot_id = bot.id
    db.session.delete(bot)
    db.session.flush()
    ctx.emit("bot_deleted", {"id": bot_id})


def create_group(ctx: Context) -> SandboxGroup:
    existing = licenses.groups(ctx.organization)
    group = SandboxGroup(
        organization_id=ctx.organization.id,
        group_id=max((item.group_id for item in existing), default=-1) + 1,
        name=str(ctx.options.get("text") or "Billing"),
        language_code="en",
        agent_priorities={
            agent.agent_id: "normal" for agent in licenses.agents(ctx.organization)[:1]
        },
    )
    db.session.add(group)
    db.session.flush()
    ctx.emit("group_created", shapes.group_configuration(group))
    return group


def _group(ctx: Context) -> SandboxGroup:
    # Group 0 ("General") can be neither renamed away nor deleted, as in LiveChat.
    groups = [item for item in licenses.groups(ctx.organization) if item.group_id != 0]
    if groups:
        return groups[-1]
    ctx.notes.append("No group to change, so one was created first.")
    return create_group(ctx)


def update_group(ctx: Context) -> None:
    group = _group(ctx)
    priorities = {agent.agent_id: "first" for agent in licenses.agents(ctx.organization)[:1]}
    group.agent_priorities = {**group.agent_priorities, **priorities}
    ctx.emit("group_updated", {"id": group.group_id, "agent_priorities": priorities})


def delete_group(ctx: Context) -> None:
    group = _group(ctx)
    group_id = group.group_id
    db.session.delete(group)
    db.session.flush()
    ctx.emit("group_deleted", {"id": group_id})


def _tag(ctx: Context, create: bool = False) -> SandboxTag:
    name = ctx.options.get("tag")
    tags = list(
        db.session.execute(
            db.select(SandboxTag)
            .where(SandboxTag.organization_id == ctx.organization.id)
            .order_by(SandboxTag.created_at, SandboxTag.id)
        ).scalars()
    )
    found = next((tag for tag in tags if tag.name == name), None) if name else None
    if found is not None and not create:
        return found
    if not create and tags and not name:
        return tags[-1]
    if found is not None:
        raise ScenarioError(f"The tag {name!r} already exists.", "already_exists", 409)
    author = licenses.agent(ctx.organization)
    tag = SandboxTag(
        organization_id=ctx.organization.id,
        name=name or f"feedback_{licenses.hex_id()[:4]}",
        group_ids=[0],
        author_id=author.agent_id if author else "",
        created_at=ctx.now,
    )
    db.session.add(tag)
    db.session.flush()
    if not create:
        ctx.notes.append("No tag to change, so one was created first.")
    payload = {
        "name": tag.name,
        "group_ids": tag.group_ids,
        "created_at": shapes.timestamp(tag.created_at),
        "author_id": tag.author_id,
    }
    ctx.emit("tag_created", payload)
    return tag


def create_tag(ctx: Context) -> None:
    _tag(ctx, create=True)


def update_tag(ctx: Context) -> None:
    tag = _tag(ctx)
    tag.group_ids = sorted(
        {*tag.group_ids, *[g.group_id for g in licenses.groups(ctx.organization)]}
    )
    ctx.emit("tag_updated", {"name": tag.name, "group_ids": tag.group_ids})


def delete_tag(ctx: Context) -> None:
    tag = _tag(ctx)
    name = tag.name
    db.session.delete(tag)
    db.session.flush()
    ctx.emit("tag_deleted", {"name": name})


def _rules(ctx: Context) -> list[SandboxAutoAccess]:
    return list(
        db.session.execute(
            db.select(SandboxAutoAccess)
            .where(SandboxAutoAccess.organization_id == ctx.organization.id)
            .order_by(SandboxAutoAccess.created_at, SandboxAutoAccess.id)
        ).scalars()
    )


def _rule_json(rule: SandboxAutoAccess, status: str) -> dict[str, Any]:
    return {
        "id": rule.id,
        "description": rule.description,
        "access": rule.access,
        "conditions": rule.conditions,
        "next_id": rule.next_id,
        "status": status,
    }


def create_auto_access(ctx: Context) -> SandboxAutoAccess:
    rules = _rules(ctx)
    rule = SandboxAutoAccess(
        id=licenses.hex_id(),
        organization_id=ctx.organization.id,
        description=str(ctx.options.get("text") or "Visitors from the pricing page"),
        access={"groups": [0]},
        conditions={"url": {"values": [{"value": "/pricing", "exact_match": False}]}},
        next_id="",
        created_at=ctx.now,
    )
    db.session.add(rule)
    changes: list[dict[str, Any]] = []
    if rules:
        # The new rule goes last: the previous last rule now points at it.
        rules[-1].next_id = rule.id
        changes.append({"id": rules[-1].id, "next_id": rule.id, "status": "updated"})
    db.session.flush()
    changes.append(_rule_json(rule, "added"))
    ctx.emit("auto_accesses_updated", changes)
    return rule


def _first_rule(ctx: Context) -> SandboxAutoAccess:
    ctx.notes.append("No auto-access rule to change, so one was added first.")
    return create_auto_access(ctx)


def update_auto_access(ctx: Context) -> None:
    rules = _rules(ctx) or [_first_rule(ctx)]
    rule = rules[-1]
    rule.description = str(ctx.options.get("text") or f"{rule.description} (edited)")
    ctx.emit(
        "auto_accesses_updated",
        [{"id": rule.id, "description": rule.description, "status": "updated"}],
    )


def delete_auto_access(ctx: Context) -> None:
    rules = _rules(ctx) or [_first_rule(ctx)]
    rule = rules[-1]
    changes: list[dict[str, Any]] = []
    for previous in rules:
        if previous.next_id == rule.id:
            previous.next_id = rule.next_id
            changes.append({"id": previous.id, "next_id": rule.next_id, "status": "updated"})
    changes.append({"id": rule.id, "status": "deleted"})
    db.session.delete(rule)
    db.session.flush()
    ctx.emit("auto_accesses_updated", changes)
