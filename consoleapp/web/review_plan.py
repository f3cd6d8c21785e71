"""The review page's "what changes at LiveChat": a row per trigger, a pill, a line of why."""

from __future__ import annotations

from dataclasses import dataclass

from ..livechat import catalog
from ..services.registration.plan import PER_TRIGGER_LIMIT, Change, Plan, PlannedChange

WHAT_CHANGED = {"url": "webhook URL", "filters": "filters", "key": "secret key"}
COUNT_WORDS = [
    (Change.KEEP, "registered"),
    (Change.ADD, "will be added"),
    (Change.REPLACE, "will be replaced"),
    (Change.REMOVE, "will be removed"),
]
LIMIT = f"LiveChat allows at most {PER_TRIGGER_LIMIT} webhooks per trigger for one app"


@dataclass(frozen=True)
class PlanRow:
    action: str
    title: str
    change: str
    pill: str
    label: str
    detail: str


def _row(item: PlannedChange, version: str) -> PlanRow:
    trigger = catalog.trigger(version, item.action)
    title = trigger.title if trigger else item.action
    if item.change is Change.KEEP:
        pill, label, detail = "ok", "registered", "Stays as it is."
    elif item.change is Change.REMOVE:
        pill, label, detail = "muted", "will be removed", "No longer chosen."
    elif item.change is Change.REPLACE:
        changed = " and ".join(WHAT_CHANGED[w] for w in item.why) or "settings"
        pill, label = "wait", "will be replaced"
        detail = f"New {changed}: the old webhook is removed, then the new one is registered."
        if item.at_limit:
            detail += (
                f" {LIMIT}, and this app has {item.elsewhere + 1} for this trigger, so the old"
                " one must go before the new one fits."
            )
    elif item.over_limit:
        pill, label = "bad", "cannot be added yet"
        detail = (
            f"{LIMIT}, and its other webhook sets already hold {item.elsewhere} for this"
            " trigger. Remove one of those first."
        )
    else:
        pill, label = "wait", "will be added"
        detail = f"The last try failed: {item.last_error}" if item.last_error else ""
    return PlanRow(item.action, title, str(item.change), pill, label, detail)


def rows(plan: Plan, version: str) -> list[PlanRow]:
    return [_row(item, version) for item in plan.changes]


def counts(plan: Plan) -> str:
    """ "4 registered, 1 will be removed"."""
    parts = [f"{plan.count(change)} {words}" for change, words in COUNT_WORDS if plan.count(change)]
    return ", ".join(parts) or "nothing chosen"


def limit_notice(plan: Plan, version: str) -> str | None:
    """When LiveChat's limit forces removing before adding, say so, naming the triggers."""
    squeezed = [item for item in plan.changes if item.at_limit]
    if not squeezed:
        return None
    names = ", ".join(f"“{_row(item, version).title}”" for item in squeezed)
    return (
        f"{LIMIT}. For {names} the app is at that limit, so the old webhook is removed before"
        " the new one is registered; an event in between is not sent."
    )
