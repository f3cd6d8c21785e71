"""Install & test: the checklist of verified facts, and test events the sandbox makes happen.

Each fact is read from the database (the app, its registered webhooks, its installation and
the deliveries its inbox got), so the checklist is the same after a reload, on any process.
A test event is remembered as an audit event: when it started is when the clock starts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..extensions import db
from ..livechat import catalog
from ..models import (
    App,
    AuditEvent,
    Installation,
    RegistrationState,
    User,
    WebhookSet,
    WebhookTrigger,
    utcnow,
)
from ..sandbox_client import SandboxEventError, SandboxEvents, Scenario
from . import audit
from . import trigger_arrivals as arrivals
from . import webhook_sets as sets

OK, WAIT, BAD = "ok", "wait", "bad"
TEST_STARTED = "test.event_started"
# Enough to find the latest start of every trigger of an app among recent test events.
RECENT_STARTS = 500
PERFORMERS = {"my_client": "this_app", "other_clients": "other_app", "system": "system"}


@dataclass(frozen=True)
class Check:
    """One row of the checklist: a fact, and whether it is verified yet."""

    key: str
    title: str
    pill: str
    label: str
    detail: str = ""
    action: str | None = None
    how_to_fire: str = ""
    # When the trigger's first verified delivery came in (trigger rows only).
    verified_at: datetime | None = None


def _ok(key: str, title: str, detail: str = "", **extra: Any) -> Check:
    return Check(key, title, OK, "verified", detail, **extra)


def _waiting(key: str, title: str, detail: str = "", **extra: Any) -> Check:
    return Check(key, title, WAIT, "waiting", detail, **extra)


def _failed(key: str, title: str, why: str, detail: str = "", **extra: Any) -> Check:
    return Check(key, title, BAD, f"failed: {why}", detail, **extra)


@dataclass(frozen=True)
class Checklist:
    setup: list[Check]
    triggers: list[Check] = field(default_factory=list)

    @property
    def rows(self) -> list[Check]:
        return [*self.setup, *self.triggers]

    @property
    def verified(self) -> int:
        return sum(1 for row in self.rows if row.pill == OK)

    @property
    def total(self) -> int:
        return len(self.rows)

    @property
    def finished_at(self) -> datetime | None:
        """When the last trigger was verified, once every fact is."""
        if self.state != "done":
            return None
        return max((row.verified_at for row in self.triggers if row.verified_at), default=None)

    @property
    def state(self) -> str:
        """For the Overview: "done", "progress" or "todo"."""
        if self.triggers and self.verified == self.total:
            return "done"
        return "progress" if self.verified else "todo"


# -- the setup facts ----------------------------------------------------------------------


def current_installation(app_id: int) -> Installation | None:
    """The app's latest installation that was not uninstalled."""
    query = (
        db.select(Installation)
        .where(Installation.app_id == app_id, Installation.uninstalled_at.is_(None))
        .order_by(Installation.installed_at.desc(), Installation.id.desc())
        .limit(1)
    )
    return db.session.execute(query).scalar_one_or_none()


def _authorization(app: App) -> Check:
    title = "Authorization configured"
    missing = catalog.missing_scopes(app.scopes)
    if not app.authorization_complete:
        return _waiting("authorization", title, "Client ID, secret and redirect addresses.")
    if missing:
        names = ", ".join(scope.name for scope in missing)
        return _failed("authorization", title, f"missing scope {names}")
    return _ok("authorization", title, "Client ID, secret, scopes and redirect addresses.")


def _registration(webhook_sets: list[WebhookSet]) -> Check:
    statuses = [sets.status(webhook_set) for webhook_set in webhook_sets]
    registered = sum(item.registered for item in statuses)
    total = sum(item.total for item in statuses)
    title = f"Webhooks registered {registered}/{total}"
    if not total:
        return _waiting("registration", "Webhooks registered", "No triggers chosen yet.")
    if any(item.pill == BAD for item in statuses):
        return _failed("registration", title, "some triggers were not registered")
    if registered < total:
        return _waiting("registration", title, "Register the webhook set with LiveChat.")
    return _ok("registration", title, "LiveChat holds one webhook per chosen trigger.")


def _installed(installation: Installation | None) -> Check:
    title = "App installed on a license"
    if installation is None:
        return _waiting("installed", title, "Install the app on your LiveChat license.")
    if installation.needs_reauth:
        return _failed("installed", title, "sign in with LiveChat again")
    ending = installation.organization_id[-6:]
    return _ok("installed", title, f"On your LiveChat organization (ID ending …{ending}).")


def _license_webhooks(installation: Installation | None) -> Check:
    title = "License webhooks enabled"
    if installation is None:
        return _waiting("license_webhooks", title, "Checked when the app is installed.")
    if installation.webhooks_enabled is None:
        return _waiting("license_webhooks", title, "Not checked yet.")
    if not installation.webhooks_enabled:
        return _failed("license_webhooks", title, "turned off on the license")
    return _ok("license_webhooks", title, "LiveChat sends this app's webhooks for the license.")


# -- the triggers ---------------------------------------------------------------------------


def started_tests(app_id: int) -> dict[str, datetime]:
    """When a test event was last started for each trigger of the app."""
    query = (
        db.select(AuditEvent)
        .where(AuditEvent.action == TEST_STARTED)
        .order_by(AuditEvent.id.desc())
        .limit(RECENT_STARTS)
    )
    starts: dict[str, datetime] = {}
    for event in db.session.execute(query).scalars():
        details = event.details or {}
        action = details.get("trigger")
        if details.get("app_id") == app_id and isinstance(action, str):
            starts.setdefault(action, event.created_at)
    return starts


def _registered_at(webhook_sets: list[WebhookSet]) -> dict[str, datetime]:
    found: dict[str, datetime] = {}
    for webhook_set in webhook_sets:
        for row in webhook_set.registered:
            if row.state == RegistrationState.REGISTERED and row.registered_at is not None:
                found[row.action] = max(row.registered_at, found.get(row.action, row.registered_at))
    return found


def took(start: datetime, end: datetime) -> str:
    seconds = max(0, round((end - start).total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def chosen_triggers(webhook_sets: list[WebhookSet]) -> dict[str, WebhookSet]:
    """Each chosen trigger once, with the first set that chose it, in the sets' order."""
    chosen: dict[str, WebhookSet] = {}
    for webhook_set in webhook_sets:
        for trigger in webhook_set.triggers:
            chosen.setdefault(trigger.action, webhook_set)
    return chosen


def _trigger_rows(app: App, webhook_sets: list[WebhookSet]) -> list[Check]:
    starts, registered = started_tests(app.id), _registered_at(webhook_sets)
    chosen = chosen_triggers(webhook_sets)
    # The later of the two: a delivery before a re-registration proves nothing about it.
    since = {
        action: max(filter(None, (starts.get(action), registered.get(action))), default=None)
        for action in chosen
    }
    seen = arrivals.arrived([webhook_set.id for webhook_set in webhook_sets], since)
    rows = []
    for action, webhook_set in chosen.items():
        known = catalog.trigger(webhook_set.api_version, action)
        title = known.title if known else action
        extra = {"action": action, "how_to_fire": known.how_to_fire if known else ""}
        start, tested, found = since[action], starts.get(action), seen[action]
        by_test = tested is not None and start == tested
        if found.first_verified_at is not None:
            after = "after the test started" if by_test else "after registration"
            detail = "Event received, secret verified."
            if start is not None:
                detail = f"{detail[:-1]} {took(start, found.first_verified_at)} {after}."
            verified_at = found.first_verified_at
            rows.append(_ok(f"trigger:{action}", title, detail, verified_at=verified_at, **extra))
        elif found.rejected:
            why = found.last_rejection or "rejected"
            detail = "A delivery came in and was refused; it is in the Inbox."
            rows.append(_failed(f"trigger:{action}", title, why, detail, **extra))
        elif action not in registered:
            rows.append(_waiting(f"trigger:{action}", title, "Not registered yet.", **extra))
        else:
            detail = "Waiting for LiveChat's delivery…" if by_test else "No event yet."
            rows.append(_waiting(f"trigger:{action}", title, detail, **extra))
    return rows


def for_app(app: App) -> Checklist:
    webhook_sets = sets.list_sets(app)
    installation = current_installation(app.id)
    setup = [
        _authorization(app),
        _registration(webhook_sets),
        _installed(installation),
        _license_webhooks(installation),
    ]
    return Checklist(setup, _trigger_rows(app, webhook_sets))


def as_json(checks: Checklist) -> dict[str, Any]:
    return {
        "verified": checks.verified,
        "total": checks.total,
        "state": checks.state,
        "rows": [
            {
                "key": row.key,
                "title": row.title,
                "pill": row.pill,
                "label": row.label,
                "detail": row.detail,
            }
            for row in checks.rows
        ],
    }


# -- test events (sandbox mode) ---------------------------------------------------------------


class EventRefused(ValueError):
    """A test event the console will not start; the message says why."""


@dataclass(frozen=True)
class EventPlan:
    """What to ask the sandbox for, read from the database before any HTTP call."""

    app_id: int
    app_name: str
    action: str
    api_version: str
    parameters: dict[str, Any]
    # Taken before the sandbox is asked: its delivery may arrive before the answer does.
    started_at: datetime = field(default_factory=utcnow)


def scenarios_by_trigger(scenarios: list[Scenario], version: str) -> dict[str, Scenario]:
    """The first scenario that fires each trigger in this API version."""
    found: dict[str, Scenario] = {}
    for scenario in scenarios:
        if scenario.versions and version not in scenario.versions:
            continue
        for action in scenario.triggers:
            found.setdefault(action, scenario)
    return found


def filter_parameters(
    trigger: WebhookTrigger, api_version: str, has_client: bool
) -> dict[str, str]:
    """Who makes the event happen, so that the trigger's filters let it through (or the test
    would wait forever). The author is always said where the trigger has one, so the page can
    say who it will be."""
    filters, parameters = trigger.filters or {}, {}
    known = catalog.trigger(api_version, trigger.action)
    if filters.get("author_type") in ("customer", "agent"):
        parameters["author_type"] = filters["author_type"]
    elif known is not None and "author_type" in known.filters:
        parameters["author_type"] = "customer"
    performers = [PERFORMERS[s] for s in filters.get("source_type") or () if s in PERFORMERS]
    if filters.get("only_my_chats"):
        performers = ["this_app"]
    if performers and (has_client or performers[0] != "this_app"):
        parameters["performed_by"] = performers[0]
    return parameters


def _parameters(app: App, webhook_set: WebhookSet, action: str) -> dict[str, Any]:
    parameters: dict[str, Any] = {}
    if app.client_id:
        parameters["client_id"] = app.client_id
    installation = current_installation(app.id)
    if installation is not None:
        parameters["organization_id"] = installation.organization_id
    trigger = next(t for t in webhook_set.triggers if t.action == action)
    parameters.update(filter_parameters(trigger, webhook_set.api_version, bool(app.client_id)))
    return parameters


def plan_event(app: App, action: str) -> EventPlan:
    webhook_set = chosen_triggers(sets.list_sets(app)).get(action)
    if webhook_set is None:
        raise EventRefused("This trigger is not chosen in any webhook set of the app.")
    return EventPlan(
        app.id, app.name, action, webhook_set.api_version, _parameters(app, webhook_set, action)
    )


@dataclass(frozen=True)
class TestEvent:
    """A trigger's button: the sandbox event that fires it, and who will make it happen."""

    scenario: Scenario
    parameters: dict[str, str]


def buttons(app: App, scenarios: list[Scenario]) -> dict[str, TestEvent]:
    """Per chosen trigger, the sandbox event that fires it in its set's API version."""
    found = {}
    for action, webhook_set in chosen_triggers(sets.list_sets(app)).items():
        scenario = scenarios_by_trigger(scenarios, webhook_set.api_version).get(action)
        if scenario is not None:
            trigger = next(t for t in webhook_set.triggers if t.action == action)
            parameters = filter_parameters(trigger, webhook_set.api_version, bool(app.client_id))
            found[action] = TestEvent(scenario, parameters)
    return found


@dataclass(frozen=True)
class FiredEvent:
    scenario: Scenario
    # Deliveries the sandbox queued for every app; none means nobody is listening.
    deliveries: int


def fire(plan: EventPlan, client: SandboxEvents) -> FiredEvent:
    """Ask the sandbox for an event that fires the trigger. Call it with no transaction open."""
    scenario = scenarios_by_trigger(client.list_scenarios(), plan.api_version).get(plan.action)
    if scenario is None:
        raise SandboxEventError("not_found", "the sandbox has no event that fires this trigger")
    started = client.start_scenario(scenario.name, plan.parameters)
    return FiredEvent(scenario, started.deliveries)


def record_start(actor: User, plan: EventPlan, scenario: Scenario) -> None:
    event = audit.record(
        actor,
        TEST_STARTED,
        plan.app_name,
        app_id=plan.app_id,
        trigger=plan.action,
        scenario=scenario.name,
    )
    event.created_at = plan.started_at
