"""Apps: list, create, rename, delete, and the App authorization page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, current_app, flash, g, redirect, render_template, url_for

from ..extensions import db
from ..livechat import catalog
from ..models import App
from ..sandbox_client import SandboxProvisioner
from ..services import apps as app_service
from ..services import impact
from ..services import webhook_sets as sets
from .auth import editor_required, login_required
from .forms.apps import AppNameForm, AuthorizationForm, DeleteAppForm, DeveloperCredentialForm
from .wizard_steps import step_url

bp = Blueprint("apps", __name__, url_prefix="/apps")


def proposed_install_url(app: App) -> str:
    """The app's install callback on the console's public address (PUBLIC_URL), whatever
    address this request came in on."""
    return current_app.config["PUBLIC_URL"] + url_for("install.callback", app_id=app.id)


@bp.get("/")
@login_required
def list_apps():
    return render_template("apps/list.html", apps=app_service.list_apps())


@bp.route("/new", methods=["GET", "POST"])
@editor_required
def new_app():
    form = AppNameForm()
    if not form.validate_on_submit():
        return render_template("apps/new.html", form=form), 422 if form.errors else 200
    try:
        app = app_service.create(g.user, form.name.data)
        # Read before committing: no transaction may stay open during the sandbox call.
        app_id, name, install_url = app.id, app.name, proposed_install_url(app)
        db.session.commit()
    except app_service.AppError as exc:
        db.session.rollback()
        form.name.errors.append(str(exc))
        return render_template("apps/new.html", form=form), 422
    provisioned = _provision_in_sandbox(app_id, name, install_url)
    return _after_creating(app_id, name, provisioned)


def _provision_in_sandbox(app_id: int, name: str, install_url: str) -> bool | None:
    """In sandbox mode the sandbox issues the new app's Client ID and secret; None in live
    mode, where someone copies them from LiveChat's Developer Console."""
    if not current_app.config["SANDBOX_URL"]:
        return None
    provisioner = SandboxProvisioner(current_app.config["SANDBOX_URL"])
    provisioned = app_service.provision(g.user, app_id, name, install_url, provisioner)
    db.session.commit()
    return provisioned


def _after_creating(app_id: int, name: str, provisioned: bool | None):
    message, category = CREATED_MESSAGES[provisioned]
    flash(message.format(name=name), category)
    # A new app lands where its next step is: the wizard once the sandbox filled in its
    # authorization, the Authorization page when someone must fill it in.
    if provisioned:
        return redirect(url_for("wizard.new_set", app_id=app_id))
    return redirect(url_for("apps.edit_authorization", app_id=app_id))


CREATED_MESSAGES = {
    True: (
        "App “{name}” created. The sandbox filled in its Client ID, secret and developer "
        "token. Next: where LiveChat should send its events.",
        "success",
    ),
    False: (
        "App “{name}” created, but the sandbox did not hand out a Client ID this time. Enter "
        "the app's details below, or delete the app and create it again.",
        "warning",
    ),
    None: (
        "App “{name}” created. Next: copy its Client ID and secret from LiveChat's Developer "
        "Console.",
        "success",
    ),
}


@dataclass(frozen=True)
class NextStep:
    label: str
    url: str


def next_step_after_authorization(app: App) -> NextStep | None:
    """Once authorization is set up, the journey's next step, for the page's one primary
    button; None while something on the Authorization page is still to do."""
    if not (app.authorization_complete and app.developer_credential_complete):
        return None
    progress = sets.app_progress(app)
    if progress.state == "todo":
        return NextStep("Next: Webhooks", url_for("wizard.new_set", app_id=app.id))
    if progress.next_set is not None:
        return NextStep("Next: finish the webhook set", step_url(progress.next_set))
    return NextStep("Next: Install & test", url_for("checklist.show_checklist", app_id=app.id))


def filled_by_sandbox(app: App) -> bool:
    """In sandbox mode the sandbox issues every Client ID: nobody copies them from anywhere."""
    return bool(current_app.config["SANDBOX_URL"] and app.client_id)


@bp.get("/<int:app_id>")
@login_required
def show_app(app_id: int):
    app = db.get_or_404(App, app_id)
    return render_template(
        "apps/overview.html", app=app, missing=catalog.missing_scopes(app.scopes)
    )


@bp.route("/<int:app_id>/rename", methods=["GET", "POST"])
@editor_required
def rename_app(app_id: int):
    app = db.get_or_404(App, app_id)
    form = AppNameForm(obj=app)
    if form.validate_on_submit():
        try:
            app_service.rename(g.user, app, form.name.data)
            db.session.commit()
        except app_service.AppError as exc:
            db.session.rollback()
            form.name.errors.append(str(exc))
        else:
            flash("App renamed.", "success")
            return redirect(url_for("apps.show_app", app_id=app.id))
    return render_template("apps/rename.html", app=app, form=form), 422 if form.errors else 200


@bp.route("/<int:app_id>/delete", methods=["GET", "POST"])
@editor_required
def delete_app(app_id: int):
    app = db.get_or_404(App, app_id)
    form = DeleteAppForm()
    if not form.validate_on_submit():
        return _delete_page(app, form)
    name = app.name
    try:
        app_service.delete(g.user, app, form.confirm_name.data)
    except app_service.AppError as exc:
        form.confirm_name.errors.append(str(exc))
        return _delete_page(app, form)
    db.session.commit()
    flash(f"App “{name}” and everything saved for it were deleted.", "success")
    return redirect(url_for("apps.list_apps"))


def _delete_page(app: App, form: DeleteAppForm):
    return render_template(
        "apps/delete.html", app=app, form=form, impact=impact.of_deleting_app(app)
    ), 422 if form.errors else 200


def _authorization_page(
    app: App,
    auth_form: AuthorizationForm,
    credential_form: DeveloperCredentialForm,
    status: int = 200,
):
    return render_template(
        "apps/authorization.html",
        app=app,
        form=auth_form,
        credential_form=credential_form,
        scopes=catalog.SCOPES,
        missing=catalog.missing_scopes(auth_form.scopes.data or []),
        proposed_url=proposed_install_url(app),
        from_sandbox=filled_by_sandbox(app),
        next_step=next_step_after_authorization(app),
    ), status


def _authorization_form(app: App, submitted: bool = False) -> AuthorizationForm:
    # Only the submitted form reads the request; the page's other form shows saved values.
    form = AuthorizationForm(
        **({} if submitted else {"formdata": None}),
        prefix="auth",
        client_id=app.client_id,
        scopes=app.scopes,
        direct_install_url=app.direct_install_url or proposed_install_url(app),
        redirect_uris="\n".join(app.redirect_uris) or proposed_install_url(app),
        api_version=app.api_version,
    )
    form.has_saved_secret = app.client_secret_sealed is not None and app.secret_readable(
        "client_secret"
    )
    if filled_by_sandbox(app):
        form.client_id.description = "Issued by the sandbox for this app."
    return form


def _credential_form(app: App, submitted: bool = False) -> DeveloperCredentialForm:
    form = DeveloperCredentialForm(
        **({} if submitted else {"formdata": None}),
        prefix="dev",
        account_id=app.developer_account_id,
    )
    form.has_saved_token = app.developer_token_sealed is not None and app.secret_readable(
        "developer_token"
    )
    if filled_by_sandbox(app):
        form.account_id.description = "The sandbox account the token belongs to."
    return form


@bp.get("/<int:app_id>/authorization")
@login_required
def edit_authorization(app_id: int):
    app = db.get_or_404(App, app_id)
    return _authorization_page(app, _authorization_form(app), _credential_form(app))


@bp.post("/<int:app_id>/authorization/settings")
@editor_required
def save_authorization(app_id: int):
    app = db.get_or_404(App, app_id)
    form = _authorization_form(app, submitted=True)
    if not form.validate_on_submit():
        return _authorization_page(app, form, _credential_form(app), 422)
    app_service.update_authorization(g.user, app, **_authorization_settings(form))
    client_id, scopes, uris = app.client_id, list(app.scopes), list(app.redirect_uris)
    db.session.commit()
    _flash_saved(scopes)
    if current_app.config["SANDBOX_URL"] and client_id:
        _sync_to_sandbox(client_id, scopes, uris)
    return redirect(url_for("apps.edit_authorization", app_id=app_id))


def _authorization_settings(form: AuthorizationForm) -> dict[str, Any]:
    """The submitted settings, as ``update_authorization`` takes them."""
    return {
        "client_id": form.client_id.data,
        "client_secret": form.client_secret.data or None,
        "scopes": [name for name in catalog.SCOPE_NAMES if name in form.scopes.data],
        "direct_install_url": form.direct_install_url.data,
        "redirect_uris": form.whitelist,
        "api_version": form.api_version.data,
    }


def _flash_saved(scopes: list[str]) -> None:
    missing = catalog.missing_scopes(scopes)
    if missing:
        flash(
            "Saved, but some scopes are missing: " + " ".join(s.needed_for for s in missing),
            "warning",
        )
    else:
        flash("Authorization settings saved.", "success")


def _sync_to_sandbox(client_id: str, scopes: list[str], uris: list[str]) -> None:
    """The sandbox stands in for the Developer Console: keep its client as saved here."""
    provisioner = SandboxProvisioner(current_app.config["SANDBOX_URL"])
    problem = app_service.sync_to_sandbox(client_id, scopes, uris, provisioner)
    if problem:
        flash(
            "The sandbox did not take the new scopes and redirect addresses, so its consent "
            f"screen may ask for others: {problem}",
            "warning",
        )


@bp.post("/<int:app_id>/authorization/developer-credential")
@editor_required
def save_developer_credential(app_id: int):
    app = db.get_or_404(App, app_id)
    form = _credential_form(app, submitted=True)
    if not form.validate_on_submit():
        return _authorization_page(app, _authorization_form(app), form, 422)
    app_service.update_developer_credential(
        g.user, app, form.account_id.data, form.token.data or None
    )
    db.session.commit()
    flash("Developer credential saved.", "success")
    return redirect(url_for("apps.edit_authorization", app_id=app.id))
