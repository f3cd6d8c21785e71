"""The sandbox's pages: an overview of the simulated LiveChat, scenario buttons, faults.

They need no console sign-in: the sandbox plays a separate system. The overview only reads;
scenarios and faults change state through POST forms with a CSRF token.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from ...extensions import db
from .. import delivery
from ..accounts.models import SandboxClient, SandboxInstallation
from ..configuration_api import faults
from ..configuration_api.models import SandboxFault, SandboxWebhook
from ..world import licenses, scenarios
from ..world.scenarios.context import ScenarioError
from .forms import FaultForm, ScenarioForm

bp = Blueprint("sandbox", __name__, url_prefix="/sandbox", template_folder="templates")

# The page's choices, kept in the query string from one press to the next.
SETTINGS = ("organization_id", "client_id", "performed_by", "author_type")


def _scenario_form(**kwargs: Any) -> ScenarioForm:
    form = ScenarioForm(**kwargs)
    organizations = licenses.organizations()
    form.organization_id.choices = [
        SelectChoice(org.id, f"{org.name} · {org.license_id}") for org in organizations
    ]
    clients = db.session.execute(db.select(SandboxClient).order_by(SandboxClient.name)).scalars()
    form.client_id.choices = [SelectChoice("", "The license's latest app")] + [
        SelectChoice(client.id, f"{client.name} ({client.id[:8]}…)") for client in clients
    ]
    return form


def _remembered_form() -> ScenarioForm:
    """The form with the choices of the last press (from the query string), where still valid."""
    form = _scenario_form(formdata=None)
    for name in SETTINGS:
        field = form[name]
        value = request.args.get(name)
        if value is not None and any(choice.value == value for choice in field.choices):
            field.data = value
    return form


def _settings(form: ScenarioForm) -> dict[str, str]:
    return {name: form[name].data for name in SETTINGS if form[name].data}


def _outcome(title: str, outcome: dict[str, Any]) -> tuple[str, str]:
    """What a press did, and why nothing was sent where nothing was."""
    caused = outcome["caused"]
    actions = list(dict.fromkeys(item["action"] for item in caused))
    said = [f"{title}: {', '.join(actions)}.", *outcome["notes"]]
    sent = list(dict.fromkeys(item["action"] for item in caused if item["deliveries"]))
    count = len(outcome["deliveries"])
    if count:
        noun = "delivery" if count == 1 else "deliveries"
        said.append(f"{count} {noun} queued ({', '.join(sent)}).")
    reasons = {
        item["action"]: item["nothing_sent_because"]
        for item in caused
        if not item["deliveries"] and item["action"] not in sent
    }
    for action, reason in reasons.items():
        said.append(f"0 deliveries queued for {action}: {reason}.")
    return " ".join(said), "warning" if reasons else "success"


def _installations_by_organization() -> dict[str, list[SandboxInstallation]]:
    grouped: dict[str, list[SandboxInstallation]] = {}
    for item in db.session.execute(
        db.select(SandboxInstallation).order_by(SandboxInstallation.installed_at.desc())
    ).scalars():
        grouped.setdefault(item.organization_id, []).append(item)
    return grouped


def _webhooks_by_client() -> dict[str, list[SandboxWebhook]]:
    grouped: dict[str, list[SandboxWebhook]] = {}
    for item in db.session.execute(
        db.select(SandboxWebhook).order_by(SandboxWebhook.action, SandboxWebhook.created_at)
    ).scalars():
        grouped.setdefault(item.owner_client_id, []).append(item)
    return grouped


@bp.get("/")
def overview() -> str:
    context: dict[str, Any] = {
        "organizations": licenses.organizations(),
        "clients": list(
            db.session.execute(
                db.select(SandboxClient).order_by(SandboxClient.created_at.desc())
            ).scalars()
        ),
        "installations": _installations_by_organization(),
        "webhooks": _webhooks_by_client(),
        "deliveries": delivery.recent(limit=20),
    }
    db.session.commit()  # world seeding, if this was the first visit
    return render_template("sandbox/overview.html", **context)


def _scenarios_page(form: ScenarioForm) -> str:
    return render_template(
        "sandbox/scenarios.html",
        form=form,
        groups=scenarios.grouped(),
        first_step=scenarios.first_step,
    )


@bp.get("/scenarios")
def list_scenarios() -> str:
    form = _remembered_form()
    db.session.commit()
    return _scenarios_page(form)


@bp.post("/scenarios")
def run_scenario() -> Response | tuple[str, int]:
    form = _scenario_form()
    name = request.form.get("scenario", "")
    if not form.validate() or name not in scenarios.BY_NAME:
        db.session.rollback()
        flash("Pick a scenario and valid settings, then try again.", "error")
        return _scenarios_page(form), 422
    back = redirect(url_for("sandbox.list_scenarios", **_settings(form)))
    params = {key: value for key, value in form.data.items() if key != "csrf_token" and value}
    try:
        outcome = scenarios.run(name, params)
    except ScenarioError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return back
    db.session.commit()
    flash(*_outcome(scenarios.BY_NAME[name].title, outcome))
    return back


@bp.get("/fault-injection")
def list_faults() -> str:
    return render_template(
        "sandbox/faults.html", form=FaultForm(), faults=faults.list_faults(), kinds=faults.KINDS
    )


@bp.post("/fault-injection")
def add_fault() -> Response | tuple[str, int]:
    form = FaultForm()
    if not form.validate():
        page = render_template(
            "sandbox/faults.html", form=form, faults=faults.list_faults(), kinds=faults.KINDS
        )
        return page, 422
    value = None if form.value.data is None else float(form.value.data)
    faults.set_fault(form.kind.data, form.method.data or "*", value, form.remaining.data)
    db.session.commit()
    flash("Fault added.", "success")
    return redirect(url_for("sandbox.list_faults"))


@bp.post("/fault-injection/<int:fault_id>/remove")
def remove_fault(fault_id: int) -> Response:
    # CSRFProtect has already checked the token, as for every form POST.
    fault = db.session.get(SandboxFault, fault_id)
    if fault is not None:
        db.session.delete(fault)
        db.session.commit()
        flash("Fault removed.", "success")
    return redirect(url_for("sandbox.list_faults"))
