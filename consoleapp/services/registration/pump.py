"""Send a run's calls to LiveChat a few at a time, and write each answer down as it comes.

Only the worker's own thread touches the database; the calls run in a small thread pool and
return their results here. No transaction is open while a call is in flight (SQLite takes its
write lock at BEGIN, and the sandbox may be served from the same database). The lease is
renewed between answers, and a cancel, a stop or a lost lease keeps new calls from starting.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from sqlalchemy import delete, update

from ... import database
from ...extensions import db
from ...livechat.configuration import ConfigurationApi
from ...models import RegisteredWebhook, RegistrationRun, utcnow
from . import lease
from .calls import Job, Result
from .lease import RunSettings

# A rate-limited call is sent again after LiveChat's Retry-After, a few times over.
RATE_LIMITED_TRIES = 5


class Runner:
    """One worker's hold on one run: its lease, what stops it, and the writes it owes."""

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

    def run(self) -> RegistrationRun | None:
        return db.session.get(RegistrationRun, self.run_id)

    def beat(self, force: bool = False) -> None:
        """Renew the lease (and learn about a cancel) every so often; commits."""
        if not force and time.monotonic() < self.next_beat:
            return
        self.next_beat = time.monotonic() + self.settings.heartbeat_seconds
        if not lease.renew(self.run_id, self.settings):
            self.lost = True  # another worker took over, or the set was deleted
        self.notice_cancel()
        # Nothing may touch the database after this until the next write: no transaction
        # stays open while calls to LiveChat are in flight.
        db.session.commit()

    def notice_cancel(self) -> None:
        """Learn whether someone pressed Cancel (read in the caller's transaction)."""
        if lease.cancel_requested(self.run_id):
            self.cancelled = True

    def pump(
        self,
        jobs: deque[Job],
        call: Callable[[Job], Result],
        started: Callable[[Job], None],
        finished: Callable[[Job, Result], None],
    ) -> None:
        """Run ``jobs`` at most ``in_flight`` at a time; stop starting new ones on a cancel,
        a stop or a lost lease, and always let the calls in flight finish."""
        pending: dict[Future[Result], Job] = {}
        answered: list[tuple[Job, Result]] = []
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
                wave: list[Job] = []
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
                    if self._rate_limited(job, result):
                        jobs.appendleft(job)
                        continue
                    answered.append((job, result))
                self.beat()

    def _rate_limited(self, job: Job, result: Result) -> bool:
        """LiveChat asked to slow down: pause new calls for its Retry-After (capped), and say
        whether the job goes back in the queue."""
        if (
            result.error is None
            or result.error.type != "too_many_requests"
            or job.rate_limited >= RATE_LIMITED_TRIES
        ):
            return False
        job.rate_limited += 1
        wait_for = float(result.error.data.get("retry_after") or 1)
        pause = min(wait_for, self.settings.retry_after_cap)
        self.paused_until = max(self.paused_until, time.monotonic() + pause)
        return True

    # Writes, in the order decided, one commit for all.

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
