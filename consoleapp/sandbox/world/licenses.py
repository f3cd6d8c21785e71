"""Seeding and lookups for the simulated license: agents, groups, bots, customers, chats.

Functions here add and flush; the caller (a view, a CLI command, a test) commits.
"""

from __future__ import annotations

import secrets
import string
import uuid

from ... import database
from ...extensions import db
from ..accounts import seed
from ..accounts.models import (
    SandboxAccount,
    SandboxClient,
    SandboxInstallation,
    SandboxOrganization,
)
from .models import (
    SandboxAgent,
    SandboxBot,
    SandboxChat,
    SandboxCustomer,
    SandboxGroup,
    SandboxThread,
)

GROUPS = ((0, "General"), (1, "Sales"))
CUSTOMERS = (("Thomas Anderson", "t.anderson@example.com"), ("Mia Wallace", None))
_ID_ALPHABET = string.ascii_uppercase + string.digits


def chat_like_id() -> str:
    """A chat or thread id in LiveChat's shape: 10 upper-case letters and digits."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(10))


def hex_id() -> str:
    return secrets.token_hex(16)


def uuid_id() -> str:
    return str(uuid.uuid4())


def organizations() -> list[SandboxOrganization]:
    ensure_world()
    return list(
        db.session.execute(
            db.select(SandboxOrganization).order_by(SandboxOrganization.license_id)
        ).scalars()
    )


def ensure_world() -> None:
    """Make sure every organization has its agents, groups and customers. Safe to repeat."""
    seed.ensure_seeded()
    database.ensure(_fill_licenses)


def _fill_licenses() -> None:
    for organization in db.session.execute(db.select(SandboxOrganization)).scalars():
        _ensure_license(organization)


def _ensure_license(organization: SandboxOrganization) -> None:
    accounts = db.session.execute(
        db.select(SandboxAccount).where(SandboxAccount.organization_id == organization.id)
    ).scalars()
    known = set(
        db.session.execute(
            db.select(SandboxAgent.agent_id).where(SandboxAgent.organization_id == organization.id)
        ).scalars()
    )
    agent_ids = []
    for account in accounts:
        agent_ids.append(account.email)
        if account.email not in known:
            db.session.add(
                SandboxAgent(
                    organization_id=organization.id,
                    agent_id=account.email,
                    account_id=account.id,
                    name=account.name,
                    role=account.role,
                    routing_status="accepting chats",
                )
            )
    existing_groups = set(
        db.session.execute(
            db.select(SandboxGroup.group_id).where(SandboxGroup.organization_id == organization.id)
        ).scalars()
    )
    for group_id, name in GROUPS:
        if group_id not in existing_groups:
            db.session.add(
                SandboxGroup(
                    organization_id=organization.id,
                    group_id=group_id,
                    name=name,
                    agent_priorities={agent: "normal" for agent in sorted(agent_ids)},
                )
            )
    has_customers = db.session.execute(
        db.select(SandboxCustomer.id).where(SandboxCustomer.organization_id == organization.id)
    ).first()
    if not has_customers:
        for name, email in CUSTOMERS:
            db.session.add(
                SandboxCustomer(
                    id=uuid_id(),
                    organization_id=organization.id,
                    name=name,
                    email=email,
                    session_fields=[{"plan": "trial"}],
                )
            )


def organization_or_default(organization_id: str | None) -> SandboxOrganization | None:
    ensure_world()
    if organization_id:
        return db.session.get(SandboxOrganization, organization_id)
    return seed.first_organization()


def installed_clients(organization: SandboxOrganization) -> list[SandboxClient]:
    return list(
        db.session.execute(
            db.select(SandboxClient)
            .join(SandboxInstallation, SandboxInstallation.client_id == SandboxClient.id)
            .where(
                SandboxInstallation.organization_id == organization.id,
                SandboxInstallation.uninstalled_at.is_(None),
            )
            .order_by(SandboxInstallation.installed_at.desc())
        ).scalars()
    )


def agents(organization: SandboxOrganization) -> list[SandboxAgent]:
    return list(
        db.session.execute(
            db.select(SandboxAgent)
            .where(SandboxAgent.organization_id == organization.id)
            .order_by(SandboxAgent.created_at, SandboxAgent.id)
        ).scalars()
    )


def agent(organization: SandboxOrganization, agent_id: str | None = None) -> SandboxAgent | None:
    candidates = [item for item in agents(organization) if not item.suspended]
    if agent_id:
        return next((item for item in agents(organization) if item.agent_id == agent_id), None)
    return candidates[0] if candidates else None


def customers(organization: SandboxOrganization) -> list[SandboxCustomer]:
    return list(
        db.session.execute(
            db.select(SandboxCustomer)
            .where(SandboxCustomer.organization_id == organization.id)
            .order_by(SandboxCustomer.created_at, SandboxCustomer.name)
        ).scalars()
    )


def groups(organization: SandboxOrganization) -> list[SandboxGroup]:
    return list(
        db.session.execute(
            db.select(SandboxGroup)
            .where(SandboxGroup.organization_id == organization.id)
            .order_by(SandboxGroup.group_id)
        ).scalars()
    )


def ensure_bot(organization: SandboxOrganization, client_id: str) -> SandboxBot:
    """The client's bot on this license, created on first use."""
    bot = db.session.execute(
        db.select(SandboxBot)
        .where(SandboxBot.organization_id == organization.id)
        .where(SandboxBot.owner_client_id == client_id)
        .order_by(SandboxBot.created_at)
    ).scalar()
    if bot is None:
        bot = SandboxBot(
            id=hex_id(),
            organization_id=organization.id,
            owner_client_id=client_id,
            name="Helper Bot",
            groups=[{"id": 0, "priority": "first"}],
        )
        db.session.add(bot)
        db.session.flush()
    return bot


def bots(organization: SandboxOrganization) -> list[SandboxBot]:
    return list(
        db.session.execute(
            db.select(SandboxBot)
            .where(SandboxBot.organization_id == organization.id)
            .order_by(SandboxBot.created_at)
        ).scalars()
    )


def latest_chat(organization: SandboxOrganization, active: bool = True) -> SandboxChat | None:
    query = db.select(SandboxChat).where(SandboxChat.organization_id == organization.id)
    if active:
        query = query.join(SandboxThread).where(SandboxThread.active.is_(True))
    return db.session.execute(query.order_by(SandboxChat.created_at.desc())).scalars().first()


def current_thread(chat: SandboxChat) -> SandboxThread:
    return chat.threads[-1]
