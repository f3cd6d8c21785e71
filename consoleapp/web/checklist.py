"""Install & test: the checklist that turns green as facts are verified, and test events."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.http import quote_etag
from werkzeug.wrappers import Response

from ..extensions import db
from ..livechat.configuration import LiveChatError
from ..models import App
from ..sandbox_client import SandboxEvents, Scenario
from ..services import checklist, sandbox_events, trigger_arrivals
from . import checklist_words as words
from . import presenters
from .auth import background_poll, editor_required, login_required
from .forms.confirm import ConfirmForm
from .headers import no_store

bp = Blueprint("checklist", __name__, url_prefix="/apps/<int:app_id>/test")
bp.add_app_template_filter(words.button_label, "event_label")

POLL_SECONDS = 1
INSTALL_ENDPOINT = "install.start_install"
INSTALL_PAGE = "install.connection"


def _events() -> SandboxEvents | None:
    """The sandbox's event maker; None in live mode, where people act in LiveChat."""
    url = current_app.config["SANDBOX_URL"]
    timeout = current_app.config["SANDBOX_EVENTS_TIMEOUT"]
    deadline = current_app.config["SANDBOX_EVENTS_DEADLINE"]
    return SandboxEvents(url, timeout=timeout, deadline=deadline) if url else None


def _scenarios() -> tuple[list[Scenario], str | None]:
    """The sandbox's scenarios, asked once per request, and why not when it did not answer."""
    if "test_scenarios" not in g:
        events, g.test_scenarios = _events(), ([], None)
        if events is not None:
            # Nothing to write: ending the read lets the sandbox, in this process, take the lock.
            db.session.commit()
            try:
                g.test_scenarios = (events.list_scenarios(), None)
            except LiveChatError as exc:
                g.test_scenarios = ([], exc.plain)
    return g.test_scenarios


def _endpoint(name: str) -> str | None:
    """The install flow's endpoints, when this console has them."""
    return name if name in current_app.view_functions else None


def _page_url(app_id: int, started: str | None = None) -> str:
    return url_for("checklist.show_checklist", app_id=app_id, started=started)


def _banner(checks: checklist.Checklist, events: dict[str, sandbox_events.TriggerEvent]):
    """After a test event (``?started=<trigger>``), the line that follows its row."""
    action = request.args.get("started", "")
    row = next((r for r in checks.triggers if r.action == action), None)
    return words.banner(row, events[action]) if row and action in events else None


def _checklist_page(
    app: App, version: str | None, scenarios: list[Scenario], sandbox_problem: str | None
):
    checks, events = checklist.for_app(app), sandbox_events.buttons(app, scenarios)
    return render_template(
        "checklist/show.html",
        app=app,
        status_version=quote_etag(version) if version else "",
        checks=checks,
        sandbox=_events() is not None,
        scenarios=events,
        banner=_banner(checks, events),
        completion=words.completion(checks, app.created_at),
        sandbox_problem=sandbox_problem,
        form=ConfirmForm(),
        install_endpoint=_endpoint(INSTALL_ENDPOINT),
        install_page=_endpoint(INSTALL_PAGE),
        poll_seconds=POLL_SECONDS,
    )


@bp.get("/")
@login_required
def show_checklist(app_id: int):
    scenarios, sandbox_problem = _scenarios()
    app = db.get_or_404(App, app_id)
    # Read first: the page's first poll is then answered 304 unless something changed since.
    version = trigger_arrivals.checklist_version(app.id)
    return _checklist_page(app, version, scenarios, sandbox_problem)


@bp.get("/status")
@login_required
@background_poll
@no_store
def status(app_id: int) -> Response:
    """The checklist as JSON, or 304 when nothing it is worked out from has changed since the
    version the page holds (its ETag): an open page polls every second, mostly for nothing."""
    version = trigger_arrivals.checklist_version(app_id)
    if version is None:
        abort(404)
    if request.if_none_match.contains(version):
        response = Response(status=304)
    else:
        response = jsonify(presenters.checklist_json(checklist.for_app(db.get_or_404(App, app_id))))
    response.set_etag(version)
    return response


@bp.post("/<action>/start")
@editor_required
def start_event(app_id: int, action: str):
    app, events = db.get_or_404(App, app_id), _events()
    if events is None or not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        plan = sandbox_events.plan_event(app, action)
        db.session.commit()  # no transaction may stay open during the sandbox call
        fired = sandbox_events.fire(plan, events)
    except (sandbox_events.EventRefused, LiveChatError) as exc:
        flash(getattr(exc, "plain", str(exc)), "error")
        return redirect(_page_url(app_id))
    sandbox_events.record_start(g.user, plan, fired.scenario)
    db.session.commit()
    return _after_start(app_id, plan, fired)


def _after_start(
    app_id: int, plan: sandbox_events.EventPlan, fired: sandbox_events.FiredEvent
) -> Response:
    """The page's banner says the event started, then follows the trigger's row; when the
    sandbox queued no delivery, a warning says why nothing will arrive."""
    if fired.deliveries:
        return redirect(_page_url(app_id, started=plan.action))
    event = sandbox_events.TriggerEvent(fired.scenario, plan.parameters)
    flash(words.nothing_queued(event), "warning")
    return redirect(_page_url(app_id))


@bp.app_template_global()
def checklist_progress(app: App) -> checklist.Checklist:
    """For the app Overview's checklist."""
    return checklist.for_app(app)
