"""First run, sign-in, sign-out, invitation and password reset links, and the role checks every
view uses.

Sessions live on the server (services/sessions.py). Flask-Login does the plumbing with its
alternative-token pattern: the id it keeps in the signed cookie is the session's random token,
and the user loader finds the session by the token's hash, checks that it is still open, and
returns its user. ``g.user`` is that user, or None, on every request.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
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
from flask_login import current_user, login_user, logout_user

from ..database import writing
from ..extensions import db, limiter, login_manager
from ..models import Role, User
from ..services import passwords, sessions, users
from .errors import wants_json
from .forms.auth import AcceptInvitationForm, LoginForm, PasswordResetForm, SetupForm
from .forms.confirm import ConfirmForm

bp = Blueprint("auth", __name__)

SIGNED_OUT = "You were signed out. Reload the page to sign in."
SESSION_ENDED = "Your session has ended. Sign in again to continue."
PASSWORD_RESET_DONE = (
    "Your password is changed and every session of the account ended. Sign in with the new "
    "password."
)


def background_poll(view: Callable[..., Any]) -> Callable[..., Any]:
    """Marks a JSON endpoint that page scripts poll: it does not count as activity.

    Otherwise an open tab would keep its session alive forever. Page loads and form posts count.
    """
    view.background_poll = True  # type: ignore[attr-defined]
    return view


def without_sign_in(view: Callable[..., Any]) -> Callable[..., Any]:
    """Marks a view that authenticates its callers itself (the receiver, by secret key): no
    signed-in session is looked up for it, whatever cookies come along."""
    view.without_sign_in = True  # type: ignore[attr-defined]
    return view


def is_background_poll() -> bool:
    view = current_app.view_functions.get(request.endpoint or "")
    return bool(getattr(view, "background_poll", False))


def lifetimes() -> sessions.Lifetimes:
    return sessions.Lifetimes.from_config(current_app.config)


@login_manager.user_loader
def load_session_user(token: str) -> User | None:
    found = sessions.resume(token, lifetimes(), activity=not is_background_poll())
    if found.needs_write:
        # Nothing of the view has run yet; on a page read this is its one, short, write.
        with writing():
            sessions.record(found)
            db.session.commit()
    row = found.session
    user = row.user if row is not None else None
    g.user_session_id = row.id if row is not None else None
    if user is not None:
        user.session_token = token
    return user


def load_signed_in_user() -> None:
    g.user = None
    g.user_session_id = None
    if request.endpoint == "static" or "_user_id" not in session:
        return
    view = current_app.view_functions.get(request.endpoint or "")
    if getattr(view, "without_sign_in", False):
        return
    user = current_user._get_current_object()
    if not user.is_authenticated:
        # Signed out elsewhere, expired, or the account was removed: forget the dead token.
        session.clear()
        flash(SESSION_ENDED, "warning")
        return
    g.user = user


def login_required(view: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(view)
    def wrapped(**kwargs: Any) -> Any:
        if g.user is None:
            if is_background_poll() or wants_json():
                # Page scripts stop polling on this and tell the person to reload.
                return jsonify(error={"status": 401, "message": SIGNED_OUT}), 401
            if not users.has_users():
                return redirect(url_for("auth.setup"))
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return view(**kwargs)

    return wrapped


def editor_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Owners and admins may change things; viewers get 403 on every such route."""

    @login_required
    @functools.wraps(view)
    def wrapped(**kwargs: Any) -> Any:
        if not g.user.role_enum.can_change:
            abort(403)
        return view(**kwargs)

    return wrapped


def safe_next(target: str | None) -> str:
    # Control characters: browsers drop tabs and newlines ("/\t/evil" becomes "//evil"), and a
    # line break cannot go into the Location header at all.
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and not any(ord(ch) < 32 or ord(ch) == 127 for ch in target)
    ):
        parts = urlsplit(target)
        if parts.netloc == "" and parts.scheme == "" and "\\" not in target:
            return target
    return url_for("apps.list_apps")


def start_session(user: User) -> None:
    """Open a server-side session for ``user`` and put its token in this browser's cookie."""
    token = sessions.start(
        user, lifetimes(), request.headers.get("User-Agent", ""), request.remote_addr
    )
    db.session.commit()
    session.clear()
    session.permanent = False
    user.session_token = token
    login_user(user, remember=False)
    session.pop("_id", None)  # a hash of IP and browser, used only by session_protection
    g.user = user


def end_this_session() -> None:
    if g.get("user_session_id") is not None:
        sessions.end(g.user_session_id)
        db.session.commit()
    logout_user()
    session.clear()
    g.user = None
    g.user_session_id = None


@bp.route("/setup", methods=["GET", "POST"])
def setup():
    if users.has_users():
        abort(404)
    form = SetupForm()
    if form.validate_on_submit():
        try:
            user = users.create_owner(form.email.data, form.password.data)
        except users.UserError as exc:
            flash(str(exc), "error")
            return redirect(url_for("auth.login"))
        db.session.commit()
        start_session(user)
        flash("Welcome. Your owner account is ready. Next: create your first app.", "success")
        # The first run has no app yet: its next step is making one.
        return redirect(url_for("apps.new_app"))
    return render_template("auth/setup.html", form=form), 200 if not form.errors else 422


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def login():
    if not users.has_users():
        return redirect(url_for("auth.setup"))
    if g.user is not None:
        return redirect(safe_next(request.args.get("next")))
    form = LoginForm()
    if form.validate_on_submit():
        user = users.authenticate(form.email.data, form.password.data)
        if user is not None:
            db.session.commit()
            start_session(user)
            return redirect(safe_next(request.args.get("next")))
        form.password.errors.append("Email or password is not right. Check both and try again.")
    status = 422 if form.errors else 200
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
def logout():
    # CSRFProtect has already checked the form's token.
    return _signed_out("You are signed out.")


def _signed_out(message: str):
    """End this browser's session and send it to the sign-in page, saying ``message``."""
    end_this_session()
    flash(message, "success")
    return redirect(url_for("auth.login"))


@bp.route("/invitations/<token>", methods=["GET", "POST"])
def accept_invitation(token: str):
    invitation = users.open_invitation(token)
    if invitation is None:
        return render_template("auth/invitation_invalid.html"), 404
    form = AcceptInvitationForm()
    if not form.validate_on_submit():
        status = 422 if form.errors else 200
        return render_template("auth/accept.html", form=form, invitation=invitation), status
    try:
        user = users.accept_invitation(invitation, form.password.data)
    except users.UserError as exc:
        flash(str(exc), "error")
        return redirect(url_for("auth.login"))
    return _welcome(user, "Welcome to the team.")


def _welcome(user: User, message: str):
    """A new account is saved: sign it in on this browser and show it the apps."""
    db.session.commit()
    start_session(user)
    flash(message, "success")
    return redirect(url_for("apps.list_apps"))


@bp.route("/password-reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    check = passwords.check_reset(token)
    if check.problem is not None:
        return _reset_refused(check.problem)
    form = PasswordResetForm()
    if not form.validate_on_submit():
        status = 422 if form.errors else 200
        return render_template("auth/password_reset.html", form=form, reset=check.reset), status
    problem = passwords.reset_password(check.reset, form.password.data)
    if problem is not None:
        db.session.rollback()
        return _reset_refused(problem)
    db.session.commit()
    # Whoever was signed in in this browser signs in again, with the new password.
    return _signed_out(PASSWORD_RESET_DONE)


def _reset_refused(problem: passwords.ResetProblem):
    status = 404 if problem is passwords.ResetProblem.UNKNOWN else 410
    return render_template("auth/password_reset_invalid.html", problem=problem.name), status


@bp.get("/")
def index():
    if not users.has_users():
        return redirect(url_for("auth.setup"))
    if g.user is None:
        return redirect(url_for("auth.login"))
    return redirect(url_for("apps.list_apps"))


def init_app(app: Flask) -> None:
    # The session row is the record of truth: no fingerprint checks, no remember-me cookie.
    login_manager.session_protection = None
    login_manager.init_app(app, add_context_processor=False)
    app.before_request(load_signed_in_user)

    @app.context_processor
    def inject_user() -> dict[str, Any]:
        user = g.get("user")
        return {
            "current_user": user,
            "can_change": bool(user and user.role_enum.can_change),
            "is_owner": bool(user and user.role_enum is Role.OWNER),
            "signout_form": ConfirmForm(),
            "livechat_mode": app.config["LIVECHAT_MODE"],
            "sandbox_nav": "sandbox.overview" in app.view_functions,
        }
