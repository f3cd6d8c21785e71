"""Carry out a registration run in a worker: a few LiveChat calls at once, each result saved
the moment it is known, the run's lease renewed while it works.

Only this thread touches the database; the calls to LiveChat run in a small thread pool and
return their results here. No transaction is open while a call is in flight (SQLite takes its
write lock at BEGIN, and the sandbox may be served from the same database).

A worker that dies leaves its lease to run out; the next worker to take the run up lists the
app's webhooks first and adopts those that carry the set's marker, so nothing is registered
twice (R8). ``register_webhook`` is never retried blindly.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import case, delete, func, or_, update

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
from .control import desired, release_rows

log = logging.getLogger("consoleapp.registration")

# Errors about one trigger's request: the others are still worth trying (R9).
PER_TRIGGER_ERRORS = {"limit_reached", "validation", "already_exists"}
# A rate-limited call waits what LiveChat's Retry-After says, up to this, a few times over.
RETRY_AFTER_CAP = 30.0
RATE_LIMITED_TRIES = 5


@dataclass(frozen=True)
class RunSettings:
    holder: str
    in_flight: int = 8
    lease: timedelta = timedelta(seconds=30)
    retry_after_cap: float = RETRY_AFTER_CAP

    @property
    def heartbeat_seconds(self) -> float:
        return max(self.lease.total_seconds() / 4, 0.2)


def claim(run_id: int, settings: RunSettings) -> bool:
    """Take the run for this worker if it is active and nobody holds a live lease on it."""
    now = utcnow()
    taken = db.session.execute(
        update(RegistrationRun)
        .where(
            RegistrationRun.id == run_id,
            RegistrationRun.state.in_([RunState.QUEUED, RunState.RUNNING, RunState.CANCELLING]),
            or_(RegistrationRun.lease_until.is_(None), RegistrationRun.lease_until < now),
        )
        .values(
            holder=settings.holder,
            lease_until=now + settings.lease,
            pickups=RegistrationRun.pickups + 1,
            state=case(
                (RegistrationRun.state == RunState.QUEUED, RunState.RUNNING),
                else_=RegistrationRun.state,
            ),
            started_at=func.coalesce(RegistrationRun.started_at, now),
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return taken == 1


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


@dataclass
class _Job:
    kind: str  # "register" or "remove"
    action: str
    row_id: int
    spec: dict[str, Any] = field(default_factory=dict)
    livechat_id: str | None = None
    rate_limited: int = 0


@dataclass
class _Result:
    webhook_id: str | None = None
    error: LiveChatError | None = None
    listed: list[ListedWebhook] | None = None


class _Runner:
    def __init__(self, run_id: int, api: ConfigurationApi, settings: RunSettings) -> None:
        self.run_id = run_id
        self.api = api
        self.settings = settings
        self.lost = False
        self.cancelled = False
        # Removing what a cancelled run made goes on although the run was asked to stop.
        self.cleaning_up = False
        self.stopped: str | None = None
        self.paused_until = 0.0
        self.next_beat = 0.0
        self.writes: list[Any] = []
        self.claimed: set[str] = set()

    # -- the run's row ---------------------------------------------------------------------

    def run(self) -> RegistrationRun | None:
        return db.session.get(RegistrationRun, self.run_id)

    def beat(self, force: bool = False) -> None:
        """Renew the lease (and learn about a cancel) every so often; commits."""
        if not force and time.monotonic() < self.next_beat:
            return
        self.next_beat = time.monotonic() + self.settings.heartbeat_seconds
        renewed = db.session.execute(
            update(RegistrationRun)
            .where(
                RegistrationRun.id == self.run_id,
                RegistrationRun.holder == self.settings.holder,
            )
            .values(lease_until=utcnow() + self.settings.lease)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not renewed:
            self.lost = True  # another worker took over, or the set was deleted
        self.notice_cancel()
        # Nothing may touch the database after this until the next write: no transaction
        # stays open while calls to LiveChat are in flight.
        db.session.commit()

    def notice_cancel(self) -> None:
        """Learn whether someone pressed Cancel (read in the caller's transaction)."""
        asked = db.session.execute(
            db.select(RegistrationRun.cancel_requested_at).where(RegistrationRun.id == self.run_id)
        ).scalar_one_or_none()
        if asked is not None:
            self.cancelled = True

    def title(self, action: str) -> str:
        run = self.run()
        version = run.webhook_set.api_version if run else "3.6"
        trigger = catalog.trigger(version, action)
        return f"“{trigger.title}” ({action})" if trigger else action

    # -- calls to LiveChat, in the pool --------------------------------------------------------

    def _register(self, job: _Job, owner: str, secret: str) -> _Result:
        try:
            webhook_id = self.api.register_webhook(
                action=job.action,
                url=job.spec["url"],
                secret_key=secret,
                owner_client_id=owner,
                description=job.spec["description"],
                filters=job.spec["filters"] or None,
                additional_data=job.spec["additional_data"] or None,
            )
        except LiveChatError as exc:
            if not exc.ambiguous:
                return _Result(error=exc)
            # The request may have taken effect: look before anyone registers again (R8).
            try:
                return _Result(error=exc, listed=self.api.list_webhooks(owner))
            except LiveChatError:
                return _Result(error=exc)
        return _Result(webhook_id=webhook_id)

    def _remove(self, job: _Job, owner: str) -> _Result:
        try:
            self.api.unregister_webhook(job.livechat_id or "", owner)
        except LiveChatError as exc:
            if exc.type != "not_found":  # already gone is what we wanted
                return _Result(error=exc)
        return _Result()

    # -- the pump ------------------------------------------------------------------------------

    def pump(
        self,
        jobs: deque[_Job],
        call: Callable[[_Job], _Result],
        started: Callable[[_Job], None],
        finished: Callable[[_Job, _Result], None],
    ) -> None:
        """Run ``jobs`` at most ``in_flight`` at a time; stop starting new ones on a cancel,
        a stop or a lost lease, and always let the calls in flight finish."""
        pending: dict[Future[_Result], _Job] = {}
        answered: list[tuple[_Job, _Result]] = []
        with ThreadPoolExecutor(self.settings.in_flight, thread_name_prefix="livechat") as pool:
            while True:
                # Decide first, then send, then write down: a call's answer is saved while the
                # next calls are already on their way.
                for job, result in answered:
                    finished(job, result)
                answered.clear()
                if jobs:
                    with database.reading():  # nothing new starts once Cancel is pressed
                        self.notice_cancel()
                halted = (
                    self.lost
                    or (self.cancelled and not self.cleaning_up)
                    or self.stopped is not None
                )
                wave: list[_Job] = []
                if not halted and time.monotonic() >= self.paused_until:
                    while jobs and len(pending) + len(wave) < self.settings.in_flight:
                        wave.append(jobs.popleft())
                for job in wave:
                    pending[pool.submit(call, job)] = job
                for job in wave:
                    started(job)
                self.flush_writes()
                if not pending:
                    if halted or not jobs:
                        return
                    time.sleep(
                        min(self.paused_until - time.monotonic(), self.settings.heartbeat_seconds)
                    )
                    self.beat()
                    continue
                done, _ = wait(
                    pending, timeout=self.settings.heartbeat_seconds, return_when=FIRST_COMPLETED
                )
                for future in done:
                    job = pending.pop(future)
                    result = future.result()
                    if (
                        result.error is not None
                        and result.error.type == "too_many_requests"
                        and job.rate_limited < RATE_LIMITED_TRIES
                    ):
                        job.rate_limited += 1
                        wait_for = float(result.error.data.get("retry_after") or 1)
                        pause = min(wait_for, self.settings.retry_after_cap)
                        self.paused_until = max(self.paused_until, time.monotonic() + pause)
                        jobs.appendleft(job)
                        continue
                    answered.append((job, result))
                self.beat()

    # -- writes, in the order decided, one commit for all ------------------------------------

    def save(self, row_id: int, **values: Any) -> None:
        """Change one row by id (a row deleted meanwhile, with its set, matches nothing)."""
        self.writes.append(
            update(RegisteredWebhook)
            .where(RegisteredWebhook.id == row_id)
            .values(updated_at=utcnow(), **values)
            .execution_options(synchronize_session=False)
        )

    def drop(self, row_id: int) -> None:
        self.writes.append(
            delete(RegisteredWebhook)
            .where(RegisteredWebhook.id == row_id)
            .execution_options(synchronize_session=False)
        )

    def flush_writes(self) -> None:
        for statement in self.writes:
            db.session.execute(statement)
        self.writes.clear()
        db.session.commit()


def _matches(listed: ListedWebhook, action: str, spec: dict[str, Any]) -> bool:
    return (
        listed.action == action
        and listed.url == spec["url"]
        and listed.description == spec["description"]
        and (listed.filters or {}) == spec["filters"]
        and sorted(listed.additional_data) == sorted(spec["additional_data"])
    )


def _find(listed: list[ListedWebhook], action: str, spec: dict[str, Any], claimed: set[str]):
    return next((w for w in listed if w.id not in claimed and _matches(w, action, spec)), None)


class _Registration(_Runner):
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
            self._align(db.session.get(WebhookSet, set_id), listed, wanted)
            with database.reading():
                rows = _rows(db.session.get(WebhookSet, set_id))
        self.claimed = {row.livechat_id for row in rows if row.livechat_id}

        removals = deque(
            _Job("remove", row.action, row.id, livechat_id=row.livechat_id)
            for row in rows
            if row.state == RegistrationState.REMOVING and row.livechat_id
        )
        if removals:
            self.pump(
                removals,
                lambda job: self._remove(job, owner),
                lambda job: None,
                lambda job, result: self._removed(job, result, wanted),
            )
            if self.lost or self.cancelled or self.stopped:
                return
            with database.reading():
                rows = _rows(db.session.get(WebhookSet, set_id))
        order = list(wanted)
        registrations = deque(
            _Job("register", row.action, row.id, spec=wanted[row.action])
            for row in sorted(rows, key=lambda r: order.index(r.action) if r.action in order else 0)
            if row.action in wanted and row.livechat_id is None
        )

        def started(job: _Job) -> None:
            self.save(
                job.row_id,
                state=RegistrationState.REGISTERING,
                attempts=RegisteredWebhook.attempts + 1,
                last_error=None,
            )

        def finished(job: _Job, result: _Result) -> None:
            self._registered(job, result, listed, run_id)

        self.pump(registrations, lambda job: self._register(job, owner, secret), started, finished)

    def _align(
        self, webhook_set: WebhookSet, listed: list[ListedWebhook], wanted: dict[str, Any]
    ) -> None:
        """Bring the rows in line with what LiveChat lists: forget webhooks removed there,
        adopt webhooks whose answer was lost (a worker died, or a call timed out)."""
        listed_ids = {w.id for w in listed}
        held = {row.livechat_webhook_id for row in webhook_set.registered}
        for row in webhook_set.registered:
            if row.livechat_webhook_id and row.livechat_webhook_id not in listed_ids:
                row.livechat_webhook_id, row.registered_as = None, {}
                if row.action in wanted:
                    row.state = RegistrationState.QUEUED
                else:
                    db.session.delete(row)
                continue
            spec = wanted.get(row.action)
            if row.livechat_webhook_id is None and spec is not None:
                found = _find(listed, row.action, spec, held)
                if found is not None:
                    held.add(found.id)
                    row.livechat_webhook_id, row.registered_as = found.id, spec
                    row.state, row.last_error = RegistrationState.REGISTERED, None
                    row.registered_at = utcnow()
                    row.run_id = row.run_id or self.run_id
                elif row.state == RegistrationState.REGISTERING:
                    row.state = RegistrationState.QUEUED
        db.session.commit()

    def _removed(self, job: _Job, result: _Result, wanted: dict[str, Any]) -> None:
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
        self, job: _Job, result: _Result, listed: list[ListedWebhook], run_id: int
    ) -> None:
        webhook_id = result.webhook_id
        if webhook_id is None and result.listed is not None:
            found = _find(result.listed, job.action, job.spec, self.claimed)
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


def _unregister_jobs(webhook_set: WebhookSet, run_id: int | None) -> deque[_Job]:
    """Webhooks to take off LiveChat: those a cancelled run made, or all of them."""
    return deque(
        _Job("remove", row.action, row.id, livechat_id=row.livechat_webhook_id)
        for row in webhook_set.registered
        if row.livechat_webhook_id and (run_id is None or row.run_id == run_id)
    )


def _take_off(
    runner: _Runner, webhook_set: WebhookSet, jobs: deque[_Job], cleaning_up: bool = False
) -> None:
    owner = webhook_set.app.client_id or ""

    def finished(job: _Job, result: _Result) -> None:
        if result.error is None and cleaning_up:
            # A cancelled run's trigger is still chosen: it waits to be registered again.
            runner.save(
                job.row_id,
                livechat_webhook_id=None,
                registered_as={},
                state=RegistrationState.PENDING,
                run_id=None,
            )
        elif result.error is None:
            runner.drop(job.row_id)
        else:
            reason = f"could not remove it: {result.error.plain}"
            runner.save(job.row_id, state=RegistrationState.CLEANUP_PENDING, last_error=reason)

    db.session.commit()
    runner.cleaning_up, runner.stopped = cleaning_up, None
    runner.pump(jobs, lambda job: runner._remove(job, owner), lambda job: None, finished)


def _finish(runner: _Runner, state: RunState) -> None:
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
    runner: _Runner = _Registration(run_id, api, settings)
    runner.cancelled = cancelled

    if kind is RunKind.REMOVE:
        webhook_set = db.session.get(WebhookSet, set_id)
        if not runner.cancelled and webhook_set is not None:
            _take_off(runner, webhook_set, _unregister_jobs(webhook_set, None))
    elif not runner.cancelled:
        assert isinstance(runner, _Registration)
        runner.execute(set_id, recovered)
    if runner.lost:
        db.session.rollback()
        return
    if runner.cancelled:
        webhook_set = db.session.get(WebhookSet, set_id)
        if kind is RunKind.REGISTER and webhook_set is not None:
            _take_off(runner, webhook_set, _unregister_jobs(webhook_set, run_id), cleaning_up=True)
        if not runner.lost:
            _finish(runner, RunState.CANCELLED)
        return
    _finish(runner, RunState.FINISHED)
