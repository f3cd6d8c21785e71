"""A webhook set's pages, in the wizard's order: the set of the address or a 404, the address
of the step it is on, and no skipping ahead. The wizard, registration and the app pages share
them."""

from __future__ import annotations

from flask import Flask, abort, flash, redirect, url_for
from werkzeug.wrappers import Response

from ..extensions import db
from ..models import App, WebhookSet, WizardStep
from ..services import webhook_sets as sets

STEP_ENDPOINTS = {
    WizardStep.URL: "wizard.edit_url",
    WizardStep.SECRET: "wizard.edit_secret",
    WizardStep.TRIGGERS: "wizard.edit_triggers",
    WizardStep.REVIEW: "wizard.review",
    WizardStep.DONE: "registration.show_progress",
}


def load(app_id: int, set_uid: str) -> tuple[App, WebhookSet]:
    app = db.get_or_404(App, app_id)
    webhook_set = sets.get_set(app, set_uid)
    if webhook_set is None:
        abort(404)
    return app, webhook_set


def step_url(webhook_set: WebhookSet, step: int | None = None) -> str:
    endpoint = STEP_ENDPOINTS[WizardStep(step or webhook_set.wizard_step)]
    return url_for(endpoint, app_id=webhook_set.app_id, set_uid=webhook_set.uid)


def out_of_order(webhook_set: WebhookSet, step: WizardStep) -> Response | None:
    """A step not yet reached sends the person back to the step they are on (no skipping)."""
    if sets.may_open(webhook_set, step):
        return None
    flash(f"Finish step {int(webhook_set.wizard_step)} first.", "warning")
    return redirect(step_url(webhook_set))


def init_app(app: Flask) -> None:
    app.add_template_global(step_url, "wizard_step_url")
