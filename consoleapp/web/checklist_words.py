"""Install & test in words: what each trigger's button will make happen, the banner that
follows a test event, and the summary once every fact is verified."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..services.checklist import Check, Checklist, CheckState
from ..services.sandbox_events import TriggerEvent
from .presenters import check_detail, took

# Scenarios whose author the trigger's filters choose (the sandbox's own title says "customer
# or agent"): the button says which one it will be.
AUTHORED = {
    "send_message": {
        "customer": "A customer sends a message",
        "agent": "An agent sends a message",
    },
    "edit_message": {
        "customer": "A customer's message is edited",
        "agent": "An agent's message is edited",
    },
    "delete_message": {
        "customer": "A customer's message is deleted",
        "agent": "An agent's message is deleted",
    },
}
PERFORMED = {
    "this_app": " (through this app)",
    "other_app": " (through another app)",
    "system": " (by LiveChat itself)",
}


def button_label(event: TriggerEvent) -> str:
    """What pressing the button makes happen, as the trigger's filters shape it."""
    author = event.parameters.get("author_type", "")
    label = AUTHORED.get(event.scenario.name, {}).get(author) or event.scenario.title
    return label + PERFORMED.get(event.parameters.get("performed_by", ""), "")


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def nothing_queued(event: TriggerEvent) -> str:
    return (
        f"Started: {_lower_first(button_label(event))}, but LiveChat queued no delivery for "
        "it. Check that the app is installed, license webhooks are on and the trigger's "
        "filters let it through."
    )


@dataclass(frozen=True)
class Banner:
    """The line above the checklist after a test event; it follows the trigger's row."""

    key: str
    state: CheckState
    text: str
    text_ok: str
    text_bad: str

    @property
    def category(self) -> str:
        return "error" if self.state == CheckState.FAILED else "success"


def banner(row: Check, event: TriggerEvent) -> Banner:
    """Said the same way here and by the page's script, which adds the row's detail."""
    label = _lower_first(button_label(event))
    text_ok, text_bad = f"Done: {label}.", f"Started: {label}."
    if row.state == CheckState.VERIFIED:
        text = f"{text_ok} {check_detail(row)}"
    elif row.state == CheckState.FAILED:
        text = f"{text_bad} {check_detail(row)}"
    else:
        text = f"Started: {label}. Waiting for LiveChat's delivery…"
    return Banner(row.key, row.state, text, text_ok, text_bad)


def completion(checks: Checklist, created_at: datetime) -> str:
    count = len(checks.triggers)
    said = "The trigger" if count == 1 else f"All {count} triggers"
    text = f"{said} reached the console with the right secret key."
    if checks.finished_at is not None:
        text += f" It took {took(created_at, checks.finished_at)} from creating the app."
    return text
