"""Your account: open sessions, "Sign out everywhere else", and changing your password.

Every role may use these pages: they concern only the signed-in account itself.
"""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, url_for

from ..extensions import db, limiter
from ..services import passwords, sessions
from .auth import lifetimes, login_required
from .forms.account import ChangePasswordForm
from .forms.confirm import ConfirmForm

bp = Blueprint("account", __name__)


def _account_page(password_form: ChangePasswordForm | None = None, status: int = 200):
    return render_template(
        "account/show.html",
        sessions=sessions.open_sessions(g.user.id, lifetimes()),
        current_session_id=g.user_session_id,
        lifetimes=lifetimes(),
        password_form=password_form or ChangePasswordForm(formdata=None),
        confirm_form=ConfirmForm(formdata=None),
    ), status


@bp.get("/account")
@login_required
def show_account():
    return _account_page()


@bp.post("/account/password")
@limiter.limit("10 per minute")
@login_required
def change_password():
    form = ChangePasswordForm()
    if not form.validate_on_submit():
        return _account_page(form, 422)
    try:
        ended = passwords.change_password(
            g.user, form.current_password.data, form.new_password.data, g.user_session_id
        )
    except passwords.PasswordError as exc:
        form[exc.field].errors.append(str(exc))
        return _account_page(form, 422)
    db.session.commit()
    flash(f"Your password is changed. {_ended_elsewhere(ended)}", "success")
    return redirect(url_for("account.show_account"))


@bp.post("/account/sessions/end-others")
@login_required
def end_other_sessions():
    ended = sessions.end_other_sessions(g.user, keep=g.user_session_id)
    db.session.commit()
    flash(_ended_elsewhere(ended) if ended else "No other sessions were open.", "success")
    return redirect(url_for("account.show_account"))


def _ended_elsewhere(count: int) -> str:
    if count == 0:
        return "You were not signed in anywhere else."
    sessions_word = "session" if count == 1 else "sessions"
    return f"{count} other {sessions_word} signed out."
