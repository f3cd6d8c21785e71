"""Carry out a registration run in a worker: remove what is outdated, register what is missing,
each result saved the moment it is known; then write down how the run ended.

A worker that dies leaves its lease to run out; the next worker to take the run up lists the
app's webhooks first and adopts those that carry the set's marker, so nothing is registered
twice (R8). ``register_webhook`` is never retried blindly.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass
from typing import Any

from ... import database
from ...extensions import db
from ...livechat import catalog
from ...livechat.configuration import ConfigurationApi, LiveChatError
from ...livechat.configuration import RegisteredWebhook as ListedWebhook
from ...models import (
    RegisteredWebhook,
    RegistrationRun,
    RegistrationState,
    RunKind,
    RunState,
    WebhookSet,
    WizardStep,
    utcnow,
)
from . import calls
from .align import align, find
from .calls import Job, Result
from .control import release_rows
from .lease import RunSettings
from .pump import Runner
from .removal import take_off, unregister_jobs
from .wanted import desired

log = logging.getLogger("consoleapp.registration")

# Errors about one trigger's request: the others are still worth trying (R9).
PER_TRIGGER_ERRORS = {"limit_reached", "validation", "already_exists"}


@dataclass(frozen=True)
class _Row:
    """A registered-webhook row as it was read, for deciding what to do."""

    id: int
    action: str
    livechat_id: str | None
    attempts: int
    state: str


def _rows(webhook_set: WebhookSet) -> list[_Row]:
    return [
        _Row(row.id, row.action, row.livechat_webhook_id, row.attempts, row.state)
        for row in webhook_set.registered
    ]


class _Registration(Runner):
    """A register run: list when needed, remove what is outdated, register what is missing."""

    def execute(self, set_id: int, recovered: bool) -> None:
        with database.reading():
            webhook_set = db.session.get(WebhookSet, set_id)
            if webhook_set is None:
                self.lost = True
                return
            owner = webhook_set.app.client_id or ""
            secret = webhook_set.secret_key or ""
            wanted = desired(webhook_set)
            rows = _rows(webhook_set)
        run_id = self.run_id
        # A set never tried before cannot have webhooks with its marker at LiveChat; any other
        # is listed first, to adopt lost answers and notice webhooks removed by someone else. A
        # run taken over from a worker that died may have sent calls it never wrote down.
        listed: list[ListedWebhook] = []
        if recovered or any(row.livechat_id or row.attempts for row in rows):
            try:
                listed = self.api.list_webhooks(owner)
            except LiveChatError as exc:
                self.stopped = f"Could not read the app's webhooks from LiveChat: {exc.plain}"
                return
            align(db.session.get(WebhookSet, set_id), listed, wanted, self.run_id)
            with database.reading():
                rows = _rows(db.session.get(WebhookSet, set_id))
        self.claimed = {row.livechat_id for row in rows if row.livechat_id}

        removals = deque(
            Job("remove", row.action, row.id, livechat_id=row.livechat_id)
            for row in rows
            if row.state == RegistrationState.REMOVING and row.livechat_id
        )
        if removals:
            self.pump(
                removals,
                lambda job: calls.remove(self.api, job, owner),
                lambda job: None,
                lambda job, result: self._removed(job, result, wanted),
            )
            if self.lost or self.cancelled or self.stopped:
                return
            with database.reading():
                rows = _rows(db.session.get(WebhookSet, set_id))
        order = list(wanted)
        registrations = deque(
            Job("register", row.action, row.id, spec=wanted[row.action])
            for row in sorted(rows, key=lambda r: order.index(r.action) if r.action in order else 0)
            if row.action in wanted and row.livechat_id is None
        )

        def started(job: Job) -> None:
            self.save(
                job.row_id,
                state=RegistrationState.REGISTERING,
                attempts=RegisteredWebhook.attempts + 1,
                last_error=None,
            )

        def finished(job: Job, result: Result) -> None:
            self._registered(job, result, listed, run_id)

        self.pump(
            registrations,
            lambda job: calls.register(self.api, job, owner, secret),
            started,
            finished,
        )

    def title(self, action: str) -> str:
        run = self.run()
        version = run.webhook_set.api_version if run else "3.6"
        trigger = catalog.trigger(version, action)
        return f"“{trigger.title}” ({action})" if trigger else action

    def _removed(self, job: Job, result: Result, wanted: dict[str, Any]) -> None:
        if result.error is None:
            if job.action in wanted:
                self.save(
                    job.row_id,
                    livechat_webhook_id=None,
                    registered_as={},
                    state=RegistrationState.QUEUED,
                    run_id=None,
                )
            else:
                self.drop(job.row_id)
            return
        exc = result.error
        reason = f"could not remove the old webhook: {exc.plain}"
        state = (
            RegistrationState.CLEANUP_PENDING
            if job.action not in wanted
            else RegistrationState.FAILED
        )
        self.save(job.row_id, state=state, last_error=reason)
        if exc.retryable:
            self.stopped = f"{self.title(job.action)}: {reason}"

    def _registered(
        self, job: Job, result: Result, listed: list[ListedWebhook], run_id: int
    ) -> None:
        webhook_id = result.webhook_id
        if webhook_id is None and result.listed is not None:
            found = find(result.listed, job.action, job.spec, self.claimed)
            webhook_id = found.id if found is not None else None
        if webhook_id is not None:
            self.claimed.add(webhook_id)
            self.save(
                job.row_id,
                livechat_webhook_id=webhook_id,
                state=RegistrationState.REGISTERED,
                registered_as=job.spec,
                last_error=None,
                registered_at=utcnow(),
                run_id=run_id,
            )
            return
        exc = result.error
        assert exc is not None
        reason = exc.plain
        self.save(job.row_id, state=RegistrationState.FAILED, last_error=reason)
        log.warning("register_webhook %s failed: %s", job.action, exc.type)
        if exc.type not in PER_TRIGGER_ERRORS:
            self.stopped = f"{self.title(job.action)}: {reason}"


def _finish(runner: Runner, state: RunState) -> None:
    run = runner.run()
    if run is None:
        return
    webhook_set = run.webhook_set
    for row in list(webhook_set.registered):
        if row.state == RegistrationState.REGISTERING and not row.livechat_webhook_id:
            row.state = RegistrationState.PENDING
    release_rows(webhook_set)
    chosen = {trigger.action for trigger in webhook_set.triggers}
    rows = {row.action: row for row in webhook_set.registered}
    complete = set(rows) == chosen and all(
        row.state == RegistrationState.REGISTERED for row in rows.values()
    )
    if complete and run.kind == RunKind.REGISTER and webhook_set.wizard_step >= WizardStep.REVIEW:
        webhook_set.wizard_step = WizardStep.DONE
    elif webhook_set.wizard_step == WizardStep.DONE and not complete:
        webhook_set.wizard_step = WizardStep.REVIEW
    failed = [row for row in rows.values() if row.state == RegistrationState.FAILED]
    cleanup = [row for row in rows.values() if row.state == RegistrationState.CLEANUP_PENDING]
    if runner.stopped:
        run.problem = f"Registration stopped. {runner.stopped} Use “Resume” to continue."
    elif cleanup:
        run.problem = (
            f"{len(cleanup)} webhooks could not be removed; they are marked “cleanup pending”."
        )
    elif failed:
        run.problem = (
            f"{len(failed)} of {len(chosen)} triggers were not registered; each row says why."
        )
    run.state = state
    run.finished_at = utcnow()
    run.holder = None
    run.lease_until = None
    db.session.commit()


def execute(run_id: int, api: ConfigurationApi, settings: RunSettings) -> None:
    """Carry out a run this worker has claimed (``claim``), to its end or until the lease is
    lost to another worker."""
    with database.reading():
        run = db.session.get(RegistrationRun, run_id)
        if run is None:
            return
        kind, set_id, recovered = RunKind(run.kind), run.webhook_set_id, run.pickups > 1
        cancelled = run.cancel_requested_at is not None
    runner: Runner = _Registration(run_id, api, settings)
    runner.cancelled = cancelled

    if kind is RunKind.REMOVE:
        webhook_set = db.session.get(WebhookSet, set_id)
        if not runner.cancelled and webhook_set is not None:
            take_off(runner, webhook_set, unregister_jobs(webhook_set, None))
    elif not runner.cancelled:
        assert isinstance(runner, _Registration)
        runner.execute(set_id, recovered)
    if runner.lost:
        db.session.rollback()
        return
    if runner.cancelled:
        webhook_set = db.session.get(WebhookSet, set_id)
        if kind is RunKind.REGISTER and webhook_set is not None:
            take_off(runner, webhook_set, unregister_jobs(webhook_set, run_id), cleaning_up=True)
        if not runner.lost:
            _finish(runner, RunState.CANCELLED)
        return
    _finish(runner, RunState.FINISHED)
