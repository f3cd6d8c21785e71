"""The console's background work: registration runs, and finding work whose worker died.

Each task takes ids, opens its own database session in the app's context, and is safe to run
twice: the database says who holds a run and until when, so a second copy of a task finds the
run taken (or done) and returns.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import timedelta

from flask import current_app
from huey import crontab

from . import database
from .extensions import db, queue
from .models import ACTIVE_STATES, RegistrationRun, utcnow
from .services import folding, registration, retention

log = logging.getLogger("consoleapp.tasks")

# A queued run no worker has taken up after this long lost its task (a full queue restart,
# a worker killed between dequeuing and claiming): it is queued again.
UNCLAIMED_AFTER = timedelta(seconds=10)


def worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{threading.get_ident()}"


def _lease() -> timedelta:
    return timedelta(seconds=current_app.config["REGISTRATION_LEASE_SECONDS"])


@queue.task()
def run_registration(run_id: int) -> None:
    """Carry out a registration run (or go on with one whose worker died)."""
    config = current_app.config
    in_flight = config["REGISTRATION_IN_FLIGHT"]
    with database.reading():
        run = db.session.get(RegistrationRun, run_id)
        if run is None or run.state not in ACTIVE_STATES:
            return
        api = registration.client_for(
            run.webhook_set.app,
            config["LIVECHAT_API_URL"],
            config["LIVECHAT_API_TIMEOUT"],
            config["LIVECHAT_API_DEADLINE"],
            pool_size=in_flight,
        )
    settings = registration.RunSettings(holder=worker_id(), in_flight=in_flight, lease=_lease())
    if not registration.claim(run_id, settings):
        return  # another worker holds it, or it ended
    # Should this worker die, the watch puts the run back in the queue when its lease runs out.
    queue.send(watch_registration, run_id, delay=settings.lease.total_seconds() + 1)
    try:
        registration.execute(run_id, api, settings)
    finally:
        api.session.close()


@queue.task()
def watch_registration(run_id: int) -> None:
    """Queue the run again if its worker stopped renewing its lease; else look again later."""
    run = db.session.get(RegistrationRun, run_id)
    if run is None or run.state not in ACTIVE_STATES:
        return
    now = utcnow()
    if run.lease_until is None or run.lease_until < now:
        log.warning("registration run %s lost its worker; queueing it again", run_id)
        queue.send(run_registration, run_id)
        return
    wait = (run.lease_until - now).total_seconds() + 1
    queue.send(watch_registration, run_id, delay=wait)


def requeue_stalled_runs() -> int:
    """Queue every active run whose lease ran out, or that nobody took up; returns how many."""
    now = utcnow()
    runs = db.session.execute(
        db.select(RegistrationRun.id).where(
            RegistrationRun.state.in_([str(state) for state in ACTIVE_STATES]),
            db.or_(
                RegistrationRun.lease_until < now,
                db.and_(
                    RegistrationRun.lease_until.is_(None),
                    RegistrationRun.created_at < now - UNCLAIMED_AFTER,
                ),
            ),
        )
    ).scalars()
    found = list(runs)
    db.session.commit()
    for run_id in found:
        queue.send(run_registration, run_id)
    return len(found)


@queue.periodic_task(crontab(minute="*"))
def recover_stalled_work() -> None:
    """Once a minute: what a killed worker left behind goes back in the queue."""
    if count := requeue_stalled_runs():
        log.warning("queued %s registration runs again after their worker stopped", count)


@queue.on_worker_start
def recover_on_startup() -> None:
    """A worker that starts (after a crash, say) picks up what was left at once."""
    requeue_stalled_runs()


# -- the Inbox ----------------------------------------------------------------------------------


@queue.task()
def fold_deliveries() -> None:
    """Work out events and counts for the deliveries stored since the last time."""
    folding.fold_all()


@queue.periodic_task(crontab(minute="*"))
def fold_what_was_missed() -> None:
    """Once a minute, in case a folding task was lost with its worker."""
    folding.fold_all()


@queue.periodic_task(crontab(minute="*/10"))
def prune_inbox() -> None:
    """Remove what the Inbox no longer keeps, in small batches."""
    pruned = retention.prune(retention.Policy.from_config(current_app.config))
    if pruned.deliveries:
        log.info("removed %s deliveries the Inbox no longer keeps", pruned.deliveries)
