"""First run, sign-in, sign-out, invitation links, and the role checks every view uses."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from ..extensions import db, limiter
from ..forms import AcceptInvitationForm, ConfirmForm, LoginForm, SetupForm
from ..models import Role, User
from ..services import users

bp = Blueprint("auth", __name__)


def load_signed_in_user() -> None:
    g.user = None
    user_id = session.get("user_id")
    if user_id is None:
        return
    user = db.session.get(User, user_id)
    if user is None:
        # The account was removed while this session was open.
        session.clear()
        return
    g.user = user


def login_required(view: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(view)
    def wrapped(**kwargs: Any) -> Any:
        if g.user is None:
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
    session.clear()
    session["user_id"] = user.id
    session.permanent = False


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
        flash("Welcome. Your owner account is ready. Create your first app.", "success")
        return redirect(url_for("apps.list_apps"))
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
    session.clear()
    flash("You are signed out.", "success")
    return redirect(url_for("auth.login"))


@bp.route("/invitations/<token>", methods=["GET", "POST"])
def accept_invitation(token: str):
    invitation = users.open_invitation(token)
    if invitation is None:
        return render_template("auth/invitation_invalid.html"), 404
    form = AcceptInvitationForm()
    if form.validate_on_submit():
        try:
            user = users.accept_invitation(invitation, form.password.data)
        except users.UserError as exc:
            flash(str(exc), "error")
            return redirect(url_for("auth.login"))
        db.session.commit()
        start_session(user)
        flash("Welcome to the team.", "success")
        return redirect(url_for("apps.list_apps"))
    status = 422 if form.errors else 200
    return render_template("auth/accept.html", form=form, invitation=invitation), status


@bp.get("/")
def index():
    if not users.has_users():
        return redirect(url_for("auth.setup"))
    if g.user is None:
        return redirect(url_for("auth.login"))
    return redirect(url_for("apps.list_apps"))


def init_app(app: Flask) -> None:
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
