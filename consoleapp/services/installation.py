"""Installing an app on a LiveChat license: finishing the sign-in, keeping its access token
fresh, checking the license's webhook state, disconnecting.

No database transaction stays open during a call to LiveChat (SQLite takes its write lock at
BEGIN), the token refresh included: a lease on the installation row lets one caller refresh
while the others, in any process, wait for its result.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, update

from ..extensions import db
from ..livechat.accounts import AccountsClient, AccountsError, TokenSet
from ..livechat.configuration import ConfigurationApi, Credential, LiveChatError
from ..models import App, Installation, User, utcnow
from . import audit

log = logging.getLogger("consoleapp.installation")

# Refresh a little before LiveChat's expiry, so a token does not run out mid-request.
EXPIRY_MARGIN = timedelta(seconds=60)


class ReauthNeeded(Exception):
    """LiveChat refused the refresh token: someone must sign in with LiveChat again."""

    message = "LiveChat no longer accepts this installation's sign-in. Reconnect LiveChat."


@dataclass(frozen=True)
class Endpoints:
    accounts_url: str
    api_url: str
    # Seconds to connect and to read a call to the Configuration API.
    api_timeout: tuple[float, float] = (5.0, 15.0)


@dataclass(frozen=True)
class AppSnapshot:
    """What the calls to LiveChat need, read before the transaction ends."""

    id: int
    name: str
    client_id: str
    client_secret: str
    redirect_uri: str
    api_version: str

    @classmethod
    def of(cls, app: App) -> AppSnapshot:
        return cls(
            id=app.id,
            name=app.name,
            client_id=app.client_id or "",
            client_secret=app.client_secret or "",
            redirect_uri=app.direct_install_url or "",
            api_version=app.api_version,
        )


def accounts_client(app: AppSnapshot, endpoints: Endpoints) -> AccountsClient:
    return AccountsClient(
        endpoints.accounts_url, app.client_id, app.client_secret, app.redirect_uri
    )


def not_ready_reason(app: App) -> str | None:
    """Why the app cannot be installed yet, in words a person can act on."""
    if not app.authorization_complete:
        return "Fill in the app's Client ID, secret and Direct installation URL first."
    if not app.secret_readable("client_secret"):
        return "The saved Client Secret can no longer be read. Enter it again."
    return None


# -- finishing an install -------------------------------------------------------------------


def _webhooks_state(app: AppSnapshot, endpoints: Endpoints, access_token: str) -> bool | None:
    """The license's webhook state, enabled first if it was off; None when LiveChat did not say.

    Disabling is sticky across reinstalls, so an install that finds it off turns it on.
    """
    api = ConfigurationApi(
        endpoints.api_url,
        app.api_version,
        Credential.bearer(access_token),
        timeout=endpoints.api_timeout,
    )
    try:
        if api.get_license_webhooks_state():
            return True
        api.enable_license_webhooks()
        return True
    except LiveChatError as exc:
        log.warning("license webhook state check failed: %s", exc.type)
        return None


def finish(
    actor: User, app: App, code: str, code_verifier: str, endpoints: Endpoints
) -> Installation:
    """Exchange the code, check the license's webhooks, then store everything in one go.

    Raises ``AccountsError`` when LiveChat refuses the code; nothing is stored then.
    """
    snapshot = AppSnapshot.of(app)
    actor_id = actor.id
    db.session.rollback()  # end the read transaction before calling LiveChat
    tokens = accounts_client(snapshot, endpoints).exchange_code(code, code_verifier, utcnow())
    webhooks_enabled = _webhooks_state(snapshot, endpoints, tokens.access_token)
    return _store(actor_id, snapshot, tokens, webhooks_enabled)


def _store(
    actor_id: int, app: AppSnapshot, tokens: TokenSet, webhooks_enabled: bool | None
) -> Installation:
    row = db.session.execute(
        db.select(Installation).where(
            Installation.app_id == app.id,
            Installation.organization_id == tokens.organization_id,
        )
    ).scalar_one_or_none()
    now = utcnow()
    if row is None:
        row = Installation(app_id=app.id, organization_id=tokens.organization_id)
        db.session.add(row)
        db.session.flush()  # the row's uid seals its tokens
    _apply(row, tokens)
    row.installed_at = now
    row.uninstalled_at = None
    row.webhooks_enabled = webhooks_enabled
    row.webhooks_checked_at = now if webhooks_enabled is not None else None
    audit.record(
        db.session.get(User, actor_id),
        "app.installed",
        app.name,
        organization_id=tokens.organization_id,
        webhooks_enabled=webhooks_enabled,
    )
    db.session.flush()
    return row


def _apply(row: Installation, tokens: TokenSet) -> None:
    row.access_token = tokens.access_token
    if tokens.refresh_token:
        row.refresh_token = tokens.refresh_token
    row.expires_at = tokens.expires_at
    row.scopes = tokens.scope
    if tokens.account_id:
        row.account_id = tokens.account_id
    row.needs_reauth = False


# -- a valid access token ------------------------------------------------------------------


def _expired(row: Installation, now: datetime) -> bool:
    return row.expires_at is not None and row.expires_at <= now + EXPIRY_MARGIN


# One caller refreshes while the others wait, across threads, processes and machines: the
# installation row carries a short lease that a conditional UPDATE takes.
REFRESH_LEASE = timedelta(seconds=30)
REFRESH_WAIT_SECONDS = 30.0
_POLL_SECONDS = 0.05


def _fresh_row(installation_id: int) -> Installation:
    """Read the row afresh, seeing what another caller's refresh just wrote."""
    return db.session.execute(
        db.select(Installation)
        .where(Installation.id == installation_id)
        .execution_options(populate_existing=True)
    ).scalar_one()


def _take_refresh(installation_id: int, now: datetime) -> bool:
    taken = db.session.execute(
        update(Installation)
        .where(
            Installation.id == installation_id,
            or_(Installation.refreshing_until.is_(None), Installation.refreshing_until < now),
        )
        .values(refreshing_until=now + REFRESH_LEASE)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return taken == 1


def access_token(installation_id: int, endpoints: Endpoints) -> str:
    """A usable access token, refreshed exactly once however many callers find it expired,
    in however many processes.

    The caller that takes the row's refresh lease refreshes, with no transaction open during
    the call; the others wait for the lease to end and use the token it saved. A caller that
    died holding the lease only delays the next refresh until the lease runs out. Commits.
    """
    waited_until = time.monotonic() + REFRESH_WAIT_SECONDS
    while True:
        db.session.rollback()  # begin afresh: see what other callers committed
        row = _fresh_row(installation_id)
        if row.needs_reauth:
            db.session.commit()
            raise ReauthNeeded(ReauthNeeded.message)
        now = utcnow()
        if not _expired(row, now):
            token = row.access_token
            db.session.commit()
            return token
        client = accounts_client(AppSnapshot.of(row.app), endpoints)
        refresh_token = row.refresh_token or ""
        if _take_refresh(installation_id, now):
            break
        if time.monotonic() > waited_until:
            raise AccountsError("request_timeout", "another refresh of this sign-in is stuck")
        time.sleep(_POLL_SECONDS)
    try:
        tokens = client.refresh(refresh_token, now)
    except AccountsError as exc:
        db.session.rollback()
        row = _fresh_row(installation_id)
        row.refreshing_until = None
        if exc.invalid_grant or exc.type == "unauthorized_client":
            # Refreshing again cannot help; wait for a person instead of looping.
            row.needs_reauth = True
            db.session.commit()
            log.warning("refresh refused (%s); installation needs a new sign-in", exc.type)
            raise ReauthNeeded(ReauthNeeded.message) from None
        db.session.commit()
        raise
    row = _fresh_row(installation_id)
    _apply(row, tokens)
    row.refreshing_until = None
    token = row.access_token
    db.session.commit()
    return token


def check_webhooks(installation_id: int, endpoints: Endpoints) -> bool | None:
    """Ask LiveChat again for the license's webhook state (enabling it if off). Commits."""
    token = access_token(installation_id, endpoints)
    row = db.get_or_404(Installation, installation_id)
    snapshot = AppSnapshot.of(row.app)
    db.session.rollback()
    enabled = _webhooks_state(snapshot, endpoints, token)
    row = db.get_or_404(Installation, installation_id)
    if enabled is not None:
        row.webhooks_enabled = enabled
        row.webhooks_checked_at = utcnow()
    db.session.commit()
    return enabled


# -- disconnecting -------------------------------------------------------------------------


def disconnect(actor: User, installation: Installation, endpoints: Endpoints) -> bool:
    """Revoke the tokens at LiveChat, then delete the row even if the revoke failed.

    Returns whether LiveChat confirmed the revoke. The caller commits.
    """
    installation_id, actor_id = installation.id, actor.id
    snapshot = AppSnapshot.of(installation.app)
    # The refresh token outlives the access token, and revoking it takes its pair along.
    token = installation.refresh_token or installation.access_token
    organization_id = installation.organization_id
    db.session.rollback()
    revoked = False
    if token:
        try:
            accounts_client(snapshot, endpoints).revoke(token)
            revoked = True
        except AccountsError as exc:
            log.warning("revoking the installation's token failed: %s", exc.type)
    row = db.session.get(Installation, installation_id)
    if row is not None:
        db.session.delete(row)
    audit.record(
        db.session.get(User, actor_id),
        "app.disconnected",
        snapshot.name,
        organization_id=organization_id,
        revoked=revoked,
    )
    db.session.flush()
    return revoked


# -- status --------------------------------------------------------------------------------


def installations_of(app: App) -> list[Installation]:
    return list(
        db.session.execute(
            db.select(Installation)
            .where(Installation.app_id == app.id)
            .order_by(Installation.installed_at.desc(), Installation.id.desc())
        ).scalars()
    )


def current_installation(app_id: int) -> Installation | None:
    """The app's latest installation that was not uninstalled."""
    query = (
        db.select(Installation)
        .where(Installation.app_id == app_id, Installation.uninstalled_at.is_(None))
        .order_by(Installation.installed_at.desc(), Installation.id.desc())
        .limit(1)
    )
    return db.session.execute(query).scalar_one_or_none()


def get_installation(app_id: int, uid: str) -> Installation | None:
    return db.session.execute(
        db.select(Installation).filter_by(app_id=app_id, uid=uid)
    ).scalar_one_or_none()


@dataclass(frozen=True)
class InstallStatus:
    """What the page behind the install popup waits for."""

    app_id: int
    installations: list[Installation]

    @property
    def installed(self) -> bool:
        return any(not row.needs_reauth for row in self.installations)

    @property
    def needs_reauth(self) -> bool:
        return any(row.needs_reauth for row in self.installations)

    @property
    def webhooks_enabled(self) -> bool:
        return any(row.webhooks_enabled for row in self.installations)


def status(app: App) -> InstallStatus:
    return InstallStatus(app.id, installations_of(app))
