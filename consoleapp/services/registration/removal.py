"""Take webhooks off LiveChat: all of a set's for a remove run, or only those a cancelled
register run made. A webhook that cannot be removed stays, marked "cleanup pending"."""

from __future__ import annotations

from collections import deque

from ...extensions import db
from ...models import RegistrationState, WebhookSet
from . import calls
from .calls import Job, Result
from .pump import Runner


def unregister_jobs(webhook_set: WebhookSet, run_id: int | None) -> deque[Job]:
    """Webhooks to take off LiveChat: those a cancelled run made, or all of them."""
    return deque(
        Job("remove", row.action, row.id, livechat_id=row.livechat_webhook_id)
        for row in webhook_set.registered
        if row.livechat_webhook_id and (run_id is None or row.run_id == run_id)
    )


def take_off(
    runner: Runner, webhook_set: WebhookSet, jobs: deque[Job], cleaning_up: bool = False
) -> None:
    owner = webhook_set.app.client_id or ""

    def finished(job: Job, result: Result) -> None:
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
    runner.pump(jobs, lambda job: calls.remove(runner.api, job, owner), lambda job: None, finished)
