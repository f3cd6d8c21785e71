"""Team: teammates, their roles, and invitation links."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, url_for

from ..extensions import db
from ..models import Invitation, Role, User
from ..services import passwords, sessions, users
from .auth import editor_required, lifetimes, login_required
from .forms.confirm import ConfirmForm
from .forms.team import InviteForm, RoleForm
from .headers import no_store

bp = Blueprint("team", __name__, url_prefix="/team")

INVITATION_CREATED = (
    "Invitation for {email} created. Copy the link below now: it is shown only once and works "
    "for 7 days."
)
RESET_LINK_CREATED = (
    "Password reset link for {email} created. Copy it below now: it is shown only once, works "
    "once, and expires in 1 hour."
)


def _team_page(
    invite_form: InviteForm | None = None,
    invite_link: str | None = None,
    status: int = 200,
    reset_link: tuple[str, str] | None = None,
):
    return render_template(
        "team/list.html",
        users=users.list_users(),
        invitations=users.list_invitations(),
        invite_form=invite_form or InviteForm(formdata=None),
        role_form=RoleForm(formdata=None),
        confirm_form=ConfirmForm(formdata=None),
        invite_link=invite_link,
        reset_link=reset_link,
    ), status


@bp.get("/")
@login_required
def list_team():
    return _team_page()


@bp.post("/invitations")
@editor_required
@no_store
def invite_teammate():
    form = InviteForm()
    if not form.validate_on_submit():
        return _team_page(form, status=422)
    try:
        invitation, token = users.invite(g.user, form.email.data, Role(form.role.data))
    except users.UserError as exc:
        form.email.errors.append(str(exc))
        return _team_page(form, status=422)
    db.session.commit()
    link = url_for("auth.accept_invitation", token=token, _external=True)
    flash(INVITATION_CREATED.format(email=invitation.email), "success")
    return _team_page(invite_link=link)[0], 201


@bp.post("/invitations/<int:invitation_id>/cancel")
@editor_required
def cancel_invitation(invitation_id: int):
    invitation = db.get_or_404(Invitation, invitation_id)
    users.cancel_invitation(g.user, invitation)
    db.session.commit()
    flash(f"Invitation for {invitation.email} cancelled.", "success")
    return redirect(url_for("team.list_team"))


@bp.post("/<int:user_id>/role")
@editor_required
def change_role(user_id: int):
    target = db.get_or_404(User, user_id)
    form = RoleForm()
    if not form.validate_on_submit():
        flash("Choose one of the listed roles.", "error")
        return redirect(url_for("team.list_team"))
    try:
        users.change_role(g.user, target, Role(form.role.data))
    except users.UserError as exc:
        flash(str(exc), "error")
        return redirect(url_for("team.list_team"))
    db.session.commit()
    flash(f"{target.email} is now {target.role_enum.label.lower()}.", "success")
    return redirect(url_for("team.list_team"))


@bp.get("/<int:user_id>/remove")
@editor_required
def confirm_remove_user(user_id: int):
    target = db.get_or_404(User, user_id)
    try:
        users.check_may_remove(g.user, target, lock=False)
    except users.UserError as exc:
        flash(str(exc), "error")
        return redirect(url_for("team.list_team"))
    return render_template(
        "team/remove.html",
        target=target,
        signed_in=len(sessions.open_sessions(target.id, lifetimes())),
        form=ConfirmForm(),
    )


@bp.post("/<int:user_id>/remove")
@editor_required
def remove_user(user_id: int):
    target = db.get_or_404(User, user_id)
    email = target.email
    try:
        users.remove(g.user, target)
    except users.UserError as exc:
        flash(str(exc), "error")
        return redirect(url_for("team.list_team"))
    db.session.commit()
    flash(f"{email} was removed and signed out.", "success")
    return redirect(url_for("team.list_team"))


@bp.post("/<int:user_id>/password-reset")
@editor_required
@no_store
def create_reset_link(user_id: int):
    target = db.get_or_404(User, user_id)
    try:
        token = passwords.create_reset_link(g.user, target)
    except users.UserError as exc:
        flash(str(exc), "error")
        return redirect(url_for("team.list_team"))
    db.session.commit()
    link = url_for("auth.reset_password", token=token, _external=True)
    flash(RESET_LINK_CREATED.format(email=target.email), "success")
    return _team_page(reset_link=(target.email, link))[0], 201
