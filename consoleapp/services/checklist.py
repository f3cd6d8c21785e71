"""Install & test's checklist: the facts that turn green as they are verified.

Each fact is read from the database (the app, its registered webhooks, its installation, the
test events started and the deliveries its inbox got), so the checklist is the same after a
reload, on any process. The web layer says how a fact looks (``web/presenters.py``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select, union_all

from ..extensions import db
from ..livechat import catalog
from ..models import App, Installation, RegistrationState, TriggerTest, WebhookSet
from . import trigger_arrivals as arrivals
from . import webhook_sets as sets
from .installation import current_installation


class CheckState(StrEnum):
    VERIFIED = "verified"
    WAITING = "waiting"
    FAILED = "failed"


@dataclass(frozen=True)
class Elapsed:
    """How long a trigger's first verified delivery took, from the test event that asked for
    it or, without one, from the trigger's registration."""

    start: datetime
    end: datetime
    since_test: bool


@dataclass(frozen=True)
class Check:
    """One row of the checklist: a fact, and whether it is verified yet."""

    key: str
    title: str
    state: CheckState
    detail: str = ""
    # Why a failed fact failed, in a few plain words.
    why: str = ""
    action: str | None = None
    how_to_fire: str = ""
    # When the trigger's first verified delivery came in (trigger rows only).
    verified_at: datetime | None = None
    elapsed: Elapsed | None = None

    @property
    def verified(self) -> bool:
        return self.state == CheckState.VERIFIED


def _ok(key: str, title: str, detail: str = "", **extra: Any) -> Check:
    return Check(key, title, CheckState.VERIFIED, detail, **extra)


def _waiting(key: str, title: str, detail: str = "", **extra: Any) -> Check:
    return Check(key, title, CheckState.WAITING, detail, **extra)


def _failed(key: str, title: str, why: str, detail: str = "", **extra: Any) -> Check:
    return Check(key, title, CheckState.FAILED, detail, why=why, **extra)


@dataclass(frozen=True)
class Checklist:
    setup: list[Check]
    triggers: list[Check] = field(default_factory=list)

    @property
    def rows(self) -> list[Check]:
        return [*self.setup, *self.triggers]

    @property
    def verified(self) -> int:
        return sum(1 for row in self.rows if row.verified)

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
    if any(item.stage == sets.SetStage.FAILED for item in statuses):
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


def started_tests(app_id: int, actions: Iterable[str]) -> dict[str, datetime]:
    """When a test event was last started for each of these triggers of the app: one index
    seek per trigger, in one statement."""
    seeks = [
        select(
            select(TriggerTest.action, TriggerTest.started_at)
            .where(TriggerTest.app_id == app_id, TriggerTest.action == action)
            .order_by(TriggerTest.started_at.desc())
            .limit(1)
            .subquery()
        )
        for action in actions
    ]
    starts: dict[str, datetime] = {}
    for begin in range(0, len(seeks), arrivals.SEEKS_PER_STATEMENT):
        chunk = seeks[begin : begin + arrivals.SEEKS_PER_STATEMENT]
        statement = chunk[0] if len(chunk) == 1 else union_all(*chunk)
        starts.update((action, at) for action, at in db.session.execute(statement))
    return starts


def _registered_at(webhook_sets: list[WebhookSet]) -> dict[str, datetime]:
    found: dict[str, datetime] = {}
    for webhook_set in webhook_sets:
        for row in webhook_set.registered:
            if row.state == RegistrationState.REGISTERED and row.registered_at is not None:
                found[row.action] = max(row.registered_at, found.get(row.action, row.registered_at))
    return found


def _trigger_rows(app: App, webhook_sets: list[WebhookSet]) -> list[Check]:
    chosen = sets.chosen_triggers(webhook_sets)
    starts, registered = started_tests(app.id, chosen), _registered_at(webhook_sets)
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
            verified_at = found.first_verified_at
            elapsed = Elapsed(start, verified_at, by_test) if start is not None else None
            detail = "Event received, secret verified."
            key = f"trigger:{action}"
            rows.append(_ok(key, title, detail, verified_at=verified_at, elapsed=elapsed, **extra))
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
