"""Apps: create, rename, delete, and their authorization settings."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from .. import app_names
from ..extensions import db
from ..livechat.catalog import SCOPE_NAMES
from ..livechat.configuration import LiveChatError
from ..models import App, User
from ..sandbox_client import SandboxProvisioner
from . import audit

# What a new app asks for: the webhook scopes. The sandbox's client gets exactly these, so its
# consent screen asks for what the Authorization page shows ticked.
DEFAULT_SCOPES = tuple(SCOPE_NAMES[:3])


class AppError(ValueError):
    """A change the console refuses; the message says why and what to do."""


def list_apps() -> list[App]:
    return list(db.session.execute(db.select(App).order_by(App.name_key)).scalars())


def _lookalike(name: str, exclude_id: int | None = None) -> App | None:
    """The app whose name looks the same as this one, if there is one."""
    query = db.select(App).where(App.name_key == app_names.name_key(name))
    if exclude_id is not None:
        query = query.where(App.id != exclude_id)
    return db.session.execute(query).scalars().first()


def _check_name(name: str, exclude_id: int | None = None) -> None:
    problem = app_names.problem(name)
    if problem:
        raise AppError(problem)
    if not app_names.name_key(name):
        raise AppError("Give the app a name.")
    existing = _lookalike(name, exclude_id)
    if existing is None:
        return
    if existing.name.lower() == name.lower():
        raise AppError(f"An app named “{existing.name}” already exists. Choose another name.")
    raise AppError(
        f"This name looks the same as “{existing.name}”, an app you already have. "
        "Choose a different name."
    )


def _flush_name() -> None:
    """Flush, turning a lost race for a unique name key into a message."""
    try:
        db.session.flush()
    except IntegrityError as exc:
        raise AppError(
            "An app with this name, or one that looks the same, was saved at the same moment. "
            "Choose a different name."
        ) from exc


def create(actor: User, name: str) -> App:
    _check_name(name)
    app = App(name=name, created_by_id=actor.id, scopes=list(DEFAULT_SCOPES))
    db.session.add(app)
    _flush_name()
    audit.record(actor, "app.created", name)
    return app


def provision(
    actor: User, app_id: int, app_name: str, install_url: str, provisioner: SandboxProvisioner
) -> bool:
    """Fill in what the sandbox issues for a new app, so nobody copies IDs around.

    Call it with no transaction open: the sandbox answers first, then the row is read.
    """
    try:
        provisioned = provisioner.provision_app(app_name, [install_url], list(DEFAULT_SCOPES))
    except LiveChatError:
        return False
    app = db.session.get(App, app_id)
    if app is None:
        return False
    app.client_id = provisioned.client_id
    app.set_client_secret(provisioned.client_secret)
    app.developer_account_id = provisioned.account_id
    app.set_developer_token(provisioned.personal_access_token)
    app.direct_install_url = install_url
    app.redirect_uris = [install_url]
    audit.record(actor, "app.provisioned", app.name, client_id=provisioned.client_id)
    return True


def sync_to_sandbox(
    client_id: str, scopes: list[str], redirect_uris: list[str], provisioner: SandboxProvisioner
) -> str | None:
    """Give the sandbox's client the app's scopes and redirect addresses, as a person would
    in the Developer Console. Returns why that failed, or None. Call it with no transaction
    open."""
    try:
        provisioner.update_client(client_id, scopes, redirect_uris)
    except LiveChatError as exc:
        return exc.message
    return None


def rename(actor: User, app: App, name: str) -> None:
    if name == app.name:
        return
    _check_name(name, exclude_id=app.id)
    audit.record(actor, "app.renamed", name, before=app.name)
    app.name = name
    _flush_name()


def delete(actor: User, app: App, confirm_name: str) -> None:
    if confirm_name != app.name:
        raise AppError(f"Type the app's name exactly (“{app.name}”) to delete it.")
    audit.record(actor, "app.deleted", app.name)
    db.session.delete(app)


def update_authorization(
    actor: User,
    app: App,
    *,
    client_id: str,
    client_secret: str | None,
    scopes: list[str],
    direct_install_url: str,
    redirect_uris: list[str],
    api_version: str,
) -> None:
    changed = []
    for field, value in (
        ("client_id", client_id),
        ("scopes", scopes),
        ("direct_install_url", direct_install_url),
        ("redirect_uris", redirect_uris),
        ("api_version", api_version),
    ):
        if getattr(app, field) != value:
            changed.append(field)
            setattr(app, field, value)
    if client_secret:
        app.set_client_secret(client_secret)
        changed.append("client_secret")
    if changed:
        audit.record(actor, "app.authorization_updated", app.name, fields=changed)


def update_developer_credential(actor: User, app: App, account_id: str, token: str | None) -> None:
    changed = []
    if app.developer_account_id != account_id:
        app.developer_account_id = account_id
        changed.append("account_id")
    if token:
        app.set_developer_token(token)
        changed.append("token")
    if changed:
        audit.record(actor, "app.developer_credential_updated", app.name, fields=changed)
