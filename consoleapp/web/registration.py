"""Registering a webhook set with LiveChat: run, progress per trigger, resume and cancel."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, jsonify, redirect, render_template, url_for
from werkzeug.wrappers import Response

from ..forms import ConfirmForm
from ..livechat.configuration import DEADLINE, ConfigurationApi
from ..models import App, WebhookSet, WizardStep
from ..services import registration, webhook_sets
from ..services.registration import Outcome
from .auth import background_poll, editor_required, login_required
from .wizard import load, out_of_order

bp = Blueprint("registration", __name__, url_prefix="/apps/<int:app_id>/webhooks/<set_uid>")


def _api(app: App) -> ConfigurationApi:
    config = current_app.config
    timeout = config.get("LIVECHAT_API_TIMEOUT", (5, 15))
    deadline = config.get("LIVECHAT_API_DEADLINE", DEADLINE)
    return registration.client_for(app, config["LIVECHAT_API_URL"], timeout, deadline)


def _progress_url(webhook_set: WebhookSet) -> str:
    return url_for("registration.show_progress", app_id=webhook_set.app_id, set_uid=webhook_set.uid)


def _flash(outcome: Outcome, done: str) -> None:
    if outcome.stopped:
        flash(f"Registration stopped. {outcome.stopped} Use “Resume” to continue.", "error")
    elif outcome.failed:
        for action, reason in outcome.failed.items():
            flash(f"{action} was not registered: {reason}", "error")
    else:
        flash(done, "success")


@bp.post("/register")
@editor_required
def register(app_id: int, set_uid: str):
    app, webhook_set = load(app_id, set_uid)
    if moved := out_of_order(webhook_set, WizardStep.REVIEW):
        return moved
    if problem := registration.problem(webhook_set):
        flash(problem, "error")
        return redirect(_progress_url(webhook_set))
    api, set_id, target = _api(app), webhook_set.id, _progress_url(webhook_set)
    outcome = registration.reconcile(set_id, api)
    _flash(outcome, "Every trigger is registered with LiveChat.")
    return redirect(target)


@bp.post("/cancel")
@editor_required
def cancel(app_id: int, set_uid: str):
    app, webhook_set = load(app_id, set_uid)
    api, set_id, target = _api(app), webhook_set.id, _progress_url(webhook_set)
    outcome = registration.cancel(set_id, api)
    if outcome.failed:
        flash("Some webhooks could not be removed; they are marked “cleanup pending”.", "error")
    else:
        flash(f"Removed {len(outcome.removed)} webhooks from LiveChat.", "success")
    return redirect(target)


@bp.get("/registration")
@login_required
def show_progress(app_id: int, set_uid: str):
    app, webhook_set = load(app_id, set_uid)
    if moved := out_of_order(webhook_set, WizardStep.REVIEW):
        return moved
    return render_template(
        "wizard/registration.html",
        app=app,
        webhook_set=webhook_set,
        rows=webhook_sets.rows_for_display(webhook_set),
        problem=registration.problem(webhook_set),
        form=ConfirmForm(),
        step=4,
    )


@bp.get("/registration.json")
@login_required
@background_poll
def progress_status(app_id: int, set_uid: str) -> Response:
    _, webhook_set = load(app_id, set_uid)
    rows = webhook_sets.rows_for_display(webhook_set)
    registered = sum(1 for row in rows if row["state"] == "registered")
    response = jsonify(
        registered=registered,
        total=len(webhook_set.triggers),
        done=webhook_set.wizard_step == WizardStep.DONE,
        rows=rows,
    )
    response.headers["Cache-Control"] = "no-store"
    return response
