"""Private installation: "Install app" starts LiveChat's sign-in in a popup, the Direct
installation URL finishes it, and a status endpoint tells the page behind it what happened.

The start is a POST (CSRF-checked, writes nothing to the database) whose answer redirects to
LiveChat; the page's script opens a named popup and the form targets it. Without the script
the form posts in this tab: LiveChat's sign-in comes back to the "Installed" page, which leads
on to Install & test.
"""

from __future__ import annotations

import hmac
import logging
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from ..crypto import SecretUnavailable, keyring
from ..database import writes_on_get
from ..extensions import db
from ..livechat.accounts import AccountsError, AuthorizationStart
from ..models import App, Installation
from ..services import installation as installs
from . import presenters
from .auth import background_poll, editor_required, login_required
from .forms.confirm import ConfirmForm
from .headers import no_store

bp = Blueprint("install", __name__, url_prefix="/apps")
log = logging.getLogger("consoleapp.install")

PENDING_KEY = "livechat_signins"
# Unfinished sign-ins kept in the cookie; older ones are dropped so it stays small.
MAX_PENDING = 5
EXPIRED = "Sign-in expired or was started elsewhere; start again."
FAILED = "LiveChat sign-in failed, try again."
NOT_INSTALLED = "LiveChat did not install the app. Start again."
DENIED = {
    "access_denied": "You chose Deny on LiveChat's page, so the app was not installed. "
    "Start again and choose Allow to install it.",
    "invalid_scope": "LiveChat refused the app's scopes for this account. Sign in as an "
    "administrator of the license, or check the app's scopes.",
}


def _endpoints() -> installs.Endpoints:
    config = current_app.config
    return installs.Endpoints(
        config["LIVECHAT_ACCOUNTS_URL"], config["LIVECHAT_API_URL"], config["LIVECHAT_API_TIMEOUT"]
    )


def _remember(app_id: int, begin: AuthorizationStart) -> None:
    """Keep the state and (sealed) PKCE verifier for the callback, in the signed session."""
    sealed = keyring().seal(f"pkce:{begin.state}", begin.code_verifier).decode()
    pending = list(session.get(PENDING_KEY, []))[-(MAX_PENDING - 1) :]
    session[PENDING_KEY] = [*pending, [app_id, begin.state, sealed]]


def _take(app_id: int, state: str) -> str | None:
    """The verifier of a sign-in this browser started for this app; the state is used up."""
    pending = list(session.get(PENDING_KEY, []))
    wanted = state.encode()  # bytes: compare_digest refuses non-ASCII text
    match = next((p for p in pending if state and hmac.compare_digest(p[1].encode(), wanted)), None)
    if match is None:
        return None
    pending.remove(match)
    session[PENDING_KEY] = pending
    if match[0] != app_id:
        return None
    try:
        return keyring().open(f"pkce:{state}", match[2].encode())
    except SecretUnavailable:
        return None


def _problem(app: App, status: int, title: str, message: str) -> tuple[str, int]:
    page = render_template(
        "install/problem.html", app=app, title=title, message=message, form=ConfirmForm()
    )
    return page, status


@bp.post("/<int:app_id>/install/start")
@editor_required
def start_install(app_id: int) -> Any:
    app = db.get_or_404(App, app_id)
    reason = installs.not_ready_reason(app)
    if reason:
        flash(reason, "error")
        return redirect(url_for(".connection", app_id=app_id))
    client = installs.accounts_client(installs.AppSnapshot.of(app), _endpoints())
    begin = client.authorization_url()
    _remember(app_id, begin)
    return redirect(begin.url)


def _not_finished(app: App, verifier: str | None) -> tuple[str, int] | None:
    """Why the sign-in LiveChat sent the browser back from cannot be finished, as the page
    that says so; None when it can."""
    error = request.args.get("error")
    if error:
        return _problem(app, 400, "Not installed", DENIED.get(error, NOT_INSTALLED))
    if verifier is None or g.user is None or not request.args.get("code"):
        return _problem(app, 400, "Sign-in expired", EXPIRED)
    return None


def _sign_in_failed(app: App, exc: AccountsError) -> tuple[str, int]:
    db.session.rollback()
    log.warning("LiveChat sign-in failed: %s", exc.type)
    status = 503 if exc.type in {"request_timeout", "connection"} else 502
    return _problem(app, status, "Sign-in failed", FAILED)


@bp.get("/<int:app_id>/install/callback")
@writes_on_get  # LiveChat sends the browser back here with the code to exchange
def callback(app_id: int) -> Any:
    app = db.get_or_404(App, app_id)
    verifier = _take(app_id, request.args.get("state", ""))
    if problem := _not_finished(app, verifier):
        return problem
    if not g.user.role_enum.can_change:
        abort(403)
    try:
        row = installs.finish(g.user, app, request.args["code"], verifier, _endpoints())
    except AccountsError as exc:
        return _sign_in_failed(app, exc)
    db.session.commit()
    return render_template("install/done.html", app=app, installation=row)


@bp.get("/<int:app_id>/install/status")
@login_required
@background_poll
@no_store
def status(app_id: int) -> Any:
    app = db.get_or_404(App, app_id)
    return jsonify(presenters.installation_json(installs.status(app)))


@bp.get("/<int:app_id>/install/connection")
@login_required
def connection(app_id: int) -> Any:
    app = db.get_or_404(App, app_id)
    return render_template(
        "install/connection.html",
        app=app,
        installations=installs.installations_of(app),
        not_ready=installs.not_ready_reason(app),
        form=ConfirmForm(),
    )


def _installation(app_id: int, uid: str) -> Installation:
    row = installs.get_installation(app_id, uid)
    if row is None:
        abort(404)
    return row


@bp.get("/<int:app_id>/install/<uid>/disconnect")
@editor_required
def confirm_disconnect(app_id: int, uid: str) -> Any:
    row = _installation(app_id, uid)
    return render_template(
        "install/disconnect.html", app=row.app, installation=row, form=ConfirmForm()
    )


@bp.post("/<int:app_id>/install/<uid>/disconnect")
@editor_required
def disconnect(app_id: int, uid: str) -> Any:
    row = _installation(app_id, uid)
    revoked = installs.disconnect(g.user, row, _endpoints())
    db.session.commit()
    if revoked:
        flash("LiveChat disconnected: the app's sign-in was revoked.", "success")
    else:
        flash(
            "Disconnected here, but LiveChat did not confirm the revoke. Remove the app from "
            "the license in LiveChat if it still shows there.",
            "warning",
        )
    return redirect(url_for(".connection", app_id=app_id))


@bp.post("/<int:app_id>/install/<uid>/check")
@editor_required
def check(app_id: int, uid: str) -> Any:
    row = _installation(app_id, uid)
    try:
        enabled = installs.check_webhooks(row.id, _endpoints())
    except installs.ReauthNeeded as exc:
        flash(str(exc), "error")
    except AccountsError as exc:
        flash(exc.plain, "error")
    else:
        flash(WEBHOOK_MESSAGES[enabled], "success" if enabled else "warning")
    return redirect(url_for(".connection", app_id=app_id))


WEBHOOK_MESSAGES = {
    True: "The license's webhooks are on.",
    False: "The license's webhooks are off.",
    None: "LiveChat did not say whether the license's webhooks are on. Try again.",
}
