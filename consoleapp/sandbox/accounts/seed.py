"""The sandbox's standing cast: two organizations, each with a license, an administrator and a
plain agent. Only organizations and accounts live here; the simulated world adds the rest.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from ... import database
from ...extensions import db
from .models import SandboxAccount, SandboxOrganization

# Stable ids, so a reset sandbox keeps the ids people copied into scripts.
_NAMESPACE = uuid.UUID("5b0c7a5e-4d0a-4c1e-9a57-2f3d6c1e8b10")


def _uid(name: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, name))


@dataclass(frozen=True)
class SeedOrganization:
    key: str
    name: str
    license_id: int
    region: str
    domain: str


ORGANIZATIONS = (
    SeedOrganization("acme", "Acme Support", 10_500_001, "dal", "acme.example"),
    SeedOrganization("globex", "Globex Help Desk", 10_500_002, "fra", "globex.example"),
)
PEOPLE = (("ada", "Ada Admin", "administrator"), ("nick", "Nick Normal", "normal"))


def organization_id(key: str) -> str:
    return _uid(f"organization:{key}")


def account_id(org_key: str, person: str) -> str:
    return _uid(f"account:{org_key}:{person}")


def _add_missing() -> None:
    for org in ORGANIZATIONS:
        if db.session.get(SandboxOrganization, organization_id(org.key)) is None:
            db.session.add(
                SandboxOrganization(
                    id=organization_id(org.key),
                    name=org.name,
                    license_id=org.license_id,
                    region=org.region,
                )
            )
        for person, name, role in PEOPLE:
            if db.session.get(SandboxAccount, account_id(org.key, person)) is None:
                db.session.add(
                    SandboxAccount(
                        id=account_id(org.key, person),
                        organization_id=organization_id(org.key),
                        email=f"{person}@{org.domain}",
                        name=name,
                        role=role,
                    )
                )


def ensure_seeded() -> None:
    """Create the standing organizations and accounts that are missing. Safe to repeat.

    Adds and flushes only; the caller commits. A concurrent seeder that wins the race makes
    this one's inserts collide, which the savepoint absorbs.
    """
    database.ensure(_add_missing)


def first_organization() -> SandboxOrganization:
    ensure_seeded()
    organization = db.session.get(SandboxOrganization, organization_id(ORGANIZATIONS[0].key))
    if organization is None:
        raise RuntimeError("the sandbox's first organization could not be created")
    return organization


def administrator_of(organization: SandboxOrganization) -> SandboxAccount:
    account = db.session.execute(
        db.select(SandboxAccount)
        .where(
            SandboxAccount.organization_id == organization.id,
            SandboxAccount.role == "administrator",
        )
        .order_by(SandboxAccount.email)
    ).scalar_one()
    return account


def accounts_by_organization() -> list[tuple[SandboxOrganization, list[SandboxAccount]]]:
    organizations = db.session.execute(
        db.select(SandboxOrganization).order_by(SandboxOrganization.license_id)
    ).scalars()
    return [
        (
            org,
            sorted(
                org.accounts, key=lambda account: (account.role != "administrator", account.name)
            ),
        )
        for org in organizations
    ]
