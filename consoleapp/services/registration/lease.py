"""Which worker carries out a run, and until when: a lease on the run's row.

A worker claims a run and renews its lease while it works, learning on each renewal whether
someone pressed Cancel. A worker that dies stops renewing; once the lease has run out another
worker may claim the run and go on where it stopped (``tasks.watch_registration``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import case, func, or_, update

from ...extensions import db
from ...models import RegistrationRun, RunState, utcnow

# A rate-limited call waits what LiveChat's Retry-After says, up to this.
RETRY_AFTER_CAP = 30.0


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


def renew(run_id: int, settings: RunSettings) -> bool:
    """Extend this worker's lease, in the caller's transaction; False when it no longer holds
    the run (another worker took over, or the set was deleted)."""
    renewed = db.session.execute(
        update(RegistrationRun)
        .where(RegistrationRun.id == run_id, RegistrationRun.holder == settings.holder)
        .values(lease_until=utcnow() + settings.lease)
        .execution_options(synchronize_session=False)
    ).rowcount
    return bool(renewed)


def cancel_requested(run_id: int) -> bool:
    """Whether someone pressed Cancel (read in the caller's transaction)."""
    asked = db.session.execute(
        db.select(RegistrationRun.cancel_requested_at).where(RegistrationRun.id == run_id)
    ).scalar_one_or_none()
    return asked is not None
