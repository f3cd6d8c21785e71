"""Registering a webhook set with LiveChat: start a run, follow it, cancel it, remove.

Pressing Register queues a run and answers at once; a worker carries it out, and the page
follows its progress from the database (live with JavaScript, on reload without). Removing
from LiveChat and deleting the set each ask first, on a page that says what goes.
"""

from __future__ import annotations

from flask import Blueprint, flash, g, jsonify, redirect, render_template, url_for
from werkzeug.wrappers import Response

from ..extensions import db, queue
from ..models import App, RegistrationRun, RunKind, WebhookSet, WizardStep
from ..services import impact, registration
from ..services import installation as installs
from ..taskqueue import QueueUnavailable
from ..tasks import run_registration
from . import presenters
from .auth import background_poll, editor_required, login_required
from .forms.confirm import ConfirmForm
from .headers import no_store
from .wizard_steps import load, out_of_order, step_url

bp = Blueprint("registration", __name__, url_prefix="/apps/<int:app_id>/webhooks/<set_uid>")

STARTED = {
    RunKind.REGISTER: "Registration started. Each trigger's row shows how it goes; you can leave "
    "this page, it goes on.",
    RunKind.REMOVE: "Removing the set's webhooks from LiveChat. Each row shows how it goes.",
}


def _progress_url(webhook_set: WebhookSet) -> str:
    return url_for("registration.show_progress", app_id=webhook_set.app_id, set_uid=webhook_set.uid)


def _start(webhook_set: WebhookSet, kind: RunKind) -> Response:
    target = _progress_url(webhook_set)
    try:
        run = registration.start(g.user, webhook_set, kind)
    except registration.AlreadyRunning:
        db.session.rollback()
        flash("This set is already being registered; its progress is below.", "warning")
        return redirect(target)
    db.session.commit()
    try:
        queue.send(run_registration, run.id)
    except QueueUnavailable as exc:
        registration.undo_start(run.id)
        db.session.commit()
        flash(f"Nothing was started and nothing was sent to LiveChat. {exc}", "error")
        return redirect(target)
    flash(STARTED[kind], "success")
    return redirect(target)


@bp.post("/register")
@editor_required
def register(app_id: int, set_uid: str):
    _, webhook_set = load(app_id, set_uid)
    if moved := out_of_order(webhook_set, WizardStep.REVIEW):
        return moved
    if problem := registration.problem(webhook_set):
        flash(problem, "error")
        return redirect(_progress_url(webhook_set))
    return _start(webhook_set, RunKind.REGISTER)


@bp.get("/remove")
@editor_required
def confirm_remove(app_id: int, set_uid: str):
    app, webhook_set = load(app_id, set_uid)
    return render_template(
        "registration/confirm_remove.html",
        app=app,
        webhook_set=webhook_set,
        impact=impact.of_removing_from_livechat(webhook_set),
        running=registration.active_run(webhook_set.id) is not None,
        form=ConfirmForm(),
        back_url=step_url(webhook_set),
    )


@bp.get("/delete")
@editor_required
def confirm_delete_set(app_id: int, set_uid: str):
    """The question before ``wizard.delete_set``, which answers POSTs to the same address."""
    app, webhook_set = load(app_id, set_uid)
    return render_template(
        "registration/confirm_delete.html",
        app=app,
        webhook_set=webhook_set,
        impact=impact.of_deleting_set(webhook_set),
        form=ConfirmForm(),
        back_url=step_url(webhook_set),
    )


@bp.post("/remove")
@editor_required
def remove(app_id: int, set_uid: str):
    _, webhook_set = load(app_id, set_uid)
    if not webhook_set.registered:
        flash("LiveChat holds no webhook of this set.", "warning")
        return redirect(_progress_url(webhook_set))
    return _start(webhook_set, RunKind.REMOVE)


@bp.post("/cancel")
@editor_required
def cancel(app_id: int, set_uid: str):
    _, webhook_set = load(app_id, set_uid)
    run = registration.active_run(webhook_set.id)
    if run is None:
        flash("Nothing is running for this set.", "warning")
    elif registration.request_cancel(g.user, run):
        db.session.commit()
        flash("Cancel requested. Nothing new is sent to LiveChat.", "success")
    else:
        flash("Already cancelling; the rows show how it goes.", "warning")
    return redirect(_progress_url(webhook_set))


def _run_view(run: RegistrationRun | None) -> dict[str, object]:
    return {
        "state": run.state if run else None,
        "kind": run.kind if run else None,
        "active": bool(run and run.state_enum.active),
        "problem": run.problem if run else None,
    }


@bp.get("/registration")
@login_required
def show_progress(app_id: int, set_uid: str):
    app, webhook_set = load(app_id, set_uid)
    if moved := out_of_order(webhook_set, WizardStep.REVIEW):
        return moved
    return render_template(
        "registration/show.html",
        app=app,
        webhook_set=webhook_set,
        rows=presenters.registration_rows(webhook_set),
        run=_run_view(registration.latest_run(webhook_set.id)),
        problem=registration.problem(webhook_set),
        install_next=_install_next(app, webhook_set),
        form=ConfirmForm(),
        step=4,
    )


def _install_next(app: App, webhook_set: WebhookSet) -> bool:
    """Registered, and the app not yet installed anywhere though it could be: installing is
    the next step, so the page offers it at once."""
    return (
        webhook_set.wizard_step == WizardStep.DONE
        and not installs.installations_of(app)
        and installs.not_ready_reason(app) is None
    )


@bp.get("/registration.json")
@login_required
@background_poll
@no_store
def progress_status(app_id: int, set_uid: str) -> Response:
    _, webhook_set = load(app_id, set_uid)
    rows = presenters.registration_rows(webhook_set)
    registered = sum(1 for row in rows if row["state"] == "registered")
    return jsonify(
        registered=registered,
        total=len(webhook_set.triggers),
        done=webhook_set.wizard_step == WizardStep.DONE,
        run=_run_view(registration.latest_run(webhook_set.id)),
        rows=rows,
    )
