"""Test events in sandbox mode: which sandbox event fires each chosen trigger, asked for so that
the trigger's filters let it through, and the start that sets the checklist's clock.

In live mode people act in LiveChat itself; nothing here is used.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..extensions import db
from ..livechat import catalog
from ..models import App, TriggerTest, User, WebhookSet, WebhookTrigger, utcnow
from ..sandbox_client import SandboxEventError, SandboxEvents, Scenario
from . import audit
from . import webhook_sets as sets
from .installation import current_installation

TEST_STARTED = "test.event_started"
PERFORMERS = {"my_client": "this_app", "other_clients": "other_app", "system": "system"}


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
    webhook_set = sets.chosen_triggers(sets.list_sets(app)).get(action)
    if webhook_set is None:
        raise EventRefused("This trigger is not chosen in any webhook set of the app.")
    return EventPlan(
        app.id, app.name, action, webhook_set.api_version, _parameters(app, webhook_set, action)
    )


@dataclass(frozen=True)
class TriggerEvent:
    """A trigger's button: the sandbox event that fires it, and who will make it happen."""

    scenario: Scenario
    parameters: dict[str, str]


def buttons(app: App, scenarios: list[Scenario]) -> dict[str, TriggerEvent]:
    """Per chosen trigger, the sandbox event that fires it in its set's API version."""
    found = {}
    for action, webhook_set in sets.chosen_triggers(sets.list_sets(app)).items():
        scenario = scenarios_by_trigger(scenarios, webhook_set.api_version).get(action)
        if scenario is not None:
            trigger = next(t for t in webhook_set.triggers if t.action == action)
            parameters = filter_parameters(trigger, webhook_set.api_version, bool(app.client_id))
            found[action] = TriggerEvent(scenario, parameters)
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


def record_start(actor: User, plan: EventPlan, scenario: Scenario) -> TriggerTest:
    """The trigger's clock starts now; the audit log says who started it."""
    start = TriggerTest(
        app_id=plan.app_id,
        action=plan.action,
        scenario=scenario.name[:64],
        started_at=plan.started_at,
        started_by_id=actor.id,
    )
    db.session.add(start)
    event = audit.record(
        actor,
        TEST_STARTED,
        plan.app_name,
        app_id=plan.app_id,
        trigger=plan.action,
        scenario=scenario.name,
    )
    event.created_at = plan.started_at
    return start
