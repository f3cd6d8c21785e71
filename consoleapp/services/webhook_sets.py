"""Webhook sets and the wizard that fills them: URL, secret key, triggers, in that order."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ..crypto import SecretUnavailable
from ..extensions import db
from ..livechat import catalog
from ..models import (
    ACTIVE_STATES,
    App,
    RegistrationRun,
    RegistrationState,
    User,
    WebhookSet,
    WebhookTrigger,
    WizardStep,
    utcnow,
)
from ..outbound.safe_http import HttpResult, SafeHttpClient
from . import audit


def list_sets(app: App) -> list[WebhookSet]:
    return list(
        db.session.execute(
            db.select(WebhookSet).where(WebhookSet.app_id == app.id).order_by(WebhookSet.id)
        ).scalars()
    )


def chosen_triggers(webhook_sets: list[WebhookSet]) -> dict[str, WebhookSet]:
    """Each chosen trigger once, with the first set that chose it, in the sets' order."""
    chosen: dict[str, WebhookSet] = {}
    for webhook_set in webhook_sets:
        for trigger in webhook_set.triggers:
            chosen.setdefault(trigger.action, webhook_set)
    return chosen


def get_set(app: App, uid: str) -> WebhookSet | None:
    return db.session.execute(
        db.select(WebhookSet).where(WebhookSet.app_id == app.id, WebhookSet.uid == uid)
    ).scalar_one_or_none()


def inbox_url(public_url: str, inbox_token: str) -> str:
    """The console's own test inbox for a set (served by the receiver)."""
    return f"{public_url}/hooks/{inbox_token}"


def sends_to_own_inbox(webhook_set: WebhookSet, public_url: str) -> bool:
    """The set's webhooks go to the console's own test inbox, so the console is the endpoint
    that checks the key: nobody needs to copy it."""
    return webhook_set.target_url == inbox_url(public_url, webhook_set.inbox_token)


def first_open_step(webhook_set: WebhookSet) -> WizardStep:
    """The first step whose answer is missing, or the review."""
    if not webhook_set.target_url:
        return WizardStep.URL
    if not webhook_set.secret_key_sealed or webhook_set.secret_saved_at is None:
        return WizardStep.SECRET
    if not webhook_set.triggers:
        return WizardStep.TRIGGERS
    return WizardStep.REVIEW


def _advance(webhook_set: WebhookSet) -> None:
    # Any change after registration sends the set back to review: LiveChat must be updated.
    webhook_set.wizard_step = first_open_step(webhook_set)


def may_open(webhook_set: WebhookSet, step: WizardStep) -> bool:
    """No skipping ahead: a step opens once every step before it is answered."""
    return step <= webhook_set.wizard_step


def create(actor: User, app: App, target_url: str, inbox_token: str) -> WebhookSet:
    webhook_set = WebhookSet(
        app_id=app.id, target_url=target_url, api_version=app.api_version, inbox_token=inbox_token
    )
    webhook_set.wizard_step = WizardStep.SECRET
    db.session.add(webhook_set)
    db.session.flush()
    audit.record(actor, "webhooks.set_created", app.name, url=target_url)
    return webhook_set


def set_url(actor: User, webhook_set: WebhookSet, target_url: str, public_url: str) -> None:
    if webhook_set.target_url != target_url:
        leaving_inbox = sends_to_own_inbox(webhook_set, public_url)
        audit.record(actor, "webhooks.url_changed", webhook_set.app.name, url=target_url)
        webhook_set.target_url = target_url
        if leaving_inbox and kept_by_console(webhook_set):
            # Nobody has seen the key the console kept: the new endpoint needs one it knows.
            webhook_set.secret_saved_at = None
    _advance(webhook_set)


def generate_secret(actor: User, webhook_set: WebhookSet) -> str:
    """A new key from the CSPRNG; the caller shows it once, in the answer to this request."""
    value = secrets.token_urlsafe(32)
    webhook_set.set_secret_key(value)
    webhook_set.secret_shown_at = utcnow()
    webhook_set.secret_saved_at = None
    _advance(webhook_set)
    audit.record(actor, "webhooks.secret_generated", webhook_set.app.name)
    return value


def use_own_secret(actor: User, webhook_set: WebhookSet, value: str) -> None:
    webhook_set.set_secret_key(value)
    # A person has the whole key: "shown" is when someone last had it in front of them.
    webhook_set.secret_shown_at = utcnow()
    # The person typed it, so they have it: no "I saved it" needed.
    webhook_set.secret_saved_at = utcnow()
    _advance(webhook_set)
    audit.record(actor, "webhooks.secret_entered", webhook_set.app.name)


def kept_by_console(webhook_set: WebhookSet) -> bool:
    """The key was made for the console's own inbox and never shown to anyone."""
    return webhook_set.secret_key_sealed is not None and webhook_set.secret_shown_at is None


def keep_secret_in_console(actor: User, webhook_set: WebhookSet) -> None:
    """For the console's own inbox: keep the key it has, or make one, and show it to nobody."""
    try:
        readable = webhook_set.secret_key_sealed is not None and bool(webhook_set.secret_key)
    except SecretUnavailable:
        readable = False
    if not readable:
        webhook_set.set_secret_key(secrets.token_urlsafe(32))
        webhook_set.secret_shown_at = None
        audit.record(actor, "webhooks.secret_generated", webhook_set.app.name)
    if webhook_set.secret_saved_at is None:
        webhook_set.secret_saved_at = utcnow()
    _advance(webhook_set)


def confirm_secret_saved(webhook_set: WebhookSet) -> None:
    if webhook_set.secret_key_sealed is not None and webhook_set.secret_saved_at is None:
        webhook_set.secret_saved_at = utcnow()
    _advance(webhook_set)


@dataclass(frozen=True)
class ChosenTrigger:
    action: str
    filters: dict[str, Any]
    additional_data: list[str]


def set_triggers(actor: User, webhook_set: WebhookSet, chosen: list[ChosenTrigger]) -> None:
    allowed = {t.action: t for t in catalog.triggers_for(webhook_set.api_version)}
    wanted = {c.action: c for c in chosen if c.action in allowed}
    existing = {t.action: t for t in webhook_set.triggers}
    for action, row in existing.items():
        if action not in wanted:
            webhook_set.triggers.remove(row)
    for action, choice in wanted.items():
        row = existing.get(action)
        if row is None:
            row = WebhookTrigger(action=action)
            webhook_set.triggers.append(row)
        row.filters = choice.filters
        row.additional_data = choice.additional_data
    # Keep the catalogue's order, which is the order of registration and of every list.
    order = list(allowed)
    webhook_set.triggers.sort(key=lambda t: order.index(t.action))
    db.session.flush()
    _advance(webhook_set)
    audit.record(actor, "webhooks.triggers_chosen", webhook_set.app.name, triggers=list(wanted))


TEST_PING = {"ping": "consoleapp test request", "note": "Not a LiveChat event; answer 200."}


def send_test(url: str, allow_loopback: bool) -> HttpResult:
    """POST a harmless ping through the guarded client; only status and time come back.

    Call it with no transaction open: the target may be this console's own inbox.
    """
    return SafeHttpClient(allow_loopback=allow_loopback).post_json(url, TEST_PING)


class SetInUse(ValueError):
    """The set still has webhooks in LiveChat, or a run is working on it."""


def _has_active_run(webhook_set: WebhookSet) -> bool:
    query = db.select(RegistrationRun.id).where(
        RegistrationRun.webhook_set_id == webhook_set.id,
        RegistrationRun.state.in_([str(state) for state in ACTIVE_STATES]),
    )
    return db.session.execute(query).first() is not None


def delete(actor: User, webhook_set: WebhookSet) -> None:
    if _has_active_run(webhook_set):
        raise SetInUse("A registration run of this set is going on. Cancel it or let it end first.")
    if any(row.livechat_webhook_id for row in webhook_set.registered):
        raise SetInUse("Remove its webhooks from LiveChat first, then delete the set.")
    audit.record(actor, "webhooks.set_deleted", webhook_set.app.name, url=webhook_set.target_url)
    db.session.delete(webhook_set)


class SetStage(StrEnum):
    DRAFT = "draft"  # a step of the wizard is still open
    READY = "ready"  # reviewed; not every trigger registered yet
    REGISTERED = "registered"
    FAILED = "failed"


@dataclass(frozen=True)
class SetStatus:
    """Where a set stands: its stage, the wizard step it is on, its registered triggers."""

    stage: SetStage
    step: WizardStep
    registered: int
    total: int


def status(webhook_set: WebhookSet) -> SetStatus:
    rows = {row.action: row for row in webhook_set.registered}
    total = len(webhook_set.triggers)
    registered = sum(
        1
        for t in webhook_set.triggers
        if t.action in rows and rows[t.action].state == RegistrationState.REGISTERED
    )
    failed = any(
        row.state in (RegistrationState.FAILED, RegistrationState.CLEANUP_PENDING)
        for row in rows.values()
    )
    step = WizardStep(webhook_set.wizard_step)
    if step < WizardStep.REVIEW:
        return SetStatus(SetStage.DRAFT, step, 0, total)
    if failed:
        return SetStatus(SetStage.FAILED, step, registered, total)
    if step == WizardStep.DONE and registered == total:
        return SetStatus(SetStage.REGISTERED, step, registered, total)
    return SetStatus(SetStage.READY, step, registered, total)


@dataclass(frozen=True)
class AppProgress:
    """The Overview's "Chat webhooks" line: done, in progress (and where), or not started."""

    state: str
    # Done: the triggers registered by the sets that are.
    registered: int = 0
    # In progress: the set to continue, and where it stands.
    next_set: WebhookSet | None = None
    next_status: SetStatus | None = None


def app_progress(app: App) -> AppProgress:
    sets = list_sets(app)
    if not sets:
        return AppProgress("todo")
    done = [s for s in sets if status(s).stage == SetStage.REGISTERED]
    if done:
        return AppProgress("done", registered=sum(len(s.triggers) for s in done))
    current = sets[-1]
    return AppProgress("progress", next_set=current, next_status=status(current))
