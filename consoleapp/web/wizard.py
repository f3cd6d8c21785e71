"""The Chat Webhooks wizard: a set's URL, secret key and triggers, one step a page, in order."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)

from ..crypto import new_uid
from ..extensions import db, limiter
from ..livechat import catalog
from ..models import App, WebhookSet, WizardStep
from ..services import registration
from ..services import webhook_sets as sets
from ..services.registration import plan as registration_plan
from . import review_plan, trigger_words
from .auth import editor_required, login_required
from .forms.confirm import ConfirmForm
from .forms.wizard import (
    OwnSecretForm,
    TriggersFormBase,
    WebhookUrlForm,
    additional_data_from,
    filters_from,
    subform_data,
    triggers_form,
)
from .headers import no_store
from .wizard_steps import load, out_of_order, step_url

bp = Blueprint("wizard", __name__, url_prefix="/apps/<int:app_id>/webhooks")


def inbox_url(token: str) -> str:
    return sets.inbox_url(current_app.config["PUBLIC_URL"], token)


@bp.get("/")
@login_required
def list_sets(app_id: int):
    app = db.get_or_404(App, app_id)
    rows = [(s, sets.status(s)) for s in sets.list_sets(app)]
    return render_template("wizard/list.html", app=app, rows=rows)


# -- step 1: webhook URL -------------------------------------------------------------------


def _url_page(app: App, webhook_set: WebhookSet | None, form: WebhookUrlForm, **extra: Any):
    status = extra.pop("status", 422 if form.errors else 200)
    inbox = inbox_url(webhook_set.inbox_token) if webhook_set else None
    return render_template(
        "wizard/url.html",
        app=app,
        webhook_set=webhook_set,
        form=form,
        inbox=inbox,
        step=1,
        **extra,
    ), status


@bp.get("/new")
@login_required
def new_set(app_id: int):
    return _url_page(db.get_or_404(App, app_id), None, WebhookUrlForm(formdata=None))


@bp.post("/create")
@editor_required
def create_set(app_id: int):
    app = db.get_or_404(App, app_id)
    token = new_uid()
    form = WebhookUrlForm(inbox_url=inbox_url(token))
    if not form.validate_on_submit():
        return _url_page(app, None, form)
    webhook_set = sets.create(g.user, app, form.url.data, token)
    kept = _keep_key_if_own_inbox(webhook_set)
    db.session.commit()
    next_step = "the triggers" if kept else "the secret key"
    flash(f"{OWN_INBOX_CHOSEN if kept else 'Webhook URL saved.'} Next: {next_step}.", "success")
    return redirect(step_url(webhook_set))


@bp.get("/<set_uid>/url")
@login_required
def edit_url(app_id: int, set_uid: str):
    app, webhook_set = load(app_id, set_uid)
    return _url_page(app, webhook_set, WebhookUrlForm(formdata=None, url=webhook_set.target_url))


@bp.post("/<set_uid>/url/save")
@editor_required
def save_url(app_id: int, set_uid: str):
    app, webhook_set = load(app_id, set_uid)
    form = WebhookUrlForm(inbox_url=inbox_url(webhook_set.inbox_token))
    if not form.validate_on_submit():
        return _url_page(app, webhook_set, form)
    sets.set_url(g.user, webhook_set, form.url.data, current_app.config["PUBLIC_URL"])
    kept = _keep_key_if_own_inbox(webhook_set)
    db.session.commit()
    flash(OWN_INBOX_CHOSEN if kept else "Webhook URL saved.", "success")
    return redirect(step_url(webhook_set))


@bp.post("/test", defaults={"set_uid": None})
@bp.post("/<set_uid>/url/test")
@editor_required
@limiter.limit("10 per minute")
def test_url(app_id: int, set_uid: str | None):
    app, webhook_set = load(app_id, set_uid) if set_uid else (db.get_or_404(App, app_id), None)
    token = webhook_set.inbox_token if webhook_set else new_uid()
    form = WebhookUrlForm(inbox_url=inbox_url(token))
    if not form.validate_on_submit():
        return _url_page(app, webhook_set, form)
    # End the read transaction first: the target may be this console's own inbox.
    db.session.rollback()
    result = sets.send_test(form.url.data, current_app.config["ALLOW_PRIVATE_TARGETS"])
    return _url_page(app, webhook_set, form, result=result, status=200)


# -- step 2: secret key --------------------------------------------------------------------


def _own_inbox(webhook_set: WebhookSet) -> bool:
    return sets.sends_to_own_inbox(webhook_set, current_app.config["PUBLIC_URL"])


OWN_INBOX_CHOSEN = (
    "The console's test inbox receives the events. The console keeps the secret key and "
    "checks every event with it: nothing for you to copy."
)


def _keep_key_if_own_inbox(webhook_set: WebhookSet) -> bool:
    """With the console's own inbox the console is the endpoint: it keeps the key (says
    whether it did), so the secret step asks nothing and the wizard goes on to the triggers."""
    if not _own_inbox(webhook_set):
        return False
    sets.keep_secret_in_console(g.user, webhook_set)
    return True


def _secret_page(app: App, webhook_set: WebhookSet, form: OwnSecretForm | None = None):
    form = form or OwnSecretForm(formdata=None)
    return render_template(
        "wizard/secret.html",
        app=app,
        webhook_set=webhook_set,
        own_form=form,
        confirm_form=ConfirmForm(),
        own_inbox=_own_inbox(webhook_set),
        kept_by_console=sets.kept_by_console(webhook_set),
        step=2,
    ), 422 if form.errors else 200


@bp.get("/<set_uid>/secret")
@login_required
def edit_secret(app_id: int, set_uid: str):
    app, webhook_set = load(app_id, set_uid)
    return out_of_order(webhook_set, WizardStep.SECRET) or _secret_page(app, webhook_set)


@bp.post("/<set_uid>/secret/generate")
@editor_required
# Shown once, in the answer to the request that made it (CHECKS K6): never stored by caches.
@no_store
def generate_secret(app_id: int, set_uid: str):
    app, webhook_set = load(app_id, set_uid)
    if moved := out_of_order(webhook_set, WizardStep.SECRET):
        return moved
    secret = sets.generate_secret(g.user, webhook_set)
    db.session.commit()
    return render_template(
        "wizard/secret_shown.html",
        app=app,
        webhook_set=webhook_set,
        secret=secret,
        confirm_form=ConfirmForm(),
        step=2,
    )


@bp.post("/<set_uid>/secret/own")
@editor_required
def own_secret(app_id: int, set_uid: str):
    app, webhook_set = load(app_id, set_uid)
    if moved := out_of_order(webhook_set, WizardStep.SECRET):
        return moved
    form = OwnSecretForm()
    if not form.validate_on_submit():
        return _secret_page(app, webhook_set, form)
    sets.use_own_secret(g.user, webhook_set, form.secret_key.data)
    db.session.commit()
    flash(f"Secret key saved (ends in …{webhook_set.secret_key_last4}).", "success")
    return redirect(step_url(webhook_set))


@bp.post("/<set_uid>/secret/keep")
@editor_required
def keep_secret(app_id: int, set_uid: str):
    _, webhook_set = load(app_id, set_uid)
    if moved := out_of_order(webhook_set, WizardStep.SECRET):
        return moved
    if not _own_inbox(webhook_set):
        flash(
            "Your endpoint must know the key: generate one and save it, or paste your own.", "error"
        )
        return redirect(step_url(webhook_set, WizardStep.SECRET))
    sets.keep_secret_in_console(g.user, webhook_set)
    db.session.commit()
    flash("The console keeps the secret key and checks every event with it.", "success")
    return redirect(step_url(webhook_set))


@bp.post("/<set_uid>/secret/saved")
@editor_required
def confirm_secret(app_id: int, set_uid: str):
    _, webhook_set = load(app_id, set_uid)
    if moved := out_of_order(webhook_set, WizardStep.SECRET):
        return moved
    sets.confirm_secret_saved(webhook_set)
    db.session.commit()
    flash("Secret key saved. From now on only its last 4 characters are shown.", "success")
    return redirect(step_url(webhook_set))


# -- step 3: triggers and filters ----------------------------------------------------------


def _saved(webhook_set: WebhookSet) -> dict[str, Any]:
    return {
        f"t_{t.action}": {"chosen": True, **subform_data(t.filters, t.additional_data)}
        for t in webhook_set.triggers
    }


@dataclass(frozen=True)
class TriggerGroup:
    """One group of the trigger picker: a collapsed section that says how many are ticked."""

    name: str
    actions: list[str]
    chosen: int
    open: bool


def _groups(form: TriggersFormBase, opened: tuple[str, ...]) -> list[TriggerGroup]:
    groups = []
    for name in catalog.TRIGGER_GROUPS:
        actions = [a for a in form.actions if form.triggers[a].group == name]
        if not actions:
            continue
        chosen = sum(1 for a in actions if form[f"t_{a}"].form.chosen.data)
        has_errors = any(form[f"t_{a}"].errors for a in actions)
        touched = any(a in opened for a in actions)
        groups.append(TriggerGroup(name, actions, chosen, has_errors or touched))
    return groups


def _triggers_page(
    app: App,
    webhook_set: WebhookSet,
    form: TriggersFormBase,
    preset: catalog.Preset | None = None,
    status: int | None = None,
):
    effects = {
        action: trigger_words.effect(
            action,
            filters_from(form[f"t_{action}"].form),
            additional_data_from(form[f"t_{action}"].form),
        )
        for action in form.actions
    }
    return render_template(
        "wizard/triggers.html",
        app=app,
        webhook_set=webhook_set,
        form=form,
        groups=_groups(form, preset.actions if preset else ()),
        presets=catalog.presets_for(webhook_set.api_version),
        preset=preset,
        effects=effects,
        step=3,
    ), status or (422 if form.errors else 200)


@bp.get("/<set_uid>/triggers")
@login_required
def edit_triggers(app_id: int, set_uid: str):
    app, webhook_set = load(app_id, set_uid)
    if moved := out_of_order(webhook_set, WizardStep.TRIGGERS):
        return moved
    form = triggers_form(webhook_set.api_version, formdata=None, data=_saved(webhook_set))
    return _triggers_page(app, webhook_set, form)


NO_SUCH_PRESET = "That quick pick does not exist; tick the triggers instead."


def _preset_page(app: App, webhook_set: WebhookSet, form: TriggersFormBase, name: str):
    """A quick pick without JavaScript: tick its triggers and show the page again, unsaved."""
    preset = catalog.preset(webhook_set.api_version, name)
    if preset is None:
        form.form_errors.append(NO_SUCH_PRESET)
        return _triggers_page(app, webhook_set, form, status=422)
    form.tick(preset.actions)
    return _triggers_page(app, webhook_set, form, preset=preset, status=200)


@bp.post("/<set_uid>/triggers/save")
@editor_required
def save_triggers(app_id: int, set_uid: str):
    app, webhook_set = load(app_id, set_uid)
    if moved := out_of_order(webhook_set, WizardStep.TRIGGERS):
        return moved
    form = triggers_form(webhook_set.api_version)
    if "preset" in request.form:
        return _preset_page(app, webhook_set, form, request.form["preset"])
    if not form.validate_on_submit():
        return _triggers_page(app, webhook_set, form)
    sets.set_triggers(g.user, webhook_set, form.chosen_triggers())
    db.session.commit()
    count = len(webhook_set.triggers)
    flash(f"{count} trigger{'' if count == 1 else 's'} chosen. Check, then register.", "success")
    return redirect(step_url(webhook_set))


# -- review --------------------------------------------------------------------------------


def _review_page(app: App, webhook_set: WebhookSet):
    plan = registration_plan.plan(webhook_set)
    return render_template(
        "wizard/review.html",
        app=app,
        webhook_set=webhook_set,
        plan=plan,
        plan_rows=review_plan.rows(plan, webhook_set.api_version),
        plan_counts=review_plan.counts(plan),
        limit_notice=review_plan.limit_notice(plan, webhook_set.api_version),
        own_inbox=_own_inbox(webhook_set),
        problem=registration.problem(webhook_set),
        form=ConfirmForm(),
        step=4,
    )


@bp.get("/<set_uid>/review")
@login_required
def review(app_id: int, set_uid: str):
    app, webhook_set = load(app_id, set_uid)
    return out_of_order(webhook_set, WizardStep.REVIEW) or _review_page(app, webhook_set)


@bp.post("/<set_uid>/delete")
@editor_required
def delete_set(app_id: int, set_uid: str):
    app, webhook_set = load(app_id, set_uid)
    try:
        sets.delete(g.user, webhook_set)
    except sets.SetInUse as exc:
        flash(str(exc), "error")
        return redirect(url_for("registration.show_progress", app_id=app.id, set_uid=set_uid))
    db.session.commit()
    flash("Webhook set deleted.", "success")
    return redirect(url_for("wizard.list_sets", app_id=app.id))


@bp.app_template_global()
def webhook_progress(app: App) -> sets.AppProgress:
    """For the app Overview's checklist."""
    return sets.app_progress(app)
