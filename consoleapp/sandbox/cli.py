"""``flask --app wsgi sandbox ...``: credentials and a clean slate, printed as JSON."""

from __future__ import annotations

import json
from typing import Any

import click
from flask import Flask
from flask.cli import AppGroup

from ..extensions import db
from ..livechat.redirect_uris import RedirectUriError, check_entry
from .accounts import models
from .accounts.credentials import DEFAULT_PAT_SCOPES, create_client, create_pat, is_scope
from .accounts.seed import administrator_of, ensure_seeded, first_organization

sandbox_cli = AppGroup("sandbox", help="Manage the built-in LiveChat sandbox.")


def _echo(data: dict[str, Any]) -> None:
    click.echo(json.dumps(data, indent=2))


@sandbox_cli.command("create-client")
@click.option("--redirect-uri", "redirect_uris", multiple=True, help="A whitelist entry.")
@click.option("--name", default="Sandbox app", show_default=True)
@click.option("--scope", "scopes", multiple=True, help="A scope the app may ask for.")
def create_client_command(
    redirect_uris: tuple[str, ...], name: str, scopes: tuple[str, ...]
) -> None:
    """Create an app's Client ID and secret, owned by the first organization."""
    for uri in redirect_uris:
        try:
            check_entry(uri)
        except RedirectUriError as exc:
            raise click.BadParameter(str(exc), param_hint="--redirect-uri") from exc
    for scope in scopes:
        if not is_scope(scope):
            raise click.BadParameter(f"{scope!r} is not a scope name", param_hint="--scope")
    organization = first_organization()
    issued = create_client(organization.id, name, list(redirect_uris), list(scopes) or None)
    db.session.commit()
    _echo(
        {
            "client_id": issued.client.id,
            "client_secret": issued.secret,
            "organization_id": organization.id,
            "redirect_uris": issued.client.redirect_uris,
            "scopes": issued.client.scopes,
        }
    )


@sandbox_cli.command("create-pat")
@click.option("--scopes", "scopes", multiple=True, help="Scopes (repeat, or separate with commas).")
def create_pat_command(scopes: tuple[str, ...]) -> None:
    """Create a Personal Access Token of the first organization's administrator."""
    names = [name for value in scopes for name in value.replace(",", " ").split()]
    for name in names:
        if not is_scope(name):
            raise click.BadParameter(f"{name!r} is not a scope name", param_hint="--scopes")
    organization = first_organization()
    pat = create_pat(administrator_of(organization), names or list(DEFAULT_PAT_SCOPES))
    db.session.commit()
    data = pat.as_dict()
    data["organization_id"] = organization.id
    data["scopes"] = names or list(DEFAULT_PAT_SCOPES)
    _echo(data)


def reset_tables() -> None:
    """Empty every ``sandbox_`` table, children before parents, and seed again."""
    for table in reversed(db.metadata.sorted_tables):
        if table.name.startswith("sandbox_"):
            db.session.execute(table.delete())
    ensure_seeded()


@sandbox_cli.command("reset")
def reset_command() -> None:
    """Empty the sandbox's tables and seed the standing organizations again."""
    reset_tables()
    db.session.commit()
    _echo({"reset": True, "organizations": [org.id for org in _organizations()]})


def _organizations() -> list[models.SandboxOrganization]:
    return list(
        db.session.execute(
            db.select(models.SandboxOrganization).order_by(models.SandboxOrganization.license_id)
        ).scalars()
    )


def init_app(app: Flask) -> None:
    app.cli.add_command(sandbox_cli)
