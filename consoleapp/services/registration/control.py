"""Registration runs as requests see them: whether one can start, starting one, finding the
active or latest one, and asking one to stop.

A request adds a queued run and its task is queued; a worker carries it out (``run``). At most
one run of a set is active at a time: the database's one-active-run index decides between two
requests that start one at the same moment.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError

from ...crypto import SecretUnavailable
from ...extensions import db
from ...models import (
    ACTIVE_STATES,
    RegisteredWebhook,
    RegistrationRun,
    RegistrationState,
    RunKind,
    RunState,
    User,
    WebhookSet,
    WizardStep,
    utcnow,
)
from .. import audit
from .wanted import desired


class AlreadyRunning(Exception):
    """The set already has an active run; it is attached, for the page to show."""

    def __init__(self, run: RegistrationRun) -> None:
        super().__init__(f"run {run.id} is {run.state}")
        self.run = run


def problem(webhook_set: WebhookSet) -> str | None:
    """Why registration cannot start, in words a person can act on; None when it can."""
    app = webhook_set.app
    if not app.client_id:
        return "Add the app's Client ID on the Authorization tab first."
    if not app.developer_credential_complete or not app.secret_readable("developer_token"):
        return "Add a developer credential (Personal Access Token) on the Authorization tab."
    if webhook_set.wizard_step < WizardStep.REVIEW:
        return "Finish the three steps first."
    try:
        webhook_set.secret_key  # noqa: B018 - reading it proves it can be opened
    except SecretUnavailable:
        return "The saved secret key can no longer be read. Generate a new one in step 2."
    return None


def active_run(set_id: int) -> RegistrationRun | None:
    query = db.select(RegistrationRun).where(
        RegistrationRun.webhook_set_id == set_id,
        RegistrationRun.state.in_([str(state) for state in ACTIVE_STATES]),
    )
    return db.session.execute(query).scalar_one_or_none()


def latest_run(set_id: int) -> RegistrationRun | None:
    query = (
        db.select(RegistrationRun)
        .where(RegistrationRun.webhook_set_id == set_id)
        .order_by(RegistrationRun.id.desc())
        .limit(1)
    )
    return db.session.execute(query).scalar_one_or_none()


def _mark_rows(webhook_set: WebhookSet, kind: RunKind) -> None:
    """Show what the run will do: queued to register, or to be removed."""
    wanted = desired(webhook_set) if kind is RunKind.REGISTER else {}
    have = {row.action: row for row in webhook_set.registered}
    for action in wanted:
        if action not in have:
            row = RegisteredWebhook(action=action, state=RegistrationState.QUEUED)
            webhook_set.registered.append(row)
    for action, row in have.items():
        spec = wanted.get(action)
        if row.livechat_webhook_id is None:
            if spec is None:
                webhook_set.registered.remove(row)
            elif row.state != RegistrationState.REGISTERING:
                row.state, row.last_error = RegistrationState.QUEUED, None
        elif spec is None or row.registered_as != spec:
            row.state, row.last_error = RegistrationState.REMOVING, None
        elif row.state != RegistrationState.REGISTERED:
            # Kept after all (a cancel that could not remove it, then a resume).
            row.state, row.last_error = RegistrationState.REGISTERED, None


def start(actor: User, webhook_set: WebhookSet, kind: RunKind) -> RegistrationRun:
    """Add a queued run of the set; the caller commits, then queues its task.

    Raises ``AlreadyRunning`` when another run of the set is active, also when two requests
    start one at the same moment (the database's one-active-run index decides).
    """
    existing = active_run(webhook_set.id)
    if existing is not None:
        raise AlreadyRunning(existing)
    run = RegistrationRun(
        webhook_set_id=webhook_set.id, kind=kind, state=RunState.QUEUED, requested_by_id=actor.id
    )
    try:
        with db.session.begin_nested():
            db.session.add(run)
            db.session.flush()
    except IntegrityError:
        found = active_run(webhook_set.id)
        if found is None:
            raise
        raise AlreadyRunning(found) from None
    _mark_rows(webhook_set, kind)
    if kind is RunKind.REMOVE and webhook_set.wizard_step == WizardStep.DONE:
        webhook_set.wizard_step = WizardStep.REVIEW
    audit.record(
        actor,
        "webhooks.registration_started" if kind is RunKind.REGISTER else "webhooks.removal_started",
        webhook_set.app.name,
        triggers=len(webhook_set.triggers),
    )
    db.session.flush()
    return run


def undo_start(run_id: int) -> None:
    """The run's task could not be queued: take the run back as if it never started."""
    run = db.session.get(RegistrationRun, run_id)
    if run is None:
        return
    release_rows(run.webhook_set)
    db.session.delete(run)
    db.session.flush()


def release_rows(webhook_set: WebhookSet) -> None:
    """Rows a run meant to change but did not: back to what LiveChat holds."""
    for row in webhook_set.registered:
        if row.state == RegistrationState.QUEUED:
            row.state = RegistrationState.PENDING
        elif row.state == RegistrationState.REMOVING and row.livechat_webhook_id:
            row.state = RegistrationState.REGISTERED


def request_cancel(actor: User, run: RegistrationRun, now: datetime | None = None) -> bool:
    """Ask the run to stop: calls in flight finish, nothing new starts, and what the run
    registered is removed. False when it was already asked or has ended."""
    if run.state_enum not in (RunState.QUEUED, RunState.RUNNING):
        return False
    run.cancel_requested_at = now or utcnow()
    run.state = RunState.CANCELLING
    audit.record(actor, "webhooks.registration_cancelled", run.webhook_set.app.name)
    return True
